"""Pages and fragments of competency tracking (SPEC §7; CERISE PRO guide §3.5–3.6; CPRO guide §4).

Frameworks (``competencies.frameworks``; loading a file: ``competencies.load_frameworks``) under
``/competences/referentiels``; scenarios (``competencies.scenarios``) under ``/competences/scenarios``;
evaluations and their grids (``competencies.evaluate``) under ``/competences/evaluations``; a learner's visible
evaluations (``competencies.own_evaluations``) under ``/competences/mes-evaluations``. Scope is the services' business:
out of scope answers 404 like unknown; readable but not one's own answers 403.

The grid: ``POST …/cellules/{learner}/{node}`` saves one cell (htmx swaps the ``<td>`` back: 200, 400 or 409 with
the current value); without JavaScript ``POST …/lignes/{learner}`` saves a learner's row and comes back to the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.params import Body, FromPath, FromQuery

from portal.competencies import cells, exports, rules
from portal.competencies import services as svc
from portal.core import web
from portal.core.clock import now

NOT_FOUND = "Ce contenu n'existe pas ou ne vous est pas accessible."
BASE_S = "/competences/scenarios"
BASE_E = "/competences/evaluations"


def _not_found(request: Request, exc: svc.NotFound) -> Response:
    return web.not_found_handler(request, NotFoundException(NOT_FOUND))


def _not_author(request: Request, exc: svc.NotAuthor) -> Response:
    return web.forbidden_handler(request, PermissionDeniedException(str(exc)))


HANDLERS = {svc.NotFound: _not_found, svc.NotAuthor: _not_author}


def _download(content: bytes, media_type: str, name: str) -> Response:
    return Response(content=content, media_type=media_type, headers={
        "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff"})


def _flag(value) -> bool:
    return str(value or "") in {"1", "on", "oui"}


# --- scenarios ------------------------------------------------------------------------------------------------


@dataclass
class FileUpload:
    """The attachment form: one PDF or ZIP (``fichier``)."""

    fichier: UploadFile | None = None


Upload = Annotated[FileUpload, Body(media_type=RequestEncodingType.MULTI_PART)]


class ScenarioController(Controller):
    """Create, read, change, duplicate, share, export, delete scenarios; make an evaluation from one."""

    path = BASE_S
    opt = {"permission": "competencies.scenarios"}
    exception_handlers = HANDLERS

    @get("/", name="cmp_scenarios")
    async def index(self, request: Request, supprime: FromQuery[str | None] = None) -> Response:
        """Own scenarios and those shared with the person's school."""
        rows = await svc.visible_scenarios(web.current_user(request))
        return web.page(request, "competencies/scenarios.html", rows=rows,
                        notice="Le scénario a été supprimé." if supprime else None)

    async def _form(self, request: Request, status: int = 200, view: svc.ScenarioView | None = None,
                    framework_id: int | None = None, errors: list[str] | None = None, values=None,
                    stale: bool = False) -> Response:
        frameworks = await svc.current_frameworks()
        if view is not None:
            framework_id = view.row["framework"]
        elif framework_id is None or framework_id not in {f["id"] for f in frameworks}:
            framework_id = frameworks[0]["id"] if frameworks else None
        tree = view.tree if view else (await svc.framework_tree(framework_id) if framework_id else None)
        return web.page(request, "competencies/scenario_form.html", status_code=status, view=view, tree=tree,
                        frameworks=frameworks, errors=errors or [], values=values, stale=stale,
                        selected=_selected_from(values, tree) if values is not None else (view.selected if view else {}))

    @get("/nouveau", name="cmp_scenario_new")
    async def new(self, request: Request, referentiel: FromQuery[int | None] = None) -> Response:
        """The creation form (the framework can be changed by a small GET form)."""
        return await self._form(request, framework_id=referentiel)

    @post("/nouveau")
    async def create(self, request: Request) -> Response:
        """Create the scenario, or show the form again with every fault (400)."""
        form = await request.form()
        try:
            data, _tree = await svc.parse_scenario(form)
            scenario_id = await svc.create_scenario(web.current_user(request), data)
        except svc.Invalid as error:
            return await self._form(request, 400, framework_id=svc._id(form.get("referentiel")),
                                    errors=error.messages, values=form)
        return web.redirect(request, f"{BASE_S}/{scenario_id}?cree=1")

    @get("/{scenario_id:int}", name="cmp_scenario")
    async def show(self, request: Request, scenario_id: FromPath[int], cree: FromQuery[str | None] = None,
                   enregistre: FromQuery[str | None] = None, partage: FromQuery[str | None] = None,
                   fichier: FromQuery[str | None] = None) -> Response:
        """A scenario, read-only for non-authors, with its actions."""
        view = await svc.scenario_view(web.current_user(request), scenario_id)
        notice = ("Le scénario a été créé. Vous pouvez maintenant y joindre des fichiers PDF ou ZIP." if cree else
                  "Les modifications ont été enregistrées." if enregistre else
                  f"Le scénario est partagé avec {partage}." if partage else
                  "Le fichier a été joint." if fichier == "1" else
                  "Le fichier a été retiré." if fichier == "0" else None)
        return web.page(request, "competencies/scenario.html", view=view, notice=notice, errors=[])

    async def _show_error(self, request: Request, scenario_id: int, errors: list[str], status: int = 400):
        view = await svc.scenario_view(web.current_user(request), scenario_id)
        return web.page(request, "competencies/scenario.html", status_code=status, view=view, errors=errors,
                        notice=None)

    @get("/{scenario_id:int}/modifier", name="cmp_scenario_edit")
    async def edit(self, request: Request, scenario_id: FromPath[int]) -> Response:
        """The edit form (author only)."""
        user = web.current_user(request)
        view = await svc.scenario_view(user, scenario_id)
        if not view.own:
            raise svc.NotAuthor(svc.NOT_AUTHOR)
        return await self._form(request, view=view)

    @post("/{scenario_id:int}/modifier")
    async def update(self, request: Request, scenario_id: FromPath[int]) -> Response:
        """Save the changes (author only; a stale version is refused with 409)."""
        user = web.current_user(request)
        form = await request.form()
        view = await svc.scenario_view(user, scenario_id)
        if not view.own:
            raise svc.NotAuthor(svc.NOT_AUTHOR)
        try:
            data, _tree = await svc.parse_scenario(form)
            if data.framework_id != view.row["framework"]:
                raise svc.Invalid(["Le référentiel d'un scénario ne change pas : dupliquez-le plutôt."])
            await svc.update_scenario(user, scenario_id, data, form.get("version"))
        except svc.Invalid as error:
            return await self._form(request, 400, view=view, errors=error.messages, values=form)
        except svc.Stale as error:
            fresh = await svc.scenario_view(user, scenario_id)
            return await self._form(request, 409, view=fresh, errors=[error.message], stale=True)
        return web.redirect(request, f"{BASE_S}/{scenario_id}?enregistre=1")

    @get("/{scenario_id:int}/supprimer", name="cmp_scenario_delete")
    async def confirm_delete(self, request: Request, scenario_id: FromPath[int]) -> Response:
        """Ask for confirmation (author only)."""
        view = await svc.scenario_view(web.current_user(request), scenario_id)
        if not view.own:
            raise svc.NotAuthor(svc.NOT_AUTHOR)
        return web.page(request, "competencies/confirm_delete.html", what="scenario", title=view.row["title"],
                        action=f"{BASE_S}/{scenario_id}/supprimer", back=f"{BASE_S}/{scenario_id}")

    @post("/{scenario_id:int}/supprimer")
    async def delete(self, request: Request, scenario_id: FromPath[int]) -> Response:
        """Delete (author only)."""
        await svc.delete_scenario(web.current_user(request), scenario_id)
        return web.redirect(request, f"{BASE_S}?supprime=1")

    @post("/{scenario_id:int}/dupliquer")
    async def duplicate(self, request: Request, scenario_id: FromPath[int]) -> Response:
        """Duplicate under a new name and class level."""
        form = await request.form()
        try:
            new_id = await svc.duplicate_scenario(web.current_user(request), scenario_id, form.get("titre"),
                                                  form.get("niveau"))
        except svc.Invalid as error:
            return await self._show_error(request, scenario_id, error.messages)
        return web.redirect(request, f"{BASE_S}/{new_id}?cree=1")

    @post("/{scenario_id:int}/partager")
    async def share(self, request: Request, scenario_id: FromPath[int]) -> Response:
        """Share with another establishment (author only)."""
        form = await request.form()
        try:
            name = await svc.share_scenario(web.current_user(request), scenario_id, form.get("etablissement"))
        except svc.Invalid as error:
            return await self._show_error(request, scenario_id, error.messages)
        return web.redirect(request, f"{BASE_S}/{scenario_id}?partage={quote(name)}")

    @post("/{scenario_id:int}/fichiers", request_max_body_size=svc.FILE_MAX + 1024 * 1024)
    async def attach(self, request: Request, scenario_id: FromPath[int], data: Upload) -> Response:
        """Attach a PDF or ZIP (author only), checked by its content."""
        upload = data.fichier
        if upload is None or not upload.filename:
            return await self._show_error(request, scenario_id, ["Choisissez un fichier PDF ou ZIP."])
        content = await upload.read(svc.FILE_MAX + 1)
        try:
            await svc.attach_file(web.current_user(request), scenario_id, upload.filename, content)
        except svc.Invalid as error:
            return await self._show_error(request, scenario_id, error.messages)
        return web.redirect(request, f"{BASE_S}/{scenario_id}?fichier=1")

    @get("/{scenario_id:int}/fichiers/{file_id:int}", name="cmp_scenario_file")
    async def file(self, request: Request, scenario_id: FromPath[int], file_id: FromPath[int]) -> Response:
        """Download an attachment of a readable scenario."""
        document = await svc.scenario_file(web.current_user(request), scenario_id, file_id)
        return _download(document.content, document.media_type, document.filename)

    @post("/{scenario_id:int}/fichiers/{file_id:int}/retirer")
    async def remove_file(self, request: Request, scenario_id: FromPath[int], file_id: FromPath[int]) -> Response:
        """Detach an attachment (author only)."""
        await svc.remove_file(web.current_user(request), scenario_id, file_id)
        return web.redirect(request, f"{BASE_S}/{scenario_id}?fichier=0")

    @get("/{scenario_id:int}/export.docx", name="cmp_scenario_docx")
    async def docx(self, request: Request, scenario_id: FromPath[int]) -> Response:
        """The scenario as DOCX."""
        view = await svc.scenario_view(web.current_user(request), scenario_id)
        return _download(exports.scenario_docx(view), exports.DOCX, exports.filename(view.row["title"], "docx"))

    @get("/{scenario_id:int}/export.odt", name="cmp_scenario_odt")
    async def odt(self, request: Request, scenario_id: FromPath[int]) -> Response:
        """The scenario as ODT."""
        view = await svc.scenario_view(web.current_user(request), scenario_id)
        return _download(exports.scenario_odt(view), exports.ODT, exports.filename(view.row["title"], "odt"))

    async def _evaluate_page(self, request: Request, scenario_id: int, status: int = 200, errors=None, form=None):
        user = web.current_user(request)
        view = await svc.scenario_view(user, scenario_id)
        learners = await svc.school_learners(svc.school_of(user))
        picked = set(svc.pick_learners(form, learners)) if form is not None else set()
        return web.page(request, "competencies/scenario_evaluate.html", status_code=status, view=view,
                        learners=learners, classes=svc.class_names(learners), picked=picked, errors=errors or [],
                        title=(form.get("titre") if form is not None else None) or view.row["title"])

    @get("/{scenario_id:int}/evaluer", name="cmp_scenario_evaluate")
    async def evaluate_form(self, request: Request, scenario_id: FromPath[int]) -> Response:
        """« Créer une grille de positionnement »: pick the learners."""
        return await self._evaluate_page(request, scenario_id)

    @post("/{scenario_id:int}/evaluer", opt={"permission": "competencies.evaluate"})
    async def evaluate(self, request: Request, scenario_id: FromPath[int]) -> Response:
        """Create the evaluation and go to its grid."""
        form = await request.form()
        try:
            evaluation_id = await svc.evaluation_from_scenario(web.current_user(request), scenario_id, form)
        except svc.Invalid as error:
            return await self._evaluate_page(request, scenario_id, 400, error.messages, form)
        return web.redirect(request, f"{BASE_E}/{evaluation_id}")


