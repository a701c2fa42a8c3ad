"""The SQLite converters registered in front of Piccolo's give the same values as Piccolo's own, for every kind of
text SQLite may hand them."""

from __future__ import annotations

import datetime

from hypothesis import given
from hypothesis import strategies as st
from piccolo.engine import sqlite as piccolo_sqlite

from portal.core import sqlite_engine


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_integers_read_as_piccolo_reads_them(number):
    text = str(number).encode()
    assert sqlite_engine._int_out(text) == piccolo_sqlite.convert_int_out(text) == number
    assert type(sqlite_engine._int_out(text)) is int


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15))
def test_reals_in_an_integer_column_read_as_piccolo_reads_them(number):
    text = repr(number).encode()
    assert sqlite_engine._int_out(text) == piccolo_sqlite.convert_int_out(text)


def test_text_in_an_integer_column_is_refused_as_piccolo_refuses_it():
    for converter in (sqlite_engine._int_out, piccolo_sqlite.convert_int_out):
        try:
            converter(b"bonjour")
        except (ValueError, ArithmeticError):
            continue
        raise AssertionError("text read as a number")


@given(st.datetimes(timezones=st.just(datetime.timezone.utc)), st.dates())
def test_timestamps_dates_and_booleans_read_as_piccolo_reads_them(moment, day):
    stored = moment.isoformat().encode()
    assert sqlite_engine._timestamptz_out(stored) == piccolo_sqlite.convert_timestamptz_out(stored)
    assert sqlite_engine._timestamptz_out(stored).tzinfo == datetime.timezone.utc
    assert sqlite_engine._date_out(day.isoformat().encode()) == piccolo_sqlite.convert_date_out(
        day.isoformat().encode()) == day
    for flag in (b"0", b"1"):
        assert sqlite_engine._boolean_out(flag) is piccolo_sqlite.convert_boolean_out(flag)
