"""The competencies blocks of the dashboards (merged by `portal.dashboards.services.blocks_for`)."""

from __future__ import annotations

from portal.accounts.identity import CurrentUser


async def blocks(user: CurrentUser) -> dict:
    """Blocks this domain adds to the dashboard of the profile acted for (none yet)."""
    return {}
