"""What each dashboard shows. Later modules add their blocks here; nothing shows a feature that does not exist."""

from __future__ import annotations

import time

from portal.core.db import query
from portal.accounts.access_services import ESTABLISHMENT_PROFILES, grantable_at_establishment
from portal.accounts.identity import CurrentUser
from portal.competencies import dashboard as competency_dashboard
from portal.conventions import dashboard as convention_dashboard
from portal.core import fragments
from portal.core.clock import today
from portal.core.kept import KeptValues
from portal.dashboards import uaa_blocks
from portal.messaging.tables import OutboxMail
from portal.permissions import Profile
from portal.uaa import stamps

MESSAGE_LIMIT = 10
POLE_ROLES = {"partenaire": "École partenaire", "partenaire_specifique": "École partenaire spécifique",
              "cooperante": "École coopérante"}


# Both boxes in one statement, built once: every dashboard shows them (Piccolo's builder costs ~1 ms a query).
_MESSAGES_SQL = """
SELECT * FROM (
  SELECT 'applicatifs' AS box, id, subject, body, created_at, demo FROM message
  WHERE kind = 'applicatif' ORDER BY created_at DESC, id DESC LIMIT {limit}
) AS to_all
UNION ALL
SELECT * FROM (
  SELECT 'mes_messages' AS box, id, subject, body, created_at, demo FROM message
  WHERE kind = 'cible' AND (establishment = {{}} OR pole = {{}}) ORDER BY created_at DESC, id DESC LIMIT {limit}
) AS mine
""".format(limit=MESSAGE_LIMIT)


_boxes: KeptValues[dict[str, list[dict]]] = KeptValues(2000)


async def message_boxes(user: CurrentUser) -> dict[str, list[dict]]:
    """The two boxes: messages applicatifs (to all) and mes messages (to the establishment or pole acted for).

    Kept per process against ``user.message_stamp`` (the messages' change counter read with the session): a new,
    changed or deleted message moves it, and the boxes are read again. Callers must not modify what they get."""
    active = user.active
    establishment_id = active.establishment_id if active else None
    pole_id = active.pole_id if active else None

    async def read() -> dict[str, list[dict]]:
        # -1 never matches an id: a person acting for neither gets no targeted message.
        rows = await query(_MESSAGES_SQL, establishment_id or -1, pole_id or -1)
        boxes: dict[str, list[dict]] = {"applicatifs": [], "mes_messages": []}
        for row in rows:
            boxes[row.pop("box")].append(row)
        return boxes

    return await _boxes.get((establishment_id, pole_id), user.message_stamp, read)


def _pending_requests_sql(active) -> tuple[str, tuple] | None:
    """:func:`portal.accounts.access_services.scope_condition` (who may decide which request) written as one
    prebuilt statement: the dashboard asks it on every view, and Piccolo's builder costs more than the query.
    ``tests/integration/test_dashboards.py`` checks both give the same count for every profile."""
    if active is None:
        return None
    base = "SELECT COUNT(*) AS n FROM access_request WHERE status = 'pending'"
    if active.profile == Profile.ADMINISTRATION:
        return base, ()
    if active.profile in (Profile.DIRECTION, Profile.SCHOOL_ADMIN) and active.establishment_id:
        profiles = ", ".join(f"'{p.value}'" for p in sorted(grantable_at_establishment(active.profile)))
        return f"{base} AND establishment = {{}} AND profile IN ({profiles})", (active.establishment_id,)
    if active.profile == Profile.DELEGUE_PO and active.organising_body_id:
        profiles = ", ".join(f"'{p.value}'" for p in sorted(ESTABLISHMENT_PROFILES))
        po = active.organising_body_id
        return (f"{base} AND ((establishment IN (SELECT id FROM establishment WHERE organising_body = {{}})"
                f" AND profile IN ({profiles})) OR (profile = '{Profile.DELEGUE_PO.value}' AND organising_body = {{}}))",
                (po, po))
    return None


async def pending_access_requests(user: CurrentUser) -> int | None:
    """How many access requests wait for this person's decision (None when they decide none)."""
    prepared = _pending_requests_sql(user.active)
    if prepared is None:
        return None
    sql, args = prepared
    rows = await query(sql, *args)
    return int(rows[0]["n"])


async def establishment_accounts(establishment_id: int) -> dict[str, int]:
    """Counts of the accounts of one establishment, by profile (counted by the database: a school has hundreds)."""
    rows = await query(
        "SELECT profile, COUNT(*) AS n FROM affiliation WHERE establishment = {} AND revoked_at IS NULL "
        "GROUP BY profile", establishment_id)
    counts = {Profile(row["profile"]).label: int(row["n"]) for row in rows}
    return dict(sorted(counts.items()))


_POLE_SCHOOLS_SQL = """
SELECT ps.role AS role, e.name AS name, e.fase AS fase, o.name AS po, z.name AS zone
FROM pole_school ps JOIN establishment e ON e.id = ps.establishment
LEFT JOIN organising_body o ON o.id = e.organising_body LEFT JOIN zone z ON z.id = e.zone
WHERE ps.pole = {} ORDER BY ps.position, ps.id
"""


