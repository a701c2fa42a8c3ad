"""A learner's UAA list and the encoding of attempts in the row (SPEC §5, CEPU guide §2.3–2.6, §3.2–3.3).

Reading: :func:`learner_page` gives the learner's header and one page of attempts (criteria: hide failures, hide
successes, a text on the UAA code or label, rows per page, page) in two queries whatever the number of attempts;
:func:`own_results` gives a learner their own attempts. Scope: a person acting for the learner's current
establishment sees and (with ``uaa.encode``) edits every attempt; an establishment that encoded attempts of the
learner before a change of school still reads those attempts, and only those. Anything else is
:class:`LearnerNotFound` (a 404: nothing leaks).

Writing, the save of one row, is :mod:`portal.uaa.attempt_saves`'s. No Litestar import here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from urllib.parse import parse_qsl, urlencode, urlsplit

from portal.accounts.identity import CurrentUser
from portal.core.db import query
from portal.uaa.rules import (
    ENCODED,
    FAILURE,
    PENDING,
    STATUS_LABELS,
    SUCCESS,
    AttemptState,
)
from portal.uaa.tables import Attempt

PER_PAGE_CHOICES = (10, 25, 50, 100)
DEFAULT_PER_PAGE = 10
QUERY_MAX = 100
ID_MAX = 2**31 - 1
HISTORY_ENTITY = "uaa_attempt"

STALE_MESSAGE = (
    "Cette ligne a été modifiée par quelqu'un d'autre entre-temps : votre enregistrement n'a pas été effectué. "
    "La ligne montre maintenant la version actuelle ; recommencez si nécessaire."
)
GONE_MESSAGE = (
    "Cette présentation a été modifiée ou supprimée par quelqu'un d'autre entre-temps : votre enregistrement n'a "
    "pas été effectué. Les lignes de l'UAA montrent maintenant leur état actuel."
)
BAD_DATE_MESSAGE = "La date de présentation n'est pas valide : indiquez-la au format jj/mm/aaaa."
READ_ONLY_MESSAGE = "Ces présentations ne peuvent être modifiées que par l'établissement actuel de l'élève."
STATUS_ICONS = {PENDING: "✎", SUCCESS: "✔", FAILURE: "✘"}


class LearnerNotFound(Exception):
    """The learner or attempt does not exist, or lies outside the person's scope (shown as a 404)."""


class EncodingError(Exception):
    """A save refused with a French message (status 400); ``rows`` is the UAA's current state, when known."""

    status_code = 400

    def __init__(self, message: str, rows: list[AttemptRow] | None = None, attempt_id: int | None = None):
        super().__init__(message)
        self.message = message
        self.rows = rows or []
        self.attempt_id = attempt_id


class StaleAttempt(EncodingError):
    """The row was saved by someone else since the form was shown (status 409). Nothing changed."""

    status_code = 409


# --- criteria of the list (kept in the URL) --------------------------------------------------------------------


@dataclass(frozen=True)
class Criteria:
    """What the list shows: hide failures, hide successes, a text on code or label, rows per page, page."""

    hide_failures: bool = False
    hide_successes: bool = False
    q: str = ""
    per_page: int = DEFAULT_PER_PAGE
    page: int = 1

    def query_string(self, page: int | None = None, with_page: bool = True) -> str:
        """The URL query reproducing these criteria (defaults left out; ``page`` overrides the page)."""
        params: list[tuple[str, str]] = []
        if self.hide_failures:
            params.append(("masquer_echec", "1"))
        if self.hide_successes:
            params.append(("masquer_reussite", "1"))
        if self.q:
            params.append(("q", self.q))
        if self.per_page != DEFAULT_PER_PAGE:
            params.append(("afficher", str(self.per_page)))
        number = self.page if page is None else page
        if with_page and number > 1:
            params.append(("page", str(number)))
        return urlencode(params) if params else ""

    def url(self, path: str, page: int | None = None) -> str:
        """``path`` with these criteria."""
        query = self.query_string(page)
        return path + (f"?{query}" if query else "")

    def pager_base(self, path: str) -> str:
        """``path?criteria&`` for the shared pager partial (it appends ``page=N``)."""
        query = self.query_string(with_page=False)
        return f"{path}?{query}&" if query else f"{path}?"

    def shows(self, status: str) -> bool:
        """True when a row of ``status`` passes the two check boxes (rows to encode always show)."""
        if status == FAILURE:
            return not self.hide_failures
        if status == SUCCESS:
            return not self.hide_successes
        return True


def _flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() in {"1", "on", "oui", "true"}


def _positive(raw: str | None, default: int, maximum: int = 999_999) -> int:
    raw = (raw or "").strip()
    if not raw.isdigit() or len(raw) > 6:
        return default
    return min(max(1, int(raw)), maximum)


