"""The learner search (SPEC §5; CEPU guide §2.2–2.3). No Litestar here.

The learners of the establishment acted for (never another's), filtered by school year, implantation, year of
study, option and a text, sorted by a whitelisted column, paged. A page costs four queries whatever the number of
rows: the implantations, the distinct (school year, year of study, option) of the school, the count and the page
itself; the first two are kept against the school's ``uaa_stamp``. On PostgreSQL the count comes with the page.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from urllib.parse import urlencode

from portal.accounts.identity import CurrentUser
from portal.core.db import is_sqlite, query
from portal.permissions import allowed
from portal.uaa import stamps
from portal.uaa.learner_csv import SCHOOL_YEAR_RE
from portal.uaa.learners import as_date, establishment_of


# --- search ----------------------------------------------------------------------------------------------------

PAGE_SIZES = (25, 50, 100)
QUERY_MAX = 100
#: ``tri`` value → the column(s) sorted on (a closed list: nothing else reaches ORDER BY).
SORTS = {
    "nom": ("last_name", "Nom"),
    "prenom": ("first_name", "Prénom"),
    "sexe": ("sex", "Sexe"),
    "naissance": ("birth_date", "Date de naissance"),
    "cf": ("cf_number", "N° CF"),
    "annee": ("study_year", "Année d'études"),
    "obg": ("option.code", "OBG"),
}
DEFAULT_SORT = "nom"


def _page_number(raw: str | None) -> int:
    raw = (raw or "").strip()
    if not raw.isdigit() or len(raw) > 6:
        return 1
    return max(1, int(raw))


@dataclass(frozen=True)
class SearchCriteria:
    """The search criteria, all kept in the URL: ``annee``, ``implantation``, ``etudes``, ``obg``, ``q``, ``tri``,
    ``ordre``, ``page``, ``taille``."""

    school_year: str = ""
    implantation: int | None = None
    study_year: str = ""
    option: str = ""
    q: str = ""
    sort: str = DEFAULT_SORT
    order: str = "asc"
    page: int = 1
    size: int = PAGE_SIZES[0]

    def params(self, **overrides) -> list[tuple[str, str]]:
        """The URL parameters (defaults left out), with ``overrides`` (same names as the fields)."""
        c = replace(self, **overrides) if overrides else self
        params: list[tuple[str, str]] = []
        if c.school_year:
            params.append(("annee", c.school_year))
        if c.implantation is not None:
            params.append(("implantation", str(c.implantation)))
        if c.study_year:
            params.append(("etudes", c.study_year))
        if c.option:
            params.append(("obg", c.option))
        if c.q:
            params.append(("q", c.q))
        if c.sort != DEFAULT_SORT or c.order != "asc":
            params += [("tri", c.sort), ("ordre", c.order)]
        if c.size != PAGE_SIZES[0]:
            params.append(("taille", str(c.size)))
        if c.page > 1:
            params.append(("page", str(c.page)))
        return params

    def url(self, **overrides) -> str:
        """``/uaa/recherche`` with these criteria."""
        query = urlencode(self.params(**overrides))
        return "/uaa/recherche" + (f"?{query}" if query else "")

    def page_base(self) -> str:
        """The URL without the page, ready for ``page=N`` (ends with ``?`` or ``&``)."""
        query = urlencode(self.params(page=1))
        return "/uaa/recherche?" + (f"{query}&" if query else "")

    def sort_url(self, column: str) -> str:
        """The link of a column header: sort on it (ascending), or flip the order if it is already the sort."""
        order = "desc" if self.sort == column and self.order == "asc" else "asc"
        return self.url(sort=column, order=order, page=1)

    def aria_sort(self, column: str) -> str | None:
        """``ascending``/``descending`` for the sorted column, None for the others."""
        if self.sort != column:
            return None
        return "ascending" if self.order == "asc" else "descending"


def parse_search(annee: str | None = None, implantation: str | None = None, etudes: str | None = None,
                 obg: str | None = None, q: str | None = None, tri: str | None = None, ordre: str | None = None,
                 page: str | None = None, taille: str | None = None) -> SearchCriteria:
    """Read the criteria leniently: a malformed value falls back to its default."""
    school_year = (annee or "").strip()
    if not SCHOOL_YEAR_RE.match(school_year):
        school_year = ""
    raw_implantation = (implantation or "").strip()
    implantation_id = int(raw_implantation) if raw_implantation.isdigit() and len(raw_implantation) <= 9 else None
    size = int(taille) if (taille or "").strip() in {str(s) for s in PAGE_SIZES} else PAGE_SIZES[0]
    return SearchCriteria(
        school_year=school_year,
        implantation=implantation_id,
        study_year=" ".join((etudes or "").split())[:20],
        option=(obg or "").strip()[:10],
        q=" ".join((q or "").split())[:QUERY_MAX],
        sort=tri if tri in SORTS else DEFAULT_SORT,
        order="desc" if ordre == "desc" else "asc",
        page=_page_number(page),
        size=size,
    )


@dataclass
class SearchChoices:
    """What the criteria lists offer: the establishment's school years (newest first), implantations, years of
    study and options present."""

    school_years: list[str] = field(default_factory=list)
    implantations: list[dict] = field(default_factory=list)
    study_years: list[str] = field(default_factory=list)
    options: list[dict] = field(default_factory=list)


@dataclass
class LearnerRow:
    """One learner as the result table shows it."""

    id: int
    establishment: str  # FASE (or UAI) number
    last_name: str
    first_name: str
    sex: str
    birth_date: date | None
    cf_number: str
    study_year: str
    option_code: str
    option_label: str


@dataclass
class SearchResult:
    """One page of results with what the page needs to show the criteria."""

    rows: list[LearnerRow]
    total: int
    page: int
    pages: int
    criteria: SearchCriteria
    choices: SearchChoices
    establishment_label: str
    establishment_code: str

    @property
    def first(self) -> int:
        """Rank of the first row shown (0 when there is none)."""
        return (self.page - 1) * self.criteria.size + 1 if self.total else 0

    @property
    def last(self) -> int:
        """Rank of the last row shown."""
        return min(self.total, self.page * self.criteria.size)


def switchable_affiliations(user: CurrentUser) -> list:
    """The person's affiliations that may search learners (one per establishment): the « ID FASE » choice."""
    return [a for a in user.affiliations if a.establishment_id and allowed(a.profile, "uaa.search")]


