"""Attestations de validation (SPEC §5 and §9, CEPU guide §2.5). No Litestar import here.

- **Issued once.** :func:`issue_for_attempt` gives the attestation of a successful attempt: the one already issued
  (not revoked) if there is one, otherwise a new one with a unique number (:func:`format_number`:
  ``CPU-2026-000123-3``, a sequence per calendar year and a Luhn check digit), its PDF/A rendered once, stored with
  its SHA-256 (:mod:`portal.documents.services`) and then always served as stored; the attestation row and a
  history event are written in the same transaction. The PDF itself is rendered before the transaction with the
  number expected next; inside the transaction (writers serialised: IMMEDIATE on SQLite, an advisory lock on
  PostgreSQL) the number is checked again, and the rare loser of a race renders again with the right one.
- **Revoked, never deleted.** :func:`revoke_for_attempt` (called by the encoding when a Réussite is corrected)
  marks the attestation and its stored document revoked, with the time and the reason; the public verification
  page (:func:`verification`) then says so. A later Réussite of the same attempt gets a new attestation.
- **Scope.** Staff (``uaa.attestation``) reach the attempts of the learners of the establishment they act for,
  and the attempts their establishment encoded before a learner changed school; a learner (``uaa.own_results``)
  reaches their own attempts. Anything else is :class:`AttestationNotFound` (a 404: nothing leaks).
- **Batches** are in :mod:`portal.uaa.attestation_batches`.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from portal.accounts.identity import CurrentUser
from portal.core.clock import as_aware, day_text, local, now
from portal.core.db import atomic, is_sqlite, query
from portal.documents import pdf
from portal.documents import services as documents
from portal.history.services import Actor, record
from portal.permissions import Profile
from portal.settings import settings
from portal.uaa.rules import SUCCESS
from portal.uaa.tables import Attempt, Attestation

LOG = logging.getLogger("portal.attestations")
HISTORY_ENTITY = "attestation"
DOCUMENT_KIND = "attestation"
TEMPLATE = "documents/attestation.html"
STYLESHEETS = ("documents/attestation.css",)
PREFIX = "CPU"
SEQUENCE_DIGITS = 6
NUMBER_RE = re.compile(rf"^{PREFIX}-(\d{{4}})-(\d{{{SEQUENCE_DIGITS},}})-(\d)$")
#: PostgreSQL advisory lock (class, key = year) serialising the issue of attestations.
LOCK_CLASS = 7_270_001


# --- errors ----------------------------------------------------------------------------------------------------


class AttestationError(Exception):
    """A refused request, with the French message to show and the HTTP status that fits."""

    status_code = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class AttestationNotFound(AttestationError):
    """The attempt does not exist or lies outside the person's scope (404)."""

    status_code = 404

    def __init__(self, message: str = "Cette présentation n'existe pas ou ne relève pas de votre établissement."):
        super().__init__(message)


class NotASuccess(AttestationError):
    """The attempt is not a Réussite: no attestation (400)."""

    def __init__(self, message: str = "Cette présentation n'est pas une réussite : aucune attestation de validation "
                                      "ne peut être délivrée."):
        super().__init__(message)


class AttestationRevoked(AttestationError):
    """The attempt's attestation was revoked (410): it is no longer served."""

    status_code = 410

    def __init__(self, number: str, revoked_at: datetime, reason: str):
        self.number = number
        self.revoked_at = revoked_at
        self.reason = reason
        when = day_text(local(revoked_at))
        super().__init__(f"L'attestation n° {number} a été révoquée le {when}"
                         + (f" : {reason}" if reason else ".") + " Elle n'est plus délivrée.")


class TamperedDocument(AttestationError):
    """A stored PDF whose bytes no longer match their SHA-256: it is not served (500)."""

    status_code = 500

    def __init__(self, number: str):
        super().__init__(f"Le document enregistré de l'attestation n° {number} ne correspond plus à son empreinte "
                         "SHA-256 : il n'est pas délivré. Prévenez l'administrateur du portail.")


