"""Piccolo tables of the competencies domain."""

from __future__ import annotations