def _contains(text: str) -> tuple[str, list[str]]:
    """Name, first name or N° CF contains ``text``, case ignored (``%`` and ``_`` taken literally): a condition on
    the learner ``l`` and its parameters (the text is only ever a parameter).

    SQLite's LIKE (and PostgreSQL's ILIKE under a C locale) ignores the case of ASCII letters only: a word with
    other letters is also tried as typed, in lower case, in upper case and capitalised, so that « élodie » finds
    « Élodie ». A word in ASCII needs no variant (three conditions a row instead of nine or twelve).
    """
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    variants = [escaped] if escaped.isascii() else list(
        dict.fromkeys((escaped, escaped.lower(), escaped.upper(), escaped.capitalize())))
    operator = "LIKE" if is_sqlite() else "ILIKE"
    columns = ("l.last_name", "l.first_name", "l.cf_number")
    sql = " OR ".join(f"{name} {operator} {{}} ESCAPE '\\'" for name in columns for _ in variants)
    return f"({sql})", [f"%{variant}%" for _ in columns for variant in variants]


# The search's reads, written once: Piccolo rebuilt the same joined selects on every view of /uaa/recherche, and
# building them cost more CPU than running them. Only fixed fragments of SQL are put together below (the sort
# comes from :data:`_SORT_SQL`, a closed list); every value, the searched text included, is a parameter.
# ``birth_date`` is a plain column reference: SQLite keeps its declared type (see also :func:`_as_date`).
_IMPLANTATIONS_SQL = "SELECT id, fase, name FROM implantation WHERE establishment = {} ORDER BY fase"
_COMBOS_SQL = """
SELECT DISTINCT l.school_year AS school_year, l.study_year AS study_year, o.code AS code, o.label AS label
FROM learner l LEFT JOIN uaa_option o ON o.id = l.option
WHERE l.establishment = {} AND l.active = {}
"""
_SEARCH_COUNT_SQL = "SELECT COUNT(*) AS count FROM learner l WHERE "
#: The columns of a page's rows (both page statements).
_PAGE_COLUMNS = """l.id AS id, l.last_name AS last_name, l.first_name AS first_name, l.sex AS sex,
       l.birth_date AS birth_date, l.cf_number AS cf_number, l.study_year AS study_year, o.code AS option_code,
       o.label AS option_label, e.fase AS fase, e.uai AS uai"""
_SEARCH_PAGE_SQL = f"""
SELECT {_PAGE_COLUMNS}
FROM learner l
LEFT JOIN uaa_option o ON o.id = l.option
LEFT JOIN establishment e ON e.id = l.establishment
WHERE """
#: PostgreSQL: the page and the count in one scan of the school's learners (``COUNT(*) OVER ()`` before the LIMIT),
#: the options and establishment joined to the page's rows only (the option inside too when it is sorted on).
_PG_COUNTED_PAGE_SQL = "\nSELECT " + _PAGE_COLUMNS + """, l.total AS total
FROM (SELECT l.*, COUNT(*) OVER () AS total FROM learner l{option_join}
      WHERE {where}
      ORDER BY {order}
      LIMIT {{}} OFFSET {{}}) l
LEFT JOIN uaa_option o ON o.id = l.option
LEFT JOIN establishment e ON e.id = l.establishment
ORDER BY {order}
"""
#: :data:`SORTS`' columns → SQL (nothing else reaches ORDER BY).
_SORT_SQL = {
    "last_name": "l.last_name", "first_name": "l.first_name", "sex": "l.sex", "birth_date": "l.birth_date",
    "cf_number": "l.cf_number", "study_year": "l.study_year", "option.code": "o.code",
}
#: The ties, after the sorted column (which is not repeated).
_TIES_SQL = ("l.last_name", "l.first_name", "l.id")