# --- the number: CPU-YYYY-NNNNNN-C ----------------------------------------------------------------------------


def check_digit(digits: str) -> str:
    """The Luhn check digit of a string of digits (catches any single wrong digit and most swaps)."""
    if not digits.isdigit():
        raise ValueError("digits only")
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:  # doubled: these positions are next to the check digit once it is appended
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def format_number(year: int, sequence: int) -> str:
    """The attestation number of the ``sequence``-th attestation of ``year``: ``CPU-2026-000123-3``."""
    if not 1000 <= year <= 9999 or sequence < 1:
        raise ValueError("year of four digits and a positive sequence")
    body = f"{year:04d}{sequence:0{SEQUENCE_DIGITS}d}"
    return f"{PREFIX}-{year:04d}-{sequence:0{SEQUENCE_DIGITS}d}-{check_digit(body)}"


def normalize_number(text: str) -> str:
    """A number as typed (spaces, lower case, other dashes, a stray full stop) in its written form: upper-case
    letters, digits and hyphens only, at most 40 characters."""
    cleaned = (text or "").upper()
    for dash in ("\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212"):
        cleaned = cleaned.replace(dash, "-")
    return re.sub(r"[^A-Z0-9-]", "", cleaned)[:40]


def parse_number(text: str) -> tuple[int, int] | None:
    """(year, sequence) of a well-formed number whose check digit matches, else None."""
    match = NUMBER_RE.match(normalize_number(text))
    if not match:
        return None
    year, sequence, digit = match.groups()
    if check_digit(year + sequence) != digit or int(sequence) < 1:
        return None
    return int(year), int(sequence)


def next_number(year: int, last: str | None) -> str:
    """The number that follows ``last`` (the highest of ``year`` so far, or None for the first)."""
    parsed = parse_number(last) if last else None
    if parsed is None or parsed[0] != year:
        return format_number(year, 1)
    return format_number(year, parsed[1] + 1)


def initials(first_name: str, last_name: str) -> str:
    """What the public verification shows of a learner: "L. P." (a hyphenated first name gives "J.-F. B.")."""
    def first_letter(word: str) -> str:
        for char in word:
            if char.isalpha():
                return char.upper()
        return ""

    shown = []
    for part in (first_name or "").split():
        pieces = [first_letter(piece) for piece in part.split("-") if first_letter(piece)]
        if pieces:
            shown.append("-".join(f"{p}." for p in pieces))
    last = first_letter((last_name or "").strip())
    if last:
        shown.append(f"{last}.")
    return " ".join(shown)


