"""Accounts, affiliations, sessions, activation and access requests."""
