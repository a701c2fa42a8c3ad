"""The pooled SQLite engine (portal/core/sqlite_engine.py): reads and writes in the event loop's thread, and what
happens when another program holds SQLite's write lock. SQLite only."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading

import pytest

from portal.core.db import atomic, engine, is_sqlite
from portal.messaging.tables import Message
from portal.settings import settings

pytestmark = [pytest.mark.anyio,
              pytest.mark.skipif(not is_sqlite(), reason="the pooled engine is SQLite's")]

INSERT = "INSERT INTO message (kind, subject, body, created_at, demo) VALUES ('applicatif', {}, 'x', {}, {})"


@pytest.fixture
async def reusing(demo):
    """The engine as the running app uses it (connections kept, reads and writes in the loop's thread)."""
    db = engine()
    db.start_reuse()
    yield db
    await db.close_idle()


@contextlib.asynccontextmanager
async def ticking():
    """A counter of the turns the event loop gives a ticker task (every 5 ms when the loop is free), started in the
    test's own loop for the block and cancelled after it."""
    counter = {"n": 0}

    async def tick():
        while True:
            counter["n"] += 1
            await asyncio.sleep(0.005)

    ticker = asyncio.get_running_loop().create_task(tick())
    try:
        yield counter
    finally:
        ticker.cancel()


def _foreign_writer_for(seconds: float) -> threading.Thread:
    """Another program's connection that holds the write lock for ``seconds``, then commits."""
    other = sqlite3.connect(settings.sqlite_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("UPDATE message SET subject = subject WHERE id < 0")

    def release():
        other.execute("COMMIT")
        other.close()

    timer = threading.Timer(seconds, release)
    timer.start()
    return timer


async def _count(subject: str) -> int:
    return len(await Message.raw("SELECT id FROM message WHERE subject = {}", subject))


async def test_reads_use_query_only_connections_of_the_loop_thread(reusing):
    assert await _count("personne") == 0
    reader = reusing._readers[-1]
    with pytest.raises(sqlite3.OperationalError):
        reader.execute("DELETE FROM message")
    assert await Message.count() > 0


async def test_a_transaction_waits_for_another_program_without_stopping_the_loop(reusing):
    async with ticking() as counter:
        timer = _foreign_writer_for(0.3)
        async with atomic():  # BEGIN in the loop's thread fails at once: the transaction waits in a thread
            await Message.raw(INSERT, "après l'autre programme", "2026-11-23T10:00:00+00:00", False)
        timer.join()
        assert counter["n"] >= 10  # the loop kept serving during the ~0.3 s wait
        assert await _count("après l'autre programme") == 1


async def test_a_lone_write_waits_for_another_program_too(reusing):
    async with ticking() as counter:
        timer = _foreign_writer_for(0.3)
        await Message.raw(INSERT, "écriture seule", "2026-11-23T10:00:00+00:00", False)
        timer.join()
        assert counter["n"] >= 10
        assert await _count("écriture seule") == 1


def _exclusive_holder_for(seconds: float) -> threading.Timer:
    """Another connection that holds the database exclusively for ``seconds``, as the last connection of another
    process does while it checkpoints and removes the log on closing: a new connection cannot read the schema."""
    other = sqlite3.connect(settings.sqlite_path, isolation_level=None, check_same_thread=False)
    other.execute("PRAGMA locking_mode = EXCLUSIVE")
    other.execute("BEGIN EXCLUSIVE")
    other.execute("UPDATE message SET subject = subject WHERE id < 0")
    timer = threading.Timer(seconds, other.close)
    timer.start()
    return timer


@pytest.mark.parametrize("in_transaction", [False, True])
async def test_a_writer_opened_while_the_database_is_held_exclusively_waits(reusing, in_transaction):
    """With no idle writer, a write opens one; a locked database then sends the write through a connection's
    thread, which waits, instead of failing with « database is locked »."""
    await Message.raw(INSERT, "avant", "2026-11-23T10:00:00+00:00", False)  # a writer, then none idle
    while reusing._writers:
        reusing._writers.pop().close()
    timer = _exclusive_holder_for(0.3)
    if in_transaction:
        async with atomic():
            await Message.raw(INSERT, "pendant", "2026-11-23T10:00:00+00:00", False)
    else:
        await Message.raw(INSERT, "pendant", "2026-11-23T10:00:00+00:00", False)
    timer.join()
    assert await _count("pendant") == 1


async def test_a_long_transaction_lets_the_loop_run_and_a_failed_one_leaves_nothing(reusing):
    async with ticking() as counter:
        await asyncio.sleep(0.01)
        async with atomic():
            assert reusing.current_transaction.get().inline  # begun in the loop's thread
            before = counter["n"]
            for i in range(3000):
                await Message.raw(INSERT, f"lot {i}", "2026-11-23T10:00:00+00:00", False)
            during = counter["n"] - before
        assert during >= 2  # the ticker got turns while the statements ran (every 10 ms of them)
        assert len(await Message.raw("SELECT id FROM message WHERE subject LIKE 'lot %'")) == 3000
        with pytest.raises(sqlite3.IntegrityError):
            async with atomic():
                await Message.raw(INSERT, "annulé", "2026-11-23T10:00:00+00:00", False)
                await Message.raw("INSERT INTO message (id, kind, subject, body, created_at, demo) "
                                  "SELECT id, kind, subject, body, created_at, demo FROM message LIMIT 1")
        assert await _count("annulé") == 0
        assert not reusing.current_transaction.get()
        assert all(not writer.in_transaction for writer in reusing._writers)


async def test_commits_leave_the_log_to_the_checkpoint_thread(reusing):
    """No request's commit copies the log back (automatic checkpoints are off on the engine's connections); the
    Checkpointer thread does it, without losing a write."""
    from portal.core.sqlite_engine import Checkpointer

    async with atomic():
        await Message.raw(INSERT, "journal", "2026-11-23T10:00:00+00:00", False)
    writer = reusing._writers[-1]
    assert writer.execute("PRAGMA wal_autocheckpoint").fetchone()["wal_autocheckpoint"] == 0
    assert reusing._checkpointer._thread.is_alive()
    for i in range(300):  # ~300 pages of log: an automatic checkpoint would not have started yet either
        await Message.raw(INSERT, f"journal {i}", "2026-11-23T10:00:00+00:00", False)
    with sqlite3.connect(settings.sqlite_path) as other:
        busy, logged, copied = Checkpointer.checkpoint(other)
        assert busy == 0 and logged > 0 and copied == logged  # the whole log copied back into the file
    assert await _count("journal") == 1


async def test_the_checkpoint_thread_stops_with_the_app(demo):
    db = engine()
    db.start_reuse()
    thread = db._checkpointer._thread
    await db.close_idle()
    assert not thread.is_alive() and db._checkpointer is None
