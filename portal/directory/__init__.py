"""Directory of the education landscape: zones, organising bodies (PO), establishments, implantations, poles."""
