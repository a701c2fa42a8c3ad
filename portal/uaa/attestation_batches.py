"""Batch printing of attestations (SPEC §5): one PDF for the Réussites of an option, a year of study or a
school year, with progress. No Litestar import here.

:func:`start_batch` runs, in an asyncio task of this process, the printing of every Réussite of the
  learners chosen by option, year of study and school year: missing attestations are issued, then the stored PDFs
  themselves (checked against their SHA-256) are put together in one PDF, stored as a document of kind ``lot`` so
  that it downloads from any request. The job's progress lives in memory (:func:`batch_job`): only the process
  that started it knows it (with several processes, a progress page served by another process finds the finished
  PDF in the database, but not the progress of a running job; a restart loses running jobs).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from portal.accounts.identity import CurrentUser
from portal.core.clock import now
from portal.documents import pdf
from portal.documents import services as documents
from portal.history.services import Actor
from portal.uaa.attestations import (  # the issuing rules a batch relies on
    LOG,
    AttestationError,
    AttestationNotFound,
    NotASuccess,
    TamperedDocument,
    ascii_slug,
    current_attestations,
    issue_many,
    load_attempts,
)
from portal.uaa.rules import SUCCESS
from portal.uaa.tables import Attempt, Learner, Option

BATCH_KIND = "lot"
BATCH_MAX = 2000  # attestations in one batch
BATCH_KEEP = timedelta(hours=24)  # a finished batch PDF is kept this long


# --- batches ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchCriteria:
    """Which learners of the establishment: option (id), year of study and school year (any may be empty)."""

    option_id: int | None = None
    study_year: str = ""
    school_year: str = ""

    @property
    def empty(self) -> bool:
        """True when nothing was chosen."""
        return self.option_id is None and not self.study_year and not self.school_year


async def batch_choices(establishment_id: int | None) -> dict:
    """The options, years of study and school years of the establishment's learners (for the form)."""
    if establishment_id is None:
        return {"options": [], "study_years": [], "school_years": []}
    here = Learner.establishment == establishment_id
    option_ids = [row["option"] for row in await Learner.select(Learner.option).where(
        here & Learner.option.is_not_null()).distinct()]
    options = await Option.select(Option.id, Option.code, Option.label).where(
        Option.id.is_in(option_ids)).order_by(Option.code) if option_ids else []
    study_years = [row["study_year"] for row in await Learner.select(Learner.study_year).where(
        here & (Learner.study_year != "")).distinct().order_by(Learner.study_year)]
    school_years = [row["school_year"] for row in await Learner.select(Learner.school_year).where(
        here & (Learner.school_year != "")).distinct().order_by(Learner.school_year, ascending=False)]
    return {"options": options, "study_years": study_years, "school_years": school_years}


def parse_batch_form(data: dict, choices: dict) -> tuple[BatchCriteria, list[str]]:
    """The criteria of the batch form, checked against the establishment's choices; errors in French."""
    errors: list[str] = []
    option_raw = (data.get("option") or "").strip()
    option_id = None
    if option_raw:
        allowed_ids = {row["id"] for row in choices["options"]}
        if option_raw.isdigit() and int(option_raw) in allowed_ids:
            option_id = int(option_raw)
        else:
            errors.append("Choisissez une option de base groupée de la liste.")
    study_year = (data.get("annee_etudes") or "").strip()
    if study_year and study_year not in choices["study_years"]:
        errors.append("Choisissez une année d'études de la liste.")
        study_year = ""
    school_year = (data.get("annee_scolaire") or "").strip()
    if school_year and school_year not in choices["school_years"]:
        errors.append("Choisissez une année scolaire de la liste.")
        school_year = ""
    criteria = BatchCriteria(option_id, study_year, school_year)
    if not errors and criteria.empty:
        errors.append("Choisissez au moins une option, une année d'études ou une année scolaire.")
    return criteria, errors