def ascii_slug(text: str) -> str:
    """Letters, digits and dashes only (file names)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", plain).strip("-") or "document"


# --- what is read about an attempt -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptFacts:
    """Everything an attestation shows or a scope check needs, read in one query."""

    id: int
    status: str
    presented_on: date | None
    attempt_establishment_id: int | None
    learner_id: int
    learner_establishment_id: int
    learner_account_id: int | None
    last_name: str
    first_name: str
    birth_date: date | None
    cf_number: str
    demo: bool
    uaa_id: int
    uaa_code: str
    uaa_label: str
    profile_code: str
    profile_label: str
    option_code: str
    option_label: str
    establishment_id: int  # where the jury validated it: the encoding school, else the learner's
    establishment_name: str
    establishment_fase: str
    city: str
    implantation: str

    @property
    def is_success(self) -> bool:
        """True for a Réussite with its date."""
        return self.status == SUCCESS and self.presented_on is not None


_A = Attempt
_L = Attempt.learner
_FACT_COLUMNS = (
    _A.id, _A.status, _A.presented_on, _A.establishment.as_alias("a_est"),
    _L.id.as_alias("l_id"), _L.establishment.as_alias("l_est"), _L.account.as_alias("l_account"),
    _L.last_name.as_alias("last_name"), _L.first_name.as_alias("first_name"), _L.birth_date.as_alias("birth_date"),
    _L.cf_number.as_alias("cf_number"), _L.demo.as_alias("demo"),
    _A.uaa.id.as_alias("u_id"), _A.uaa.code.as_alias("u_code"), _A.uaa.label.as_alias("u_label"),
    _A.uaa.profile.code.as_alias("p_code"), _A.uaa.profile.label.as_alias("p_label"),
    _A.uaa.profile.option.code.as_alias("o_code"), _A.uaa.profile.option.label.as_alias("o_label"),
    _A.establishment.name.as_alias("ae_name"), _A.establishment.fase.as_alias("ae_fase"),
    _A.establishment.city.as_alias("ae_city"),
    _L.establishment.name.as_alias("le_name"), _L.establishment.fase.as_alias("le_fase"),
    _L.establishment.city.as_alias("le_city"),
    _L.implantation.name.as_alias("i_name"), _L.implantation.fase.as_alias("i_fase"),
    _L.implantation.city.as_alias("i_city"), _L.implantation.establishment.as_alias("i_est"),
)


def _facts(row: dict) -> AttemptFacts:
    encoded_here = row["a_est"] is not None and row["ae_name"] is not None
    prefix = "ae" if encoded_here else "le"
    establishment_id = row["a_est"] if encoded_here else row["l_est"]
    implantation = ""
    city = row[f"{prefix}_city"] or ""
    if row["i_name"] and row["i_est"] == establishment_id:
        implantation = row["i_name"] + (f" (FASE {row['i_fase']})" if row["i_fase"] else "")
        city = city or row["i_city"] or ""
    return AttemptFacts(
        id=row["id"], status=row["status"], presented_on=row["presented_on"], attempt_establishment_id=row["a_est"],
        learner_id=row["l_id"], learner_establishment_id=row["l_est"], learner_account_id=row["l_account"],
        last_name=row["last_name"] or "", first_name=row["first_name"] or "", birth_date=row["birth_date"],
        cf_number=row["cf_number"] or "", demo=bool(row["demo"]),
        uaa_id=row["u_id"], uaa_code=row["u_code"] or "", uaa_label=row["u_label"] or "",
        profile_code=row["p_code"] or "", profile_label=row["p_label"] or "",
        option_code=row["o_code"] or "", option_label=row["o_label"] or "",
        establishment_id=establishment_id, establishment_name=row[f"{prefix}_name"] or "",
        establishment_fase=row[f"{prefix}_fase"] or "", city=city, implantation=implantation,
    )


async def load_attempts(attempt_ids: Iterable[int]) -> dict[int, AttemptFacts]:
    """The facts of several attempts, by id, in one query (unknown ids are simply absent)."""
    ids = sorted(set(attempt_ids))
    if not ids:
        return {}
    rows = await Attempt.select(*_FACT_COLUMNS).where(Attempt.id.is_in(ids))
    return {row["id"]: _facts(row) for row in rows}


async def load_attempt(attempt_id: int) -> AttemptFacts | None:
    """The facts of one attempt, or None."""
    return (await load_attempts([attempt_id])).get(attempt_id)


def in_scope(facts: AttemptFacts, user: CurrentUser, *, own: bool) -> bool:
    """May ``user`` reach this attempt's attestation? ``own``: as the learner themself; else as staff of the
    learner's current establishment or of the establishment that encoded the attempt."""
    active = user.active
    if active is None:
        return False
    if own:
        return active.profile == Profile.LEARNER and facts.learner_account_id == user.account_id
    if active.profile == Profile.LEARNER or active.establishment_id is None:
        return False
    return active.establishment_id in (facts.learner_establishment_id, facts.attempt_establishment_id)


# --- the document ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttestationView:
    """What the PDF template shows of one attestation."""

    number: str
    issued_at: datetime
    verify_url: str
    qr: str
    demo: bool
    establishment_name: str
    establishment_fase: str
    implantation: str
    place: str
    last_name: str
    first_name: str
    birth_date: date | None
    cf_number: str
    option_code: str
    option_label: str
    profile_code: str
    profile_label: str
    uaa_code: str
    uaa_label: str
    validated_on: date | None


