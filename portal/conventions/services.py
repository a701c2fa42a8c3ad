"""Pole conventions (SPEC §6): reading and changing conventions under the scope rules. No Litestar import here.

Scope (the permission table says who may try; this module says on what):
- the coordinator of the pole, the direction of its seat school and the délégué of the seat's PO *manage* the pole:
  they read every convention and (``conventions.edit``) change schools and articles before validation;
- the direction of a school of the pole reads the conventions covering it and acknowledges them; the délégué of
  another PO reads the conventions covering a school of that PO and signs them;
- the Administration reads everything, validates, decides change requests and keeps the reference data.
A convention out of scope is :class:`NotFound` (a 404: nothing leaks); a convention read but not changeable is
:class:`Refused` (a 403 with a French message). Every other refusal is a :class:`ConventionError` (400, or 409
for a stale save) with a French message, and nothing changes. Every change is recorded in the history.
The avenants to a validated convention build on this module: :mod:`portal.conventions.avenants`.
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction

from portal.accounts.identity import CurrentUser
from portal.accounts.tables import Account
from portal.conventions import rules
from portal.conventions.tables import (
    Acknowledgment,
    ArticleText,
    Campaign,
    ChangeRequest,
    Convention,
    ConventionSchool,
    SchoolHoliday,
    Signature,
    StaffFunction,
)
from portal.core.clock import now, today
from portal.core.db import atomic, query
from portal.core.forms import INCOMPLETE_FORM, form_int
from portal.directory.tables import Establishment, Pole, PoleSchool
from portal.documents import pdf
from portal.documents import services as documents
from portal.history.services import SYSTEM, Actor, record
from portal.permissions import Profile

ENTITY = "convention"
MAX_UPLOAD = 5 * 1024 * 1024
MAX_TEXT = 20_000
SEARCH_LIMIT = 20
STALE_MESSAGE = ("Cet article a été modifié par quelqu'un d'autre entre-temps : votre texte n'a pas été enregistré. "
                 "L'article montre maintenant la version enregistrée ; reprenez votre modification si nécessaire.")
FROZEN_MESSAGE = "Cette convention est validée : elle ne peut plus être modifiée (faites une demande de modification)."
LIST_FROZEN_MESSAGE = "La liste des écoles est validée : elle ne peut plus être modifiée."
SIGNATURES = {b"%PDF-": ("pdf", "application/pdf"), b"\x89PNG\r\n\x1a\n": ("png", "image/png"),
              b"\xff\xd8\xff": ("jpg", "image/jpeg")}


class NotFound(Exception):
    """Unknown, or outside the person's scope (shown as a 404)."""


class Refused(Exception):
    """The person reads this but may not do that (shown as a 403 with the French message)."""


class ConventionError(Exception):
    """A refused change with a French message; nothing changed. ``status_code`` 400, or 409 when stale."""

    def __init__(self, message: str, status_code: int = 400, **extra):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.extra = extra


# --- scope -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoleInfo:
    """A pole with its seat school, the seat's PO and zone."""

    id: int
    name: str
    demo: bool
    seat_id: int
    seat_name: str
    seat_fase: str
    seat_city: str
    seat_po: int | None
    seat_po_name: str
    seat_zone: int | None
    seat_zone_name: str


_POLE_COLUMNS = (
    Pole.id, Pole.name, Pole.demo, Pole.seat.id.as_alias("seat_id"), Pole.seat.name.as_alias("seat_name"),
    Pole.seat.fase.as_alias("seat_fase"), Pole.seat.city.as_alias("seat_city"),
    Pole.seat.organising_body.id.as_alias("seat_po"), Pole.seat.organising_body.name.as_alias("seat_po_name"),
    Pole.seat.zone.id.as_alias("seat_zone"), Pole.seat.zone.name.as_alias("seat_zone_name"),
)


def _pole(row: dict) -> PoleInfo:
    return PoleInfo(id=row["id"], name=row["name"], demo=row["demo"], seat_id=row["seat_id"],
                    seat_name=row["seat_name"], seat_fase=row["seat_fase"] or "", seat_city=row["seat_city"] or "",
                    seat_po=row["seat_po"], seat_po_name=row["seat_po_name"] or "", seat_zone=row["seat_zone"],
                    seat_zone_name=row["seat_zone_name"] or "")


async def pole_info(pole_id: int) -> PoleInfo | None:
    """The pole ``pole_id`` with its seat, or None."""
    row = await Pole.select(*_POLE_COLUMNS).where(Pole.id == pole_id).first()
    return _pole(row) if row else None


async def poles_of(user: CurrentUser) -> list[PoleInfo]:
    """The poles the person is linked to (every pole for the Administration)."""
    active = user.active
    if active is None:
        return []
    query = Pole.select(*_POLE_COLUMNS).order_by(Pole.name)
    if active.profile == Profile.ADMINISTRATION:
        rows = await query
    elif active.profile == Profile.COORDINATOR:
        rows = await query.where(Pole.id == (active.pole_id or -1))
    elif active.profile == Profile.DIRECTION:
        member = await PoleSchool.select(PoleSchool.pole).where(PoleSchool.establishment == (active.establishment_id or -1))
        ids = [r["pole"] for r in member] or [-1]
        rows = await query.where((Pole.seat == (active.establishment_id or -1)) | Pole.id.is_in(ids))
    elif active.profile == Profile.DELEGUE_PO:
        po = active.organising_body_id or -1
        member = await PoleSchool.select(PoleSchool.pole).where(PoleSchool.establishment.organising_body == po)
        ids = [r["pole"] for r in member] or [-1]
        rows = await query.where((Pole.seat.organising_body == po) | Pole.id.is_in(ids))
    else:
        rows = []
    return [_pole(r) for r in rows]


def manages(user: CurrentUser, pole: PoleInfo) -> bool:
    """True for the coordinator of the pole, the seat's direction and the délégué of the seat's PO."""
    active = user.active
    if active is None:
        return False
    if active.profile == Profile.COORDINATOR:
        return active.pole_id == pole.id
    if active.profile == Profile.DIRECTION:
        return active.establishment_id == pole.seat_id
    if active.profile == Profile.DELEGUE_PO:
        return pole.seat_po is not None and active.organising_body_id == pole.seat_po
    return False


def reads(user: CurrentUser, pole: PoleInfo, school_ids: set[int], school_pos: set[int | None]) -> bool:
    """True when the person reads a convention of ``pole`` covering ``school_ids`` (of ``school_pos``)."""
    active = user.active
    if active is None:
        return False
    if active.profile == Profile.ADMINISTRATION or manages(user, pole):
        return True
    if active.profile == Profile.DIRECTION:
        return active.establishment_id in school_ids
    if active.profile == Profile.DELEGUE_PO:
        return active.organising_body_id is not None and active.organising_body_id in school_pos
    return False


# --- the pole and its instruments ------------------------------------------------------------------------------


@dataclass
class SchoolInfo:
    """A school as the pages show it."""

    establishment_id: int
    name: str
    fase: str
    city: str
    po_id: int | None
    po_name: str
    zone_id: int | None
    zone_name: str
    role: str = ""
    link_id: int | None = None  # ConventionSchool id
    derogation_id: int | None = None
    outside_zone: bool = False

    @property
    def role_label(self) -> str:
        """The role in words."""
        return rules.ROLE_LABELS.get(self.role, self.role)


_E = Establishment
_SCHOOL_COLUMNS = (
    PoleSchool.id, PoleSchool.role, PoleSchool.establishment.id.as_alias("est_id"),
    PoleSchool.establishment.name.as_alias("est_name"), PoleSchool.establishment.fase.as_alias("est_fase"),
    PoleSchool.establishment.city.as_alias("est_city"),
    PoleSchool.establishment.organising_body.id.as_alias("po_id"),
    PoleSchool.establishment.organising_body.name.as_alias("po_name"),
    PoleSchool.establishment.zone.id.as_alias("zone_id"), PoleSchool.establishment.zone.name.as_alias("zone_name"),
)


async def pole_schools(pole_id: int) -> list[SchoolInfo]:
    """The schools of a pole (partner, specific partner, cooperating) with their PO and zone, in one query."""
    rows = await PoleSchool.select(*_SCHOOL_COLUMNS).where(PoleSchool.pole == pole_id).order_by(
        PoleSchool.position).order_by(PoleSchool.id)
    return [SchoolInfo(r["est_id"], r["est_name"], r["est_fase"] or "", r["est_city"] or "", r["po_id"],
                       r["po_name"] or "", r["zone_id"], r["zone_name"] or "", role=r["role"]) for r in rows]