async def batch_attempt_ids(establishment_id: int, criteria: BatchCriteria) -> list[int]:
    """The Réussites of the establishment's active learners matching ``criteria``, in printing order
    (learner's name, then the UAA's year and order)."""
    condition = ((Attempt.status == SUCCESS) & Attempt.presented_on.is_not_null()
                 & (Attempt.learner.establishment == establishment_id) & (Attempt.learner.active == True))
    if criteria.option_id is not None:
        condition &= Attempt.learner.option == criteria.option_id
    if criteria.study_year:
        condition &= Attempt.learner.study_year == criteria.study_year
    if criteria.school_year:
        condition &= Attempt.learner.school_year == criteria.school_year
    rows = await Attempt.select(Attempt.id).where(condition).order_by(
        Attempt.learner.last_name, Attempt.learner.first_name, Attempt.learner.id, Attempt.uaa.year,
        Attempt.uaa.position, Attempt.uaa.code, Attempt.id,
    ).limit(BATCH_MAX + 1)
    return [row["id"] for row in rows]


@dataclass
class BatchJob:
    """A batch being printed in this process."""

    id: str
    establishment_id: int
    account_id: int
    title: str
    total: int
    done: int = 0  # attempts prepared (attestation found or issued)
    pages: int = 0  # attestations in the PDF
    assembled: int = 0  # attestations put in the PDF
    state: str = "en_attente"  # en_attente → en_cours → assemblage → ecriture → termine | erreur
    error: str = ""
    filename: str = ""
    created_at: datetime = field(default_factory=now)
    finished_at: datetime | None = None
    task: asyncio.Task | None = field(default=None, repr=False)

    @property
    def document_number(self) -> str:
        """The number of the stored batch PDF."""
        return batch_document_number(self.establishment_id, self.id)

    @property
    def finished(self) -> bool:
        """True when done or failed."""
        return self.state in {"termine", "erreur"}

    @property
    def percent(self) -> int:
        """Progress in percent: preparing weighs 70 %, assembling 25 %, writing the file the last 5 %."""
        if self.state == "termine":
            return 100
        if not self.total:
            return 0
        return min(99, int(70 * self.done / self.total + 25 * self.assembled / (self.pages or self.total)))

    @property
    def label(self) -> str:
        """The state in French."""
        return {
            "en_attente": "En attente",
            "en_cours": f"Préparation des attestations : {self.done} sur {self.total}",
            "assemblage": f"Assemblage : {self.assembled} sur {self.pages} attestations",
            "ecriture": "Écriture du PDF",
            "termine": "Terminé",
            "erreur": "Échec",
        }[self.state]


_JOBS: dict[str, BatchJob] = {}
JOB_ID_RE = re.compile(r"^[0-9a-f]{20}$")


def batch_document_number(establishment_id: int, job_id: str) -> str:
    """The stored-document number of a batch: scoped by establishment, unguessable by its job id."""
    return f"LOT-{establishment_id}-{job_id}"


def batch_job(job_id: str, establishment_id: int | None) -> BatchJob | None:
    """The job ``job_id`` of this process if it belongs to ``establishment_id``."""
    job = _JOBS.get(job_id)
    if job is None or job.establishment_id != establishment_id:
        return None
    return job


def recent_batches(establishment_id: int | None, limit: int = 5) -> list[BatchJob]:
    """The latest batches of the establishment known to this process, newest first."""
    jobs = [job for job in _JOBS.values() if job.establishment_id == establishment_id]
    return sorted(jobs, key=lambda job: job.created_at, reverse=True)[:limit]


def _prune_jobs() -> None:
    limit = now() - BATCH_KEEP
    for job_id, job in list(_JOBS.items()):
        if job.finished and job.finished_at and job.finished_at < limit:
            del _JOBS[job_id]


async def batch_title(establishment_id: int, criteria: BatchCriteria) -> tuple[str, str]:
    """A human title and a file name for a batch."""
    parts = []
    if criteria.option_id is not None:
        option = await Option.select(Option.code).where(Option.id == criteria.option_id).first()
        if option:
            parts.append(f"option {option['code']}")
    if criteria.study_year:
        parts.append(criteria.study_year)
    if criteria.school_year:
        parts.append(criteria.school_year)
    label = ", ".join(parts)
    return f"Attestations de validation — {label}", f"attestations-{ascii_slug(label)}.pdf"


BATCH_CHUNK = 20  # stored PDFs read and appended per step (progress in between)
ISSUE_GROUP = 30  # attestations issued together: rendered in parallel, stored in one transaction


def prepare_printing() -> None:
    """Start the rendering processes of batches now, while the user fills the form (see :mod:`pdf`)."""
    pdf.prepare_pool()


