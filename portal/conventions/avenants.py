"""Avenants to a validated convention (SPEC §6, e-Pôles guide): the annual change of the split or of the transfer
of points. A draft is prepared by the people who manage the pole, sent to the signatures of the délégués of the
PO concerned, communicated (its PDF/A stored once) with the last signature, then taken into account by the
Administration. Scope and refusals as in :mod:`portal.conventions.services`; every change is in the history.
No Litestar import here.
"""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from portal.accounts.identity import CurrentUser
from portal.conventions import rules
from portal.conventions.services import (
    ENTITY,
    MAX_TEXT,
    ConventionError,
    ConventionView,
    NotFound,
    Party,
    Refused,
    account_name,
    convention_view,
    stored_json,
)
from portal.conventions.tables import Avenant, AvenantSignature
from portal.core.clock import now, today
from portal.core.db import atomic, is_unique_violation
from portal.core.forms import INCOMPLETE_FORM, form_int
from portal.documents import pdf
from portal.documents import services as documents
from portal.history.services import record

AVENANT_STALE = ("Cet avenant a été modifié par quelqu'un d'autre entre-temps : vos changements n'ont pas été "
                 "enregistrés. La page montre maintenant la version enregistrée.")
AVENANT_FROZEN = "Cet avenant n'est plus un brouillon : il ne peut plus être modifié."


@dataclass
class AvenantInput:
    """What the avenant form sends (the article 8 fields of the convention, the year and the motivation)."""

    effective_year: str | None
    motivation: str | None
    version: str | None
    cells: dict[str, str] = field(default_factory=dict)
    split_mode: str | None = None
    shares: dict[int, str] = field(default_factory=dict)
    running: str | None = None


@dataclass
class AvenantView:
    """An avenant as the convention page and its PDF show it."""

    row: dict
    signers: list[Party]
    deadline: date
    deadline_state: str
    points: Fraction
    can: dict = field(default_factory=dict)

    @property
    def id(self) -> int:
        """The avenant's id."""
        return self.row["id"]

    @property
    def status(self) -> str:
        """brouillon, signatures, communique or pris_en_compte."""
        return self.row["status"]

    @property
    def status_label(self) -> str:
        """The status in words."""
        return rules.AVENANT_STATUS_LABELS[self.status]

    @property
    def data(self) -> dict | None:
        """The new article 8 table."""
        return stored_json(self.row["data"])

    def cell(self, function_id: int, fraction: str) -> int:
        """The staff count of one cell of the new transfer table."""
        for line in (self.data or {}).get("lines", []):
            if line.get("function") == function_id and line.get("fraction") == fraction:
                return int(line.get("count", 0))
        return 0


async def convention_of(avenant_id: int) -> int:
    """The id of the convention an avenant amends (the page a refusal shows again); NotFound when unknown."""
    row = await Avenant.select(Avenant.convention).where(Avenant.id == avenant_id).first()
    if row is None:
        raise NotFound
    return row["convention"]


def may_create_avenant(user: CurrentUser, view: ConventionView) -> bool:
    """The people who edit the articles create avenants on a validated convention of a kind that has points."""
    return (view.manage and user.can("conventions.edit")
            and not rules.avenant_refusal(view.kind, view.step, view.row["active"]))


async def avenants_of(user: CurrentUser, view: ConventionView) -> list[AvenantView]:
    """The avenants of a convention the person reads (two queries), with what the person may do on each."""
    rows = await Avenant.select(
        Avenant.all_columns(), Avenant.created_by.first_name.as_alias("first"),
        Avenant.created_by.last_name.as_alias("last"),
    ).where(Avenant.convention == view.id).order_by(Avenant.effective_year)
    if not rows:
        return []
    signature_rows = await AvenantSignature.select(
        AvenantSignature.avenant, AvenantSignature.organising_body, AvenantSignature.signed_at,
        AvenantSignature.account.first_name.as_alias("first"), AvenantSignature.account.last_name.as_alias("last"),
    ).where(AvenantSignature.avenant.is_in([r["id"] for r in rows]))
    signed: dict[int, dict[int, dict]] = {}
    for s in signature_rows:
        signed.setdefault(s["avenant"], {})[s["organising_body"]] = s
    points = {f["id"]: f["points"] for f in view.functions}
    day = today()
    result = []
    for row in rows:
        mine = signed.get(row["id"], {})
        signers = [Party(p.id, p.name, mine[p.id]["signed_at"] if p.id in mine else None,
                         f"{mine[p.id]['first']} {mine[p.id]['last']}" if p.id in mine else "")
                   for p in view.signers]
        due = rules.avenant_due(row["effective_year"])
        data = stored_json(row["data"]) or {}
        total = rules.staff_points(data.get("lines", []), points) if view.kind == rules.SPECIFIC else Fraction(0)
        open_state = row["status"] in (rules.AV_DRAFT, rules.AV_SIGNATURES)
        item = AvenantView(row, signers, due, rules.deadline_state(due, day) if open_state else "", total)
        signer = next((p for p in signers if p.id == view.user_po), None)
        item.can = {
            "edit": row["status"] == rules.AV_DRAFT and view.manage and user.can("conventions.edit"),
            "sign": (row["status"] == rules.AV_SIGNATURES and user.can("conventions.sign") and signer is not None
                     and signer.at is None),
            "take": row["status"] == rules.AV_COMMUNICATED and user.can("conventions.validate"),
        }
        result.append(item)
    return result


