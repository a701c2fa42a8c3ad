"""Pages and fragments of the evaluations of competency tracking (SPEC §7; CERISE PRO guide §3.6; CPRO guide §4).

``competencies.evaluate``, under ``/competences/evaluations``: the school's evaluations, creation, the grid, its
settings (author only), the blank sheet (PDF) and deletion. The grid: ``POST …/cellules/{learner}/{node}`` saves
one cell (htmx swaps the ``<td>`` back: 200, 400 or 409 with the current value); without JavaScript
``POST …/lignes/{learner}`` saves a learner's row and comes back to the page. ``competencies.own_evaluations``,
under ``/competences/mes-evaluations``: a learner's visible evaluations, their own row only.
"""

from __future__ import annotations

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from portal.competencies import cells, evaluations, exports, grid_saves, grids, rules
from portal.competencies import services as svc
from portal.competencies.controllers import BASE_E, HANDLERS, download, selected_from
from portal.core import web
from portal.core.clock import now


def _flag(value) -> bool:
    return str(value or "") in {"1", "on", "oui"}


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
        rows = await evaluations.team_evaluations(web.current_user(request))
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
                        selected=selected_from(form, tree), errors=errors or [],
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
        framework_id = svc.parse_id(form.get("referentiel"))
        try:
            if framework_id is None:
                raise svc.Invalid(["Référentiel : à choisir."])
            tree = await svc.framework_tree(framework_id)
            errors: list[str] = []
            selection = svc.parse_selection(form, tree, errors)
            if errors:
                raise svc.Invalid(errors)
            learners = await svc.school_learners(svc.school_of(user))
            evaluation_id = await evaluations.create_evaluation(user, form.get("titre"), framework_id, selection,
                                                                svc.pick_learners(form, learners),
                                                                visible=_flag(form.get("visible")))
        except svc.Invalid as error:
            return await self._new_page(request, framework_id, 400, error.messages, form)
        return web.redirect(request, f"{BASE_E}/{evaluation_id}")

    async def _grid_page(self, request: Request, evaluation_id: int, vue: str, status: int = 200, **extra):
        grid = await grids.grid(web.current_user(request), evaluation_id)
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

    def _cell(self, request: Request, evaluation_id: int, cell: grids.Cell, status: int, error: str = "",
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
            saved = await grid_saves.save_cell(user, evaluation_id, learner_id, node_id, form.get(f"niveau-{node_id}"),
                                               form.get(f"avant-{node_id}"))
        except svc.Stale as error:
            if web.is_htmx(request):
                return self._cell(request, evaluation_id, error.cell, 409, error=error.message)
            return await self._grid_page(request, evaluation_id, _view(vue), 409, errors=[error.message])
        except svc.Invalid as error:
            if web.is_htmx(request):
                return self._cell(request, evaluation_id, grids.Cell(learner_id, node_id), 400,
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
            saved = await grid_saves.save_row(web.current_user(request), evaluation_id, learner_id, form)
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
            learner = await grid_saves.save_comment(user, evaluation_id, learner_id, form.get("commentaire"),
                                                    form.get("commentaire_avant"), form.get("commentaire_version"))
        except (svc.Stale, svc.Invalid) as refused:
            status = 409 if isinstance(refused, svc.Stale) else 400
            error = refused.message if isinstance(refused, svc.Stale) else " ".join(refused.messages)
            if not web.is_htmx(request):
                return await self._grid_page(request, evaluation_id, _view(vue), status, errors=[error])
            grid = await grids.grid(user, evaluation_id)
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
        view = await evaluations.settings_view(web.current_user(request), evaluation_id)
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
            await evaluations.update_settings(web.current_user(request), evaluation_id, form)
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
        node_id = svc.parse_id(form.get("competence"))
        raw_order = form.get("ordre")
        order = svc.parse_ids(str(raw_order).split(",")) if raw_order else None
        try:
            if node_id is None and order is None:
                raise svc.NotFound(evaluation_id)
            await evaluations.move_competency(web.current_user(request), evaluation_id, node_id, str(form.get("sens")),
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
            await evaluations.set_visible(web.current_user(request), evaluation_id, _flag(form.get("visible")),
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

        grid = await grids.grid(web.current_user(request), evaluation_id)
        content = await pdf.run(exports.blank_sheet_pdf, grid, rules.LEVELS, now())
        return download(content, "application/pdf", exports.filename("fiche-" + grid.evaluation["title"], "pdf"))

    @get("/{evaluation_id:int}/supprimer", name="cmp_evaluation_delete")
    async def confirm_delete(self, request: Request, evaluation_id: FromPath[int]) -> Response:
        """Ask for confirmation (author only)."""
        view = await evaluations.settings_view(web.current_user(request), evaluation_id)
        return web.page(request, "competencies/confirm_delete.html", what="evaluation",
                        title=view.evaluation["title"], action=f"{BASE_E}/{evaluation_id}/supprimer",
                        back=f"{BASE_E}/{evaluation_id}")

    @post("/{evaluation_id:int}/supprimer")
    async def delete(self, request: Request, evaluation_id: FromPath[int]) -> Response:
        """Delete with its grid (author only)."""
        await evaluations.delete_evaluation(web.current_user(request), evaluation_id)
        return web.redirect(request, f"{BASE_E}?supprime=1")


class OwnEvaluationController(Controller):
    """A learner's evaluations: only those made visible, only their own row."""

    path = "/competences/mes-evaluations"
    opt = {"permission": "competencies.own_evaluations"}
    exception_handlers = HANDLERS

    @get("/", name="cmp_own_evaluations")
    async def index(self, request: Request) -> Response:
        """The visible evaluations the learner is in."""
        rows = await grids.own_evaluations(web.current_user(request))
        return web.page(request, "competencies/own_evaluations.html", rows=rows)

    @get("/{evaluation_id:int}", name="cmp_own_evaluation")
    async def show(self, request: Request, evaluation_id: FromPath[int]) -> Response:
        """One visible evaluation: levels and comment of the learner."""
        grid = await grids.own_evaluation(web.current_user(request), evaluation_id)
        return web.page(request, "competencies/own_evaluation.html", grid=grid, levels=rules.LEVELS)


ROUTES: list = [EvaluationController, OwnEvaluationController]