async def build_batch(job: BatchJob, attempt_ids: list[int], actor: Actor) -> bytes:
    """The PDF of a batch: issue what is missing (by groups, see :func:`issue_many`), then put the pages of the
    stored PDFs together, in order. Updates ``job`` as it goes. Attempts no longer successful are left out.

    The batch prints the issued documents themselves (each checked against its SHA-256), not a new rendering:
    what is printed is exactly what was issued, and nothing is laid out twice."""
    facts = await load_attempts(attempt_ids)
    current = await current_attestations(attempt_ids)
    wanted = [attempt_id for attempt_id in attempt_ids if attempt_id in facts and facts[attempt_id].is_success]
    missing = [facts[attempt_id] for attempt_id in wanted if attempt_id not in current]
    job.done = len(attempt_ids) - len(missing)
    for start in range(0, len(missing), ISSUE_GROUP):
        group = missing[start:start + ISSUE_GROUP]
        current.update(await issue_many(group, actor))
        job.done += len(group)
    document_ids = [current[attempt_id].document for attempt_id in wanted  # in printing order
                    if attempt_id in current and current[attempt_id].document is not None]
    if not document_ids:
        raise NotASuccess("Aucune réussite ne correspond plus à ces critères.")
    job.pages = len(document_ids)
    job.state = "assemblage"
    merger = pdf.Merger()
    for start in range(0, len(document_ids), BATCH_CHUNK):
        chunk = document_ids[start:start + BATCH_CHUNK]
        stored = {document.id: document for document in await documents.fetch_many(chunk)}
        contents = []
        for document_id in chunk:
            document = stored[document_id]
            if not documents.verify(document):
                raise TamperedDocument(document.number)
            contents.append(document.content)
        await pdf.run(merger.add, contents)
        job.assembled += len(chunk)
    job.state = "ecriture"
    return await pdf.run(merger.write, job.title, "Jury de qualification")


async def _run_batch(job: BatchJob, attempt_ids: list[int], actor: Actor) -> None:
    job.state = "en_cours"
    try:
        content = await build_batch(job, attempt_ids, actor)
        await documents.store(BATCH_KIND, job.document_number, job.filename, content, created_at=job.created_at)
        job.state = "termine"
    except AttestationError as error:
        job.state, job.error = "erreur", error.message
    except Exception:  # the page says it failed; the log has the details
        LOG.exception("batch %s failed", job.id)
        job.state, job.error = "erreur", "Une erreur inattendue a interrompu l'impression. Réessayez."
    finally:
        job.finished_at = now()


async def start_batch(user: CurrentUser, criteria: BatchCriteria) -> BatchJob:
    """Start printing a batch for the establishment ``user`` acts for; returns the job (running in a task).

    Raises :class:`NotASuccess` when no Réussite matches, :class:`AttestationError` when there are too many."""
    establishment_id = user.active.establishment_id if user.active else None
    if establishment_id is None:
        raise AttestationNotFound("Choisissez un établissement pour lequel agir.")
    attempt_ids = await batch_attempt_ids(establishment_id, criteria)
    if not attempt_ids:
        raise NotASuccess("Aucune réussite ne correspond à ces critères : il n'y a pas d'attestation à imprimer.")
    if len(attempt_ids) > BATCH_MAX:
        raise AttestationError(f"Ce lot compterait plus de {BATCH_MAX} attestations : précisez les critères.")
    _prune_jobs()
    if any(job.account_id == user.account_id and not job.finished for job in _JOBS.values()):
        raise AttestationError("Un lot que vous avez lancé est encore en préparation : attendez qu'il soit prêt "
                               "avant d'en lancer un autre.")
    await documents.purge(BATCH_KIND, now() - BATCH_KEEP)
    title, filename = await batch_title(establishment_id, criteria)
    job = BatchJob(id=secrets.token_hex(10), establishment_id=establishment_id, account_id=user.account_id,
                   title=title, total=len(attempt_ids), filename=filename)
    _JOBS[job.id] = job
    job.task = asyncio.get_running_loop().create_task(_run_batch(job, attempt_ids, user.actor))
    return job


async def finished_batch(job_id: str, establishment_id: int | None) -> documents.Document | None:
    """The stored PDF of a finished batch of the establishment (from any process), or None."""
    if establishment_id is None or not JOB_ID_RE.match(job_id or ""):
        return None
    return await documents.fetch_by_number(batch_document_number(establishment_id, job_id))

