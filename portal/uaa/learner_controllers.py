"""Routes of the learners of an establishment: the CSV import (``/uaa/import``) and the search
(``/uaa/recherche``, CEPU guide §2.2–2.3 and §2.7).

The import needs ``uaa.import_learners``, the search ``uaa.search``; both work on the establishment the person acts
for (:func:`portal.uaa.learners.establishment_of`), never another. The search keeps every criterion in the URL:
htmx swaps the results in place and pushes the URL, a plain GET form does the same with JavaScript off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.params import Body, FromQuery

from portal.core import web
from portal.uaa import learner_csv, learner_search, learners

SEARCH_TEMPLATE = "uaa/search.html"
RESULTS_TEMPLATE = "uaa/partials/search_results.html"
IMPORT_TEMPLATE = "uaa/import.html"
REPORT_TEMPLATE = "uaa/partials/import_report.html"
#: Litestar refuses larger bodies (413) before reading them; between the file limit and this one, the service
#: explains the limit in French.
BODY_MAX = 2 * learner_csv.MAX_BYTES


@dataclass
class ImportUpload:
    """The import form: one CSV file (``fichier``)."""

    fichier: UploadFile | None = None


Upload = Annotated[ImportUpload, Body(media_type=RequestEncodingType.MULTI_PART)]


def _no_establishment(request: Request, exc: learners.NoEstablishment) -> Response:
    return web.forbidden_handler(request, PermissionDeniedException(str(exc)))


def _format_rows() -> list[tuple[str, str, str]]:
    """The columns of the file as the import page documents them: name, what it holds, an example."""
    return [
        ("nom", "Nom de l'élève (100 caractères au plus).", "Dupont"),
        ("prenom", "Prénom de l'élève (100 caractères au plus).", "Élodie"),
        ("sexe", "M, F ou X.", "F"),
        ("date_naissance", ("jj/mm/aaaa ou aaaa-mm-jj ; l'élève a entre "
                            f"{learner_csv.AGE_MIN} et {learner_csv.AGE_MAX} ans le jour de l'import."), "18/09/2010"),
        ("numero_cf", "N° CF : 7 chiffres, une barre oblique, 2 chiffres. Identifie l'élève d'un import à l'autre.",
         "8501293/19"),
        ("annee_etudes", ("Numéro, degré (D2 ou D3), année (4 à 7), forme. L'année (4e à 7e) fixe le programme "
                          "d'UAA de l'élève."), "1 D2 4 P"),
        ("option", "Code de l'option de base groupée (OBG), connu du portail.", "2115"),
        ("implantation", "Numéro FASE d'une implantation de l'établissement, ou vide.", ""),
        ("annee_scolaire", "Deux années qui se suivent.", "2026-2027"),
    ]


class LearnerImportController(Controller):
    """``/uaa/import``: the establishment's learners from a CSV file, all or nothing."""

    path = "/uaa/import"
    opt = {"permission": "uaa.import_learners"}
    exception_handlers = {learners.NoEstablishment: _no_establishment}

    def _page(self, request: Request, status: int = 200, report: learners.ImportReport | None = None,
              faults: list[learner_csv.Fault] | None = None, filename: str = "") -> Response:
        learners.establishment_of(web.current_user(request))
        faults = faults or []
        return web.page_or_fragment(
            request, IMPORT_TEMPLATE, REPORT_TEMPLATE, status_code=status, report=report,
            faults=faults[:learner_csv.FAULTS_SHOWN], fault_count=len(faults), filename=filename,
            columns=learner_csv.COLUMNS, format_rows=_format_rows(), max_mb=learner_csv.MAX_BYTES // (1024 * 1024),
            max_rows=learner_csv.MAX_ROWS,
        )

    @get("/", name="uaa_import")
    async def form(self, request: Request) -> Response:
        """The upload form and the description of the file."""
        return self._page(request)

    @post("/", request_max_body_size=BODY_MAX)
    async def upload(self, request: Request, data: Upload) -> Response:
        """Check the file, then import it (200 with the report) or refuse it (400 with every fault)."""
        user = web.current_user(request)
        upload = data.fichier
        if upload is None or not upload.filename:
            return self._page(request, 400, faults=[learner_csv.Fault("Choisissez le fichier CSV à importer.")])
        filename = upload.filename[-120:]
        content = await upload.read(learner_csv.MAX_BYTES + 1)
        try:
            report = await learners.import_learners(user, content, filename)
        except learner_csv.ImportRefused as refused:
            return self._page(request, 400, faults=refused.faults, filename=filename)
        return self._page(request, report=report, filename=filename)


class LearnerSearchController(Controller):
    """``/uaa/recherche``: the learners of the establishment acted for."""

    path = "/uaa/recherche"
    opt = {"permission": "uaa.search"}
    exception_handlers = {learners.NoEstablishment: _no_establishment}

    @get("/", name="uaa_search")
    async def search(self, request: Request, annee: FromQuery[str | None] = None,
                     implantation: FromQuery[str | None] = None, etudes: FromQuery[str | None] = None,
                     obg: FromQuery[str | None] = None, q: FromQuery[str | None] = None,
                     tri: FromQuery[str | None] = None, ordre: FromQuery[str | None] = None,
                     page: FromQuery[str | None] = None, taille: FromQuery[str | None] = None) -> Response:
        """Criteria and results; an htmx request (search, sort, pager) gets only the results."""
        user = web.current_user(request)
        criteria = learner_search.parse_search(annee, implantation, etudes, obg, q, tri, ordre, page, taille)
        result = await learner_search.search_learners(user, criteria)
        return web.page_or_fragment(
            request, SEARCH_TEMPLATE, RESULTS_TEMPLATE, result=result, criteria=result.criteria,
            sorts=learner_search.SORTS, page_sizes=learner_search.PAGE_SIZES,
            switchable=learner_search.switchable_affiliations(user),
        )


ROUTES: list = [LearnerImportController, LearnerSearchController]