def _selected_from(form, tree) -> dict[int, svc.Selected]:
    """The ticks of a refused form, to show them again."""
    if tree is None or form is None:
        return {}
    return {sel.node_id: sel for sel in svc.parse_selection(form, tree, [])}


# --- evaluations and grids -----------------------------------------------------------------------------------

VIEWS = ("apprenants", "competences")


def _view(raw: str | None) -> str:
    return raw if raw in VIEWS else "apprenants"


class EvaluationController(Controller):
    """Evaluations of the school: list, creation, the grid, settings, blank sheet, deletion."""

    path = BASE_E
    opt = {"permission": "competencies.evaluate"}
    exception_handlers = HANDLERS

    @get("/", name="cmp_evaluations")
    async def index(self, request: Request, supprime: FromQuery[str | None] = None) -> Response:
        """Evaluations of the establishment, own first, with how much of each grid is filled."""
        rows = await svc.team_evaluations(web.current_user(request))
        return web.page(request, "competencies/evaluations.html", rows=rows,
                        notice="L'évaluation a été supprimée." if supprime else None)

    async def _new_page(self, request: Request, framework_id: int | None = None, status: int = 200, errors=None,
                        form=None) -> Response:
        user = web.current_user(request)
        frameworks = await svc.current_frameworks()
        if framework_id is None or framework_id not in {f["id"] for f in frameworks}:
            framework_id = frameworks[0]["id"] if frameworks else None
        tree = await svc.framework_tree(framework_id) if framework_id else None
        learners = await svc.school_learners(svc.school_of(user))
        return web.page(request, "competencies/evaluation_new.html", status_code=status, tree=tree,
                        frameworks=frameworks, learners=learners, classes=svc.class_names(learners),
                        picked=set(svc.pick_learners(form, learners)) if form is not None else set(),
                        selected=_selected_from(form, tree), errors=errors or [],
                        title=form.get("titre") if form is not None else "")

    @get("/nouvelle", name="cmp_evaluation_new")
    async def new(self, request: Request, referentiel: FromQuery[int | None] = None) -> Response:
        """Create an evaluation without a scenario: title, competencies in the tree, learners."""
        return await self._new_page(request, referentiel)

    @post("/nouvelle")
    async def create(self, request: Request) -> Response:
        """Create it and open its grid."""
        user = web.current_user(request)
        form = await request.form()
        framework_id = svc._id(form.get("referentiel"))
        try:
            if framework_id is None:
                raise svc.Invalid(["Référentiel : à choisir."])
            tree = await svc.framework_tree(framework_id)
            errors: list[str] = []
            selection = svc.parse_selection(form, tree, errors)
            if errors:
                raise svc.Invalid(errors)
            learners = await svc.school_learners(svc.school_of(user))
            evaluation_id = await svc.create_evaluation(user, form.get("titre"), framework_id, selection,
                                                        svc.pick_learners(form, learners),
                                                        visible=_flag(form.get("visible")))
        except svc.Invalid as error:
            return await self._new_page(request, framework_id, 400, error.messages, form)
        return web.redirect(request, f"{BASE_E}/{evaluation_id}")

    async def _grid_page(self, request: Request, evaluation_id: int, vue: str, status: int = 200, **extra):
        grid = await svc.grid(web.current_user(request), evaluation_id)
        context = {"grid": grid, "vue": vue, "levels": rules.LEVELS, "levels_by_code": rules.BY_CODE,
                   "cell_html": cells.cell_html, "row_html": cells.row_html, "comment_html": cells.comment_html,
                   "learner_rows_html": cells.learner_rows_html,
                   "errors": [], "cell_errors": {},
                   "comment_errors": {}, "notice": None, **extra}
        return web.page(request, "competencies/grid.html", status_code=status, large=True, **context)

    @get("/{evaluation_id:int}", name="cmp_grid")
    async def show(self, request: Request, evaluation_id: FromPath[int], vue: FromQuery[str | None] = None,
                   enregistre: FromQuery[str | None] = None) -> Response:
        """The grid: by learner (rows are learners) or by competency (rows are competencies)."""
        notice = {"1": "La ligne a été enregistrée.", "0": "Aucune modification à enregistrer.",
                  "p": "Les paramètres de l'évaluation ont été enregistrés."}.get(enregistre or "")
        return await self._grid_page(request, evaluation_id, _view(vue), notice=notice)

    def _cell(self, request: Request, evaluation_id: int, cell: svc.Cell, status: int, error: str = "",
              notice: str = "") -> Response:
        return web.page(request, "competencies/partials/cell.html", status_code=status, evaluation_id=evaluation_id,
                        cell=cell, cell_error=error, cell_notice=notice, levels=rules.LEVELS,
                        cell_html=cells.cell_html)

    @post("/{evaluation_id:int}/cellules/{learner_id:int}/{node_id:int}", name="cmp_cell")
    async def cell(self, request: Request, evaluation_id: FromPath[int], learner_id: FromPath[int],
                   node_id: FromPath[int], vue: FromQuery[str | None] = None) -> Response:
        """Save one cell; htmx gets the cell back (409 with the current value when someone saved first)."""
        user = web.current_user(request)
        form = await request.form()
        try:
            saved = await svc.save_cell(user, evaluation_id, learner_id, node_id, form.get(f"niveau-{node_id}"),
                                        form.get(f"avant-{node_id}"))
        except svc.Stale as error:
            if web.is_htmx(request):
                return self._cell(request, evaluation_id, error.cell, 409, error=error.message)
            return await self._grid_page(request, evaluation_id, _view(vue), 409, errors=[error.message])
        except svc.Invalid as error:
            if web.is_htmx(request):
                return self._cell(request, evaluation_id, svc.Cell(learner_id, node_id), 400,
                                  error=" ".join(error.messages))
            return await self._grid_page(request, evaluation_id, _view(vue), 400, errors=error.messages)
        if web.is_htmx(request):
            return self._cell(request, evaluation_id, saved.cell, 200, notice=saved.message)
        return web.redirect(request, f"{BASE_E}/{evaluation_id}?vue={_view(vue)}&enregistre={int(saved.changed)}")

    @post("/{evaluation_id:int}/lignes/{learner_id:int}", name="cmp_row")
    async def row(self, request: Request, evaluation_id: FromPath[int], learner_id: FromPath[int],
                  vue: FromQuery[str | None] = None) -> Response:
        """Save a learner's cells and comment at once (the grid without JavaScript), all or nothing."""
        form = await request.form()
        view = _view(vue or form.get("vue"))
        try:
            saved = await svc.save_row(web.current_user(request), evaluation_id, learner_id, form)
        except svc.Stale as error:
            messages = getattr(error, "messages", [error.message])
            return await self._grid_page(request, evaluation_id, view, 409, errors=[
                "Rien n'a été enregistré pour cet apprenant : " + " ".join(messages)])
        except svc.Invalid as error:
            return await self._grid_page(request, evaluation_id, view, 400, errors=error.messages)
        return web.redirect(request, f"{BASE_E}/{evaluation_id}?vue={view}&enregistre={1 if saved.changed else 0}"
                                     f"#ligne-{learner_id}")

    @post("/{evaluation_id:int}/commentaires/{learner_id:int}", name="cmp_comment")
    async def comment(self, request: Request, evaluation_id: FromPath[int], learner_id: FromPath[int],
                      vue: FromQuery[str | None] = None) -> Response:
        """Save the comment on a learner; htmx gets the comment cell back."""
        user = web.current_user(request)
        form = await request.form()
        status, error, notice = 200, "", "Commentaire enregistré."
        try:
            learner = await svc.save_comment(user, evaluation_id, learner_id, form.get("commentaire"),
                                             form.get("commentaire_avant"), form.get("commentaire_version"))
        except (svc.Stale, svc.Invalid) as refused:
            status = 409 if isinstance(refused, svc.Stale) else 400
            error = refused.message if isinstance(refused, svc.Stale) else " ".join(refused.messages)
            if not web.is_htmx(request):
                return await self._grid_page(request, evaluation_id, _view(vue), status, errors=[error])
            grid = await svc.grid(user, evaluation_id)
            learner = next((g for g in grid.learners if g.id == learner_id), None)
            if learner is None:
                raise svc.NotFound(learner_id) from None
            notice = ""
        if not web.is_htmx(request):
            return web.redirect(request, f"{BASE_E}/{evaluation_id}?vue={_view(vue)}&enregistre=1")
        return web.page(request, "competencies/partials/comment.html", status_code=status,
                        evaluation_id=evaluation_id, learner=learner, comment_error=error, comment_notice=notice,
                        comment_html=cells.comment_html)

    async def _settings_page(self, request: Request, evaluation_id: int, status: int = 200, errors=None,
                             notice=None) -> Response:
        view = await svc.settings_view(web.current_user(request), evaluation_id)
        return web.page(request, "competencies/evaluation_settings.html", status_code=status, view=view,
                        tree=view.tree, selected=view.selected, learners=view.learners, picked=view.picked,
                        classes=view.classes, errors=errors or [], notice=notice)

    @get("/{evaluation_id:int}/parametres", name="cmp_evaluation_settings")
    async def settings(self, request: Request, evaluation_id: FromPath[int],
                       ordre: FromQuery[str | None] = None) -> Response:
        """Title, visibility, learners, competencies and their order (author only)."""
        return await self._settings_page(request, evaluation_id,
                                         notice="L'ordre des compétences a été enregistré." if ordre else None)

    @post("/{evaluation_id:int}/parametres")
    async def save_settings(self, request: Request, evaluation_id: FromPath[int]) -> Response:
        """Save the settings (author only; stale version refused)."""
        form = await request.form()
        try:
            await svc.update_settings(web.current_user(request), evaluation_id, form)
        except svc.Invalid as error:
            return await self._settings_page(request, evaluation_id, 400, error.messages)
        except svc.Stale as error:
            return await self._settings_page(request, evaluation_id, 409, [error.message])
        return web.redirect(request, f"{BASE_E}/{evaluation_id}?enregistre=p")

    @post("/{evaluation_id:int}/ordre")
    async def order(self, request: Request, evaluation_id: FromPath[int]) -> Response:
        """Move a competency up or down (keyboard and no-JavaScript ordering), or set the whole order (``ordre``:
        node ids separated by commas, sent after a drag and drop)."""
        form = await request.form()
        node_id = svc._id(form.get("competence"))
        raw_order = form.get("ordre")
        order = svc._ids(str(raw_order).split(",")) if raw_order else None
        try:
            if node_id is None and order is None:
                raise svc.NotFound(evaluation_id)
            await svc.move_competency(web.current_user(request), evaluation_id, node_id, str(form.get("sens")),
                                      form.get("version"), order=order)
        except svc.Invalid as error:
            return await self._settings_page(request, evaluation_id, 400, error.messages)
        except svc.Stale as error:
            return await self._settings_page(request, evaluation_id, 409, [error.message])
        return web.redirect(request, f"{BASE_E}/{evaluation_id}/parametres?ordre=1#ordre")

    @post("/{evaluation_id:int}/visibilite")
    async def visibility(self, request: Request, evaluation_id: FromPath[int], vue: FromQuery[str | None] = None
                         ) -> Response:
        """Make the evaluation visible to its learners, or hide it (author only)."""
        form = await request.form()
        try:
            await svc.set_visible(web.current_user(request), evaluation_id, _flag(form.get("visible")),
                                  form.get("version"))
        except (svc.Invalid, svc.Stale) as error:
            messages = error.messages if isinstance(error, svc.Invalid) else [error.message]
            return await self._grid_page(request, evaluation_id, _view(vue), 409 if isinstance(error, svc.Stale)
                                         else 400, errors=messages)
        return web.redirect(request, f"{BASE_E}/{evaluation_id}?vue={_view(vue)}&enregistre=p")

    @get("/{evaluation_id:int}/fiche.pdf", name="cmp_sheet")
    async def sheet(self, request: Request, evaluation_id: FromPath[int]) -> Response:
        """The blank sheet to mark by hand (PDF)."""
        from portal.documents import pdf

        grid = await svc.grid(web.current_user(request), evaluation_id)
        content = await pdf.run(exports.blank_sheet_pdf, grid, rules.LEVELS, now())
        return _download(content, "application/pdf", exports.filename("fiche-" + grid.evaluation["title"], "pdf"))

    @get("/{evaluation_id:int}/supprimer", name="cmp_evaluation_delete")
    async def confirm_delete(self, request: Request, evaluation_id: FromPath[int]) -> Response:
        """Ask for confirmation (author only)."""
        view = await svc.settings_view(web.current_user(request), evaluation_id)
        return web.page(request, "competencies/confirm_delete.html", what="evaluation",
                        title=view.evaluation["title"], action=f"{BASE_E}/{evaluation_id}/supprimer",
                        back=f"{BASE_E}/{evaluation_id}")

    @post("/{evaluation_id:int}/supprimer")
    async def delete(self, request: Request, evaluation_id: FromPath[int]) -> Response:
        """Delete with its grid (author only)."""
        await svc.delete_evaluation(web.current_user(request), evaluation_id)
        return web.redirect(request, f"{BASE_E}?supprime=1")


