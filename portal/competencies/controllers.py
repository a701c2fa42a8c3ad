"""Pages and fragments of the competencies domain."""

from __future__ import annotations

ROUTES: list = []