async def search_choices(establishment_id: int, stamp: int | None = None) -> SearchChoices:
    """The lists of the criteria form (two queries), kept per process against the school's ``uaa_stamp`` when
    the caller read it (``stamp``; :mod:`portal.uaa.stamps`): triggers move it whenever a learner, an
    implantation of the school or an option's label changes. Callers must not modify what they get."""
    if stamp is None:
        return await _read_choices(establishment_id)
    return await stamps.kept("search_choices", establishment_id, stamp, _read_choices)


async def _read_choices(establishment_id: int) -> SearchChoices:
    choices = SearchChoices()
    choices.implantations = await query(_IMPLANTATIONS_SQL, establishment_id)
    combos = await query(_COMBOS_SQL, establishment_id, True)
    choices.school_years = sorted({row["school_year"] for row in combos if row["school_year"]}, reverse=True)
    choices.study_years = sorted({row["study_year"] for row in combos if row["study_year"]})
    options = {row["code"]: row["label"] for row in combos if row["code"]}
    choices.options = [{"code": code, "label": options[code]} for code in sorted(options)]
    return choices


def settle(criteria: SearchCriteria, choices: SearchChoices) -> SearchCriteria:
    """Criteria the lists can show: an unknown value becomes « all »; no school year means the latest."""
    school_year = criteria.school_year if criteria.school_year in choices.school_years else (
        choices.school_years[0] if choices.school_years else "")
    implantation = criteria.implantation if criteria.implantation in {i["id"] for i in choices.implantations} else None
    study_year = criteria.study_year if criteria.study_year in choices.study_years else ""
    option = criteria.option if criteria.option in {o["code"] for o in choices.options} else ""
    return replace(criteria, school_year=school_year, implantation=implantation, study_year=study_year, option=option)


async def search_learners(user: CurrentUser, criteria: SearchCriteria) -> SearchResult:
    """One page of the learners of the establishment acted for: four queries whatever the number of rows, two
    once the criteria lists are kept (:func:`search_choices`)."""
    establishment_id = establishment_of(user)
    choices = await search_choices(establishment_id, user.uaa_stamp)
    criteria = settle(criteria, choices)
    conditions = ["l.establishment = {}", "l.active = {}"]
    args: list = [establishment_id, True]
    if criteria.school_year:
        conditions.append("l.school_year = {}")
        args.append(criteria.school_year)
    if criteria.implantation is not None:
        conditions.append("l.implantation = {}")
        args.append(criteria.implantation)
    if criteria.study_year:
        conditions.append("l.study_year = {}")
        args.append(criteria.study_year)
    if criteria.option:
        conditions.append("l.option IN (SELECT id FROM uaa_option WHERE code = {})")
        args.append(criteria.option)
    for word in criteria.q.split()[:5]:
        sql, values = _contains(word)
        conditions.append(sql)
        args += values
    where = " AND ".join(conditions)
    column_name, _label = SORTS[criteria.sort]
    column = _SORT_SQL[column_name]
    direction = " ASC" if criteria.order == "asc" else " DESC"
    order = ", ".join(name + direction for name in (column, *(t for t in _TIES_SQL if t != column)))

    data = []
    if not is_sqlite():
        # One scan for the page and its count: 0.98–1.04 ms of the database's time against 1.10–1.22 for the two
        # statements. No row means no match or a page past the last: then counted apart, and the last page read.
        option_join = "\n      LEFT JOIN uaa_option o ON o.id = l.option" if column == "o.code" else ""
        counted_sql = _PG_COUNTED_PAGE_SQL.format(where=where, order=order, option_join=option_join)
        data = await query(counted_sql, *args, criteria.size, (criteria.page - 1) * criteria.size)
    # Counted apart on SQLite: COUNT(*) OVER () in the page's select was measured 2.5 times slower than the two
    # statements (SQLite then builds every matching row, joins included, before it sorts).
    total = data[0]["total"] if data else (await query(_SEARCH_COUNT_SQL + where, *args))[0]["count"]
    pages = max(1, -(-total // criteria.size))
    criteria = replace(criteria, page=min(criteria.page, pages))  # the page read above is never past the last
    if not data and total:
        data = await query(f"{_SEARCH_PAGE_SQL}{where}\nORDER BY {order}\nLIMIT {{}} OFFSET {{}}", *args,
                           criteria.size, (criteria.page - 1) * criteria.size)
    rows = [LearnerRow(id=d["id"], establishment=d["fase"] or d["uai"] or "", last_name=d["last_name"],
                       first_name=d["first_name"], sex=d["sex"], birth_date=as_date(d["birth_date"]),
                       cf_number=d["cf_number"], study_year=d["study_year"], option_code=d["option_code"] or "",
                       option_label=d["option_label"] or "") for d in data]
    active = user.active
    return SearchResult(rows=rows, total=total, page=criteria.page, pages=pages, criteria=criteria, choices=choices,
                        establishment_label=active.establishment_name if active else "",
                        establishment_code=active.establishment_code if active else "")
