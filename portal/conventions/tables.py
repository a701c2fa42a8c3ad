"""Piccolo tables of the conventions domain."""

from __future__ import annotations