async def pole_schools(pole_id: int) -> list[dict]:
    """The schools of a pole with their PO and zone, in the pole's order (one prebuilt statement)."""
    rows = await query(_POLE_SCHOOLS_SQL, pole_id)
    for row in rows:
        row["role"] = POLE_ROLES.get(row["role"], row["role"])
    return rows


_ESTABLISHMENT_POLES_SQL = """
SELECT 0 AS rank, 'seat' AS role, p.name AS pole, s.name AS seat, p.id AS pole_id
FROM pole p JOIN establishment s ON s.id = p.seat WHERE p.seat = {}
UNION ALL
SELECT 1 AS rank, ps.role AS role, p.name AS pole, s.name AS seat, p.id AS pole_id
FROM pole_school ps JOIN pole p ON p.id = ps.pole JOIN establishment s ON s.id = p.seat WHERE ps.establishment = {}
ORDER BY rank, pole_id
"""


async def establishment_poles(establishment_id: int) -> list[dict]:
    """The poles an establishment belongs to, with its role there (seat first; one prebuilt statement)."""
    rows = await query(_ESTABLISHMENT_POLES_SQL, establishment_id, establishment_id)
    return [{"role": "École siège" if r["role"] == "seat" else POLE_ROLES.get(r["role"], r["role"]),
             "pole": r["pole"], "seat": r["seat"]} for r in rows]


_COUNTS_SQL = """
SELECT (SELECT COUNT(*) FROM message) AS message_count, (SELECT COUNT(*) FROM outbox_mail) AS outbox_count,
       (SELECT COUNT(*) FROM account WHERE hidden = {}) AS account_count,
       (SELECT COUNT(*) FROM establishment) AS establishment_count
"""
COUNTS_TTL = 60.0
_counts_cache: dict[str, tuple[float, dict]] = {}


def clear_caches() -> None:
    """Forget cached counters and aggregates (tests start each from a fresh database)."""
    _counts_cache.clear()
    _boxes.clear()
    _board.clear()
    stamps.clear()
    fragments.clear()


async def portal_counts() -> dict[str, int]:
    """The Administration's portal-wide counters. They scan whole tables, so a process keeps them a minute:
    an approximate count a minute old is fine for a dashboard."""
    cached = _counts_cache.get("counts")
    if cached and time.monotonic() - cached[0] < COUNTS_TTL:
        return cached[1]
    rows = await query(_COUNTS_SQL, False)
    counts = {key: int(value) for key, value in rows[0].items()}
    _counts_cache["counts"] = (time.monotonic(), counts)
    return counts


_board: KeptValues[dict] = KeptValues(2000)


async def board_blocks(user: CurrentUser) -> dict:
    """The blocks that read access requests, affiliations, the outbox, the directory, poles and conventions: the
    same for everyone acting with the same profile for the same establishment, pole or PO on the same day.

    Kept per process against ``user.board_stamp`` (read with the session): triggers on every table they read move
    it, so a kept block is never older than its data (``migrations/dashboards``). The day is part of the key: the
    conventions' deadlines are stated against it. Callers must not modify what they get."""
    active = user.active
    key = (active.profile, active.establishment_id, active.pole_id, active.organising_body_id, today())
    return await _board.get(key, user.board_stamp, lambda: _read_board_blocks(user))


async def _read_board_blocks(user: CurrentUser) -> dict:
    active = user.active
    blocks: dict = {}
    pending = await pending_access_requests(user)
    if pending is not None:
        blocks["pending_access_requests"] = pending
    if active.profile == Profile.SCHOOL_ADMIN and active.establishment_id:
        blocks["accounts_by_profile"] = await establishment_accounts(active.establishment_id)
        blocks["outbox_count"] = await OutboxMail.count().where(OutboxMail.establishment == active.establishment_id)
    if active.profile == Profile.COORDINATOR and active.pole_id:
        blocks["pole_schools"] = await pole_schools(active.pole_id)
    if active.profile == Profile.DIRECTION and active.establishment_id:
        blocks["poles"] = await establishment_poles(active.establishment_id)
    if active.profile == Profile.DELEGUE_PO and active.organising_body_id:
        blocks["po_establishments"] = await query(
            "SELECT name, fase FROM establishment WHERE organising_body = {} ORDER BY name LIMIT 50",
            active.organising_body_id)
    blocks.update(await convention_dashboard.blocks(user))
    return blocks


async def blocks_for(user: CurrentUser) -> dict:
    """The profile-specific blocks of the dashboard: the kept board blocks, then those of the person's own data
    (their UAA results, evaluations) and the school's UAA figures, kept against ``uaa_stamp``."""
    active = user.active
    if active is None:
        return {}
    blocks = dict(await board_blocks(user))  # a copy: the kept dict is shared
    if active.profile == Profile.ADMINISTRATION:
        blocks.update(await portal_counts())
    if active.profile == Profile.DIRECTION and active.establishment_id:
        blocks["cpu"] = await uaa_blocks.cpu_indicators(active.establishment_id, user.uaa_stamp)
    if active.profile == Profile.TEACHER and active.establishment_id:
        blocks["to_encode"] = await uaa_blocks.learners_to_encode(active.establishment_id, user.uaa_stamp)
    if active.profile == Profile.LEARNER:
        blocks["own_results"] = await uaa_blocks.own_results(user.account_id)
    blocks.update(await competency_dashboard.blocks(user))
    return blocks