def _decide(pole: PoleInfo, schools: list[SchoolInfo]) -> list[rules.Instrument]:
    return rules.decide(pole.seat_po, [rules.PoleSchoolInfo(s.establishment_id, s.role, s.po_id) for s in schools])


async def sync_pole(pole: PoleInfo, actor: Actor = SYSTEM, *, demo: bool = False) -> tuple[bool, list[str]]:
    """Bring the pole's instruments in line with the decision on its schools (in the caller's transaction).

    New instruments are created with their schools; an instrument whose list is not validated yet follows the
    decision (schools added and removed); one the decision no longer produces is set aside (``active`` False) while
    its list is not validated. A validated list never changes here (:func:`add_pole_school` refuses beforehand).
    Returns whether an instrument changed, and the labels of the validated ones that no longer match the decision.
    """
    schools = await pole_schools(pole.id)
    instruments = _decide(pole, schools)
    existing = await Convention.select().where(Convention.pole == pole.id)
    by_key = {row["instrument_key"]: row for row in existing}
    links = await ConventionSchool.select(ConventionSchool.id, ConventionSchool.convention,
                                          ConventionSchool.establishment).where(
        ConventionSchool.convention.is_in([r["id"] for r in existing] or [-1]))
    covered: dict[int, dict[int, int]] = {}
    for link in links:
        covered.setdefault(link["convention"], {})[link["establishment"]] = link["id"]
    frozen = _frozen_mismatches(instruments, existing, covered)
    current = now()
    wanted_keys = set()
    changed = False
    for instrument in instruments:
        wanted_keys.add(instrument.key)
        row = by_key.get(instrument.key)
        if row is None:
            result = await Convention.insert(Convention(
                pole=pole.id, kind=instrument.kind, instrument_key=instrument.key, other_po=instrument.other_po,
                specific_school=instrument.specific_school, step=rules.SCHOOLS, created_at=current, demo=demo,
            )).returning(Convention.id)
            convention_id = result[0]["id"]
            for school_id in instrument.schools:
                await ConventionSchool.insert(ConventionSchool(convention=convention_id, establishment=school_id,
                                                               added_at=current))
            changed = True
            await record(actor, ENTITY, convention_id, "creation", pole_id=pole.id,
                         after={"kind": instrument.kind, "schools": list(instrument.schools)},
                         summary=f"{rules.KIND_LABELS[instrument.kind]} créée automatiquement")
            continue
        if row["step"] != rules.SCHOOLS:
            continue
        have = covered.get(row["id"], {})
        added = [s for s in instrument.schools if s not in have]
        removed = [s for s in have if s not in instrument.schools]
        for school_id in added:
            await ConventionSchool.insert(ConventionSchool(convention=row["id"], establishment=school_id,
                                                           added_at=current))
        if removed:
            await ConventionSchool.delete().where(ConventionSchool.id.is_in([have[s] for s in removed]))
        changes = {}
        if not row["active"]:
            changes[Convention.active] = True
        if added or removed or changes:
            changed = True
            await Convention.update({Convention.version: Convention.version + 1, **changes}).where(
                Convention.id == row["id"])
            await record(actor, ENTITY, row["id"], "ecoles", pole_id=pole.id,
                         before={"schools": sorted(have)}, after={"schools": list(instrument.schools)},
                         summary="Écoles de la convention mises à jour d'après les écoles du pôle")
    for key, row in by_key.items():
        if key in wanted_keys or not row["active"] or row["step"] != rules.SCHOOLS:
            continue
        await Convention.update({Convention.active: False, Convention.version: Convention.version + 1}).where(
            Convention.id == row["id"])
        changed = True
        reason = ""
        if row["kind"] == rules.RESSORT_PARTNERSHIP:
            reason = (" : une école partenaire relève d'un autre PO, les écoles partenaires passent dans la "
                      "convention de partenariat")
        await record(actor, ENTITY, row["id"], "remplacement", pole_id=pole.id, before={"active": True},
                     after={"active": False}, summary=f"{rules.KIND_LABELS[row['kind']]} remplacé(e){reason}"[:255])
    return changed, frozen


@dataclass
class PolesSynced:
    """What :func:`sync_poles_of` did: how many poles had an instrument changed, and the validated instruments that
    no longer match their pole's schools (« pole — kind »), which only a change request can change."""

    changed: int = 0
    frozen: list[str] = field(default_factory=list)


async def sync_poles_of(establishment_ids: set[int], actor: Actor = SYSTEM) -> PolesSynced:
    """Bring in line the instruments of every pole whose seat or one of whose schools is among
    ``establishment_ids`` (in the caller's transaction): what follows when schools move to another PO, since the
    decision rests on each school's PO. A validated list does not follow: it is reported instead."""
    result = PolesSynced()
    if not establishment_ids:
        return result
    ids = sorted(establishment_ids)
    members = await PoleSchool.select(PoleSchool.pole).where(PoleSchool.establishment.is_in(ids))
    poles = await Pole.select(*_POLE_COLUMNS).where(
        Pole.seat.is_in(ids) | Pole.id.is_in([r["pole"] for r in members] or [-1])).order_by(Pole.id)
    for pole in map(_pole, poles):
        changed, frozen = await sync_pole(pole, actor)
        result.changed += changed
        result.frozen += [f"{pole.name} — {label}" for label in frozen]
    return result


def _frozen_mismatches(instruments: list[rules.Instrument], existing: list[dict],
                       covered: dict[int, dict[int, int]] | dict[int, set[int]]) -> list[str]:
    """Labels of the validated, active instruments among ``existing`` (their schools in ``covered``, by
    convention) whose schools differ from the decision ``instruments``."""
    wanted = _wanted_schools(instruments)
    return [rules.KIND_LABELS[row["kind"]] for row in existing
            if _left_behind(wanted, row["instrument_key"], row["step"], row["active"], set(covered.get(row["id"], ())))]


def _wanted_schools(instruments: list[rules.Instrument]) -> dict[str, set[int]]:
    """The schools of each instrument of a decision, by instrument key."""
    return {i.key: set(i.schools) for i in instruments}


def _left_behind(wanted: dict[str, set[int]], key: str, step: str, active: bool, schools: set[int]) -> bool:
    """True for a validated, active instrument (``key``, at ``step``, covering ``schools``) whose schools differ
    from the decision ``wanted`` (:func:`_wanted_schools`): only a change request changes it."""
    return step != rules.SCHOOLS and active and wanted.get(key) != schools


async def _frozen_conflicts(pole: PoleInfo, schools: list[SchoolInfo]) -> list[str]:
    """Labels of the validated instruments a new set of pole schools would change (such a change is refused)."""
    existing = await Convention.select(Convention.id, Convention.kind, Convention.instrument_key, Convention.step,
                                       Convention.active).where(Convention.pole == pole.id)
    frozen = [row for row in existing if row["step"] != rules.SCHOOLS and row["active"]]
    if not frozen:
        return []
    links = await ConventionSchool.select(ConventionSchool.convention, ConventionSchool.establishment).where(
        ConventionSchool.convention.is_in([r["id"] for r in frozen]))
    covered: dict[int, set[int]] = {}
    for link in links:
        covered.setdefault(link["convention"], set()).add(link["establishment"])
    return _frozen_mismatches(_decide(pole, schools), frozen, covered)


@dataclass
class ConventionSummary(rules.KindAndStepLabels):
    """One line of a pole's list of conventions or of a dashboard board."""

    id: int
    kind: str
    step: str
    active: bool
    pole_id: int
    pole_name: str
    other_po_name: str
    schools: list[str]
    instrument_key: str = ""
    school_ids: set[int] = field(default_factory=set)
    school_pos: set = field(default_factory=set)
    missing: int = 0
    signatures_missing: int = 0
    deadline: date | None = None
    deadline_state: str = ""


async def campaign_due(on: date | None = None) -> date | None:
    """The due date of the campaign of the current school year, if the Administration set one."""
    row = await Campaign.select(Campaign.due_on).where(
        Campaign.school_year == rules.school_year_of(on or today())).first()
    return row["due_on"] if row else None


