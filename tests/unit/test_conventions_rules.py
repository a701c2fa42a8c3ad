"""Unit tests of the pure rules of pole conventions (SPEC §6)."""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.conventions import rules
from portal.conventions.rules import PoleSchoolInfo as S

SEAT_PO = 1


def kinds(instruments):
    return [(i.kind, i.other_po, i.specific_school, i.schools) for i in instruments]


def test_partners_of_the_seat_po_make_a_ressort():
    result = rules.decide(SEAT_PO, [S(10, "partenaire", 1), S(11, "partenaire", 1)])
    assert kinds(result) == [(rules.RESSORT_PARTNERSHIP, None, None, (10, 11))]


def test_one_partner_of_another_po_moves_every_partner_into_a_partnership_convention():
    result = rules.decide(SEAT_PO, [S(10, "partenaire", 1), S(11, "partenaire", 2)])
    assert kinds(result) == [(rules.PARTNERSHIP, None, None, (10, 11))]


def test_cooperating_schools_one_ressort_and_one_convention_per_other_po():
    result = rules.decide(SEAT_PO, [S(20, "cooperante", 1), S(21, "cooperante", 2), S(22, "cooperante", 3),
                                    S(23, "cooperante", 2)])
    assert kinds(result) == [(rules.RESSORT_COOPERATION, None, None, (20,)),
                             (rules.COOPERATION, 2, None, (21, 23)), (rules.COOPERATION, 3, None, (22,))]


def test_each_specific_partner_has_its_own_convention():
    result = rules.decide(SEAT_PO, [S(30, "partenaire_specifique", 3), S(31, "partenaire_specifique", 1)])
    assert kinds(result) == [(rules.SPECIFIC, 3, 30, (30,)), (rules.SPECIFIC, 1, 31, (31,))]


def test_no_school_no_instrument():
    assert rules.decide(SEAT_PO, []) == []


def test_a_ressort_only_offers_schools_of_the_seat_po():
    assert rules.may_offer(rules.RESSORT_PARTNERSHIP, 1, None, 1)
    assert not rules.may_offer(rules.RESSORT_PARTNERSHIP, 1, None, 2)
    assert not rules.may_offer(rules.RESSORT_COOPERATION, 1, None, 2)
    assert rules.may_offer(rules.COOPERATION, 1, 2, 2)
    assert not rules.may_offer(rules.COOPERATION, 1, 2, 3)
    assert rules.may_offer(rules.PARTNERSHIP, 1, None, 7)
    assert not rules.may_offer(rules.SPECIFIC, 1, 3, 3)


schools_strategy = st.lists(
    st.tuples(st.sampled_from(["partenaire", "cooperante", "partenaire_specifique"]), st.integers(1, 4)),
    max_size=12,
)


@given(schools_strategy, st.integers(1, 4))
def test_decision_properties(raw, seat_po):
    schools = [S(100 + index, role, po) for index, (role, po) in enumerate(raw)]
    result = rules.decide(seat_po, schools)
    covered = [school for instrument in result for school in instrument.schools]
    # every school is covered exactly once
    assert sorted(covered) == sorted(s.establishment_id for s in schools)
    by_id = {s.establishment_id: s for s in schools}
    keys = [i.key for i in result]
    assert len(keys) == len(set(keys))
    partners = [s for s in schools if s.role == "partenaire"]
    partnership = [i for i in result if i.kind in (rules.PARTNERSHIP, rules.RESSORT_PARTNERSHIP)]
    assert len(partnership) == (1 if partners else 0)
    if partners:
        expected = rules.RESSORT_PARTNERSHIP if all(s.po_id == seat_po for s in partners) else rules.PARTNERSHIP
        assert partnership[0].kind == expected
    for instrument in result:
        roles = {by_id[s].role for s in instrument.schools}
        assert roles == {rules.KIND_ROLES[instrument.kind]}
        pos = {by_id[s].po_id for s in instrument.schools}
        if instrument.kind in (rules.RESSORT_PARTNERSHIP, rules.RESSORT_COOPERATION):
            assert pos == {seat_po}
        if instrument.kind == rules.COOPERATION:
            assert pos == {instrument.other_po} and instrument.other_po != seat_po
        if instrument.kind == rules.SPECIFIC:
            assert instrument.schools == (instrument.specific_school,)
    # one cooperation convention per other PO
    other_pos = {s.po_id for s in schools if s.role == "cooperante" and s.po_id != seat_po}
    assert sorted(i.other_po for i in result if i.kind == rules.COOPERATION) == sorted(other_pos)


