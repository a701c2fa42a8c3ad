"""The competencies part of the demo data (SPEC §11). EVERYTHING HERE IS INVENTED FOR THE DEMO."""

from __future__ import annotations


async def load_demo() -> None:
    """Load this domain's demo rows once (idempotent: a second call changes nothing)."""
    return None
