"""Each profile's landing page, the user guide and the health check."""
