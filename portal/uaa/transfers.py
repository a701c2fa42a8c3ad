"""Change of establishment (SPEC §5, CEPU guide §2.2): the learner moves with their attempts and attestations.

The new school takes the learner in by N° CF and birth date (both must match: the N° CF alone could be mistyped
into someone else's). The learner's establishment changes; attempts keep the establishment that encoded them, so
the old school keeps read access to what it encoded, and attestations stay valid.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from portal.accounts.identity import CurrentUser
from portal.core.db import atomic
from portal.history.services import record
from portal.uaa.tables import Learner

CF_RE = re.compile(r"^\d{5,10}/\d{2}$")


class TransferError(Exception):
    """A refused transfer, with French messages."""

    def __init__(self, messages: list[str] | str):
        self.messages = [messages] if isinstance(messages, str) else messages
        super().__init__("; ".join(self.messages))


@dataclass(frozen=True)
class TransferRequest:
    """What the receiving school types."""

    cf_number: str
    birth_date: date | None


def parse_birth_date(raw: str) -> date | None:
    """A birth date typed as dd/mm/yyyy or yyyy-mm-dd; None when it is neither."""
    raw = (raw or "").strip()
    for pattern, order in ((r"^(\d{2})/(\d{2})/(\d{4})$", "dmy"), (r"^(\d{4})-(\d{2})-(\d{2})$", "ymd")):
        match = re.match(pattern, raw)
        if match:
            a, b, c = (int(g) for g in match.groups())
            try:
                return date(c, b, a) if order == "dmy" else date(a, b, c)
            except ValueError:
                return None
    return None


def check_request(cf_number: str, birth_date: str) -> TransferRequest:
    """Validate the form; raises :class:`TransferError` naming every fault."""
    cf_number = (cf_number or "").strip()
    problems = []
    if not CF_RE.match(cf_number):
        problems.append("Le N° CF doit avoir la forme 8501293/19.")
    parsed = parse_birth_date(birth_date)
    if parsed is None:
        problems.append("Indiquez la date de naissance au format jj/mm/aaaa.")
    if problems:
        raise TransferError(problems)
    return TransferRequest(cf_number=cf_number, birth_date=parsed)


async def take_in(user: CurrentUser, cf_number: str, birth_date: str) -> dict:
    """Move the learner to the establishment the person acts for. Returns the learner's row after the move."""
    request = check_request(cf_number, birth_date)
    school = user.active.establishment_id if user.active else None
    if school is None:
        raise TransferError("Choisissez d'abord l'établissement pour lequel vous agissez.")
    async with atomic():
        rows = await Learner.select(
            Learner.id, Learner.establishment, Learner.establishment.name, Learner.last_name, Learner.first_name,
            Learner.birth_date, Learner.version,
        ).where(Learner.cf_number == request.cf_number)
        # One message for "unknown" and "birth date differs": the form must not reveal who exists.
        if not rows or rows[0]["birth_date"] != request.birth_date:
            raise TransferError("Aucun élève ne correspond à ce N° CF et à cette date de naissance.")
        learner = rows[0]
        if learner["establishment"] == school:
            raise TransferError("Cet élève est déjà inscrit dans votre établissement.")
        await Learner.update(
            {Learner.establishment: school, Learner.implantation: None, Learner.version: Learner.version + 1}
        ).where(Learner.id == learner["id"])
        summary = f"Changement d'établissement de {learner['first_name']} {learner['last_name']}"
        before = {"establishment_id": learner["establishment"], "establishment": learner["establishment.name"]}
        after = {"establishment_id": school, "establishment": user.active.establishment_name}
        # Recorded in the scope of both schools, so that each one's history shows it.
        await record(user.actor, "learner", learner["id"], "changement d'établissement", before=before, after=after,
                     summary=summary, establishment_id=school)
        await record(user.actor, "learner", learner["id"], "changement d'établissement", before=before, after=after,
                     summary=summary, establishment_id=learner["establishment"])
    return {**learner, "establishment": school}
