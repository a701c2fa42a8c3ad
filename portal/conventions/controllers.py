"""Pages and fragments of the conventions domain."""

from __future__ import annotations

ROUTES: list = []