def parse_criteria(hide_failures: str | None = None, hide_successes: str | None = None, q: str | None = None,
                   per_page: str | None = None, page: str | None = None) -> Criteria:
    """Read the list criteria leniently: unknown values fall back to the defaults, a long text is cut."""
    size = _positive(per_page, DEFAULT_PER_PAGE)
    return Criteria(
        hide_failures=_flag(hide_failures), hide_successes=_flag(hide_successes),
        q=" ".join((q or "").split())[:QUERY_MAX],
        per_page=size if size in PER_PAGE_CHOICES else DEFAULT_PER_PAGE,
        page=_positive(page, 1),
    )


def criteria_from_url(url: str | None) -> Criteria:
    """The criteria carried by a list URL (the ``retour`` field of a row form)."""
    values = dict(parse_qsl(urlsplit(url or "").query))
    return parse_criteria(values.get("masquer_echec"), values.get("masquer_reussite"), values.get("q"),
                          values.get("afficher"), values.get("page"))


def learner_path(learner_id: int) -> str:
    """The URL of a learner's UAA list."""
    return f"/uaa/eleves/{learner_id}"


def safe_back(target: str | None, learner_id: int) -> str:
    """Where a plain form returns: the learner's list with its criteria, never another site."""
    path = learner_path(learner_id)
    if target and (target == path or target.startswith(path + "?")) and "\\" not in target and "//" not in target:
        return target
    return path


# --- what the screens show -------------------------------------------------------------------------------------


@dataclass
class LearnerHeader:
    """The identity shown above the list."""

    id: int
    last_name: str
    first_name: str
    cf_number: str
    birth_date: date | None
    study_year: str
    establishment_id: int
    establishment_name: str
    establishment_code: str
    implantation: str
    option: str

    @property
    def full_name(self) -> str:
        """First name and name."""
        return f"{self.first_name} {self.last_name}"


@dataclass
class AttemptRow:
    """One attempt as the list shows it."""

    id: int
    learner_id: int
    uaa_id: int
    uaa_code: str
    uaa_label: str
    profile_label: str
    sequence: int
    status: str
    presented_on: date | None
    version: int
    establishment_id: int | None = None
    editable: bool = False
    min_date: date | None = None  # date of the previous encoded attempt: the earliest date this one may carry

    @property
    def status_label(self) -> str:
        """A encoder, Réussite or Echec."""
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def status_icon(self) -> str:
        """A symbol shown next to the word (never alone, never colour alone)."""
        return STATUS_ICONS.get(self.status, "")

    @property
    def state(self) -> AttemptState:
        """What the rules need."""
        return AttemptState(self.sequence, self.status, self.presented_on)


@dataclass
class Group:
    """The rows of one UAA shown together (swapped as one ``<tbody>`` after a save)."""

    uaa_id: int
    rows: list[AttemptRow] = field(default_factory=list)


@dataclass
class Listing:
    """One page of a learner's attempts."""

    rows: list[AttemptRow]
    total: int
    criteria: Criteria
    pages: int
    first: int  # 1-based index of the first row shown (0 when nothing is shown)
    last: int
    unfiltered: int  # attempts before the filters

    @property
    def page(self) -> int:
        """The page shown (what the shared pager partial reads)."""
        return self.criteria.page

    @property
    def groups(self) -> list[Group]:
        """The rows of the page grouped by UAA, in order."""
        return group_rows(self.rows)


@dataclass
class LearnerPage:
    """What ``/uaa/eleves/{id}`` shows."""

    learner: LearnerHeader
    listing: Listing
    editable: bool  # the person may encode (current establishment and ``uaa.encode``)
    read_only_reason: str = ""  # why nothing can be edited, when the person reads a former school's attempts


def group_rows(rows: list[AttemptRow]) -> list[Group]:
    """Consecutive rows of the same UAA as groups."""
    groups: list[Group] = []
    for row in rows:
        if not groups or groups[-1].uaa_id != row.uaa_id:
            groups.append(Group(uaa_id=row.uaa_id))
        groups[-1].rows.append(row)
    return groups


def mark_editable(rows: list[AttemptRow]) -> None:
    """Set ``editable`` and ``min_date`` the way :func:`plan_save` sees a UAA's sequence.

    A row may be saved when no later attempt of its UAA is encoded: the last encoded attempt and the row to
    encode after it. ``rows`` must hold every attempt of the UAA concerned.
    """
    by_uaa: dict[int, list[AttemptRow]] = {}
    for row in rows:
        by_uaa.setdefault(row.uaa_id, []).append(row)
    for attempts in by_uaa.values():
        attempts.sort(key=lambda r: r.sequence)
        encoded_after = False
        for row in reversed(attempts):
            row.editable = not encoded_after
            if row.status in ENCODED:
                encoded_after = True
        previous: date | None = None
        for row in attempts:
            row.min_date = previous
            if row.status in ENCODED and row.presented_on:
                previous = row.presented_on