def verify_url(number: str) -> str:
    """The public verification address of an attestation."""
    return f"{settings.base_url.rstrip('/')}/verifier/{number}"


def attestation_view(facts: AttemptFacts, number: str, issued_at: datetime) -> AttestationView:
    """The template's view of an attestation of ``facts``."""
    url = verify_url(number)
    return AttestationView(
        number=number, issued_at=as_aware(issued_at), verify_url=url, qr=pdf.qr_data_uri(url), demo=facts.demo,
        establishment_name=facts.establishment_name, establishment_fase=facts.establishment_fase,
        implantation=facts.implantation, place=facts.city, last_name=facts.last_name, first_name=facts.first_name,
        birth_date=facts.birth_date, cf_number=facts.cf_number, option_code=facts.option_code,
        option_label=facts.option_label, profile_code=facts.profile_code, profile_label=facts.profile_label,
        uaa_code=facts.uaa_code, uaa_label=facts.uaa_label, validated_on=facts.presented_on,
    )


def render_attestation(view: AttestationView) -> bytes:
    """The PDF/A bytes of one attestation (synchronous, deterministic: dated ``view.issued_at``)."""
    return pdf.render_pdf(TEMPLATE, {"a": view}, created=view.issued_at, stylesheets=STYLESHEETS,
                          title=f"Attestation de validation {view.number}")


def attestation_filename(number: str) -> str:
    """The download name of an attestation."""
    return f"attestation-{number}.pdf"


# --- issue and revoke ------------------------------------------------------------------------------------------


def _as_actor(actor: Actor | CurrentUser) -> Actor:
    return actor if isinstance(actor, Actor) else actor.actor


async def current_attestations(attempt_ids: Iterable[int]) -> dict[int, Attestation]:
    """The attestation in force (not revoked) of each attempt that has one, by attempt id (one query)."""
    ids = sorted(set(attempt_ids))
    if not ids:
        return {}
    rows = await Attestation.objects().where(
        Attestation.attempt.is_in(ids) & Attestation.revoked_at.is_null()
    ).order_by(Attestation.id)
    return {row.attempt: row for row in rows}


async def current_attestation(attempt_id: int) -> Attestation | None:
    """The attestation in force of an attempt, or None."""
    return (await current_attestations([attempt_id])).get(attempt_id)


async def _last_number(year: int) -> str | None:
    rows = await query(
        "SELECT number FROM attestation WHERE number LIKE {} ORDER BY LENGTH(number) DESC, number DESC LIMIT 1",
        f"{PREFIX}-{year:04d}-%",
    )
    return rows[0]["number"] if rows else None


async def _lock_issuing(year: int) -> None:
    """Serialise issuing (numbers of ``year`` and the once-only check) among concurrent transactions."""
    if not is_sqlite():  # SQLite: the IMMEDIATE transaction already holds the only write lock
        await query("SELECT pg_advisory_xact_lock({}, {})", LOCK_CLASS, year)


async def _store_issued(facts: AttemptFacts, number: str, issued_at: datetime, content: bytes,
                        actor: Actor) -> Attestation:
    """Store an issued attestation (document, row, history), inside the caller's issuing transaction."""
    document_id = await documents.store(DOCUMENT_KIND, number, attestation_filename(number), content,
                                        created_at=issued_at)
    attestation = Attestation(
        number=number, attempt=facts.id, learner=facts.learner_id, uaa=facts.uaa_id,
        establishment=facts.establishment_id, document=document_id, issued_at=issued_at,
    )
    await attestation.save()
    await record(
        actor, HISTORY_ENTITY, attestation.id, "délivrance",
        after={"number": number, "attempt_id": facts.id, "learner_id": facts.learner_id,
               "uaa": facts.uaa_code, "validated_on": facts.presented_on,
               "sha256": documents.sha256_hex(content), "size": len(content)},
        summary=f"Attestation {number} — {facts.first_name} {facts.last_name}, UAA {facts.uaa_code}",
        establishment_id=facts.establishment_id,
    )
    return attestation