# The first two statements of :func:`summaries`, written once: they run on every coordinator's and the
# Administration's dashboard, and Piccolo's builder spends milliseconds on the three-level joins.
_SUMMARY_SQL = """
SELECT c.id AS id, c.kind AS kind, c.step AS step, c.active AS active, c.pole AS pole, p.name AS pole_name,
       o.name AS other_po_name, seat.organising_body AS seat_po, c.care_starts_on AS care_starts_on,
       c.instrument_key AS instrument_key
FROM convention c JOIN pole p ON p.id = c.pole LEFT JOIN organising_body o ON o.id = c.other_po
LEFT JOIN establishment seat ON seat.id = p.seat
WHERE {where}
ORDER BY c.pole, c.id
"""
_SUMMARY_FILTERS = {
    "pole": "c.pole = {}",
    "active_pole": "c.pole = {} AND c.active = {}",
    "step": "c.step = {}",
}
_SUMMARY_SCHOOLS_SQL = """
SELECT cs.convention AS convention, e.name AS name, e.id AS est_id, e.organising_body AS po_id
FROM convention_school cs JOIN establishment e ON e.id = cs.establishment
WHERE cs.convention IN (SELECT c.id FROM convention c WHERE {where})
ORDER BY cs.id
"""


async def summaries(which: str, *args, with_progress: bool = True) -> list[ConventionSummary]:
    """Summaries of the conventions of one filter of ``_SUMMARY_FILTERS`` ("pole": a pole's conventions,
    "active_pole": its active ones, "step": those at a step) with its arguments, in a constant number of
    queries: conventions, their schools, their articles and signatures, the campaign date."""
    where = _SUMMARY_FILTERS[which]
    rows = await query(_SUMMARY_SQL.replace("{where}", where), *args)
    if not rows:
        return []
    ids = [r["id"] for r in rows]
    links = await query(_SUMMARY_SCHOOLS_SQL.replace("{where}", where), *args)
    names: dict[int, list[str]] = {}
    pos: dict[int, set[int | None]] = {}
    est_ids: dict[int, set[int]] = {}
    for link in links:
        names.setdefault(link["convention"], []).append(link["name"])
        est_ids.setdefault(link["convention"], set()).add(link["est_id"])
        pos.setdefault(link["convention"], set()).add(link["po_id"])
    saved: dict[int, dict[str, tuple[str, dict | None]]] = {}
    signed: dict[int, set[int]] = {}
    due = None
    holidays: list[tuple[date, date]] = []
    if with_progress:
        for article_row in await ArticleText.select(ArticleText.convention, ArticleText.key, ArticleText.text,
                                                    ArticleText.data).where(ArticleText.convention.is_in(ids)):
            saved.setdefault(article_row["convention"], {})[article_row["key"]] = (
                article_row["text"], stored_json(article_row["data"]))
        for sig in await Signature.select(Signature.convention, Signature.organising_body).where(
                Signature.convention.is_in(ids)):
            signed.setdefault(sig["convention"], set()).add(sig["organising_body"])
        due = await campaign_due()
        if any(r["care_starts_on"] for r in rows):
            holidays = await holiday_periods()
    result = []
    for row in rows:
        summary = ConventionSummary(id=row["id"], kind=row["kind"], step=row["step"], active=bool(row["active"]),
                                    pole_id=row["pole"], pole_name=row["pole_name"],
                                    other_po_name=row["other_po_name"] or "", schools=names.get(row["id"], []),
                                    instrument_key=row["instrument_key"],
                                    school_ids=est_ids.get(row["id"], set()), school_pos=pos.get(row["id"], set()))
        if with_progress:
            summary.missing = len(rules.missing_articles(row["kind"], saved.get(row["id"], {})))
            required = rules.concerned_pos(row["seat_po"], pos.get(row["id"], set()))
            summary.signatures_missing = len(set(required) - signed.get(row["id"], set()))
            deadline = due
            if row["kind"] == rules.SPECIFIC and row["care_starts_on"]:
                deadline = rules.specific_deadline(row["care_starts_on"], holidays)
            if row["step"] in (rules.SCHOOLS, rules.ARTICLES, rules.SIGNATURES):
                summary.deadline = deadline
                summary.deadline_state = rules.deadline_state(deadline, today())
        result.append(summary)
    return result


@dataclass
class PolePage:
    """The « École siège » page and the pole's list of conventions."""

    pole: PoleInfo
    coordinators: list[str]
    schools: list[SchoolInfo]
    conventions: list[ConventionSummary]
    replaced: list[ConventionSummary]
    moved_partners: list[SchoolInfo]
    can_edit: bool
    #: The validated instruments whose schools no longer match the pole's (a school moved to another PO by the
    #: directory import): only a change request changes them.
    frozen: list[ConventionSummary] = field(default_factory=list)


async def pole_page(user: CurrentUser, pole_id: int) -> PolePage:
    """The pole page. It only reads: the instruments follow the pole's schools at each change that moves them
    (:func:`add_pole_school`, :func:`remove_pole_school`, and the directory import that moves a school to
    another PO: :func:`sync_poles_of`)."""
    pole = await pole_info(pole_id)
    if pole is None:
        raise NotFound
    schools = await pole_schools(pole_id)
    if not reads(user, pole, {s.establishment_id for s in schools} | {pole.seat_id}, {s.po_id for s in schools}):
        raise NotFound
    coordinators = await query(
        "SELECT a.first_name, a.last_name FROM account a JOIN affiliation f ON f.account = a.id "
        "WHERE f.pole = {} AND f.profile = {} AND f.revoked_at IS NULL ORDER BY a.last_name", pole_id,
        Profile.COORDINATOR.value)
    everything = await summaries("pole", pole_id)
    visible = [s for s in everything if reads(user, pole, s.school_ids, s.school_pos)]
    partners = [s for s in schools if s.role == "partenaire"]
    moved = [s for s in partners if s.po_id != pole.seat_po] if any(
        c.kind == rules.PARTNERSHIP and c.active for c in everything) else []
    wanted = _wanted_schools(_decide(pole, schools))
    frozen = [s for s in visible if _left_behind(wanted, s.instrument_key, s.step, s.active, s.school_ids)]
    return PolePage(pole=pole, coordinators=[f"{c['first_name']} {c['last_name']}" for c in coordinators],
                    schools=schools, conventions=[s for s in visible if s.active],
                    replaced=[s for s in visible if not s.active], moved_partners=moved,
                    can_edit=manages(user, pole) and user.can("conventions.edit"), frozen=frozen)


async def search_schools(query: str, exclude: set[int], *, po: int | None = None, limit: int = SEARCH_LIMIT) -> list[SchoolInfo]:
    """Belgian schools whose name, FASE number or city contains ``query`` (ignoring case), not in ``exclude``."""
    condition = (Establishment.country == "BE")
    text = (query or "").strip()[:100]
    if text:
        like = f"%{text}%"
        condition = condition & (Establishment.name.ilike(like) | Establishment.fase.ilike(like)
                                 | Establishment.city.ilike(like))
    if po is not None:
        condition = condition & (Establishment.organising_body == po)
    if exclude:
        condition = condition & Establishment.id.not_in(list(exclude))
    rows = await Establishment.select(
        Establishment.id, Establishment.name, Establishment.fase, Establishment.city,
        Establishment.organising_body.id.as_alias("po_id"), Establishment.organising_body.name.as_alias("po_name"),
        Establishment.zone.id.as_alias("zone_id"), Establishment.zone.name.as_alias("zone_name"),
    ).where(condition).order_by(Establishment.name).limit(limit)
    return [SchoolInfo(r["id"], r["name"], r["fase"] or "", r["city"] or "", r["po_id"], r["po_name"] or "",
                       r["zone_id"], r["zone_name"] or "") for r in rows]