def _fold(text: str) -> str:
    """Lower case without accents, for the text filter."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def apply_filters(rows: list[AttemptRow], criteria: Criteria) -> list[AttemptRow]:
    """The rows passing the check boxes and the text (every word in the UAA code or label)."""
    words = _fold(criteria.q).split()
    result = []
    for row in rows:
        if not criteria.shows(row.status):
            continue
        if words:
            haystack = _fold(f"{row.uaa_code} {row.uaa_label}")
            if not all(word in haystack for word in words):
                continue
        result.append(row)
    return result


def paginate(rows: list[AttemptRow], criteria: Criteria) -> Listing:
    """One page of the filtered rows (a page number past the end shows the last page)."""
    filtered = apply_filters(rows, criteria)
    total = len(filtered)
    pages = max(1, -(-total // criteria.per_page))
    criteria = replace(criteria, page=min(criteria.page, pages))
    start = (criteria.page - 1) * criteria.per_page
    shown = filtered[start:start + criteria.per_page]
    return Listing(rows=shown, total=total, criteria=criteria, pages=pages, first=start + 1 if shown else 0,
                   last=start + len(shown), unfiltered=len(rows))


# --- reading ---------------------------------------------------------------------------------------------------


# The columns of an attempt row as a Piccolo select (the refusal of a save reads them: see :func:`_gone`).
ROW_COLUMNS = (
    Attempt.id, Attempt.learner, Attempt.uaa, Attempt.sequence, Attempt.status, Attempt.presented_on,
    Attempt.version, Attempt.establishment, Attempt.uaa.code, Attempt.uaa.label, Attempt.uaa.profile.short_label,
)


def _header(data: dict) -> LearnerHeader:
    fase, uai = data.get("establishment.fase"), data.get("establishment.uai")
    code, label = data.get("option.code") or "", data.get("option.label") or ""
    return LearnerHeader(
        id=data["id"], last_name=data["last_name"], first_name=data["first_name"], cf_number=data["cf_number"],
        birth_date=data["birth_date"], study_year=data["study_year"] or "",
        establishment_id=data["establishment"], establishment_name=data.get("establishment.name") or "",
        establishment_code=f"FASE {fase}" if fase else (f"UAI {uai}" if uai else ""),
        implantation=data.get("implantation.name") or "",
        option=f"{code} — {label}" if code and label else (code or label),
    )


def attempt_row(data: dict) -> AttemptRow:
    return AttemptRow(
        id=data["id"], learner_id=data["learner"], uaa_id=data["uaa"], uaa_code=data.get("uaa.code") or "",
        uaa_label=data.get("uaa.label") or "", profile_label=data.get("uaa.profile.short_label") or "",
        sequence=data["sequence"], status=data["status"], presented_on=data["presented_on"],
        version=data["version"], establishment_id=data["establishment"],
    )


# The reads of the list, written once: every view of /uaa/eleves/{id} had Piccolo build the same joined selects
# again, and building them cost more CPU than running them (~28 % of the server's CPU under load). They give the
# rows :func:`_header` and :func:`_row` read, under the keys of Piccolo's joined selects (``"establishment.fase"``,
# ``"uaa.profile.short_label"``…). Every column is a plain column reference, never an expression: SQLite then
# keeps its declared type and dates come back as ``date`` objects, as on PostgreSQL. LEFT JOINs, as Piccolo's.
_HEADER_SELECT_SQL = """
SELECT l.id AS id, l.last_name AS last_name, l.first_name AS first_name, l.cf_number AS cf_number,
       l.birth_date AS birth_date, l.study_year AS study_year, l.establishment AS establishment,
       e.name AS "establishment.name", e.fase AS "establishment.fase", e.uai AS "establishment.uai",
       i.name AS "implantation.name", o.code AS "option.code", o.label AS "option.label"
FROM learner l
LEFT JOIN establishment e ON e.id = l.establishment
LEFT JOIN implantation i ON i.id = l.implantation
LEFT JOIN uaa_option o ON o.id = l.option
"""
#: Parameters: learner, school, school. The learner when the school acted for is its current one or encoded some
#: of its attempts (before a change of school); nothing otherwise.
_HEADER_SQL = _HEADER_SELECT_SQL + """WHERE l.id = {} AND (l.establishment = {} OR EXISTS (
    SELECT 1 FROM uaa_attempt f WHERE f.learner = l.id AND f.establishment = {}))
