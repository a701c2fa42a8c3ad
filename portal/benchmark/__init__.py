"""The benchmarks' baseline endpoint, mounted only when ``PORTAL_BENCH_ENDPOINTS=1``."""