async def add_pole_school(user: CurrentUser, pole_id: int, establishment_raw: str | None, role: str | None,
                          *, kind: str | None = None, other_po: int | None = None) -> None:
    """Add a school to the pole with a role, then re-decide the instruments (all in one transaction).

    ``kind`` (adding from a convention's step 1) restricts the offer: a ressort only takes schools of the seat's
    PO, a convention de coopération only schools of its PO.
    """
    pole = await _managed_pole(user, pole_id)
    if role not in rules.ROLE_LABELS:
        raise ConventionError("Choisissez le rôle de l'école dans le pôle.")
    establishment_id = form_int(establishment_raw)
    if establishment_id is None:
        raise ConventionError("Choisissez l'école à ajouter dans la liste.")
    async with atomic():
        school = await Establishment.select(Establishment.id, Establishment.name, Establishment.country,
                                            Establishment.organising_body).where(
            Establishment.id == establishment_id).first()
        if school is None or school["country"] != "BE":
            raise ConventionError("Cette école n'existe pas dans l'annuaire.")
        if kind is not None and not rules.may_offer(kind, pole.seat_po, other_po, school["organising_body"]):
            raise ConventionError("Cette école ne peut pas être ajoutée ici : un ressort ne reprend que des écoles "
                                  "du PO de l'école siège, une convention de coopération que des écoles de son PO.")
        if establishment_id == pole.seat_id or await PoleSchool.exists().where(
                (PoleSchool.pole == pole_id) & (PoleSchool.establishment == establishment_id)):
            raise ConventionError(f"{school['name']} fait déjà partie du pôle.")
        if role in ("partenaire", "cooperante") and await PoleSchool.exists().where(
                (PoleSchool.establishment == establishment_id) & (PoleSchool.role == role)):
            raise ConventionError(f"{school['name']} est déjà {rules.ROLE_LABELS[role].lower()} d'un autre pôle : "
                                  "une école ne peut l'être que d'un seul pôle.")
        schools = await pole_schools(pole_id)
        new = SchoolInfo(establishment_id, school["name"], "", "", school["organising_body"], "", None, "", role=role)
        conflicts = await _frozen_conflicts(pole, [*schools, new])
        if conflicts:
            raise ConventionError("Cet ajout changerait une convention dont la liste des écoles est validée ("
                                  + ", ".join(conflicts) + ") : faites d'abord une demande de modification.")
        await PoleSchool.insert(PoleSchool(pole=pole_id, establishment=establishment_id, role=role,
                                           position=len(schools) + 1))
        await record(user.actor, "pole_school", establishment_id, "ajout", pole_id=pole_id,
                     after={"establishment": establishment_id, "role": role},
                     summary=f"{school['name']} ajoutée au pôle ({rules.ROLE_LABELS[role]})")
        await sync_pole(pole, user.actor)


async def remove_pole_school(user: CurrentUser, pole_id: int, establishment_id: int) -> None:
    """Remove a school from the pole (and from its instrument, while that list is not validated)."""
    pole = await _managed_pole(user, pole_id)
    async with atomic():
        link = await PoleSchool.select(PoleSchool.id, PoleSchool.role).where(
            (PoleSchool.pole == pole_id) & (PoleSchool.establishment == establishment_id)).first()
        if link is None:
            raise ConventionError("Cette école ne fait pas partie du pôle.")
        schools = [s for s in await pole_schools(pole_id) if s.establishment_id != establishment_id]
        conflicts = await _frozen_conflicts(pole, schools)
        if conflicts:
            raise ConventionError(LIST_FROZEN_MESSAGE + " (" + ", ".join(conflicts) + ")")
        await PoleSchool.delete().where(PoleSchool.id == link["id"])
        await record(user.actor, "pole_school", establishment_id, "retrait", pole_id=pole_id,
                     before={"establishment": establishment_id, "role": link["role"]},
                     summary="École retirée du pôle")
        await sync_pole(pole, user.actor)


async def _managed_pole(user: CurrentUser, pole_id: int) -> PoleInfo:
    pole = await pole_info(pole_id)
    if pole is None:
        raise NotFound
    if not manages(user, pole):
        schools = await pole_schools(pole_id)
        if not reads(user, pole, {s.establishment_id for s in schools}, {s.po_id for s in schools}):
            raise NotFound
        raise Refused("Seuls le coordonnateur, la direction de l'école siège et le délégué du PO de l'école siège "
                      "modifient les conventions du pôle.")
    return pole


# --- one convention --------------------------------------------------------------------------------------------


@dataclass
class ArticleState:
    """An article of a convention with what was saved."""

    article: rules.Article
    text: str
    data: dict | None
    version: int
    saved_by: str
    saved_at: datetime | None

    @property
    def complete(self) -> bool:
        """Green (complete) or red (to complete)."""
        return rules.is_complete(self.article, self.text, self.data)

    def cell(self, function_id: int, fraction: str) -> int:
        """The staff count saved in one cell of the article 8 table (0 when empty)."""
        for line in (self.data or {}).get("lines", []):
            if line.get("function") == function_id and line.get("fraction") == fraction:
                return int(line.get("count", 0))
        return 0


@dataclass
class Party:
    """A PO that signs, or a school whose direction acknowledges."""

    id: int
    name: str
    at: datetime | None = None
    by: str = ""


@dataclass
class ConventionView(rules.KindAndStepLabels):
    """Everything a convention page shows and what the person may do there."""

    row: dict
    pole: PoleInfo
    schools: list[SchoolInfo]
    articles: list[ArticleState]
    signers: list[Party]
    directions: list[Party]
    requests: list[dict]
    functions: list[dict]
    points: Fraction
    deadline: date | None
    deadline_label: str
    manage: bool
    siblings: list[dict]
    user_po: int | None
    user_establishment: int | None
    is_administration: bool
    can: dict = field(default_factory=dict)

    @property
    def id(self) -> int:
        """The convention's id."""
        return self.row["id"]

    @property
    def kind(self) -> str:
        """The convention's kind."""
        return self.row["kind"]

    @property
    def step(self) -> str:
        """The current step."""
        return self.row["step"]

    @property
    def missing(self) -> list[ArticleState]:
        """Required articles still red."""
        return [a for a in self.articles if not a.complete]

    @property
    def list_validated(self) -> bool:
        """True once the school list is frozen."""
        return self.row["list_validated_at"] is not None

    @property
    def editable(self) -> bool:
        """Articles may change (before validation)."""
        return self.step in rules.EDITABLE_STEPS and self.row["active"]

    @property
    def pending_request(self) -> dict | None:
        """The change request waiting for the Administration, if any."""
        return next((r for r in self.requests if r["status"] == "en_attente"), None)

    @property
    def avenant_deadline(self) -> date:
        """1 June before the next school year: the last day for an avenant taking effect then."""
        day = today()
        return rules.avenant_deadline(date(day.year + 1 if day.month >= 9 else day.year, 9, 1))

    @property
    def split_parties(self) -> list[tuple[int, str]]:
        """The seat (id 0) and the schools, for the key of article 8."""
        return [(0, self.pole.seat_name)] + [(s.establishment_id, s.name) for s in self.schools]

    @property
    def follow_up(self) -> bool:
        """« Documents de suivi »: a cooperation convention or a ressort opens the pole's partnership ones."""
        return self.kind in (rules.COOPERATION, rules.RESSORT_PARTNERSHIP, rules.RESSORT_COOPERATION)

    def state(self, key: str) -> ArticleState | None:
        """The state of one article."""
        return next((a for a in self.articles if a.article.key == key), None)


def stored_json(raw: str | None) -> dict | None:
    """A JSON object stored as text, or None when there is none or it is not an object."""
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


async def holiday_periods() -> list[tuple[date, date]]:
    """The school holidays of the reference data, as (start, end) pairs."""
    rows = await SchoolHoliday.select(SchoolHoliday.starts_on, SchoolHoliday.ends_on)
    return [(r["starts_on"], r["ends_on"]) for r in rows]