"""
#: Parameter: account. The learner records linked to the account.
_OWN_HEADERS_SQL = _HEADER_SELECT_SQL + "WHERE l.account = {} ORDER BY l.id\n"

_ROWS_SELECT_SQL = """
SELECT a.id AS id, a.learner AS learner, a.uaa AS uaa, a.sequence AS sequence, a.status AS status,
       a.presented_on AS presented_on, a.version AS version, a.establishment AS establishment,
       u.code AS "uaa.code", u.label AS "uaa.label", p.short_label AS "uaa.profile.short_label"
FROM uaa_attempt a
LEFT JOIN uaa u ON u.id = a.uaa
LEFT JOIN training_profile p ON p.id = u.profile
"""
#: The list's order: UAA position (then code), then presentation number.
_ORDER_SQL = "ORDER BY u.position, u.code, a.uaa, a.sequence\n"
#: Parameter: learner. Every attempt of the learner (for its current school).
_ROWS_SQL = _ROWS_SELECT_SQL + "WHERE a.learner = {}\n" + _ORDER_SQL
#: Parameters: learner, school. The attempts of the learner the school encoded (a former school of the learner).
_FORMER_ROWS_SQL = _ROWS_SELECT_SQL + "WHERE a.learner = {} AND a.establishment = {}\n" + _ORDER_SQL
#: Parameters: learners (a few: the records linked to one account), as many ``{}`` as learners in ``{ids}``.
#: The same shape as the Piccolo select it replaces, so that attempts of the same UAA and number held by two of
#: the learners (no order between them) keep coming in the order they came.
_OWN_ROWS_SQL = _ROWS_SELECT_SQL + "WHERE a.learner IN ({ids})\n" + _ORDER_SQL


def acting_for(user: CurrentUser) -> int:
    """The establishment the person acts for; none means no learner is in scope."""
    establishment_id = user.active.establishment_id if user.active else None
    if not establishment_id:
        raise LearnerNotFound("aucun établissement")
    return establishment_id


async def learner_page(user: CurrentUser, learner_id: int, criteria: Criteria) -> LearnerPage:
    """The header and one page of a learner's attempts, in two queries whatever the number of attempts.

    Raises :class:`LearnerNotFound` when the learner is neither of the establishment acted for nor one whose
    attempts it encoded before a change of school.
    """
    if not 0 < learner_id <= ID_MAX:
        raise LearnerNotFound(learner_id)
    school = acting_for(user)
    found = await query(_HEADER_SQL, learner_id, school, school)
    if not found:
        raise LearnerNotFound(learner_id)
    header = _header(found[0])
    current = header.establishment_id == school
    if current:
        data = await query(_ROWS_SQL, learner_id)
    else:
        data = await query(_FORMER_ROWS_SQL, learner_id, school)
    rows = [attempt_row(d) for d in data]
    editable = current and user.can("uaa.encode")
    if editable:
        mark_editable(rows)
    reason = "" if current else (
        "Cet élève a changé d'établissement : vous consultez les présentations encodées par votre établissement, "
        "sans pouvoir les modifier.")
    return LearnerPage(learner=header, listing=paginate(rows, criteria), editable=editable, read_only_reason=reason)


@dataclass
class OwnResults:
    """What ``/uaa/mes-resultats`` shows: the learner records linked to the account and their attempts."""

    learners: list[LearnerHeader]
    listing: Listing


async def own_results(user: CurrentUser, criteria: Criteria) -> OwnResults:
    """The attempts of the learner records linked to the person's account (two queries), read-only."""
    learners = await query(_OWN_HEADERS_SQL, user.account_id)
    rows: list[AttemptRow] = []
    if learners:
        ids = [d["id"] for d in learners]
        sql = _OWN_ROWS_SQL.replace("{ids}", ", ".join(["{}"] * len(ids)))
        rows = [attempt_row(d) for d in await query(sql, *ids)]
    return OwnResults(learners=[_header(d) for d in learners], listing=paginate(rows, criteria))


# --- writing ---------------------------------------------------------------------------------------------------


_DATE_FR = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_DATE_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def parse_date(raw: str | None) -> date | None:
    """A date from the form: ``aaaa-mm-jj`` (the browser's date picker) or ``jj/mm/aaaa`` typed by hand.

    Empty gives None (the rules decide whether a date is needed); anything else unreadable raises
    :class:`EncodingError`.
    """
    text = (raw or "").strip()
    if not text:
        return None
    try:
        if match := _DATE_ISO.match(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _DATE_FR.match(text):
            return date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        pass
    raise EncodingError(BAD_DATE_MESSAGE)
