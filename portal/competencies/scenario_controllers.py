"""Pages of the scenarios of competency tracking (``competencies.scenarios``, under ``/competences/scenarios``):
list, creation, editing, deletion, duplication, sharing with another establishment, attachments, DOCX and ODT
exports, and an evaluation made from a scenario (``competencies.evaluate``). Only the author changes a scenario;
the rules are in :mod:`portal.competencies.scenarios`.
"""

from __future__ import annotations

from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery

from portal.competencies import evaluations, exports, scenarios
from portal.competencies import services as svc
from portal.competencies.controllers import BASE_E, BASE_S, HANDLERS, Upload, download, selected_from
from portal.core import web


class ScenarioController(Controller):
    """Create, read, change, duplicate, share, export, delete scenarios; make an evaluation from one."""

    path = BASE_S
    opt = {"permission": "competencies.scenarios"}
    exception_handlers = HANDLERS

    @get("/", name="cmp_scenarios")
    async def index(self, request: Request, supprime: FromQuery[str | None] = None) -> Response:
        """Own scenarios and those shared with the person's school."""
        rows = await scenarios.visible_scenarios(web.current_user(request))
        return web.page(request, "competencies/scenarios.html", rows=rows,
                        notice="Le scénario a été supprimé." if supprime else None)

    async def _form(self, request: Request, status: int = 200, view: scenarios.ScenarioView | None = None,
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
                        selected=selected_from(values, tree) if values is not None else (view.selected if view else {}))

    @get("/nouveau", name="cmp_scenario_new")
    async def new(self, request: Request, referentiel: FromQuery[int | None] = None) -> Response:
        """The creation form (the framework can be changed by a small GET form)."""
        return await self._form(request, framework_id=referentiel)

    @post("/nouveau")
    async def create(self, request: Request) -> Response:
        """Create the scenario, or show the form again with every fault (400)."""
        form = await request.form()
        try:
            data, _tree = await scenarios.parse_scenario(form)
            scenario_id = await scenarios.create_scenario(web.current_user(request), data)
        except svc.Invalid as error:
            return await self._form(request, 400, framework_id=svc.parse_id(form.get("referentiel")),
                                    errors=error.messages, values=form)
        return web.redirect(request, f"{BASE_S}/{scenario_id}?cree=1")

    @get("/{scenario_id:int}", name="cmp_scenario")
    async def show(self, request: Request, scenario_id: FromPath[int], cree: FromQuery[str | None] = None,
                   enregistre: FromQuery[str | None] = None, partage: FromQuery[str | None] = None,
                   fichier: FromQuery[str | None] = None) -> Response:
        """A scenario, read-only for non-authors, with its actions."""
        view = await scenarios.scenario_view(web.current_user(request), scenario_id)
        notice = ("Le scénario a été créé. Vous pouvez maintenant y joindre des fichiers PDF ou ZIP." if cree else
                  "Les modifications ont été enregistrées." if enregistre else
                  f"Le scénario est partagé avec {partage}." if partage else
                  "Le fichier a été joint." if fichier == "1" else
                  "Le fichier a été retiré." if fichier == "0" else None)
        return web.page(request, "competencies/scenario.html", view=view, notice=notice, errors=[])

    async def _show_error(self, request: Request, scenario_id: int, errors: list[str], status: int = 400):
        view = await scenarios.scenario_view(web.current_user(request), scenario_id)
        return web.page(request, "competencies/scenario.html", status_code=status, view=view, errors=errors,
                        notice=None)

    @get("/{scenario_id:int}/modifier", name="cmp_scenario_edit")
    async def edit(self, request: Request, scenario_id: FromPath[int]) -> Response:
        """The edit form (author only)."""
        user = web.current_user(request)
        view = await scenarios.scenario_view(user, scenario_id)
        if not view.own:
            raise svc.NotAuthor(svc.NOT_AUTHOR)
        return await self._form(request, view=view)

    @post("/{scenario_id:int}/modifier")
    async def update(self, request: Request, scenario_id: FromPath[int]) -> Response:
        """Save the changes (author only; a stale version is refused with 409)."""
        user = web.current_user(request)
        form = await request.form()
        view = await scenarios.scenario_view(user, scenario_id)
        if not view.own:
            raise svc.NotAuthor(svc.NOT_AUTHOR)
        try:
            data, _tree = await scenarios.parse_scenario(form)
            if data.framework_id != view.row["framework"]:
                raise svc.Invalid(["Le référentiel d'un scénario ne change pas : dupliquez-le plutôt."])
            await scenarios.update_scenario(user, scenario_id, data, form.get("version"))
        except svc.Invalid as error:
            return await self._form(request, 400, view=view, errors=error.messages, values=form)
        except svc.Stale as error:
            fresh = await scenarios.scenario_view(user, scenario_id)
            return await self._form(request, 409, view=fresh, errors=[error.message], stale=True)
        return web.redirect(request, f"{BASE_S}/{scenario_id}?enregistre=1")

    @get("/{scenario_id:int}/supprimer", name="cmp_scenario_delete")
    async def confirm_delete(self, request: Request, scenario_id: FromPath[int]) -> Response:
        """Ask for confirmation (author only)."""
        view = await scenarios.scenario_view(web.current_user(request), scenario_id)
        if not view.own:
            raise svc.NotAuthor(svc.NOT_AUTHOR)
        return web.page(request, "competencies/confirm_delete.html", what="scenario", title=view.row["title"],
                        action=f"{BASE_S}/{scenario_id}/supprimer", back=f"{BASE_S}/{scenario_id}")

    @post("/{scenario_id:int}/supprimer")
    async def delete(self, request: Request, scenario_id: FromPath[int]) -> Response:
        """Delete (author only)."""
        await scenarios.delete_scenario(web.current_user(request), scenario_id)
        return web.redirect(request, f"{BASE_S}?supprime=1")

    @post("/{scenario_id:int}/dupliquer")
    async def duplicate(self, request: Request, scenario_id: FromPath[int]) -> Response:
        """Duplicate under a new name and class level."""
        form = await request.form()
        try:
            new_id = await scenarios.duplicate_scenario(web.current_user(request), scenario_id, form.get("titre"),
                                                        form.get("niveau"))
        except svc.Invalid as error:
            return await self._show_error(request, scenario_id, error.messages)
        return web.redirect(request, f"{BASE_S}/{new_id}?cree=1")

    @post("/{scenario_id:int}/partager")
    async def share(self, request: Request, scenario_id: FromPath[int]) -> Response:
        """Share with another establishment (author only)."""
        form = await request.form()
        try:
            name = await scenarios.share_scenario(web.current_user(request), scenario_id, form.get("etablissement"))
        except svc.Invalid as error:
            return await self._show_error(request, scenario_id, error.messages)
        return web.redirect(request, f"{BASE_S}/{scenario_id}?partage={quote(name)}")

    @post("/{scenario_id:int}/fichiers", request_max_body_size=scenarios.FILE_MAX + 1024 * 1024)
    async def attach(self, request: Request, scenario_id: FromPath[int], data: Upload) -> Response:
        """Attach a PDF or ZIP (author only), checked by its content."""
        upload = data.fichier
        if upload is None or not upload.filename:
            return await self._show_error(request, scenario_id, ["Choisissez un fichier PDF ou ZIP."])
        content = await upload.read(scenarios.FILE_MAX + 1)
        try:
            await scenarios.attach_file(web.current_user(request), scenario_id, upload.filename, content)
        except svc.Invalid as error:
            return await self._show_error(request, scenario_id, error.messages)
        return web.redirect(request, f"{BASE_S}/{scenario_id}?fichier=1")

    @get("/{scenario_id:int}/fichiers/{file_id:int}", name="cmp_scenario_file")
    async def file(self, request: Request, scenario_id: FromPath[int], file_id: FromPath[int]) -> Response:
        """Download an attachment of a readable scenario."""
        document = await scenarios.scenario_file(web.current_user(request), scenario_id, file_id)
        return download(document.content, document.media_type, document.filename)

    @post("/{scenario_id:int}/fichiers/{file_id:int}/retirer")
    async def remove_file(self, request: Request, scenario_id: FromPath[int], file_id: FromPath[int]) -> Response:
        """Detach an attachment (author only)."""
        await scenarios.remove_file(web.current_user(request), scenario_id, file_id)
        return web.redirect(request, f"{BASE_S}/{scenario_id}?fichier=0")

    @get("/{scenario_id:int}/export.docx", name="cmp_scenario_docx")
    async def docx(self, request: Request, scenario_id: FromPath[int]) -> Response:
        """The scenario as DOCX."""
        view = await scenarios.scenario_view(web.current_user(request), scenario_id)
        return download(exports.scenario_docx(view), exports.DOCX, exports.filename(view.row["title"], "docx"))

    @get("/{scenario_id:int}/export.odt", name="cmp_scenario_odt")
    async def odt(self, request: Request, scenario_id: FromPath[int]) -> Response:
        """The scenario as ODT."""
        view = await scenarios.scenario_view(web.current_user(request), scenario_id)
        return download(exports.scenario_odt(view), exports.ODT, exports.filename(view.row["title"], "odt"))

    async def _evaluate_page(self, request: Request, scenario_id: int, status: int = 200, errors=None, form=None):
        user = web.current_user(request)
        view = await scenarios.scenario_view(user, scenario_id)
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
            evaluation_id = await evaluations.evaluation_from_scenario(web.current_user(request), scenario_id, form)
        except svc.Invalid as error:
            return await self._evaluate_page(request, scenario_id, 400, error.messages, form)
        return web.redirect(request, f"{BASE_E}/{evaluation_id}")


ROUTES: list = [ScenarioController]