async def issue_from_facts(facts: AttemptFacts, actor: Actor) -> Attestation:
    """Issue the attestation of a successful attempt (see the module's docstring)."""
    if not facts.is_success:
        raise NotASuccess()
    issued_at = now()
    year = local(issued_at).year
    number = next_number(year, await _last_number(year))
    content = await pdf.run(render_attestation, attestation_view(facts, number, issued_at))
    async with atomic():
        await _lock_issuing(year)
        existing = await current_attestation(facts.id)
        if existing is not None:  # issued meanwhile by another request
            return existing
        fresh = await load_attempt(facts.id)
        if fresh is None:
            raise AttestationNotFound()
        if not fresh.is_success:
            raise NotASuccess()
        expected = next_number(year, await _last_number(year))
        if expected != number or fresh != facts:  # another attestation took the number, or the data moved
            number, facts = expected, fresh
            content = await pdf.run(render_attestation, attestation_view(facts, number, issued_at))
        return await _store_issued(facts, number, issued_at, content, actor)


class _Moved(Exception):
    """Something changed between the rendering of a group and its storing."""


async def issue_many(items: Sequence[AttemptFacts], actor: Actor) -> dict[int, Attestation]:
    """Issue the attestations of several Réussites at once (a batch): consecutive numbers, the PDFs rendered in
    parallel (:func:`pdf.run_parallel`), then everything stored in one transaction. Returns them by attempt id.

    Same rules as :func:`issue_from_facts`: if anything moved between the rendering and the transaction (another
    attestation took a number, an attempt changed or was issued meanwhile), the group is issued one by one by
    :func:`issue_from_facts`, which checks each again. Attempts that are no longer Réussites are left out."""
    items = [facts for facts in items if facts.is_success]
    if len(items) < 2:
        return await _issue_each(items, actor)
    issued_at = now()
    year = local(issued_at).year
    last = await _last_number(year)
    numbers, previous = [], last
    for _ in items:
        previous = next_number(year, previous)
        numbers.append(previous)
    views = [attestation_view(facts, number, issued_at) for facts, number in zip(items, numbers, strict=True)]
    contents = await pdf.run_parallel(render_attestation, views)
    ids = [facts.id for facts in items]
    try:
        async with atomic():
            await _lock_issuing(year)
            if (await _last_number(year) != last or await current_attestations(ids)
                    or await load_attempts(ids) != {facts.id: facts for facts in items}):
                raise _Moved()
            return {facts.id: await _store_issued(facts, number, issued_at, content, actor)
                    for facts, number, content in zip(items, numbers, contents, strict=True)}
    except _Moved:
        return await _issue_each(items, actor)


async def _issue_each(items: Iterable[AttemptFacts], actor: Actor) -> dict[int, Attestation]:
    issued: dict[int, Attestation] = {}
    for facts in items:
        try:
            issued[facts.id] = await issue_from_facts(facts, actor)
        except AttestationError:  # no longer a Réussite, or gone: left out of the batch
            pass
    return issued


async def issue_for_attempt(attempt_id: int, actor: Actor | CurrentUser) -> Attestation:
    """The attestation of a Réussite: the one in force, or a new one issued now (number, PDF/A stored once,
    attestation row, history — one transaction). Raises :class:`AttestationNotFound` or :class:`NotASuccess`.
    No scope check here: callers check it (:func:`in_scope`)."""
    existing = await current_attestation(attempt_id)
    if existing is not None:
        return existing
    facts = await load_attempt(attempt_id)
    if facts is None:
        raise AttestationNotFound()
    return await issue_from_facts(facts, _as_actor(actor))


