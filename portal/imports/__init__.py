"""Imports of third-party files: the FWB establishment directory, learners' records (CSV), SIECLE (later)."""
