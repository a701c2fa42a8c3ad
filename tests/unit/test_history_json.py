"""The JSON text of an event's ``before`` and ``after`` (portal.history.services._json)."""

import json
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from portal.history.services import _json, _jsonable

_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text() | st.dates() | st.decimals(allow_nan=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


def test_dates_and_accents_are_written_as_text():
    text = _json({"presented_on": date(2026, 11, 24), "summary": "Réussite", "pending_removed": (4, 5)})
    assert text == '{"presented_on": "2026-11-24", "summary": "Réussite", "pending_removed": [4, 5]}'


def test_a_key_json_cannot_take_is_written_as_its_text():
    assert json.loads(_json({date(2026, 1, 2): 1, "n": Decimal("1.5")})) == {"2026-01-02": 1, "n": "1.5"}


@given(st.dictionaries(st.text(max_size=8), _values, max_size=5))
def test_the_same_json_as_the_values_made_plain_first(value):
    assert _json(value) == json.dumps(_jsonable(value), ensure_ascii=False)
