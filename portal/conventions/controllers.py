"""Pages and fragments of the conventions domain (SPEC §6, e-Pôles guide).

- ``/conventions``: the poles of the person (and, for the Administration, what waits for it);
- ``/conventions/poles/{id}``: « École siège » (seat, coordinators, PO, folding sections) and the pole's
  instruments, decided from its schools;
- ``/conventions/{id}``: one convention with its three steps, then validation and acknowledgment. Each article
  saves on its own: htmx swaps the article (400 / 409 with the French message in it), a plain form is sent back
  to the page (303) or gets the page again with the message (400 / 409);
- ``/conventions/reference``: the Administration's reference data (functions and points, holidays, campaign).

Every route names its action in ``opt``; scope is checked by :mod:`portal.conventions.services`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body, FromPath, FromQuery

from portal.conventions import avenants, rules
from portal.conventions import services as service
from portal.core import web
from portal.core.web import Form
from portal.documents import pdf
from portal.documents.services import Document

PAGE = "conventions/convention.html"
ARTICLE = "conventions/partials/article.html"
POINTS = "conventions/partials/points.html"
NOTICES = {
    "liste": "La liste des écoles est validée.",
    "ecole": "La liste des écoles a été mise à jour.",
    "derogation": "La dérogation a été enregistrée.",
    "article": "L'article a été enregistré.",
    "valide": "La convention est validée : son texte est figé. Elle attend maintenant les signatures.",
    "signe": "Votre signature a été enregistrée.",
    "administration": "La convention est validée par l'Administration. Son PDF est archivé.",
    "connaissance": "La prise de connaissance a été enregistrée.",
    "demande": "La demande de modification a été envoyée à l'Administration.",
    "decision": "La décision a été enregistrée.",
    "debut": "La date de début de la prise en charge a été enregistrée.",
    "reference": "Les données de référence ont été enregistrées.",
    "avenant": "L'avenant a été enregistré (brouillon).",
    "avenant-signatures": "L'avenant est envoyé aux signatures des délégués des PO concernés.",
    "avenant-signe": "Votre signature de l'avenant a été enregistrée.",
    "avenant-pris": "L'avenant est pris en compte.",
}
BODY_MAX = 2 * service.MAX_UPLOAD


def _not_found(request: Request, exc: service.NotFound) -> Response:
    return web.not_found_handler(request, NotFoundException(
        "Cette convention ou ce pôle n'existe pas, ou ne concerne pas l'établissement, le pôle ou le PO pour lequel "
        "vous agissez."))


def _refused(request: Request, exc: service.Refused) -> Response:
    return web.forbidden_handler(request, PermissionDeniedException(str(exc)))


def download(request: Request, document: Document, inline: bool = False) -> Response:
    """Stored bytes, served as stored, with their SHA-256 as a strong ETag."""
    disposition = "inline" if inline else "attachment"
    headers = {
        "Content-Disposition": f"{disposition}; filename=\"{document.filename}\"; "
                               f"filename*=UTF-8''{quote(document.filename)}",
        "ETag": document.etag, "Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == document.etag:
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=document.content, media_type=document.media_type, headers=headers)


def _checked(data: dict) -> bool:
    return data.get("confirme") in ("1", "on", "oui")


@dataclass
class DerogationUpload:
    """The dérogation form: one file (``fichier``)."""

    fichier: UploadFile | None = None


Upload = Annotated[DerogationUpload, Body(media_type=RequestEncodingType.MULTI_PART)]


class ConventionController(Controller):
    """The poles, their conventions, and the Administration's reference data."""

    path = "/conventions"
    exception_handlers = {service.NotFound: _not_found, service.Refused: _refused}

    # --- poles -------------------------------------------------------------------------------------------------

    @get("/", name="conventions_index", opt={"permission": "conventions.read"})
    async def index(self, request: Request) -> Response:
        """The poles of the person; the Administration also sees what waits for it."""
        user = web.current_user(request)
        poles = await service.poles_of(user)
        admin = await service.administration_lists() if user.can("conventions.validate") else None
        return web.page(request, "conventions/index.html", poles=poles, admin=admin)

    async def _pole_page(self, request: Request, pole_id: int, status: int = 200, **extra) -> Response:
        user = web.current_user(request)
        view = await service.pole_page(user, pole_id)
        query = extra.pop("q", None)
        candidates = []
        if view.can_edit and query is not None:
            exclude = {s.establishment_id for s in view.schools} | {view.pole.seat_id}
            candidates = await service.search_schools(query, exclude)
        return web.page(request, "conventions/pole.html", status_code=status, view=view, rules=rules,
                        candidates=candidates, q=query or "", **extra)

    @get("/poles/{pole_id:int}", name="conventions_pole", opt={"permission": "conventions.read"})
    async def pole(self, request: Request, pole_id: FromPath[int], q: FromQuery[str | None] = None,
                   ok: FromQuery[str | None] = None) -> Response:
        """« École siège » and the pole's conventions."""
        return await self._pole_page(request, pole_id, q=q, notice=NOTICES.get(ok or ""))

    @post("/poles/{pole_id:int}/ecoles", opt={"permission": "conventions.edit"})
    async def pole_add(self, request: Request, pole_id: FromPath[int], data: Form) -> Response:
        """Add a school to the pole with a role; the instruments follow."""
        try:
            await service.add_pole_school(web.current_user(request), pole_id, data.get("etablissement"),
                                          data.get("role"))
        except service.ConventionError as error:
            return await self._pole_page(request, pole_id, error.status_code, error=error.message, q="")
        return web.redirect(request, f"/conventions/poles/{pole_id}?ok=ecole")

    @post("/poles/{pole_id:int}/ecoles/{establishment_id:int}/retirer", opt={"permission": "conventions.edit"})
    async def pole_remove(self, request: Request, pole_id: FromPath[int], establishment_id: FromPath[int]) -> Response:
        """Remove a school from the pole."""
        try:
            await service.remove_pole_school(web.current_user(request), pole_id, establishment_id)
        except service.ConventionError as error:
            return await self._pole_page(request, pole_id, error.status_code, error=error.message)
        return web.redirect(request, f"/conventions/poles/{pole_id}?ok=ecole")

    # --- one convention ----------------------------------------------------------------------------------------

    async def _page(self, request: Request, convention_id: int, status: int = 200, **extra) -> Response:
        user = web.current_user(request)
        view = await service.convention_view(user, convention_id)
        query = extra.pop("q", None)
        candidates = []
        if view.can["edit_schools"] and view.kind != rules.SPECIFIC and query is not None:
            exclude = {s.establishment_id for s in view.schools} | {view.pole.seat_id}
            po = None
            if view.kind in (rules.RESSORT_PARTNERSHIP, rules.RESSORT_COOPERATION):
                po = view.pole.seat_po if view.pole.seat_po is not None else -1
            elif view.kind == rules.COOPERATION:
                po = view.row["other_po"] if view.row["other_po"] is not None else -1
            candidates = await service.search_schools(query, exclude, po=po)
        context = {"view": view, "rules": rules, "candidates": candidates, "q": query or "",
                   "avenants": await avenants.avenants_of(user, view),
                   "avenant_create": avenants.may_create_avenant(user, view),
                   "avenant_years": rules.avenant_years(service.today()),
                   "article_errors": {}, "article_values": {}, "article_notices": {}, "today": service.today(),
                   "fractions": list(rules.FRACTIONS), **extra}
        return web.page(request, PAGE, status_code=status, **context)

    @get("/{convention_id:int}", name="conventions_convention", opt={"permission": "conventions.read"})
    async def convention(self, request: Request, convention_id: FromPath[int], q: FromQuery[str | None] = None,
                         ok: FromQuery[str | None] = None) -> Response:
        """One convention: schools, articles, signatures, validation, acknowledgment."""
        return await self._page(request, convention_id, q=q, notice=NOTICES.get(ok or ""))

    async def _after(self, request: Request, convention_id: int, action, notice: str, anchor: str = "") -> Response:
        try:
            await action()
        except service.ConventionError as error:
            return await self._page(request, convention_id, error.status_code, error=error.message)
        return web.redirect(request, f"/conventions/{convention_id}?ok={notice}{anchor}")

    @post("/{convention_id:int}/ecoles", opt={"permission": "conventions.edit"})
    async def add_school(self, request: Request, convention_id: FromPath[int], data: Form) -> Response:
        """Step 1: add a school chosen in the searchable list."""
        user = web.current_user(request)
        return await self._after(request, convention_id, lambda: service.add_convention_school(
            user, convention_id, data.get("etablissement")), "ecole", "#etape-ecoles")

    @post("/{convention_id:int}/ecoles/{establishment_id:int}/retirer", opt={"permission": "conventions.edit"})
    async def remove_school(self, request: Request, convention_id: FromPath[int],
                            establishment_id: FromPath[int]) -> Response:
        """Step 1: remove a school."""
        user = web.current_user(request)
        return await self._after(request, convention_id, lambda: service.remove_convention_school(
            user, convention_id, establishment_id), "ecole", "#etape-ecoles")

    @post("/{convention_id:int}/ecoles/{establishment_id:int}/derogation", opt={"permission": "conventions.edit"},
          request_max_body_size=BODY_MAX)
    async def upload_derogation(self, request: Request, convention_id: FromPath[int],
                                establishment_id: FromPath[int], data: Upload) -> Response:
        """Step 1: attach a dérogation (PDF, JPEG or PNG, checked by content, 5 MB at most)."""
        user = web.current_user(request)
        upload = data.fichier
        content = await upload.read(service.MAX_UPLOAD + 1) if upload is not None and upload.filename else b""
        return await self._after(request, convention_id, lambda: service.attach_derogation(
            user, convention_id, establishment_id, content), "derogation", "#etape-ecoles")

    @get("/{convention_id:int}/ecoles/{establishment_id:int}/derogation", opt={"permission": "conventions.read"})
    async def get_derogation(self, request: Request, convention_id: FromPath[int],
                             establishment_id: FromPath[int]) -> Response:
        """The dérogation as stored."""
        document = await service.derogation(web.current_user(request), convention_id, establishment_id)
        return download(request, document)

    @get("/{convention_id:int}/liste-des-ecoles.pdf", opt={"permission": "conventions.read"})
    async def school_list_pdf(self, request: Request, convention_id: FromPath[int]) -> Response:
        """The school list as PDF (seat, schools, their PO)."""
        view = await service.convention_view(web.current_user(request), convention_id)
        content = await pdf.run(functools.partial(pdf.render_pdf, "conventions/pdf/school_list.html", {"view": view, "rules": rules},
                                created=service.now(), stylesheets=["conventions/pdf/convention.css"],
                                title="Liste des écoles"))
        filename = f"ecoles-convention-{convention_id}.pdf"
        return Response(content=content, media_type="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "private, no-cache"})

    @post("/{convention_id:int}/ecoles/valider", opt={"permission": "conventions.edit"})
    async def validate_list(self, request: Request, convention_id: FromPath[int]) -> Response:
        """Step 1: validate the list (then it cannot change)."""
        user = web.current_user(request)
        return await self._after(request, convention_id, lambda: service.validate_list(user, convention_id),
                                 "liste", "#etape-articles")

    @post("/{convention_id:int}/prise-en-charge", opt={"permission": "conventions.edit"})
    async def care_start(self, request: Request, convention_id: FromPath[int], data: Form) -> Response:
        """A specific partnership: when the care of the learner starts (gives the deadline)."""
        user = web.current_user(request)
        return await self._after(request, convention_id, lambda: service.set_care_start(
            user, convention_id, data.get("debut")), "debut")

    def _article_input(self, data: dict) -> service.ArticleInput:
        shares = {}
        for name, value in data.items():
            if name.startswith("part-") and name[5:].isdigit():
                shares[int(name[5:])] = value
        cells = {name: value for name, value in data.items() if name.startswith("cell-")}
        return service.ArticleInput(text=data.get("texte") or "", version=data.get("version"), cells=cells,
                                    split_mode=data.get("repartition"), shares=shares,
                                    running=data.get("fonctionnement"))

    async def _article_fragment(self, request: Request, convention_id: int, key: str, status: int = 200,
                                **extra) -> Response:
        view = await service.convention_view(web.current_user(request), convention_id)
        state = view.state(key)
        if state is None:
            raise service.NotFound
        context = {"view": view, "a": state, "rules": rules, "open_article": key, "oob": True,
                   "article_errors": {}, "article_values": {}, "article_notices": {},
                   "fractions": list(rules.FRACTIONS), **extra}
        return web.page(request, ARTICLE, status_code=status, **context)

    @post("/{convention_id:int}/articles/{key:str}", opt={"permission": "conventions.edit"})
    async def save_article(self, request: Request, convention_id: FromPath[int], key: FromPath[str],
                           data: Form) -> Response:
        """Step 2: save one article (htmx: the article swapped in place)."""
        user = web.current_user(request)
        form = self._article_input(data)
        try:
            await service.save_article(user, convention_id, key, form)
        except service.ConventionError as error:
            # a stale save shows the text saved by the other person; other refusals keep what was typed
            values = {} if error.status_code == 409 else {key: data}
            extra = {"article_errors": {key: error.message}, "article_values": values, "open_article": key}
            if web.is_htmx(request):
                return await self._article_fragment(request, convention_id, key, error.status_code, **extra)
            return await self._page(request, convention_id, error.status_code, **extra)
        if web.is_htmx(request):
            return await self._article_fragment(request, convention_id, key,
                                                article_notices={key: NOTICES["article"]})
        return web.redirect(request, f"/conventions/{convention_id}?ok=article#article-{key}")

    @post("/{convention_id:int}/articles/{key:str}/reprendre", opt={"permission": "conventions.edit"})
    async def copy_article(self, request: Request, convention_id: FromPath[int], key: FromPath[str],
                           data: Form) -> Response:
        """« Insérer le texte de la dernière convention de coopération »: the form filled, not saved yet."""
        user = web.current_user(request)
        try:
            text = await service.last_cooperation_text(user, convention_id, key)
        except service.ConventionError as error:
            extra = {"article_errors": {key: error.message}, "open_article": key}
        else:
            view = await service.convention_view(user, convention_id)
            state = view.state(key)
            extra = {"article_values": {key: {"texte": text, "version": str(state.version if state else 0)}},
                     "article_notices": {key: "Texte repris de la dernière convention de coopération : vérifiez-le "
                                              "puis enregistrez l'article."}, "open_article": key}
        if web.is_htmx(request):
            return await self._article_fragment(request, convention_id, key, **extra)
        return await self._page(request, convention_id, **extra)

    @post("/{convention_id:int}/points", opt={"permission": "conventions.edit"})
    async def points(self, request: Request, convention_id: FromPath[int], data: Form) -> Response:
        """The article 8 total recomputed while cells change (not saved)."""
        view = await service.convention_view(web.current_user(request), convention_id)
        if view.kind != rules.SPECIFIC:
            raise service.NotFound
        total, message = service.preview_points(view, {k: v for k, v in data.items() if k.startswith("cell-")})
        if not web.is_htmx(request):
            return web.redirect(request, f"/conventions/{convention_id}#article-art8")
        return web.page(request, POINTS, view=view, total=total, points_error=message)

    @post("/{convention_id:int}/valider", opt={"permission": "conventions.edit"})
    async def validate(self, request: Request, convention_id: FromPath[int]) -> Response:
        """Step 2: validate the convention (every required article green, list validated)."""
        user = web.current_user(request)
        return await self._after(request, convention_id, lambda: service.validate_articles(user, convention_id),
                                 "valide", "#etape-signatures")

    @post("/{convention_id:int}/signer", opt={"permission": "conventions.sign"})
    async def sign(self, request: Request, convention_id: FromPath[int], data: Form) -> Response:
        """Step 3: the délégué of a PO concerned signs."""
        user = web.current_user(request)
        return await self._after(request, convention_id, lambda: service.sign(user, convention_id, _checked(data)),
                                 "signe", "#etape-signatures")

    @post("/{convention_id:int}/validation-administration", opt={"permission": "conventions.validate"})
    async def admin_validate(self, request: Request, convention_id: FromPath[int], data: Form) -> Response:
        """The Administration validates; the PDF/A is stored once."""
        user = web.current_user(request)
        return await self._after(request, convention_id, lambda: service.admin_validate(
            user, convention_id, _checked(data)), "administration", "#etape-signatures")

    @get("/{convention_id:int}/convention.pdf", opt={"permission": "conventions.read"})
    async def convention_pdf(self, request: Request, convention_id: FromPath[int]) -> Response:
        """The validated convention, as stored."""
        try:
            document = await service.convention_pdf(web.current_user(request), convention_id)
        except service.ConventionError as error:
            return await self._page(request, convention_id, error.status_code, error=error.message)
        return download(request, document)

    @post("/{convention_id:int}/prise-de-connaissance", opt={"permission": "conventions.acknowledge"})
    async def acknowledge(self, request: Request, convention_id: FromPath[int], data: Form) -> Response:
        """A direction concerned acknowledges."""
        user = web.current_user(request)
        return await self._after(request, convention_id, lambda: service.acknowledge(
            user, convention_id, _checked(data)), "connaissance", "#etape-signatures")

    @post("/{convention_id:int}/demande-de-modification", opt={"permission": "conventions.change_request"})
    async def change_request(self, request: Request, convention_id: FromPath[int], data: Form) -> Response:
        """Ask the Administration to unlock a validated convention."""
        user = web.current_user(request)
        return await self._after(request, convention_id, lambda: service.request_change(
            user, convention_id, data.get("motif")), "demande", "#demandes")

    @post("/demandes/{request_id:int}", opt={"permission": "conventions.validate"})
    async def decide(self, request: Request, request_id: FromPath[int], data: Form) -> Response:
        """The Administration grants or refuses a change request."""
        user = web.current_user(request)
        try:
            convention_id = await service.decide_request(user, request_id, data.get("decision"), data.get("note"))
        except service.ConventionError as error:
            return await self._page(request, await service.request_convention(request_id), error.status_code,
                                    error=error.message)
        return web.redirect(request, f"/conventions/{convention_id}?ok=decision#demandes")

    # --- avenants ----------------------------------------------------------------------------------------------

    def _avenant_input(self, data: dict) -> avenants.AvenantInput:
        article = self._article_input(data)
        return avenants.AvenantInput(effective_year=data.get("annee"), motivation=data.get("motivation"),
                                    version=data.get("version"), cells=article.cells, split_mode=article.split_mode,
                                    shares=article.shares, running=article.running)

    async def _avenant_after(self, request: Request, avenant_id: int, action, notice: str) -> Response:
        try:
            convention_id = await action()
        except service.ConventionError as error:
            return await self._page(request, await avenants.convention_of(avenant_id), error.status_code,
                                    error=error.message, open_avenant=avenant_id)
        return web.redirect(request, f"/conventions/{convention_id}?ok={notice}#avenant-{avenant_id}")

    @post("/{convention_id:int}/avenants", opt={"permission": "conventions.edit"})
    async def create_avenant(self, request: Request, convention_id: FromPath[int], data: Form) -> Response:
        """Create a draft avenant to the split or transfer of points (validated convention)."""
        user = web.current_user(request)
        try:
            avenant_id = await avenants.create_avenant(user, convention_id, self._avenant_input(data))
        except service.ConventionError as error:
            return await self._page(request, convention_id, error.status_code, error=error.message,
                                    avenant_typed=data)
        return web.redirect(request, f"/conventions/{convention_id}?ok=avenant#avenant-{avenant_id}")

    @post("/avenants/{avenant_id:int}", opt={"permission": "conventions.edit"})
    async def save_avenant(self, request: Request, avenant_id: FromPath[int], data: Form) -> Response:
        """Change a draft avenant (version-checked)."""
        user = web.current_user(request)
        return await self._avenant_after(request, avenant_id, lambda: avenants.save_avenant(
            user, avenant_id, self._avenant_input(data)), "avenant")

    @post("/avenants/{avenant_id:int}/signatures", opt={"permission": "conventions.edit"})
    async def submit_avenant(self, request: Request, avenant_id: FromPath[int], data: Form) -> Response:
        """Send a draft avenant to the signatures."""
        user = web.current_user(request)
        return await self._avenant_after(request, avenant_id, lambda: avenants.submit_avenant(
            user, avenant_id, data.get("version")), "avenant-signatures")

    @post("/avenants/{avenant_id:int}/signer", opt={"permission": "conventions.sign"})
    async def sign_avenant(self, request: Request, avenant_id: FromPath[int], data: Form) -> Response:
        """A délégué concerned signs; the last signature communicates the avenant (PDF/A stored once)."""
        user = web.current_user(request)
        return await self._avenant_after(request, avenant_id, lambda: avenants.sign_avenant(
            user, avenant_id, _checked(data)), "avenant-signe")

    @post("/avenants/{avenant_id:int}/prise-en-compte", opt={"permission": "conventions.validate"})
    async def take_avenant(self, request: Request, avenant_id: FromPath[int], data: Form) -> Response:
        """The Administration marks a communicated avenant « pris en compte »."""
        user = web.current_user(request)
        return await self._avenant_after(request, avenant_id, lambda: avenants.take_avenant(
            user, avenant_id, _checked(data)), "avenant-pris")

    @get("/avenants/{avenant_id:int}/avenant.pdf", opt={"permission": "conventions.read"})
    async def avenant_pdf(self, request: Request, avenant_id: FromPath[int]) -> Response:
        """The communicated avenant, as stored."""
        try:
            document = await avenants.avenant_pdf(web.current_user(request), avenant_id)
        except service.ConventionError as error:
            return await self._page(request, await avenants.convention_of(avenant_id), error.status_code,
                                    error=error.message)
        return download(request, document)

    # --- reference data ----------------------------------------------------------------------------------------

    async def _reference(self, request: Request, status: int = 200, **extra) -> Response:
        data = await service.reference_data()
        return web.page(request, "conventions/reference.html", status_code=status, ref=data, **extra)

    @get("/reference", name="conventions_reference", opt={"permission": "conventions.reference"})
    async def reference(self, request: Request, ok: FromQuery[str | None] = None) -> Response:
        """Functions and their points, school holidays, campaign date."""
        return await self._reference(request, notice=NOTICES.get(ok or ""))

    async def _reference_change(self, request: Request, action) -> Response:
        try:
            await action()
        except service.ConventionError as error:
            return await self._reference(request, error.status_code, error=error.message)
        return web.redirect(request, "/conventions/reference?ok=reference")

    @post("/reference/fonctions", opt={"permission": "conventions.reference"})
    async def add_function(self, request: Request, data: Form) -> Response:
        """Add a function."""
        user = web.current_user(request)
        return await self._reference_change(request, lambda: service.save_function(
            user, None, data.get("nom"), data.get("points")))

    @post("/reference/fonctions/{function_id:int}", opt={"permission": "conventions.reference"})
    async def change_function(self, request: Request, function_id: FromPath[int], data: Form) -> Response:
        """Change a function's name or points."""
        user = web.current_user(request)
        return await self._reference_change(request, lambda: service.save_function(
            user, function_id, data.get("nom"), data.get("points")))

    @post("/reference/conges", opt={"permission": "conventions.reference"})
    async def add_holiday(self, request: Request, data: Form) -> Response:
        """Add a school holiday."""
        user = web.current_user(request)
        return await self._reference_change(request, lambda: service.add_holiday(
            user, data.get("libelle"), data.get("debut"), data.get("fin")))

    @post("/reference/conges/{holiday_id:int}/supprimer", opt={"permission": "conventions.reference"})
    async def delete_holiday(self, request: Request, holiday_id: FromPath[int]) -> Response:
        """Remove a school holiday."""
        user = web.current_user(request)
        return await self._reference_change(request, lambda: service.delete_holiday(user, holiday_id))

    @post("/reference/campagne", opt={"permission": "conventions.reference"})
    async def campaign(self, request: Request, data: Form) -> Response:
        """Set a campaign's due date."""
        user = web.current_user(request)
        return await self._reference_change(request, lambda: service.set_campaign(
            user, data.get("annee"), data.get("echeance")))


ROUTES: list = [ConventionController]
