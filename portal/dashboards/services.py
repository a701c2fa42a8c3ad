"""What each dashboard shows. Later modules add their blocks here; nothing shows a feature that does not exist."""

from __future__ import annotations

import time

from portal.accounts.access_services import scope_condition
from portal.accounts.identity import CurrentUser
from portal.accounts.tables import AccessRequest, Account, Affiliation
from portal.competencies import dashboard as competency_dashboard
from portal.conventions import dashboard as convention_dashboard
from portal.dashboards import uaa_blocks
from portal.directory.tables import Establishment, Pole, PoleSchool
from portal.messaging.tables import Message, OutboxMail
from portal.permissions import Profile

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


async def message_boxes(user: CurrentUser) -> dict[str, list[dict]]:
    """The two boxes: messages applicatifs (to all) and mes messages (to the establishment or pole acted for)."""
    active = user.active
    establishment_id = active.establishment_id if active else None
    pole_id = active.pole_id if active else None
    # -1 never matches an id: a person acting for neither gets no targeted message.
    rows = await Message.raw(_MESSAGES_SQL, establishment_id or -1, pole_id or -1)
    boxes: dict[str, list[dict]] = {"applicatifs": [], "mes_messages": []}
    for row in rows:
        boxes[row.pop("box")].append(row)
    return boxes


def _access_scope_condition(user: CurrentUser):
    """Which pending access requests the person may decide on (None: none, True: all): the rule of
    ``portal.accounts.access_services.may_decide`` as a database condition."""
    condition = scope_condition(AccessRequest, user.active)
    return None if condition is False else condition


async def pending_access_requests(user: CurrentUser) -> int | None:
    """How many access requests wait for this person's decision (None when they decide none)."""
    condition = _access_scope_condition(user)
    if condition is None:
        return None
    query = AccessRequest.count().where(AccessRequest.status == "pending")
    if condition is not True:
        query = query.where(condition)
    return await query


async def establishment_accounts(establishment_id: int) -> dict[str, int]:
    """Counts of the accounts of one establishment, by profile."""
    rows = await Affiliation.select(Affiliation.profile).where(
        (Affiliation.establishment == establishment_id) & (Affiliation.revoked_at.is_null())
    )
    counts: dict[str, int] = {}
    for row in rows:
        label = Profile(row["profile"]).label
        counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items()))


async def pole_schools(pole_id: int) -> list[dict]:
    """The schools of a pole with their PO and zone, seat first."""
    rows = await PoleSchool.select(
        PoleSchool.role, PoleSchool.establishment.name, PoleSchool.establishment.fase,
        PoleSchool.establishment.organising_body.name, PoleSchool.establishment.zone.name,
    ).where(PoleSchool.pole == pole_id).order_by(PoleSchool.position)
    return [{"role": POLE_ROLES.get(r["role"], r["role"]), "name": r["establishment.name"],
             "fase": r["establishment.fase"], "po": r["establishment.organising_body.name"],
             "zone": r["establishment.zone.name"]} for r in rows]


async def establishment_poles(establishment_id: int) -> list[dict]:
    """The poles an establishment belongs to, with its role there."""
    seats = await Pole.select(Pole.name, Pole.seat.name).where(Pole.seat == establishment_id)
    rows = await PoleSchool.select(PoleSchool.role, PoleSchool.pole.name, PoleSchool.pole.seat.name).where(
        PoleSchool.establishment == establishment_id)
    return [{"role": "École siège", "pole": r["name"], "seat": r["seat.name"]} for r in seats] + [
        {"role": POLE_ROLES.get(r["role"], r["role"]), "pole": r["pole.name"], "seat": r["pole.seat.name"]}
        for r in rows]


_COUNTS_SQL = """
SELECT (SELECT COUNT(*) FROM message) AS message_count, (SELECT COUNT(*) FROM outbox_mail) AS outbox_count,
       (SELECT COUNT(*) FROM account WHERE hidden = {}) AS account_count,
       (SELECT COUNT(*) FROM establishment) AS establishment_count
"""
COUNTS_TTL = 60.0
_counts_cache: dict[str, tuple[float, dict]] = {}


def clear_caches() -> None:
    """Forget cached counters (tests start each from a fresh database)."""
    _counts_cache.clear()


async def portal_counts() -> dict[str, int]:
    """The Administration's portal-wide counters. They scan whole tables, so a process keeps them a minute:
    an approximate count a minute old is fine for a dashboard."""
    cached = _counts_cache.get("counts")
    if cached and time.monotonic() - cached[0] < COUNTS_TTL:
        return cached[1]
    rows = await Account.raw(_COUNTS_SQL, False)
    counts = {key: int(value) for key, value in rows[0].items()}
    _counts_cache["counts"] = (time.monotonic(), counts)
    return counts


async def blocks_for(user: CurrentUser) -> dict:
    """The profile-specific blocks of the dashboard."""
    active = user.active
    blocks: dict = {}
    if active is None:
        return blocks
    pending = await pending_access_requests(user)
    if pending is not None:
        blocks["pending_access_requests"] = pending
    if active.profile == Profile.SCHOOL_ADMIN and active.establishment_id:
        blocks["accounts_by_profile"] = await establishment_accounts(active.establishment_id)
        blocks["outbox_count"] = await OutboxMail.count().where(OutboxMail.establishment == active.establishment_id)
    if active.profile == Profile.ADMINISTRATION:
        blocks.update(await portal_counts())
    if active.profile == Profile.COORDINATOR and active.pole_id:
        blocks["pole_schools"] = await pole_schools(active.pole_id)
    if active.profile == Profile.DIRECTION and active.establishment_id:
        blocks["poles"] = await establishment_poles(active.establishment_id)
        blocks["cpu"] = await uaa_blocks.cpu_indicators(active.establishment_id)
    if active.profile == Profile.TEACHER and active.establishment_id:
        blocks["to_encode"] = await uaa_blocks.learners_to_encode(active.establishment_id)
    if active.profile == Profile.LEARNER:
        blocks["own_results"] = await uaa_blocks.own_results(user.account_id)
    if active.profile == Profile.DELEGUE_PO and active.organising_body_id:
        blocks["po_establishments"] = await Establishment.select(Establishment.name, Establishment.fase).where(
            Establishment.organising_body == active.organising_body_id).order_by(Establishment.name).limit(50)
    blocks.update(await convention_dashboard.blocks(user))
    blocks.update(await competency_dashboard.blocks(user))
    return blocks
