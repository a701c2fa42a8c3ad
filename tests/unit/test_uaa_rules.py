"""The attempt rules of UAA validation, with a property test of their invariants."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.uaa.rules import (
    FAILURE, PENDING, SUCCESS, AttemptState, RuleError, initial, plan_save, problems,
)

TODAY = date(2026, 11, 23)


def save(attempts, sequence, status, day=None):
    return plan_save(attempts, sequence, status, day, TODAY).apply(attempts)


def test_initial_state_is_sound():
    assert problems(initial()) == []


def test_failure_adds_a_pending_row():
    after = save(initial(), 1, FAILURE, date(2026, 3, 24))
    assert [(a.sequence, a.status) for a in after] == [(1, FAILURE), (2, PENDING)]


def test_success_needs_a_date_not_in_the_future():
    with pytest.raises(RuleError, match="date de présentation"):
        plan_save(initial(), 1, SUCCESS, None, TODAY)
    with pytest.raises(RuleError, match="futur"):
        plan_save(initial(), 1, SUCCESS, TODAY + timedelta(days=1), TODAY)


def test_date_not_before_the_previous_attempt():
    after = save(initial(), 1, FAILURE, date(2026, 3, 24))
    with pytest.raises(RuleError, match="précéder"):
        plan_save(after, 2, SUCCESS, date(2026, 3, 1), TODAY)


def test_wrong_failure_corrected_into_success_removes_the_pending_row():
    after = save(initial(), 1, FAILURE, date(2026, 3, 24))
    corrected = save(after, 1, SUCCESS, date(2026, 3, 24))
    assert [(a.sequence, a.status) for a in corrected] == [(1, SUCCESS)]


def test_wrong_success_corrected_into_failure_adds_a_pending_row():
    after = save(initial(), 1, SUCCESS, date(2026, 3, 4))
    corrected = save(after, 1, FAILURE, date(2026, 3, 4))
    assert [(a.sequence, a.status) for a in corrected] == [(1, FAILURE), (2, PENDING)]


def test_only_the_last_encoded_attempt_can_change():
    after = save(initial(), 1, FAILURE, date(2026, 3, 3))
    after = save(after, 2, FAILURE, date(2026, 3, 10))
    with pytest.raises(RuleError, match="dernière présentation"):
        plan_save(after, 1, SUCCESS, date(2026, 3, 3), TODAY)


def test_cancelling_an_encoding_leaves_one_row_to_encode():
    after = save(initial(), 1, FAILURE, date(2026, 3, 3))
    cancelled = save(after, 1, PENDING)
    assert [(a.sequence, a.status) for a in cancelled] == [(1, PENDING)]


def test_problems_names_broken_invariants():
    broken = [AttemptState(1, SUCCESS, date(2026, 1, 1)), AttemptState(2, SUCCESS, date(2026, 1, 2))]
    assert "plus d'une réussite" in problems(broken)
    assert "un échec n'est pas suivi d'une ligne à encoder" in problems([AttemptState(1, FAILURE, date(2026, 1, 1))])


operations = st.lists(
    st.tuples(st.integers(min_value=0, max_value=6), st.sampled_from([PENDING, SUCCESS, FAILURE]),
              st.one_of(st.none(), st.integers(min_value=-400, max_value=5))),
    max_size=25,
)


@settings(max_examples=300)
@given(operations)
def test_any_sequence_of_allowed_saves_keeps_the_invariants(ops):
    attempts = initial()
    for index, status, offset in ops:
        sequence = sorted(a.sequence for a in attempts)[index % len(attempts)]
        day = None if offset is None else TODAY + timedelta(days=offset)
        try:
            plan = plan_save(attempts, sequence, status, day, TODAY)
        except RuleError:
            continue
        attempts = plan.apply(attempts)
        assert problems(attempts) == [], (ops, attempts)
