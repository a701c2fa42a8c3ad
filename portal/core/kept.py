"""Values a process keeps against a change counter (a "stamp") that database triggers move.

The dashboards' message boxes (``message_stamp``), their board blocks (``board_stamp``) and the UAA figures and
search lists of a school (``uaa_stamp``) are read far more often than their data changes. Each is kept with the
stamp it was computed at and served while the stamp read with the request is the same: never older than its data,
computed again once after a change.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class KeptValues(Generic[T]):
    """At most ``size`` values by key, each with its stamp (beyond, the process starts afresh: keys are few —
    schools, poles, profiles — and a value is cheap to compute once)."""

    def __init__(self, size: int):
        self._size = size
        self._values: dict[Hashable, tuple[int, T]] = {}

    async def get(self, key: Hashable, stamp: int | None, compute: Callable[[], Awaitable[T]]) -> T:
        """The value kept under ``key`` at ``stamp``, or ``compute()`` kept in its place. ``stamp`` None (the
        counter was not read) computes without keeping. Callers must not modify what they get."""
        if stamp is not None:
            hit = self._values.get(key)
            if hit is not None and hit[0] == stamp:
                return hit[1]
        value = await compute()
        if stamp is not None:
            if len(self._values) >= self._size:
                self._values.clear()
            self._values[key] = (stamp, value)
        return value

    def clear(self) -> None:
        """Forget every kept value (tests start each from a fresh database)."""
        self._values.clear()
