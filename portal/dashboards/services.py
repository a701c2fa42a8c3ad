"""What each dashboard shows. Later modules add their blocks here; nothing shows a feature that does not exist."""

from __future__ import annotations

from portal.accounts.access_services import scope_condition
from portal.accounts.identity import CurrentUser
from portal.accounts.tables import AccessRequest, Account, Affiliation
from portal.directory.tables import Establishment, Pole, PoleSchool
from portal.messaging.tables import Message, OutboxMail
from portal.permissions import Profile

MESSAGE_LIMIT = 10
POLE_ROLES = {"partenaire": "École partenaire", "partenaire_specifique": "École partenaire spécifique",
              "cooperante": "École coopérante"}


async def message_boxes(user: CurrentUser) -> dict[str, list[dict]]:
    """The two boxes: messages applicatifs (to all) and mes messages (to the establishment or pole acted for)."""
    columns = (Message.id, Message.subject, Message.body, Message.created_at, Message.demo)
    to_all = await Message.select(*columns).where(Message.kind == "applicatif").order_by(
        Message.created_at, ascending=False).limit(MESSAGE_LIMIT)
    active = user.active
    mine: list[dict] = []
    if active and (active.establishment_id or active.pole_id):
        condition = (Message.establishment == active.establishment_id) if active.establishment_id else (
            Message.pole == active.pole_id)
        mine = await Message.select(*columns).where((Message.kind == "cible") & condition).order_by(
            Message.created_at, ascending=False).limit(MESSAGE_LIMIT)
    return {"applicatifs": to_all, "mes_messages": mine}


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
        blocks["message_count"] = await Message.count()
        blocks["outbox_count"] = await OutboxMail.count()
        blocks["account_count"] = await Account.count().where(Account.hidden == False)  # noqa: E712
        blocks["establishment_count"] = await Establishment.count()
    if active.profile == Profile.COORDINATOR and active.pole_id:
        blocks["pole_schools"] = await pole_schools(active.pole_id)
    if active.profile == Profile.DIRECTION and active.establishment_id:
        blocks["poles"] = await establishment_poles(active.establishment_id)
    if active.profile == Profile.DELEGUE_PO and active.organising_body_id:
        blocks["po_establishments"] = await Establishment.select(Establishment.name, Establishment.fase).where(
            Establishment.organising_body == active.organising_body_id).order_by(Establishment.name).limit(50)
    return blocks
