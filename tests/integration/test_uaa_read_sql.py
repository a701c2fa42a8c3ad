"""The hand-written reads of the UAA list, the learner's own results and the learner search give exactly what the
Piccolo selects they replace gave: same rows, same order, same keys, dates as ``date`` objects, on both engines.

The Piccolo selects are kept here as the reference."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from piccolo.columns.combination import WhereRaw

from portal.core.db import is_sqlite
from portal.directory.tables import Establishment
from portal.uaa import encoding, learner_search
from portal.uaa.tables import Attempt, Learner, Option

pytestmark = pytest.mark.anyio

_HEADER_COLUMNS = (
    Learner.id, Learner.last_name, Learner.first_name, Learner.cf_number, Learner.birth_date, Learner.study_year,
    Learner.establishment, Learner.establishment.name, Learner.establishment.fase, Learner.establishment.uai,
    Learner.implantation.name, Learner.option.code, Learner.option.label,
)


def _user(establishment_id: int | None = None, account_id: int = 0, encode: bool = True):
    active = SimpleNamespace(establishment_id=establishment_id, establishment_name="École", establishment_code="F")
    # uaa_stamp None: the search reads its criteria lists from the database, not from the per-process cache
    return SimpleNamespace(active=active, account_id=account_id, affiliations=[], uaa_stamp=None,
                           can=lambda permission: encode)


def _ordered(query):
    return query.order_by(Attempt.uaa.position, Attempt.uaa.code, Attempt.uaa, Attempt.sequence)


async def _reference_page(learner_id: int, school: int):
    """The header and rows as the Piccolo selects read them."""
    former = Attempt.select(Attempt.learner).where((Attempt.learner == learner_id) & (Attempt.establishment == school))
    found = await Learner.select(*_HEADER_COLUMNS).where(
        (Learner.id == learner_id) & ((Learner.establishment == school) | Learner.id.is_in(former)))
    if not found:
        return None, None
    query = Attempt.select(*encoding.ROW_COLUMNS).where(Attempt.learner == learner_id)
    if found[0]["establishment"] != school:
        query = query.where(Attempt.establishment == school)
    return encoding._header(found[0]), [encoding.attempt_row(d) for d in await _ordered(query)]


async def _busiest_learner() -> dict:
    rows = await Attempt.raw("SELECT learner, COUNT(*) AS n FROM uaa_attempt GROUP BY learner ORDER BY n DESC, "
                             "learner LIMIT 1")
    return await Learner.select(Learner.id, Learner.establishment).where(Learner.id == rows[0]["learner"]).first()


async def _other_school(school: int) -> int:
    return (await Establishment.select(Establishment.id).where(Establishment.id != school)
            .order_by(Establishment.id).first())["id"]


async def _date_some_attempts(learner_id: int) -> None:
    ids = [r["id"] for r in await Attempt.select(Attempt.id).where(Attempt.learner == learner_id)
           .order_by(Attempt.id)]
    for number, attempt_id in enumerate(ids[::2]):
        await Attempt.update({Attempt.status: "reussite", Attempt.presented_on: date(2026, 9, 1) + timedelta(number)}
                             ).where(Attempt.id == attempt_id)


async def test_learner_page_reads_what_the_piccolo_selects_read(demo):
    learner = await _busiest_learner()
    school = learner["establishment"]
    await _date_some_attempts(learner["id"])
    page = await encoding.learner_page(_user(school), learner["id"], encoding.Criteria(per_page=100))
    header, rows = await _reference_page(learner["id"], school)
    assert page.learner == header
    assert page.listing.unfiltered == len(rows) > 1
    assert [r.id for r in page.listing.rows] == [r.id for r in rows]
    fresh = await encoding.learner_page(_user(school, encode=False), learner["id"], encoding.Criteria(per_page=100))
    assert fresh.listing.rows == rows
    assert isinstance(page.learner.birth_date, date)
    dated = [r.presented_on for r in page.listing.rows if r.presented_on is not None]
    assert dated and all(type(day) is date for day in dated)


async def test_a_former_school_reads_only_the_attempts_it_encoded(demo):
    learner = await _busiest_learner()
    school = learner["establishment"]
    other = await _other_school(school)
    with pytest.raises(encoding.LearnerNotFound):
        await encoding.learner_page(_user(other), learner["id"], encoding.Criteria())
    await _date_some_attempts(learner["id"])
    ids = [r["id"] for r in await Attempt.select(Attempt.id).where(Attempt.learner == learner["id"])
           .order_by(Attempt.id)]
    await Attempt.update({Attempt.establishment: other}).where(Attempt.id.is_in(ids[1::3]))
    page = await encoding.learner_page(_user(other), learner["id"], encoding.Criteria(per_page=100))
    header, rows = await _reference_page(learner["id"], other)
    assert page.learner == header and not page.editable and page.read_only_reason
    assert page.listing.rows == rows and {r.id for r in rows} == set(ids[1::3])
    with pytest.raises(encoding.LearnerNotFound):
        await encoding.learner_page(_user(school), 2**31 - 1, encoding.Criteria())


async def test_own_results_read_what_the_piccolo_selects_read(demo):
    first = await _busiest_learner()
    others = await Learner.select(Learner.id).where(Learner.id != first["id"]).order_by(Learner.id).limit(2)
    account = (await Learner.raw("SELECT id FROM account ORDER BY id LIMIT 1"))[0]["id"]
    await Learner.update({Learner.account: None}).where(Learner.account == account)
    assert (await encoding.own_results(_user(account_id=account), encoding.Criteria())).learners == []
    linked = [first["id"], *(o["id"] for o in others)]
    await Learner.update({Learner.account: account}).where(Learner.id.is_in(linked))
    await _date_some_attempts(first["id"])
    result = await encoding.own_results(_user(account_id=account), encoding.Criteria(per_page=100))

    headers = await Learner.select(*_HEADER_COLUMNS).where(Learner.account == account).order_by(Learner.id)
    rows = [encoding.attempt_row(d) for d in await _ordered(
        Attempt.select(*encoding.ROW_COLUMNS).where(Attempt.learner.is_in(linked)))]
    assert result.learners == [encoding._header(d) for d in headers]
    # Attempts of the same UAA and number of two learners have no order between them: compare the rest.
    assert sorted(r.id for r in result.listing.rows) == sorted(r.id for r in rows[:100])
    assert [(r.uaa_id, r.sequence) for r in result.listing.rows] == [(r.uaa_id, r.sequence) for r in rows[:100]]
    assert len(rows) <= 100 and sorted(result.listing.rows, key=lambda r: r.id) == sorted(rows, key=lambda r: r.id)
    assert result.listing.unfiltered == len(rows)


# --- the search ------------------------------------------------------------------------------------------------


def _contains(text: str) -> WhereRaw:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    variants = list(dict.fromkeys((escaped, escaped.lower(), escaped.upper(), escaped.capitalize())))
    operator = "LIKE" if is_sqlite() else "ILIKE"
    columns = ('"learner"."last_name"', '"learner"."first_name"', '"learner"."cf_number"')
    sql = " OR ".join(f"{name} {operator} {{}} ESCAPE '\\'" for name in columns for _ in variants)
    return WhereRaw(f"({sql})", *[f"%{variant}%" for _ in columns for variant in variants])


async def _reference_search(establishment_id: int, criteria: learner_search.SearchCriteria) -> tuple[int, list[int]]:
    """The count and the ids of the page, as the Piccolo selects read them (criteria already settled)."""
    conditions = [Learner.establishment == establishment_id, Learner.active == True]
    if criteria.school_year:
        conditions.append(Learner.school_year == criteria.school_year)
    if criteria.implantation is not None:
        conditions.append(Learner.implantation == criteria.implantation)
    if criteria.study_year:
        conditions.append(Learner.study_year == criteria.study_year)
    if criteria.option:
        conditions.append(Learner.option.is_in(Option.select(Option.id).where(Option.code == criteria.option)))
    for word in criteria.q.split()[:5]:
        conditions.append(_contains(word))
    count = Learner.count()
    query = Learner.select(Learner.id)
    for condition in conditions:
        count = count.where(condition)
        query = query.where(condition)
    total = await count
    column_name, _label = learner_search.SORTS[criteria.sort]
    column = Learner.option.code if column_name == "option.code" else getattr(Learner, column_name)
    ascending = criteria.order == "asc"
    query = query.order_by(column, ascending=ascending)
    for tie in (Learner.last_name, Learner.first_name, Learner.id):
        if tie is not column:
            query = query.order_by(tie, ascending=ascending)
    data = await query.limit(criteria.size).offset((criteria.page - 1) * criteria.size)
    return total, [d["id"] for d in data]


async def test_search_reads_what_the_piccolo_selects_read(demo):
    school = (await Learner.raw("SELECT establishment, COUNT(*) AS n FROM learner GROUP BY establishment "
                                "ORDER BY n DESC, establishment LIMIT 1"))[0]["establishment"]
    user = _user(school)
    choices = await learner_search.search_choices(school)
    assert choices.school_years and choices.options
    # Ties and missing values: two learners with the same names, one without option.
    same = await Learner.select(Learner.id).where(Learner.establishment == school).order_by(Learner.id).limit(3)
    await Learner.update({Learner.last_name: "Dupont", Learner.first_name: "Élodie"}).where(
        Learner.id.is_in([s["id"] for s in same]))
    await Learner.update({Learner.option: None}).where(Learner.id == same[0]["id"])

    cases = [learner_search.parse_search(tri=sort, ordre=order, taille="25")
             for sort in learner_search.SORTS for order in ("asc", "desc")]
    cases += [
        learner_search.parse_search(q="élodie"), learner_search.parse_search(q="DUP od"), learner_search.parse_search(q="50%_\\"),
        learner_search.parse_search(obg=choices.options[0]["code"], tri="obg", ordre="desc"),
        learner_search.parse_search(annee=choices.school_years[-1], etudes=(choices.study_years or [""])[0]),
        learner_search.parse_search(page="2"), learner_search.parse_search(page="999", taille="50", tri="naissance"),
    ]
    if choices.implantations:
        cases.append(learner_search.parse_search(implantation=str(choices.implantations[0]["id"]), tri="cf"))
    for criteria in cases:
        result = await learner_search.search_learners(user, criteria)
        settled = learner_search.settle(criteria, choices)
        total, ids = await _reference_search(school, replace_page(settled, result.page))
        assert (result.total, [r.id for r in result.rows]) == (total, ids), criteria
        assert all(r.birth_date is None or type(r.birth_date) is date for r in result.rows)
        assert result.criteria == replace_page(settled, result.page)


def replace_page(criteria: learner_search.SearchCriteria, page: int) -> learner_search.SearchCriteria:
    from dataclasses import replace

    return replace(criteria, page=page)


async def test_search_choices_read_what_the_piccolo_selects_read(demo):
    from portal.directory.tables import Implantation

    for school in [e["id"] for e in await Establishment.select(Establishment.id)]:
        choices = await learner_search.search_choices(school)
        implantations = await Implantation.select(Implantation.id, Implantation.fase, Implantation.name).where(
            Implantation.establishment == school).order_by(Implantation.fase)
        assert choices.implantations == implantations
        combos = await Learner.select(
            Learner.school_year, Learner.study_year, Learner.option.code.as_alias("code"),
            Learner.option.label.as_alias("label"),
        ).where((Learner.establishment == school) & (Learner.active == True)).distinct()
        assert choices.school_years == sorted({r["school_year"] for r in combos if r["school_year"]}, reverse=True)
        assert choices.study_years == sorted({r["study_year"] for r in combos if r["study_year"]})
        assert [o["code"] for o in choices.options] == sorted({r["code"] for r in combos if r["code"]})