async def _avenant(user: CurrentUser, avenant_id: int) -> tuple[ConventionView, AvenantView]:
    """The avenant and its convention, if the person reads the convention (NotFound otherwise)."""
    row = await Avenant.select(Avenant.convention).where(Avenant.id == avenant_id).first()
    if row is None:
        raise NotFound
    view = await convention_view(user, row["convention"])
    item = next((a for a in await avenants_of(user, view) if a.id == avenant_id), None)
    if item is None:  # pragma: no cover - read just above
        raise NotFound
    return view, item


def _avenant_manager(user: CurrentUser, view: ConventionView) -> None:
    if not view.manage or not user.can("conventions.edit"):
        raise Refused("Seuls le coordonnateur, la direction de l'école siège et le délégué du PO de l'école siège "
                      "préparent les avenants de cette convention.")


def _avenant_data(view: ConventionView, form: AvenantInput) -> str:
    """The new article 8 table, checked by the same rules as the convention's article 8 (JSON text)."""
    try:
        if view.kind == rules.SPECIFIC:
            data = {"lines": rules.parse_staff_cells(form.cells, {f["id"]: f["name"] for f in view.functions})}
        else:
            data = rules.parse_split(form.split_mode, form.shares, [s.establishment_id for s in view.schools],
                                     form.running)
    except rules.RuleError as error:
        raise ConventionError(str(error)) from None
    return json.dumps(data, sort_keys=True)