def test_catalogue_natures_follow_the_spec():
    natures = {a.key: a.nature for a in rules.articles_for(rules.PARTNERSHIP)}
    assert natures["identification"] == "P" and natures["preambule"] == "F" and natures["art1"] == "P"
    assert [k for k, n in natures.items() if n == "R"] == ["art4", "art5", "art6", "art7", "art8"]
    assert natures["art13"] == "O"
    coop = {a.key: a.nature for a in rules.articles_for(rules.COOPERATION)}
    assert [k for k, n in coop.items() if n == "R"] == ["art4", "art5"]
    specific = {a.key: a.nature for a in rules.articles_for(rules.SPECIFIC)}
    assert [k for k, n in specific.items() if n == "R"] == ["art4", "art5", "art6", "art7", "art8"]
    assert rules.article(rules.SPECIFIC, "art8").table == "staff"
    rp = {a.key: a.nature for a in rules.articles_for(rules.RESSORT_PARTNERSHIP)}
    rc = {a.key: a.nature for a in rules.articles_for(rules.RESSORT_COOPERATION)}
    assert [k for k, n in rp.items() if n == "R"] == ["art4", "art5", "art9", "art10"]
    assert [k for k, n in rc.items() if n == "R"] == ["art7", "art9", "art10"]
    for kind in rules.KINDS:
        for item in rules.articles_for(kind):
            if item.nature == "F":
                assert rules.PROVISIONAL in item.text


def test_missing_articles():
    missing = rules.missing_articles(rules.COOPERATION, {"art4": ("Texte", None)})
    assert [a.key for a in missing] == ["art5"]
    assert rules.missing_articles(rules.COOPERATION, {"art4": ("x", None), "art5": ("  y ", None)}) == []
    assert [a.key for a in rules.missing_articles(rules.COOPERATION, {"art4": ("x", None), "art5": ("  ", None)})] == ["art5"]
    saved = {k: ("x", None) for k in ("art4", "art5", "art6", "art7")}
    assert [a.key for a in rules.missing_articles(rules.SPECIFIC, saved)] == ["art8"]
    saved["art8"] = ("", {"lines": [{"function": 1, "fraction": "1/5", "count": 2}]})
    assert rules.missing_articles(rules.SPECIFIC, saved) == []


def test_staff_points():
    lines = [{"function": 1, "fraction": "2,5/5", "count": 2}, {"function": 2, "fraction": "5/5", "count": 1},
             {"function": 1, "fraction": "1/5", "count": 3}]
    # function 1: 10 points; function 2: 7 points → 10 × 1/2 × 2 + 7 × 1 + 10 × 1/5 × 3 = 10 + 7 + 6
    assert rules.staff_points(lines, {1: 10, 2: 7}) == Fraction(23)


def test_parse_staff_cells():
    names = {1: "Logopède", 2: "Kinésithérapeute"}
    lines = rules.parse_staff_cells({"cell-1-2,5/5": "2", "cell-2-5/5": "", "cell-2-1/5": "0", "other": "x"}, names)
    assert lines == [{"function": 1, "fraction": "2,5/5", "count": 2}]
    with pytest.raises(rules.RuleError, match="nombre entier"):
        rules.parse_staff_cells({"cell-1-1/5": "-1"}, names)
    with pytest.raises(rules.RuleError, match="nombre entier"):
        rules.parse_staff_cells({"cell-1-1/5": "100"}, names)
    with pytest.raises(rules.RuleError):
        rules.parse_staff_cells({"cell-9-1/5": "1"}, names)
    with pytest.raises(rules.RuleError):
        rules.parse_staff_cells({"cell-1-6/5": "1"}, names)


def test_parse_split():
    assert rules.parse_split("siege", {}, [5]) == {"mode": "siege", "shares": {}, "running": "0"}
    assert rules.parse_split("cle", {0: "62,5", 5: "37.5 %"}, [5], "20") == {
        "mode": "cle", "shares": {"0": "62.5", "5": "37.5"}, "running": "20"}
    with pytest.raises(rules.RuleError, match="20 % au plus"):
        rules.parse_split("siege", {}, [5], "20,5")
    with pytest.raises(rules.RuleError, match="totalisent 90 %"):
        rules.parse_split("cle", {0: "50", 5: "40"}, [5])
    with pytest.raises(rules.RuleError, match="pourcentage"):
        rules.parse_split("cle", {0: "abc"}, [5])
    with pytest.raises(rules.RuleError):
        rules.parse_split("cle", {0: "150", 5: "-50"}, [5])
    with pytest.raises(rules.RuleError):
        rules.parse_split("autre", {}, [5])


