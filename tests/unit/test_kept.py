"""KeptValues: a value is served while its stamp holds, computed again once the stamp moves, never kept without
a stamp, and the store starts afresh beyond its size."""

from __future__ import annotations

import asyncio

from portal.core.kept import KeptValues


def _counting():
    calls = []

    async def compute():
        calls.append(1)
        return {"n": len(calls)}

    return calls, compute


def test_a_value_is_kept_while_its_stamp_holds_and_computed_again_when_it_moves():
    kept: KeptValues[dict] = KeptValues(10)
    calls, compute = _counting()
    first = asyncio.run(kept.get("school", 7, compute))
    assert asyncio.run(kept.get("school", 7, compute)) is first and len(calls) == 1
    moved = asyncio.run(kept.get("school", 8, compute))
    assert moved == {"n": 2} and len(calls) == 2
    assert asyncio.run(kept.get("other", 8, compute)) == {"n": 3}  # keys apart


def test_zero_is_a_stamp_and_none_keeps_nothing():
    kept: KeptValues[dict] = KeptValues(10)
    calls, compute = _counting()
    asyncio.run(kept.get("a", 0, compute))
    asyncio.run(kept.get("a", 0, compute))
    assert len(calls) == 1
    asyncio.run(kept.get("b", None, compute))
    asyncio.run(kept.get("b", None, compute))
    assert len(calls) == 3


def test_the_store_starts_afresh_beyond_its_size_and_on_clear():
    kept: KeptValues[dict] = KeptValues(2)
    calls, compute = _counting()
    for key in ("a", "b", "c"):  # "c" finds the store full: it starts afresh
        asyncio.run(kept.get(key, 1, compute))
    asyncio.run(kept.get("a", 1, compute))
    assert len(calls) == 4
    asyncio.run(kept.get("c", 1, compute))
    assert len(calls) == 4  # kept after the fresh start
    kept.clear()
    asyncio.run(kept.get("c", 1, compute))
    assert len(calls) == 5
