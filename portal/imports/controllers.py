"""Routes of this module (being built)."""

ROUTES: list = []