def _motivation(raw: str | None) -> str:
    text = (raw or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_TEXT:
        raise ConventionError(f"La motivation dépasse {MAX_TEXT} caractères.")
    if "\x00" in text:
        raise ConventionError("La motivation contient des caractères non permis.")
    return text


def _effective_year(raw: str | None) -> str:
    year = (raw or "").strip()
    if year not in rules.avenant_years(today()):
        raise ConventionError("Choisissez l'année scolaire de prise d'effet parmi les années proposées "
                              f"({', '.join(rules.avenant_years(today()))}).")
    return year


async def create_avenant(user: CurrentUser, convention_id: int, form: AvenantInput) -> int:
    """Create a draft avenant (one per convention and effective year) on a validated convention."""
    view = await convention_view(user, convention_id)
    _avenant_manager(user, view)
    refusal = rules.avenant_refusal(view.kind, view.step, view.row["active"])
    if refusal:
        raise ConventionError(refusal)
    year = _effective_year(form.effective_year)
    motivation = _motivation(form.motivation)
    data = _avenant_data(view, form)
    duplicate = ConventionError(f"Un avenant prenant effet en {year} existe déjà pour cette convention : "
                                "modifiez-le plutôt.", 409)
    try:
        async with atomic():
            if await Avenant.exists().where((Avenant.convention == convention_id) & (Avenant.effective_year == year)):
                raise duplicate
            rows = await Avenant.insert(Avenant(
                convention=convention_id, effective_year=year, data=data, motivation=motivation,
                status=rules.AV_DRAFT, version=1, created_by=user.account_id, created_at=now(),
                demo=view.row["demo"])).returning(Avenant.id)
            avenant_id = rows[0]["id"]
            await record(user.actor, ENTITY, convention_id, "avenant_creation", pole_id=view.pole.id,
                         after={"avenant": avenant_id, "annee": year, "data": data, "motivation": motivation},
                         summary=f"Avenant {year} créé (brouillon)")
    except Exception as error:
        if is_unique_violation(error):  # two people created the same year at the same moment on PostgreSQL
            raise duplicate from None
        raise
    return avenant_id


async def save_avenant(user: CurrentUser, avenant_id: int, form: AvenantInput) -> int:
    """Change a draft avenant (version-checked). Returns the convention's id."""
    view, item = await _avenant(user, avenant_id)
    _avenant_manager(user, view)
    if item.status != rules.AV_DRAFT:
        raise ConventionError(AVENANT_FROZEN, 409)
    version = form_int(form.version)
    if version is None:
        raise ConventionError(INCOMPLETE_FORM)
    year = (form.effective_year or "").strip() or item.row["effective_year"]
    if year != item.row["effective_year"]:
        year = _effective_year(year)
    motivation = _motivation(form.motivation)
    data = _avenant_data(view, form)
    async with atomic():
        if year != item.row["effective_year"] and await Avenant.exists().where(
                (Avenant.convention == view.id) & (Avenant.effective_year == year) & (Avenant.id != avenant_id)):
            raise ConventionError(f"Un avenant prenant effet en {year} existe déjà pour cette convention.", 409)
        updated = await Avenant.update({
            Avenant.effective_year: year, Avenant.data: data, Avenant.motivation: motivation,
            Avenant.version: Avenant.version + 1,
        }).where((Avenant.id == avenant_id) & (Avenant.version == version)
                 & (Avenant.status == rules.AV_DRAFT)).returning(Avenant.id)
        if not updated:
            raise ConventionError(AVENANT_STALE, 409)
        await record(user.actor, ENTITY, view.id, "avenant_modification", pole_id=view.pole.id,
                     before={"avenant": avenant_id, "annee": item.row["effective_year"], "data": item.row["data"],
                             "motivation": item.row["motivation"]},
                     after={"avenant": avenant_id, "annee": year, "data": data, "motivation": motivation},
                     summary=f"Avenant {year} modifié")
    return view.id


async def submit_avenant(user: CurrentUser, avenant_id: int, version_raw: str | None) -> int:
    """Freeze a draft avenant and send it for the signatures of the délégués concerned."""
    view, item = await _avenant(user, avenant_id)
    _avenant_manager(user, view)
    if item.status != rules.AV_DRAFT:
        raise ConventionError(AVENANT_FROZEN, 409)
    version = form_int(version_raw)
    if version is None:
        raise ConventionError(INCOMPLETE_FORM)
    late = rules.avenant_late(item.row["effective_year"], today())
    if late:
        raise ConventionError(late)
    if not item.row["motivation"].strip():
        raise ConventionError("Indiquez la motivation de l'avenant avant de l'envoyer aux signatures.")
    if view.kind == rules.SPECIFIC and not (item.data or {}).get("lines"):
        raise ConventionError("Complétez le tableau de rétrocession des points avant de l'envoyer aux signatures.")
    async with atomic():
        updated = await Avenant.update({Avenant.status: rules.AV_SIGNATURES, Avenant.version: Avenant.version + 1}).where(
            (Avenant.id == avenant_id) & (Avenant.version == version)
            & (Avenant.status == rules.AV_DRAFT)).returning(Avenant.id)
        if not updated:
            raise ConventionError(AVENANT_STALE, 409)
        await record(user.actor, ENTITY, view.id, "avenant_signatures", pole_id=view.pole.id,
                     before={"avenant": avenant_id, "statut": rules.AV_DRAFT},
                     after={"avenant": avenant_id, "statut": rules.AV_SIGNATURES},
                     summary=f"Avenant {item.row['effective_year']} envoyé aux signatures")
    return view.id


async def _render_avenant(view: ConventionView, item: AvenantView) -> bytes:
    """The avenant's PDF/A: parties, the new table, motivation, signatures (dated by its communication)."""
    return await pdf.run(functools.partial(
        pdf.render_pdf, "conventions/pdf/avenant.html", {"view": view, "a": item, "rules": rules},
        created=item.row["communicated_at"], stylesheets=["conventions/pdf/convention.css"],
        title=f"Avenant {item.row['effective_year']} — {view.kind_label}"))


async def sign_avenant(user: CurrentUser, avenant_id: int, confirmed: bool) -> int:
    """The délégué of a PO concerned signs; the last signature communicates the avenant (before 1 June only):
    its PDF/A is rendered once and stored with its SHA-256."""
    view, item = await _avenant(user, avenant_id)
    signer = next((p for p in item.signers if p.id == view.user_po), None)
    if user.active is None or signer is None:
        raise Refused("Seuls les délégués des PO concernés signent cet avenant.")
    if item.status != rules.AV_SIGNATURES:
        raise ConventionError("Cet avenant n'est pas à l'étape des signatures.", 409)
    if not confirmed:
        raise ConventionError("Cochez la case pour signer l'avenant.")
    if signer.at is not None:
        raise ConventionError("Votre PO a déjà signé cet avenant.", 409)
    late = rules.avenant_late(item.row["effective_year"], today())
    if late:
        raise ConventionError(late, 409)
    signed_at = now()
    last = all(p.at is not None for p in item.signers if p.id != signer.id)
    content = b""
    if last:
        # rendered before the transaction (WeasyPrint takes a while); the signature shown is the one inserted below
        signer.at, signer.by = signed_at, await account_name(user.account_id)
        item.row["communicated_at"] = signed_at
        content = await _render_avenant(view, item)
    async with atomic():
        if await AvenantSignature.exists().where((AvenantSignature.avenant == avenant_id)
                                                 & (AvenantSignature.organising_body == signer.id)):
            raise ConventionError("Votre PO a déjà signé cet avenant.", 409)
        await AvenantSignature.insert(AvenantSignature(avenant=avenant_id, organising_body=signer.id,
                                                       account=user.account_id, signed_at=signed_at))
        done = {r["organising_body"] for r in await AvenantSignature.select(AvenantSignature.organising_body).where(
            AvenantSignature.avenant == avenant_id)}
        after: dict = {"avenant": avenant_id, "signed": sorted(done)}
        summary = f"Avenant {item.row['effective_year']} signé par le délégué du PO"
        if {p.id for p in item.signers} <= done:
            if not content:  # pragma: no cover - another délégué signed at the same moment
                raise ConventionError("Un autre délégué vient de signer : rechargez la page puis recommencez.", 409)
            number = f"AVT-{avenant_id}-{uuid.uuid4().hex[:12]}"
            document_id = await documents.store("avenant", number, f"avenant-{view.id}-{item.row['effective_year']}.pdf",
                                                content, created_at=signed_at)
            await Avenant.update({Avenant.status: rules.AV_COMMUNICATED, Avenant.communicated_at: signed_at,
                                  Avenant.document: document_id, Avenant.version: Avenant.version + 1}).where(
                Avenant.id == avenant_id)
            after.update({"statut": rules.AV_COMMUNICATED, "document": document_id})
            summary = f"Avenant {item.row['effective_year']} signé par tous et communiqué ; PDF/A archivé"
        await record(user.actor, ENTITY, view.id, "avenant_signature", pole_id=view.pole.id, after=after,
                     summary=summary)
    return view.id


async def take_avenant(user: CurrentUser, avenant_id: int, confirmed: bool) -> int:
    """The Administration marks a communicated avenant « pris en compte »."""
    view, item = await _avenant(user, avenant_id)
    if not view.is_administration:
        raise Refused("Seule l'Administration prend en compte les avenants.")
    if item.status != rules.AV_COMMUNICATED:
        raise ConventionError("Cet avenant n'attend pas d'être pris en compte.", 409)
    if not confirmed:
        raise ConventionError("Confirmez la prise en compte de l'avenant.")
    async with atomic():
        updated = await Avenant.update({Avenant.status: rules.AV_TAKEN, Avenant.taken_at: now(),
                                        Avenant.taken_by: user.account_id, Avenant.version: Avenant.version + 1}).where(
            (Avenant.id == avenant_id) & (Avenant.status == rules.AV_COMMUNICATED)).returning(Avenant.id)
        if not updated:
            raise ConventionError("Cet avenant a déjà été pris en compte.", 409)
        await record(user.actor, ENTITY, view.id, "avenant_pris_en_compte", pole_id=view.pole.id,
                     before={"avenant": avenant_id, "statut": rules.AV_COMMUNICATED},
                     after={"avenant": avenant_id, "statut": rules.AV_TAKEN},
                     summary=f"Avenant {item.row['effective_year']} pris en compte par l'Administration")
    return view.id


async def avenant_pdf(user: CurrentUser, avenant_id: int) -> documents.Document:
    """The communicated avenant's PDF, as stored."""
    _, item = await _avenant(user, avenant_id)
    if item.row["document"] is None:
        raise ConventionError("Le PDF de l'avenant est disponible une fois l'avenant communiqué.", 409)
    document = await documents.fetch(item.row["document"])
    if document is None:  # pragma: no cover - a stored document is never deleted
        raise NotFound
    return document