def test_salary_share():
    assert rules.salary_share_ok(80, 20)
    assert not rules.salary_share_ok(79, 21)
    assert rules.salary_share_ok(0, 0)


HOLIDAYS = [(date(2026, 10, 19), date(2026, 10, 30))]  # autumn holidays (two weeks)


def test_school_working_days():
    # Monday 12 to Friday 16 October 2026: five days; the weekend and the holidays do not count
    assert rules.school_working_days(date(2026, 10, 12), date(2026, 10, 16), HOLIDAYS) == 5
    assert rules.school_working_days(date(2026, 10, 12), date(2026, 11, 2), HOLIDAYS) == 6
    assert rules.school_working_days(date(2026, 10, 20), date(2026, 10, 19), HOLIDAYS) == 0


def test_specific_deadline_skips_weekends_and_holidays():
    # care starts Monday 9 November 2026: back from Friday 6, through the holidays, to the 10th working day
    deadline = rules.specific_deadline(date(2026, 11, 9), HOLIDAYS)
    assert deadline == date(2026, 10, 12)
    assert rules.school_working_days(deadline, date(2026, 11, 8), HOLIDAYS) == 10
    assert rules.specific_deadline(date(2026, 3, 16), []) == date(2026, 3, 2)


def test_avenant_deadline_and_school_year():
    assert rules.avenant_deadline(date(2027, 9, 1)) == date(2027, 6, 1)
    assert rules.avenant_deadline(date(2028, 1, 15)) == date(2027, 6, 1)
    assert rules.school_year_of(date(2026, 9, 1)) == "2026-2027"
    assert rules.school_year_of(date(2027, 8, 31)) == "2026-2027"


def test_deadline_state():
    today = date(2026, 10, 1)
    assert rules.deadline_state(None, today) == ""
    assert rules.deadline_state(date(2026, 9, 30), today) == "depassee"
    assert rules.deadline_state(date(2026, 10, 15), today) == "proche"
    assert rules.deadline_state(date(2026, 12, 15), today) == "ok"


# --- avenants ----------------------------------------------------------------------------------------------------


def test_avenant_is_due_on_1_june_of_the_year_before():
    from portal.conventions import rules as r

    assert r.avenant_due("2027-2028") == date(2027, 6, 1)
    assert r.avenant_due("2030-2031") == date(2030, 6, 1)
    assert r.avenant_late("2027-2028", date(2027, 6, 1)) == ""
    late = r.avenant_late("2027-2028", date(2027, 6, 2))
    assert "01/06/2027" in late and "délai est dépassé" in late
    for bad in ("2027", "2027-2029", "abcd-efgh", "", None):
        assert r.year_start(bad) is None
    with pytest.raises(r.RuleError):
        r.avenant_due("2027-2029")


def test_avenant_years_are_the_next_years_still_open():
    from portal.conventions import rules as r

    assert r.avenant_years(date(2026, 11, 23)) == ["2027-2028", "2028-2029", "2029-2030"]
    # after 1 June 2027, 2027-2028 is closed
    assert r.avenant_years(date(2027, 6, 2)) == ["2028-2029", "2029-2030", "2030-2031"]
    assert r.avenant_years(date(2027, 9, 1))[0] == "2028-2029"


def test_avenant_eligibility():
    from portal.conventions import rules as r

    for kind in (r.PARTNERSHIP, r.RESSORT_PARTNERSHIP, r.SPECIFIC):
        assert r.avenant_refusal(kind, r.DONE) == ""
        assert r.avenant_refusal(kind, r.ACKNOWLEDGMENT) == ""
        assert "validée" in r.avenant_refusal(kind, r.SIGNATURES)
        assert "validée" in r.avenant_refusal(kind, r.ADMINISTRATION)
        assert r.avenant_refusal(kind, r.DONE, active=False) != ""
    for kind in (r.COOPERATION, r.RESSORT_COOPERATION):
        assert "répartition" in r.avenant_refusal(kind, r.DONE)


def test_a_duplicate_refused_by_a_unique_index_is_recognised_on_both_engines():
    import sqlite3

    from portal.core.db import is_unique_violation

    class UniqueViolationError(Exception):  # asyncpg's class name, as PostgreSQL raises it
        pass

    assert is_unique_violation(sqlite3.IntegrityError("UNIQUE constraint failed: convention_avenant.convention"))
    assert is_unique_violation(UniqueViolationError("duplicate key value violates unique constraint"))
    assert not is_unique_violation(sqlite3.IntegrityError("FOREIGN KEY constraint failed"))
    assert not is_unique_violation(ValueError("UNIQUE"))
