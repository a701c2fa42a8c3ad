"""What a process keeps per school against the school's ``uaa_stamp``.

Database triggers bump a school's ``uaa_stamp`` whenever one of its learners or attempts changes, whoever writes
it (and, since the search keeps its lists here too, one of its implantations or any option's label). A value
computed from that data is kept with the stamp it was computed at and served while the stamp has not moved:
never stale, computed again once after a change. A school's stamp is the sum of its rows: one on SQLite, one per
connection that wrote on PostgreSQL (the migration of 2026-12-07T01:40: concurrent saves do not queue on one row);
each change adds one to it. The stamp comes with the request's session
(``CurrentUser.uaa_stamp``) or from :func:`school_stamp`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from portal.core.db import query
from portal.core.kept import KeptValues

_kept: KeptValues[Any] = KeptValues(512)  # schools × kinds


def clear() -> None:
    """Forget every kept value (tests start each from a fresh database)."""
    _kept.clear()


async def school_stamp(establishment_id: int) -> int:
    """The current change counter of a school's UAA data (0 before any change was counted)."""
    rows = await query("SELECT sum(version) AS version FROM uaa_stamp WHERE establishment = {}", establishment_id)
    return rows[0]["version"] or 0


async def kept(kind: str, establishment_id: int, stamp: int, compute: Callable[[int], Awaitable[Any]]) -> Any:
    """``compute(establishment_id)``, kept under ``kind`` for the school while its stamp is ``stamp``. Callers
    must not modify what they get."""
    return await _kept.get((kind, establishment_id), stamp, lambda: compute(establishment_id))