async def convention_view(user: CurrentUser, convention_id: int) -> ConventionView:
    """A convention with its schools, articles, signatures and acknowledgments, if the person reads it."""
    row = await Convention.select(Convention.all_columns(), Convention.other_po.name.as_alias("other_po_name")).where(
        Convention.id == convention_id).first()
    if row is None:
        raise NotFound
    pole = await pole_info(row["pole"])
    links = await ConventionSchool.select(
        ConventionSchool.id, ConventionSchool.derogation, ConventionSchool.establishment.id.as_alias("est_id"),
        ConventionSchool.establishment.name.as_alias("est_name"), ConventionSchool.establishment.fase.as_alias("fase"),
        ConventionSchool.establishment.city.as_alias("city"),
        ConventionSchool.establishment.organising_body.id.as_alias("po_id"),
        ConventionSchool.establishment.organising_body.name.as_alias("po_name"),
        ConventionSchool.establishment.zone.id.as_alias("zone_id"),
        ConventionSchool.establishment.zone.name.as_alias("zone_name"),
    ).where(ConventionSchool.convention == convention_id).order_by(ConventionSchool.id)
    schools = [SchoolInfo(r["est_id"], r["est_name"], r["fase"] or "", r["city"] or "", r["po_id"], r["po_name"] or "",
                          r["zone_id"], r["zone_name"] or "", role=rules.KIND_ROLES[row["kind"]], link_id=r["id"],
                          derogation_id=r["derogation"], outside_zone=r["zone_id"] != pole.seat_zone)
               for r in links]
    if not reads(user, pole, {s.establishment_id for s in schools}, {s.po_id for s in schools}):
        raise NotFound
    saved_rows = await ArticleText.select(
        ArticleText.key, ArticleText.text, ArticleText.data, ArticleText.version, ArticleText.saved_at,
        ArticleText.saved_by.first_name.as_alias("first"), ArticleText.saved_by.last_name.as_alias("last"),
    ).where(ArticleText.convention == convention_id)
    saved = {r["key"]: r for r in saved_rows}
    articles = []
    for item in rules.articles_for(row["kind"]):
        s = saved.get(item.key)
        articles.append(ArticleState(item, s["text"] if s else "", stored_json(s["data"]) if s else None,
                                     s["version"] if s else 0,
                                     f"{s['first']} {s['last']}" if s and s["first"] else "",
                                     s["saved_at"] if s else None))
    po_names = {s.po_id: s.po_name for s in schools}
    if pole.seat_po is not None:
        po_names[pole.seat_po] = pole.seat_po_name
    signature_rows = await Signature.select(
        Signature.organising_body, Signature.signed_at, Signature.account.first_name.as_alias("first"),
        Signature.account.last_name.as_alias("last")).where(Signature.convention == convention_id)
    signed = {r["organising_body"]: r for r in signature_rows}
    signers = [Party(po, po_names.get(po, ""), signed[po]["signed_at"] if po in signed else None,
                     f"{signed[po]['first']} {signed[po]['last']}" if po in signed else "")
               for po in rules.concerned_pos(pole.seat_po, [s.po_id for s in schools])]
    ack_rows = await Acknowledgment.select(
        Acknowledgment.establishment, Acknowledgment.at, Acknowledgment.account.first_name.as_alias("first"),
        Acknowledgment.account.last_name.as_alias("last")).where(Acknowledgment.convention == convention_id)
    acked = {r["establishment"]: r for r in ack_rows}
    directions = [Party(est, name, acked[est]["at"] if est in acked else None,
                        f"{acked[est]['first']} {acked[est]['last']}" if est in acked else "")
                  for est, name in [(pole.seat_id, pole.seat_name)] + [(s.establishment_id, s.name) for s in schools]]
    requests = await ChangeRequest.select(
        ChangeRequest.all_columns(), ChangeRequest.requested_by.first_name.as_alias("first"),
        ChangeRequest.requested_by.last_name.as_alias("last")).where(
        ChangeRequest.convention == convention_id).order_by(ChangeRequest.id, ascending=False)
    functions: list[dict] = []
    points = Fraction(0)
    if row["kind"] == rules.SPECIFIC:
        functions = await StaffFunction.select().order_by(StaffFunction.name)
        staff = saved.get("art8")
        data = stored_json(staff["data"]) if staff else None
        points = rules.staff_points((data or {}).get("lines", []), {f["id"]: f["points"] for f in functions})
    deadline, deadline_label = await _deadline(row)
    siblings = await Convention.select(Convention.id, Convention.kind).where(
        (Convention.pole == pole.id) & (Convention.active == True)
        & Convention.kind.is_in([rules.PARTNERSHIP, rules.SPECIFIC, rules.RESSORT_PARTNERSHIP])
        & (Convention.id != convention_id)).order_by(Convention.id)
    for sibling in siblings:
        sibling["kind_label"] = rules.KIND_LABELS[sibling["kind"]]
    active = user.active
    view = ConventionView(
        row=row, pole=pole, schools=schools, articles=articles, signers=signers, directions=directions,
        requests=requests, functions=functions, points=points, deadline=deadline, deadline_label=deadline_label,
        manage=manages(user, pole), siblings=siblings, user_po=active.organising_body_id if active else None,
        user_establishment=active.establishment_id if active else None,
        is_administration=bool(active and active.profile == Profile.ADMINISTRATION),
    )
    view.can = _abilities(user, view)
    return view


async def _deadline(row: dict) -> tuple[date | None, str]:
    if row["kind"] == rules.SPECIFIC and row["care_starts_on"]:
        day = rules.specific_deadline(row["care_starts_on"], await holiday_periods())
        return day, ("à communiquer au plus tard 10 jours ouvrables scolaires avant le début de la prise en charge "
                     f"({row['care_starts_on']:%d/%m/%Y})")
    due = await campaign_due()
    return due, "date de la campagne fixée par l'Administration"


def _abilities(user: CurrentUser, view: ConventionView) -> dict:
    """What the person may do on this convention now (the same checks as the services below)."""
    active_row = view.row["active"]
    signer = next((p for p in view.signers if p.id == view.user_po), None)
    direction = next((p for p in view.directions if p.id == view.user_establishment), None)
    return {
        "edit_schools": active_row and view.manage and user.can("conventions.edit") and view.step == rules.SCHOOLS,
        "edit_articles": view.editable and view.manage and user.can("conventions.edit"),
        "sign": (active_row and user.can("conventions.sign") and view.step == rules.SIGNATURES
                 and signer is not None and signer.at is None),
        "validate": active_row and user.can("conventions.validate") and view.step == rules.ADMINISTRATION,
        "acknowledge": (active_row and user.can("conventions.acknowledge") and view.step == rules.ACKNOWLEDGMENT
                        and direction is not None and direction.at is None),
        "request_change": (active_row and user.can("conventions.change_request") and view.manage
                           and view.step not in rules.EDITABLE_STEPS and view.pending_request is None),
        "decide_request": user.can("conventions.validate") and view.pending_request is not None,
    }


async def _editable(user: CurrentUser, convention_id: int, *, schools: bool = False) -> ConventionView:
    view = await convention_view(user, convention_id)
    if not view.manage:
        raise Refused("Seuls le coordonnateur, la direction de l'école siège et le délégué du PO de l'école siège "
                      "modifient cette convention.")
    if not view.row["active"]:
        raise ConventionError("Cette convention a été remplacée : elle ne peut plus être modifiée.")
    if schools and view.step != rules.SCHOOLS:
        raise ConventionError(LIST_FROZEN_MESSAGE)
    if not view.editable:
        raise ConventionError(FROZEN_MESSAGE)
    return view


async def add_convention_school(user: CurrentUser, convention_id: int, establishment_raw: str | None) -> None:
    """Step 1: add a school to the convention (it joins the pole with the convention's role)."""
    view = await _editable(user, convention_id, schools=True)
    if view.kind == rules.SPECIFIC:
        raise ConventionError("Une convention de partenariat spécifique ne concerne qu'une école partenaire "
                              "spécifique : ajoutez l'autre école au pôle, elle aura sa propre convention.")
    await add_pole_school(user, view.pole.id, establishment_raw, rules.KIND_ROLES[view.kind], kind=view.kind,
                          other_po=view.row["other_po"])


async def remove_convention_school(user: CurrentUser, convention_id: int, establishment_id: int) -> None:
    """Step 1: remove a school from the convention (and from the pole)."""
    view = await _editable(user, convention_id, schools=True)
    if establishment_id not in {s.establishment_id for s in view.schools}:
        raise ConventionError("Cette école ne fait pas partie de la convention.")
    await remove_pole_school(user, view.pole.id, establishment_id)


def sniff(content: bytes) -> tuple[str, str] | None:
    """(extension, media type) of a PDF, PNG or JPEG recognised by its first bytes, or None."""
    for magic, kind in SIGNATURES.items():
        if content.startswith(magic):
            return kind
    return None


async def attach_derogation(user: CurrentUser, convention_id: int, establishment_id: int, content: bytes | None,
                            filename: str = "") -> None:
    """Step 1: attach a dérogation (PDF, JPEG or PNG by content, at most 5 MB) to a school outside the seat's zone."""
    view = await _editable(user, convention_id, schools=True)
    school = next((s for s in view.schools if s.establishment_id == establishment_id), None)
    if school is None:
        raise ConventionError("Cette école ne fait pas partie de la convention.")
    if not content:
        raise ConventionError("Choisissez le fichier de la dérogation (PDF, JPEG ou PNG).")
    if len(content) > MAX_UPLOAD:
        raise ConventionError("Le fichier dépasse 5 Mo : réduisez-le (par exemple en le numérisant en noir et "
                              "blanc) puis recommencez. Rien n'a été enregistré.")
    kind = sniff(content)
    if kind is None:
        raise ConventionError("Le fichier n'est ni un PDF, ni une image JPEG ou PNG (son contenu a été vérifié, "
                              "pas seulement son nom). Rien n'a été enregistré.")
    extension, media_type = kind
    async with atomic():
        document_id = await documents.store(
            "derogation", f"DER-{convention_id}-{uuid.uuid4().hex[:16]}",
            f"derogation-{school.fase or establishment_id}.{extension}", content, media_type=media_type)
        await ConventionSchool.update({ConventionSchool.derogation: document_id}).where(
            ConventionSchool.id == school.link_id)
        await record(user.actor, ENTITY, convention_id, "derogation", pole_id=view.pole.id,
                     before={"derogation": school.derogation_id}, after={"derogation": document_id},
                     summary=f"Dérogation jointe pour {school.name}"[:255])