class OwnEvaluationController(Controller):
    """A learner's evaluations: only those made visible, only their own row."""

    path = "/competences/mes-evaluations"
    opt = {"permission": "competencies.own_evaluations"}
    exception_handlers = HANDLERS

    @get("/", name="cmp_own_evaluations")
    async def index(self, request: Request) -> Response:
        """The visible evaluations the learner is in."""
        rows = await svc.own_evaluations(web.current_user(request))
        return web.page(request, "competencies/own_evaluations.html", rows=rows)

    @get("/{evaluation_id:int}", name="cmp_own_evaluation")
    async def show(self, request: Request, evaluation_id: FromPath[int]) -> Response:
        """One visible evaluation: levels and comment of the learner."""
        grid = await svc.own_evaluation(web.current_user(request), evaluation_id)
        return web.page(request, "competencies/own_evaluation.html", grid=grid, levels=rules.LEVELS)




class FrameworkController(Controller):
    """The frameworks: their versions and trees (teachers, DDFTP, Administration); loading a file (DDFTP,
    Administration), refused with every fault named."""

    path = "/competences/referentiels"
    opt = {"permission": "competencies.frameworks"}
    exception_handlers = HANDLERS

    async def _list(self, request: Request, status: int = 200, errors=None, notice=None) -> Response:
        from portal.competencies import frameworks

        return web.page(request, "competencies/frameworks.html", status_code=status,
                        rows=await frameworks.framework_list(), errors=errors or [], notice=notice,
                        max_mb=frameworks.FILE_MAX // (1024 * 1024))

    @get("/", name="cmp_frameworks")
    async def index(self, request: Request, charge: FromQuery[str | None] = None) -> Response:
        """Every framework version; the newest of each code is the one new scenarios use."""
        notice = {"1": "Le référentiel a été chargé.", "0": "Cette version était déjà chargée : rien n'a changé."}
        return await self._list(request, notice=notice.get(charge or ""))

    @post("/", opt={"permission": "competencies.load_frameworks"},
          request_max_body_size=3 * 1024 * 1024)
    async def upload(self, request: Request, data: Upload) -> Response:
        """Load a framework file as a new version (all or nothing)."""
        from portal.competencies import frameworks

        upload = data.fichier
        if upload is None or not upload.filename:
            return await self._list(request, 400, ["Choisissez le fichier TOML du référentiel."])
        content = await upload.read(frameworks.FILE_MAX + 1)
        try:
            report = await frameworks.load_upload(content, upload.filename, web.current_user(request).actor)
        except frameworks.FrameworkFileError as error:
            return await self._list(request, 400, error.messages)
        except frameworks.FrameworkVersionConflict as error:
            return await self._list(request, 409, [str(error)])
        return web.redirect(request, f"/competences/referentiels?charge={int(report.created)}")

    @get("/{framework_id:int}", name="cmp_framework")
    async def show(self, request: Request, framework_id: FromPath[int]) -> Response:
        """A framework version's tree with its complexities and aléas."""
        if not 0 < framework_id <= svc.ID_MAX:
            raise svc.NotFound(framework_id)
        tree = await svc.framework_tree(framework_id)
        return web.page(request, "competencies/framework.html", tree=tree)


ROUTES: list = [ScenarioController, EvaluationController, OwnEvaluationController, FrameworkController]
