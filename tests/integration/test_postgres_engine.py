"""The PostgreSQL engine (portal/core/postgres_engine.py): statements outside a transaction run on connections
kept in a free list of at most half the pool; a failed statement's connection goes back to the pool; transactions
still borrow from the pool. PostgreSQL only."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from piccolo.querystring import QueryString

from portal.core.db import engine, is_sqlite
from portal.core.postgres_engine import PooledPostgresEngine

pytestmark = [pytest.mark.anyio, pytest.mark.skipif(is_sqlite(), reason="the PostgreSQL engine's pool")]

PID = "SELECT pg_backend_pid() AS pid"


@pytest.fixture
async def pooled():
    """An engine of its own on the test database, with a pool of four connections."""
    db = PooledPostgresEngine(config=engine().config)
    await db.start_connection_pool(min_size=1, max_size=4)
    yield db
    await db.close_connection_pool()


async def _pid(db: PooledPostgresEngine) -> int:
    return (await db.run_querystring(QueryString(PID)))[0]["pid"]


async def test_statements_one_after_the_other_reuse_one_kept_connection(pooled):
    first = await _pid(pooled)
    assert [await _pid(pooled) for _ in range(5)] == [first] * 5
    assert len(pooled._free) == 1


async def test_the_free_list_keeps_at_most_half_the_pool(pooled):
    async def slow():
        return (await pooled.run_querystring(QueryString("SELECT pg_backend_pid() AS pid, pg_sleep(0.05)")))[0]["pid"]

    pids = await asyncio.gather(*(slow() for _ in range(4)))  # four at once: four connections
    assert len(set(pids)) == 4
    assert len(pooled._free) == 2  # the other two went back to the pool
    async with pooled.transaction():  # a transaction still finds a connection in the pool, and does its own work
        inside = (await pooled.run_querystring(QueryString(PID)))[0]["pid"]
    assert inside not in {c.get_server_pid() for c in pooled._free}


async def test_a_failed_statement_gives_its_connection_back_to_the_pool(pooled):
    await _pid(pooled)
    with pytest.raises(asyncpg.exceptions.DivisionByZeroError):
        await pooled.run_querystring(QueryString("SELECT 1 / 0 AS nothing"))
    assert pooled._free == []
    assert isinstance(await _pid(pooled), int)  # the next statement has a connection from the pool
    assert len(pooled._free) == 1


async def test_a_cancelled_statement_does_not_come_back_to_the_free_list(pooled):
    await _pid(pooled)
    task = asyncio.get_running_loop().create_task(pooled.run_querystring(QueryString("SELECT pg_sleep(5)")))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert pooled._free == []
    assert isinstance(await _pid(pooled), int)  # the next statement runs (on a connection the pool gave)


async def test_closing_the_pool_gives_the_kept_connections_back(pooled):
    await _pid(pooled)
    await pooled.close_connection_pool()
    assert pooled._free == [] and pooled.pool is None
    await pooled.start_connection_pool(min_size=1, max_size=4)  # the fixture closes it again
    assert isinstance(await _pid(pooled), int)
