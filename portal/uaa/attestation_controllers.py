"""Routes of the attestations de validation (SPEC §5, CEPU guide §2.5).

- ``GET /uaa/attestations/tentative/{attempt_id}`` (staff, ``uaa.attestation``) and
  ``GET /uaa/mes-attestations/tentative/{attempt_id}`` (the learner, ``uaa.own_results``): the PDF of a
  Réussite's attestation, issued on the first request, then served as stored (``ETag`` = its SHA-256). Out of
  scope or unknown: 404; not a Réussite: 400; revoked: 410, saying when and why.
- ``GET /verifier`` and ``GET /verifier/{number}`` (public): is this attestation genuine and still valid? Shows the
  number, the learner's initials, the UAA, the date of validation and the establishment — nothing else.
- ``/uaa/attestations/lot`` (``uaa.attestation``): batch printing. The form POSTs, a job starts and the browser is
  sent (303) to the job's page, which refreshes itself every 2 s without JavaScript and polls its progress
  fragment every second with htmx, until the download link shows.
"""

from __future__ import annotations

from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from portal.core.web import Form, current_user, is_htmx, page, redirect
from portal.documents.services import Document
from portal.uaa import attestation_batches as batches
from portal.uaa import attestations as service

BATCH_PAGE = "uaa/batch.html"
PROGRESS_PARTIAL = "uaa/partials/batch_progress.html"
UNKNOWN_JOB = ("Ce lot d'attestations est introuvable. Il a peut-être été préparé par un autre serveur ou le "
               "serveur a redémarré entre-temps : relancez l'impression.")


def pdf_response(request: Request, document: Document) -> Response:
    """The stored bytes as a download, with the SHA-256 as a strong ETag (a matching If-None-Match gets 304)."""
    headers = {
        "Content-Disposition": f"attachment; filename=\"{document.filename}\"; "
                               f"filename*=UTF-8''{quote(document.filename)}",
        "ETag": document.etag,
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == document.etag:
        return Response(content=b"", status_code=304, headers=headers)
    return Response(content=document.content, media_type=document.media_type, headers=headers)


def error_page(request: Request, error: service.AttestationError) -> Response:
    """A refused attestation request as a French page (404, 400 or 410)."""
    if isinstance(error, service.AttestationNotFound):
        raise NotFoundException(error.message)
    title = "Attestation révoquée" if isinstance(error, service.AttestationRevoked) else "Attestation indisponible"
    return page(request, "errors/error.html", status_code=error.status_code, title=title, message=error.message)


class AttestationController(Controller):
    """The PDF of one attestation, for the staff of the learner's establishment (or of the encoding one)."""

    path = "/uaa/attestations"
    opt = {"permission": "uaa.attestation"}

    @get("/tentative/{attempt_id:int}", name="attestation_pdf")
    async def attempt_pdf(self, request: Request, attempt_id: FromPath[int]) -> Response:
        """Download the attestation of a Réussite (issued on the first request)."""
        try:
            document = await service.download(attempt_id, current_user(request), own=False)
        except service.AttestationError as error:
            return error_page(request, error)
        return pdf_response(request, document)


class OwnAttestationController(Controller):
    """A learner's own attestations."""

    path = "/uaa/mes-attestations"
    opt = {"permission": "uaa.own_results"}

    @get("/tentative/{attempt_id:int}", name="own_attestation_pdf")
    async def attempt_pdf(self, request: Request, attempt_id: FromPath[int]) -> Response:
        """Download one of my attestations (issued on the first request)."""
        try:
            document = await service.download(attempt_id, current_user(request), own=True)
        except service.AttestationError as error:
            return error_page(request, error)
        return pdf_response(request, document)


class VerificationController(Controller):
    """``/verifier``: public verification of an attestation by its number."""

    path = "/verifier"
    opt = {"public": True}

    @get("/", name="verify_form")
    async def form(self, request: Request, numero: FromQuery[str] = "") -> Response:
        """The form (a GET: nothing changes); with a number, go to its page."""
        number = service.normalize_number(numero)
        if number:
            return Redirect(path=f"/verifier/{quote(number)}", status_code=303)
        return page(request, "uaa/verify.html", result=None, number="")

    @get("/{number:str}", name="verify")
    async def verify(self, request: Request, number: FromPath[str]) -> Response:
        """Whether the attestation carrying ``number`` exists and is valid (404 when none carries it)."""
        shown = service.normalize_number(number)
        result = await service.verification(shown)
        if result is None:
            return page(request, "uaa/verify.html", status_code=404, result=None, number=shown, unknown=True)
        return page(request, "uaa/verify.html", result=result, number=result.number)


class BatchController(Controller):
    """``/uaa/attestations/lot``: one PDF with the attestations of every Réussite of chosen learners."""

    path = "/uaa/attestations/lot"
    opt = {"permission": "uaa.attestation"}

    @get("/", name="attestation_batch")
    async def form(self, request: Request) -> Response:
        """The form: option, year of study, school year of the establishment acted for."""
        user = current_user(request)
        establishment_id = user.active.establishment_id if user.active else None
        choices = await batches.batch_choices(establishment_id)
        batches.prepare_printing()
        return page(request, BATCH_PAGE, choices=choices, form={}, errors=[],
                    recent=batches.recent_batches(establishment_id))

    @post("/")
    async def start(self, request: Request, data: Form) -> Response:
        """Start a batch; 303 to its progress page (400 with the form and French errors when refused)."""
        user = current_user(request)
        establishment_id = user.active.establishment_id if user.active else None
        choices = await batches.batch_choices(establishment_id)
        criteria, errors = batches.parse_batch_form(data, choices)
        if not errors:
            try:
                job = await batches.start_batch(user, criteria)
            except service.AttestationError as error:
                errors = [error.message]
        if errors:
            form = {key: (data.get(key) or "").strip() for key in ("option", "annee_etudes", "annee_scolaire")}
            return page(request, BATCH_PAGE, status_code=400, choices=choices, form=form, errors=errors,
                        recent=batches.recent_batches(establishment_id))
        return redirect(request, f"{self.path}/{job.id}")

    @get("/{job_id:str}", name="attestation_batch_job")
    async def progress(self, request: Request, job_id: FromPath[str]) -> Response:
        """The progress of a batch (htmx: the progress fragment alone), then the download link."""
        user = current_user(request)
        establishment_id = user.active.establishment_id if user.active else None
        job = batches.batch_job(job_id, establishment_id)
        stored = None
        if job is None or job.state == "termine":
            stored = await batches.finished_batch(job_id, establishment_id)
            if job is None and stored is None:
                raise NotFoundException(UNKNOWN_JOB)
        template = PROGRESS_PARTIAL if is_htmx(request) else BATCH_PAGE
        return page(request, template, job=job, stored=stored, job_id=job_id,
                    download=f"{self.path}/{job_id}/pdf" if stored else None)

    @get("/{job_id:str}/pdf", name="attestation_batch_pdf")
    async def download(self, request: Request, job_id: FromPath[str]) -> Response:
        """The PDF of a finished batch."""
        user = current_user(request)
        stored = await batches.finished_batch(job_id, user.active.establishment_id if user.active else None)
        if stored is None:
            raise NotFoundException(UNKNOWN_JOB)
        return pdf_response(request, stored)


ROUTES: list = [AttestationController, OwnAttestationController, VerificationController, BatchController]
