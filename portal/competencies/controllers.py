"""Pages and fragments of competency tracking (SPEC §7; CERISE PRO guide §3.5–3.6; CPRO guide §4): what its
controllers share, and the frameworks.

Frameworks (``competencies.frameworks``; loading a file: ``competencies.load_frameworks``) under
``/competences/referentiels``, here; scenarios (``competencies.scenarios``) under ``/competences/scenarios``
(:mod:`portal.competencies.scenario_controllers`); evaluations and their grids (``competencies.evaluate``) under
``/competences/evaluations`` and a learner's visible evaluations (``competencies.own_evaluations``) under
``/competences/mes-evaluations`` (:mod:`portal.competencies.evaluation_controllers`). Scope is the services'
business: out of scope answers 404 like unknown; readable but not one's own answers 403.
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

from portal.competencies import services as svc
from portal.core import web

NOT_FOUND = "Ce contenu n'existe pas ou ne vous est pas accessible."
BASE_S = "/competences/scenarios"
BASE_E = "/competences/evaluations"


def _not_found(request: Request, exc: svc.NotFound) -> Response:
    return web.not_found_handler(request, NotFoundException(NOT_FOUND))


def _not_author(request: Request, exc: svc.NotAuthor) -> Response:
    return web.forbidden_handler(request, PermissionDeniedException(str(exc)))


HANDLERS = {svc.NotFound: _not_found, svc.NotAuthor: _not_author}


def download(content: bytes, media_type: str, name: str) -> Response:
    """A file to save (an export, a blank sheet), named in UTF-8, never cached by a shared cache."""
    return Response(content=content, media_type=media_type, headers={
        "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}",
        "Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff"})


def selected_from(form, tree) -> dict[int, svc.Selected]:
    """The competencies ticked in a refused form (scenario or evaluation), to show them again."""
    if tree is None or form is None:
        return {}
    return {sel.node_id: sel for sel in svc.parse_selection(form, tree, [])}


@dataclass
class FileUpload:
    """The attachment form: one PDF or ZIP (``fichier``)."""

    fichier: UploadFile | None = None


Upload = Annotated[FileUpload, Body(media_type=RequestEncodingType.MULTI_PART)]


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


ROUTES: list = [FrameworkController]