async def revoke_for_attempt(attempt_id: int, actor: Actor | CurrentUser, reason: str) -> None:
    """Revoke the attestation in force of an attempt (if any) and its stored document: time, reason, history.

    Joins the caller's transaction (the encoding revokes in the transaction that corrects the Réussite)."""
    actor = _as_actor(actor)
    reason = " ".join((reason or "").split()) or "Révoquée."
    async with atomic():
        rows = await Attestation.select(
            Attestation.id, Attestation.number, Attestation.document, Attestation.establishment,
        ).where((Attestation.attempt == attempt_id) & Attestation.revoked_at.is_null())
        if not rows:
            return
        stamp = now()
        await Attestation.update({Attestation.revoked_at: stamp, Attestation.revoked_reason: reason}).where(
            Attestation.id.is_in([row["id"] for row in rows])
        )
        for row in rows:
            if row["document"] is not None:
                await documents.revoke(row["document"], reason, stamp)
            await record(
                actor, HISTORY_ENTITY, row["id"], "révocation",
                before={"number": row["number"], "revoked_at": None},
                after={"number": row["number"], "revoked_at": stamp, "reason": reason, "attempt_id": attempt_id},
                summary=f"Attestation {row['number']} révoquée : {reason}",
                establishment_id=row["establishment"],
            )


async def download(attempt_id: int, user: CurrentUser, *, own: bool) -> documents.Document:
    """The stored PDF of an attempt's attestation for ``user`` (issued on first request).

    Raises :class:`AttestationNotFound` (missing or out of scope), :class:`AttestationRevoked` (the attempt is no
    longer a Réussite and its attestation was revoked) or :class:`NotASuccess`."""
    facts = await load_attempt(attempt_id)
    if facts is None or not in_scope(facts, user, own=own):
        raise AttestationNotFound()
    if facts.is_success:
        attestation = await current_attestation(attempt_id) or await issue_from_facts(facts, user.actor)
        document = await documents.fetch(attestation.document) if attestation.document else None
        if document is None:  # pragma: no cover - an attestation always has its document
            raise AttestationNotFound("Le document de cette attestation est introuvable.")
        if not documents.verify(document):
            LOG.error("stored attestation %s does not match its SHA-256", attestation.number)
            raise TamperedDocument(attestation.number)
        return document
    revoked = await Attestation.select(
        Attestation.number, Attestation.revoked_at, Attestation.revoked_reason,
    ).where((Attestation.attempt == attempt_id) & Attestation.revoked_at.is_not_null()).order_by(
        Attestation.id, ascending=False).first()
    if revoked:
        raise AttestationRevoked(revoked["number"], as_aware(revoked["revoked_at"]), revoked["revoked_reason"])
    raise NotASuccess()


# --- public verification ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    """What anyone may learn of an attestation from its number: nothing more of the learner than initials."""

    number: str
    initials: str
    uaa_code: str
    uaa_label: str
    validated_on: date | None
    establishment_name: str
    issued_at: datetime
    revoked_at: datetime | None
    revoked_reason: str

    @property
    def valid(self) -> bool:
        """True while the attestation is not revoked."""
        return self.revoked_at is None


async def verification(number: str) -> Verification | None:
    """The public facts of the attestation carrying ``number`` (as typed), or None when none carries it."""
    number = normalize_number(number)
    if parse_number(number) is None:
        return None
    row = await Attestation.select(
        Attestation.number, Attestation.issued_at, Attestation.revoked_at, Attestation.revoked_reason,
        Attestation.learner.first_name.as_alias("first_name"), Attestation.learner.last_name.as_alias("last_name"),
        Attestation.uaa.code.as_alias("uaa_code"), Attestation.uaa.label.as_alias("uaa_label"),
        Attestation.attempt.presented_on.as_alias("validated_on"),
        Attestation.establishment.name.as_alias("establishment_name"),
    ).where(Attestation.number == number).first()
    if row is None:
        return None
    return Verification(
        number=row["number"], initials=initials(row["first_name"] or "", row["last_name"] or ""),
        uaa_code=row["uaa_code"] or "", uaa_label=row["uaa_label"] or "", validated_on=row["validated_on"],
        establishment_name=row["establishment_name"] or "", issued_at=as_aware(row["issued_at"]),
        revoked_at=as_aware(row["revoked_at"]) if row["revoked_at"] else None,
        revoked_reason=row["revoked_reason"] or "",
    )
