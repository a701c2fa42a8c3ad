"""The number of an attestation de validation: CPU-YYYY-NNNNNN-C, a sequence per year and a Luhn check digit."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.uaa.attestations import (
    check_digit,
    format_number,
    initials,
    next_number,
    normalize_number,
    parse_number,
)


def test_format():
    assert format_number(2026, 123) == "CPU-2026-000123-" + check_digit("2026000123")
    assert re.fullmatch(r"CPU-2026-000001-\d", format_number(2026, 1))


def test_known_check_digits():
    # Luhn: 7992739871 → 3 (the classic example); 2026000123: 3·2+2+1·2+0+0+0+6·2(→3)+2+0+2 = 17 → 3
    assert check_digit("7992739871") == "3"
    assert check_digit("2026000123") == "3"
    assert format_number(2026, 123) == "CPU-2026-000123-3"


def test_sequence_grows_past_six_digits():
    number = format_number(2026, 1_234_567)
    assert number.startswith("CPU-2026-1234567-")
    assert parse_number(number) == (2026, 1_234_567)


@pytest.mark.parametrize("bad", [(999, 1), (10000, 1), (2026, 0), (2026, -4)])
def test_format_refuses_nonsense(bad):
    with pytest.raises(ValueError):
        format_number(*bad)


def test_parse_and_normalize():
    assert parse_number("CPU-2026-000123-3") == (2026, 123)
    assert parse_number(" cpu-2026-000123-3 ") == (2026, 123)
    assert parse_number("CPU–2026–000123–3") == (2026, 123)  # en dashes typed by a word processor
    assert normalize_number(" cpu 2026-000123-3") == "CPU2026-000123-3"
    assert parse_number("CPU-2026-000123-5") is None  # wrong check digit
    assert parse_number("CPU-2026-123-3") is None  # too short
    assert parse_number("XYZ-2026-000123-3") is None
    assert parse_number("") is None


def test_next_number_is_per_year():
    assert next_number(2026, None) == format_number(2026, 1)
    assert next_number(2026, format_number(2026, 41)) == format_number(2026, 42)
    assert next_number(2027, format_number(2026, 41)) == format_number(2027, 1)
    assert next_number(2026, "garbage") == format_number(2026, 1)


@given(st.integers(1000, 9999), st.integers(1, 10**7))
def test_round_trip(year, sequence):
    assert parse_number(format_number(year, sequence)) == (year, sequence)


@given(st.integers(2000, 2100), st.integers(1, 999_999), st.data())
def test_any_single_wrong_digit_is_caught(year, sequence, data):
    number = format_number(year, sequence)
    positions = [i for i, char in enumerate(number) if char.isdigit()]
    position = data.draw(st.sampled_from(positions))
    replacement = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))
    typo = number[:position] + replacement + number[position + 1:]
    assert parse_number(typo) is None


def test_initials():
    assert initials("Lucas", "Petit") == "L. P."
    assert initials("Jean-François", "Bernard") == "J.-F. B."
    assert initials("Émilie", "d'Ursel") == "É. D."
    assert initials("", "Petit") == "P."
