"""Login names, the password policy and throttling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from portal.accounts import rules


def test_plain_name():
    assert rules.base_username("Marie", "Dupont") == "marie.dupont"


def test_accents_and_case_are_folded():
    assert rules.base_username("Élodie", "Lefèvre-Brûlé") == "elodie.lefevrebrule"


def test_compound_first_name_over_limit_becomes_initials():
    # "jeanfrancois.bernard" is exactly 20 characters: it fits, so no initials.
    assert rules.base_username("Jean-François", "Bernard") == "jeanfrancois.bernard"
    assert rules.base_username("Jean-François", "Bernardini") == "jf.bernardini"


def test_the_guide_example_with_a_longer_name():
    assert rules.base_username("Marie-Christine", "Vandenberghe") == "mc.vandenberghe"


def test_truncation_at_twenty():
    name = rules.base_username("Alexandre", "Vanderstraetenbroeck")
    assert len(name) == 20 and name.startswith("alexandre.vander")


def test_duplicates_get_a_numeric_suffix():
    taken = {"marie.dupont", "marie.dupont2"}
    assert rules.unique_username("Marie", "Dupont", taken) == "marie.dupont3"


def test_suffix_keeps_the_limit():
    base = rules.base_username("Alexandre", "Vanderstraetenbroeck")
    assert len(rules.unique_username("Alexandre", "Vanderstraetenbroeck", {base})) == 20


names = st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll"), max_codepoint=0x17F) | st.sampled_from(" -'"),
                min_size=1, max_size=40).filter(lambda s: any(rules._slug(c) for c in s))


@given(names, names, st.sets(st.text(max_size=20), max_size=5))
def test_usernames_are_short_ascii_and_free(first, last, taken):
    name = rules.unique_username(first, last, taken)
    assert 0 < len(name) <= 20
    assert name.isascii() and name == name.lower()
    assert name not in taken
    assert all(c.isalnum() or c == "." for c in name)


def test_password_policy_lists_every_problem_in_french():
    problems = rules.password_problems("abc")
    assert "au moins 8 caractères" in problems[0]
    assert any("majuscule" in p for p in problems) and any("chiffre" in p for p in problems)


def test_password_must_not_contain_the_name():
    assert rules.password_problems("Dupont2024x", "Marie", "Dupont")
    assert rules.password_problems("xxMARIExx9", "Marie", "Dupont")
    assert rules.password_problems("Solide-Secret-9", "Marie", "Dupont") == []


def test_throttle_after_five_recent_failures():
    now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    recent = [now - timedelta(minutes=m) for m in range(5)]
    assert rules.is_throttled(recent, now)
    assert not rules.is_throttled(recent[:4], now)
    old = [now - timedelta(minutes=20 + m) for m in range(10)]
    assert not rules.is_throttled(old, now)
    assert rules.throttle_retry_after(recent, now) == timedelta(minutes=11)