async def derogation(user: CurrentUser, convention_id: int, establishment_id: int) -> documents.Document:
    """The dérogation of a school of the convention, as stored."""
    view = await convention_view(user, convention_id)
    school = next((s for s in view.schools if s.establishment_id == establishment_id), None)
    if school is None or school.derogation_id is None:
        raise NotFound
    document = await documents.fetch(school.derogation_id)
    if document is None:
        raise NotFound
    return document


async def validate_list(user: CurrentUser, convention_id: int) -> None:
    """Step 1: validate the school list (every school outside the seat's zone has its dérogation); then frozen."""
    view = await _editable(user, convention_id, schools=True)
    if not view.schools:
        raise ConventionError("La liste ne contient aucune école.")
    without = [s.name for s in view.schools if s.outside_zone and s.derogation_id is None]
    if without:
        raise ConventionError("Joignez d'abord la dérogation des écoles situées hors de la zone de l'école siège : "
                              + ", ".join(without) + ".")
    async with atomic():
        changed = await Convention.update({
            Convention.step: rules.ARTICLES, Convention.list_validated_at: now(),
            Convention.version: Convention.version + 1,
        }).where((Convention.id == convention_id) & (Convention.step == rules.SCHOOLS)).returning(Convention.id)
        if not changed:
            raise ConventionError(LIST_FROZEN_MESSAGE, 409)
        await record(user.actor, ENTITY, convention_id, "validation_liste", pole_id=view.pole.id,
                     before={"step": rules.SCHOOLS}, after={"step": rules.ARTICLES,
                                                            "schools": [s.establishment_id for s in view.schools]},
                     summary="Liste des écoles validée")


@dataclass
class ArticleInput:
    """What an article form sends."""

    text: str
    version: str | None
    cells: dict[str, str] = field(default_factory=dict)
    split_mode: str | None = None
    shares: dict[int, str] = field(default_factory=dict)
    running: str | None = None


