"""Benchmark harness: a realistic dataset (``portal seed``) and a load runner (``python -m bench.run``)."""