async def save_article(user: CurrentUser, convention_id: int, key: str, form: ArticleInput) -> ConventionView:
    """Step 2: save one article (version-checked: a stale save is refused and the other text kept)."""
    view = await _editable(user, convention_id)
    state = view.state(key)
    if state is None:
        raise NotFound
    item = state.article
    if not item.editable:
        raise ConventionError("Cet article est pré-complété ou identique pour toutes les conventions : il ne se "
                              "modifie pas.")
    text = (form.text or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_TEXT:
        raise ConventionError(f"Le texte dépasse {MAX_TEXT} caractères.")
    if "\x00" in text:
        raise ConventionError("Le texte contient des caractères non permis.")
    version = form_int(form.version)
    if version is None:
        raise ConventionError(INCOMPLETE_FORM)
    data = None
    try:
        if item.table == "staff":
            names = {f["id"]: f["name"] for f in view.functions}
            data = {"lines": rules.parse_staff_cells(form.cells, names)}
        elif item.table == "split":
            data = rules.parse_split(form.split_mode, form.shares, [s.establishment_id for s in view.schools],
                                     form.running)
    except rules.RuleError as error:
        raise ConventionError(str(error)) from None
    data_raw = json.dumps(data, sort_keys=True) if data is not None else ""
    current = now()
    async with atomic():
        row = await ArticleText.select(ArticleText.id, ArticleText.version, ArticleText.text, ArticleText.data).where(
            (ArticleText.convention == convention_id) & (ArticleText.key == key)).first()
        step = await Convention.select(Convention.step).where(Convention.id == convention_id).first()
        if step["step"] not in rules.EDITABLE_STEPS:
            raise ConventionError(FROZEN_MESSAGE, 409)
        if (row["version"] if row else 0) != version:
            raise ConventionError(STALE_MESSAGE, 409)
        if row and row["text"] == text and (row["data"] or "") == data_raw:
            return await convention_view(user, convention_id)
        if row is None:
            await ArticleText.insert(ArticleText(convention=convention_id, key=key, text=text, data=data_raw,
                                                 version=1, saved_by=user.account_id, saved_at=current))
        else:
            updated = await ArticleText.update({
                ArticleText.text: text, ArticleText.data: data_raw, ArticleText.version: row["version"] + 1,
                ArticleText.saved_by: user.account_id, ArticleText.saved_at: current,
            }).where((ArticleText.id == row["id"]) & (ArticleText.version == version)).returning(ArticleText.id)
            if not updated:
                raise ConventionError(STALE_MESSAGE, 409)
        await record(user.actor, ENTITY, convention_id, "article", pole_id=view.pole.id,
                     before={"key": key, "text": row["text"] if row else "", "data": row["data"] if row else ""},
                     after={"key": key, "text": text, "data": data_raw}, summary=f"{item.label} enregistré"[:255])
    return await convention_view(user, convention_id)


async def last_cooperation_text(user: CurrentUser, convention_id: int, key: str) -> str:
    """« Insérer le texte de la dernière convention de coopération » : the latest text of this article written in
    another cooperation convention of the same pole ("" when there is none)."""
    view = await _editable(user, convention_id)
    if view.kind not in rules.COPYABLE_KINDS or view.state(key) is None or not view.state(key).article.editable:
        raise ConventionError("Cet article ne peut pas reprendre le texte d'une autre convention.")
    row = await ArticleText.select(ArticleText.text).where(
        (ArticleText.key == key) & (ArticleText.convention != convention_id)
        & (ArticleText.convention.kind == rules.COOPERATION) & (ArticleText.convention.pole == view.pole.id)
        & (ArticleText.text != "")
    ).order_by(ArticleText.saved_at, ascending=False).first()
    if row is None:
        raise ConventionError("Aucune autre convention de coopération du pôle n'a encore de texte pour cet article.")
    return row["text"]


def preview_points(view: ConventionView, cells: dict[str, str]) -> tuple[Fraction, str]:
    """The article 8 total for cells being typed (not saved): (points, error message or "")."""
    try:
        lines = rules.parse_staff_cells(cells, {f["id"]: f["name"] for f in view.functions})
    except rules.RuleError as error:
        return view.points, str(error)
    return rules.staff_points(lines, {f["id"]: f["points"] for f in view.functions}), ""


async def validate_articles(user: CurrentUser, convention_id: int) -> None:
    """Step 2: validate the convention once the list is validated and every required article is green."""
    view = await _editable(user, convention_id)
    if not view.list_validated:
        raise ConventionError("Validez d'abord la liste des écoles (étape 1).")
    if view.missing:
        raise ConventionError("Complétez d'abord les articles en rouge : "
                              + ", ".join(a.article.label for a in view.missing) + ".")
    async with atomic():
        changed = await Convention.update({
            Convention.step: rules.SIGNATURES, Convention.articles_validated_at: now(),
            Convention.version: Convention.version + 1,
        }).where((Convention.id == convention_id) & (Convention.step == rules.ARTICLES)).returning(Convention.id)
        if not changed:
            raise ConventionError(FROZEN_MESSAGE, 409)
        await record(user.actor, ENTITY, convention_id, "validation_articles", pole_id=view.pole.id,
                     before={"step": rules.ARTICLES}, after={"step": rules.SIGNATURES},
                     summary="Convention validée : texte figé, en attente des signatures")


async def sign(user: CurrentUser, convention_id: int, confirmed: bool) -> None:
    """Step 3: the délégué of a PO concerned signs (a checked box); the last signature sends it to the
    Administration."""
    view = await convention_view(user, convention_id)
    if user.active is None or view.user_po not in {p.id for p in view.signers}:
        raise Refused("Seuls les délégués des PO concernés signent cette convention.")
    if view.step != rules.SIGNATURES:
        raise ConventionError("Cette convention n'est pas à l'étape des signatures.", 409)
    if not confirmed:
        raise ConventionError("Cochez la case pour signer la convention.")
    async with atomic():
        if await Signature.exists().where((Signature.convention == convention_id)
                                          & (Signature.organising_body == view.user_po)):
            raise ConventionError("Votre PO a déjà signé cette convention.", 409)
        await Signature.insert(Signature(convention=convention_id, organising_body=view.user_po,
                                         account=user.account_id, signed_at=now()))
        signed = {r["organising_body"] for r in await Signature.select(Signature.organising_body).where(
            Signature.convention == convention_id)}
        after = {"signed": sorted(signed)}
        if {p.id for p in view.signers} <= signed:
            await Convention.update({Convention.step: rules.ADMINISTRATION,
                                     Convention.version: Convention.version + 1}).where(Convention.id == convention_id)
            after["step"] = rules.ADMINISTRATION
        await record(user.actor, ENTITY, convention_id, "signature", pole_id=view.pole.id, after=after,
                     summary="Convention signée par le délégué du PO")


async def admin_validate(user: CurrentUser, convention_id: int, confirmed: bool) -> None:
    """The Administration validates a signed convention; its PDF/A is rendered once and stored with its SHA-256."""
    view = await convention_view(user, convention_id)
    if not view.is_administration:
        raise Refused("Seule l'Administration valide les conventions.")
    if view.step != rules.ADMINISTRATION:
        raise ConventionError("Cette convention n'attend pas la validation de l'Administration.", 409)
    if not confirmed:
        raise ConventionError("Confirmez la validation de la convention.")
    validated_at = now()
    view.row["admin_validated_at"] = validated_at
    # Rendered before the transaction: WeasyPrint takes a while and the write lock must not wait for it.
    content = await _render(view, await account_name(user.account_id))
    async with atomic():
        changed = await Convention.update({
            Convention.step: rules.ACKNOWLEDGMENT, Convention.admin_validated_at: validated_at,
            Convention.admin_validated_by: user.account_id, Convention.version: Convention.version + 1,
        }).where((Convention.id == convention_id) & (Convention.step == rules.ADMINISTRATION)).returning(Convention.id)
        if not changed:
            raise ConventionError("Cette convention a déjà été validée.", 409)
        document_id = await _store_pdf(view.id, content, validated_at)
        await record(user.actor, ENTITY, convention_id, "validation_administration", pole_id=view.pole.id,
                     before={"step": rules.ADMINISTRATION},
                     after={"step": rules.ACKNOWLEDGMENT, "document": document_id},
                     summary="Convention validée par l'Administration ; PDF/A archivé")


async def account_name(account_id: int | None) -> str:
    """« First Last » of an account, or an empty string."""
    if account_id is None:
        return ""
    row = await Account.select(Account.first_name, Account.last_name).where(Account.id == account_id).first()
    return f"{row['first_name']} {row['last_name']}" if row else ""


async def _render(view: ConventionView, administration: str) -> bytes:
    """The convention's PDF/A: parties, articles, signatures, validation (dated by the validation: deterministic)."""
    return await pdf.run(functools.partial(pdf.render_pdf, "conventions/pdf/convention.html",
                         {"view": view, "administration": administration, "rules": rules},
                         created=view.row["admin_validated_at"], stylesheets=["conventions/pdf/convention.css"],
                         title=view.kind_label))


async def _store_pdf(convention_id: int, content: bytes, created: datetime) -> int:
    """Store the rendered PDF once and point the convention at it (in the caller's transaction)."""
    previous = await Convention.select(Convention.document).where(Convention.id == convention_id).first()
    number = f"CONV-{convention_id}-{uuid.uuid4().hex[:12]}"
    document_id = await documents.store("convention", number, f"convention-{convention_id}.pdf", content,
                                        created_at=created)
    await Convention.update({Convention.document: document_id}).where(Convention.id == convention_id)
    if previous and previous["document"]:
        await documents.revoke(previous["document"], "Remplacée après une demande de modification")
    return document_id


async def convention_pdf(user: CurrentUser, convention_id: int) -> documents.Document:
    """The validated convention's PDF as stored (rendered and stored once, at the Administration's validation;
    a convention validated without one — demo data — gets it on its first download, then always the same)."""
    view = await convention_view(user, convention_id)
    if view.row["admin_validated_at"] is None:
        raise ConventionError("Le PDF de la convention est disponible après la validation par l'Administration.", 409)
    document_id = view.row["document"]
    if document_id is None:
        content = await _render(view, await account_name(view.row["admin_validated_by"]))
        async with atomic():
            again = await Convention.select(Convention.document).where(Convention.id == convention_id).first()
            document_id = again["document"] or await _store_pdf(convention_id, content,
                                                                view.row["admin_validated_at"])
    document = await documents.fetch(document_id)
    if document is None:  # pragma: no cover - a stored document is never deleted
        raise NotFound
    return document


async def acknowledge(user: CurrentUser, convention_id: int, confirmed: bool) -> None:
    """The direction of a school concerned acknowledges the validated convention (prise de connaissance)."""
    view = await convention_view(user, convention_id)
    if view.user_establishment not in {p.id for p in view.directions}:
        raise Refused("Seules les directions des écoles concernées prennent connaissance de cette convention.")
    if view.step != rules.ACKNOWLEDGMENT:
        raise ConventionError("Cette convention n'est pas à l'étape de la prise de connaissance.", 409)
    if not confirmed:
        raise ConventionError("Cochez la case pour acter la prise de connaissance.")
    async with atomic():
        if await Acknowledgment.exists().where((Acknowledgment.convention == convention_id)
                                               & (Acknowledgment.establishment == view.user_establishment)):
            raise ConventionError("Votre école a déjà pris connaissance de cette convention.", 409)
        await Acknowledgment.insert(Acknowledgment(convention=convention_id, establishment=view.user_establishment,
                                                   account=user.account_id, at=now()))
        done = {r["establishment"] for r in await Acknowledgment.select(Acknowledgment.establishment).where(
            Acknowledgment.convention == convention_id)}
        after = {"acknowledged": sorted(done)}
        if {p.id for p in view.directions} <= done:
            await Convention.update({Convention.step: rules.DONE, Convention.version: Convention.version + 1}).where(
                Convention.id == convention_id)
            after["step"] = rules.DONE
        await record(user.actor, ENTITY, convention_id, "prise_de_connaissance", pole_id=view.pole.id, after=after,
                     summary="Prise de connaissance de la convention")


async def request_change(user: CurrentUser, convention_id: int, reason: str | None) -> None:
    """After validation, ask the Administration to unlock the convention (with a reason)."""
    view = await convention_view(user, convention_id)
    if not view.manage:
        raise Refused("Seuls le coordonnateur, la direction de l'école siège et le délégué du PO de l'école siège "
                      "demandent une modification.")
    if view.step in rules.EDITABLE_STEPS:
        raise ConventionError("Cette convention n'est pas encore validée : elle se modifie directement.")
    text = (reason or "").strip()
    if len(text) < 10 or len(text) > 2000:
        raise ConventionError("Expliquez la modification demandée (10 à 2000 caractères).")
    async with atomic():
        if await ChangeRequest.exists().where((ChangeRequest.convention == convention_id)
                                              & (ChangeRequest.status == "en_attente")):
            raise ConventionError("Une demande de modification attend déjà la décision de l'Administration.", 409)
        result = await ChangeRequest.insert(ChangeRequest(convention=convention_id, reason=text,
                                                          requested_by=user.account_id, requested_at=now())
                                            ).returning(ChangeRequest.id)
        await record(user.actor, "convention_change_request", result[0]["id"], "demande", pole_id=view.pole.id,
                     after={"convention": convention_id, "reason": text}, summary="Demande de modification envoyée")


async def request_convention(request_id: int) -> int:
    """The id of the convention a change request is about (the page a refusal shows again); NotFound when
    unknown."""
    row = await ChangeRequest.select(ChangeRequest.convention).where(ChangeRequest.id == request_id).first()
    if row is None:
        raise NotFound
    return row["convention"]


async def decide_request(user: CurrentUser, request_id: int, decision: str | None, note: str | None) -> int:
    """The Administration grants (the convention goes back to its articles, signatures and acknowledgments are
    cleared) or refuses a change request. Returns the convention id."""
    if user.active is None or user.active.profile != Profile.ADMINISTRATION:
        raise Refused("Seule l'Administration décide des demandes de modification.")
    row = await ChangeRequest.select().where(ChangeRequest.id == request_id).first()
    if row is None:
        raise NotFound
    if decision not in ("accorder", "refuser"):
        raise ConventionError("Choisissez d'accorder ou de refuser la demande.")
    text = (note or "").strip()[:2000]
    async with atomic():
        decided = await ChangeRequest.update({
            ChangeRequest.status: "accordee" if decision == "accorder" else "refusee",
            ChangeRequest.decided_by: user.account_id, ChangeRequest.decided_at: now(),
            ChangeRequest.decision_note: text,
        }).where((ChangeRequest.id == request_id) & (ChangeRequest.status == "en_attente")).returning(ChangeRequest.id)
        if not decided:
            raise ConventionError("Cette demande a déjà été traitée.", 409)
        convention = await Convention.select(Convention.id, Convention.step, Convention.pole).where(
            Convention.id == row["convention"]).first()
        if decision == "accorder":
            await Signature.delete().where(Signature.convention == convention["id"])
            await Acknowledgment.delete().where(Acknowledgment.convention == convention["id"])
            await Convention.update({
                Convention.step: rules.ARTICLES, Convention.articles_validated_at: None,
                Convention.admin_validated_at: None, Convention.admin_validated_by: None,
                Convention.version: Convention.version + 1,
            }).where(Convention.id == convention["id"])
        await record(user.actor, "convention_change_request", request_id, decision, pole_id=convention["pole"],
                     before={"step": convention["step"]},
                     after={"step": rules.ARTICLES if decision == "accorder" else convention["step"], "note": text},
                     summary=("Demande de modification accordée : convention déverrouillée" if decision == "accorder"
                              else "Demande de modification refusée"))
    return row["convention"]


_REQUESTS_SQL = """
SELECT r.id AS id, r.reason AS reason, r.requested_at AS requested_at, r.convention AS convention,
       c.kind AS kind, p.name AS pole_name
FROM convention_change_request r JOIN convention c ON c.id = r.convention JOIN pole p ON p.id = c.pole
WHERE r.status = {} ORDER BY r.requested_at, r.id
"""


async def administration_lists() -> dict:
    """For the Administration: conventions waiting for validation and change requests waiting for a decision."""
    waiting = await summaries("step", rules.ADMINISTRATION, with_progress=False)
    requests = await query(_REQUESTS_SQL, "en_attente")
    for r in requests:
        r["kind_label"] = rules.KIND_LABELS[r["kind"]]
    return {"waiting": waiting, "requests": requests}


# --- reference data (Administration) ---------------------------------------------------------------------------


async def reference_data() -> dict:
    """Functions with their points, holidays, campaign dates."""
    return {
        "functions": await StaffFunction.select().order_by(StaffFunction.name),
        "holidays": await SchoolHoliday.select().order_by(SchoolHoliday.starts_on),
        "campaigns": await Campaign.select().order_by(Campaign.school_year, ascending=False),
        "school_year": rules.school_year_of(today()),
    }


def _require_admin(user: CurrentUser) -> None:
    if user.active is None or user.active.profile != Profile.ADMINISTRATION:
        raise Refused("Seule l'Administration tient les données de référence.")


def _date(raw: str | None, label: str) -> date:
    text = (raw or "").strip()
    try:
        if "/" in text:
            day, month, year = text.split("/")
            return date(int(year), int(month), int(day))
        return date.fromisoformat(text)
    except ValueError:
        raise ConventionError(f"{label} : indiquez une date valide (jj/mm/aaaa).") from None


async def save_function(user: CurrentUser, function_id: int | None, name: str | None, points: str | None) -> None:
    """Add or change a function of the article 8 table (name, points for a full time)."""
    _require_admin(user)
    clean = " ".join((name or "").split())
    if not clean or len(clean) > 120:
        raise ConventionError("Indiquez le nom de la fonction (120 caractères au plus).")
    value = form_int(points)
    if value is None or not 0 < value <= 10_000:
        raise ConventionError("Les points sont un nombre entier entre 1 et 10 000.")
    async with atomic():
        same = await StaffFunction.select(StaffFunction.id).where(StaffFunction.name == clean).first()
        if same and same["id"] != function_id:
            raise ConventionError(f"La fonction « {clean} » existe déjà.")
        if function_id is None:
            result = await StaffFunction.insert(StaffFunction(name=clean, points=value)).returning(StaffFunction.id)
            await record(user.actor, "convention_function", result[0]["id"], "ajout",
                         after={"name": clean, "points": value}, summary=f"Fonction {clean} ajoutée"[:255])
            return
        before = await StaffFunction.select().where(StaffFunction.id == function_id).first()
        if before is None:
            raise NotFound
        await StaffFunction.update({StaffFunction.name: clean, StaffFunction.points: value}).where(
            StaffFunction.id == function_id)
        await record(user.actor, "convention_function", function_id, "modification",
                     before={"name": before["name"], "points": before["points"]},
                     after={"name": clean, "points": value}, summary=f"Fonction {clean} modifiée"[:255])


async def add_holiday(user: CurrentUser, label: str | None, starts: str | None, ends: str | None) -> None:
    """Add a school holiday (inclusive dates)."""
    _require_admin(user)
    clean = " ".join((label or "").split())
    if not clean or len(clean) > 120:
        raise ConventionError("Indiquez le nom du congé (120 caractères au plus).")
    start, end = _date(starts, "Début"), _date(ends, "Fin")
    if end < start:
        raise ConventionError("La fin du congé précède son début.")
    if (end - start).days > 100:
        raise ConventionError("Un congé dure au plus 100 jours.")
    async with atomic():
        result = await SchoolHoliday.insert(SchoolHoliday(label=clean, starts_on=start, ends_on=end)).returning(
            SchoolHoliday.id)
        await record(user.actor, "convention_holiday", result[0]["id"], "ajout",
                     after={"label": clean, "start": start, "end": end}, summary=f"Congé {clean} ajouté"[:255])


async def delete_holiday(user: CurrentUser, holiday_id: int) -> None:
    """Remove a school holiday."""
    _require_admin(user)
    async with atomic():
        row = await SchoolHoliday.select().where(SchoolHoliday.id == holiday_id).first()
        if row is None:
            raise NotFound
        await SchoolHoliday.delete().where(SchoolHoliday.id == holiday_id)
        await record(user.actor, "convention_holiday", holiday_id, "suppression",
                     before={"label": row["label"], "start": row["starts_on"], "end": row["ends_on"]},
                     summary=f"Congé {row['label']} supprimé"[:255])


async def set_campaign(user: CurrentUser, school_year: str | None, due: str | None) -> None:
    """Set the due date of a school year's conventions."""
    _require_admin(user)
    year = (school_year or "").strip()
    parts = year.split("-")
    if len(parts) != 2 or not all(p.isdigit() and len(p) == 4 for p in parts) or int(parts[1]) != int(parts[0]) + 1:
        raise ConventionError("L'année scolaire s'écrit aaaa-aaaa, deux années qui se suivent (2026-2027).")
    day = _date(due, "Date de la campagne")
    if not date(int(parts[0]), 9, 1) <= day <= date(int(parts[1]), 8, 31):
        raise ConventionError(f"La date de la campagne doit tomber pendant l'année scolaire {year}.")
    async with atomic():
        row = await Campaign.select().where(Campaign.school_year == year).first()
        if row:
            await Campaign.update({Campaign.due_on: day}).where(Campaign.id == row["id"])
        else:
            await Campaign.insert(Campaign(school_year=year, due_on=day))
        await record(user.actor, "convention_campaign", row["id"] if row else None, "date",
                     before={"due_on": row["due_on"]} if row else None, after={"school_year": year, "due_on": day},
                     summary=f"Date de la campagne {year} fixée"[:255])


async def set_care_start(user: CurrentUser, convention_id: int, raw: str | None) -> None:
    """A specific partnership: the day the care of the learner starts (gives the 10 working days deadline)."""
    view = await _editable(user, convention_id)
    if view.kind != rules.SPECIFIC:
        raise ConventionError("Seule une convention de partenariat spécifique a une date de début de prise en charge.")
    day = _date(raw, "Début de la prise en charge")
    async with atomic():
        await Convention.update({Convention.care_starts_on: day, Convention.version: Convention.version + 1}).where(
            Convention.id == convention_id)
        await record(user.actor, ENTITY, convention_id, "debut_prise_en_charge", pole_id=view.pole.id,
                     before={"care_starts_on": view.row["care_starts_on"]}, after={"care_starts_on": day},
                     summary="Début de la prise en charge fixé")
