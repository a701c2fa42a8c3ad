"""The processes' write lock of the SQLite engine (``flock`` on ``<database>.write-lock``): a writer that finds it
taken keeps trying between the event loop's turns for a moment, then waits in a thread
(portal/core/sqlite_engine.py, ``_lock_soon``). Another process is played by a second descriptor of the same file:
``flock`` locks belong to the open file, so two descriptors of one process exclude each other like two processes."""

from __future__ import annotations

import asyncio
import fcntl
import os

import pytest

from portal.core import sqlite_engine


@pytest.fixture
def descriptors(tmp_path):
    """Two descriptors of one lock file: the writer's and the other process's."""
    path = tmp_path / "portal.sqlite3.write-lock"
    mine, other = os.open(path, os.O_RDWR | os.O_CREAT, 0o600), os.open(path, os.O_RDWR)
    yield mine, other
    os.close(mine)
    os.close(other)


def _free_for(fd: int) -> bool:
    """Whether the lock is free for ``fd`` (taken and given back at once)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(fd, fcntl.LOCK_UN)
    return True


def test_a_free_lock_is_taken_at_once(descriptors):
    mine, other = descriptors
    assert asyncio.run(sqlite_engine._lock_soon(mine)) is True
    assert not _free_for(other)


def test_a_lock_released_on_a_turn_of_the_loop_is_taken_without_a_thread(descriptors):
    """The other writer commits while this one waits: the loop runs its callback, and the next try succeeds."""
    mine, other = descriptors
    fcntl.flock(other, fcntl.LOCK_EX)

    async def scenario():
        turns = {"n": 0}

        def release():
            turns["n"] += 1
            fcntl.flock(other, fcntl.LOCK_UN)

        asyncio.get_running_loop().call_soon(release)
        taken = await sqlite_engine._lock_soon(mine)
        return taken, turns["n"]

    assert asyncio.run(scenario()) == (True, 1)
    assert not _free_for(other)


def test_a_lock_held_past_the_spin_is_left_to_the_thread(descriptors, monkeypatch):
    """Held longer than LOCK_SPIN_SECONDS (an import in another process): False, nothing taken, and the loop
    served its other tasks meanwhile."""
    mine, other = descriptors
    monkeypatch.setattr(sqlite_engine, "LOCK_SPIN_SECONDS", 0.02)
    fcntl.flock(other, fcntl.LOCK_EX)

    async def scenario():
        ticks = {"n": 0}

        async def ticker():
            while True:
                ticks["n"] += 1
                await asyncio.sleep(0)

        task = asyncio.get_running_loop().create_task(ticker())
        taken = await sqlite_engine._lock_soon(mine)
        task.cancel()
        return taken, ticks["n"]

    taken, ticks = asyncio.run(scenario())
    assert taken is False and ticks > 10
    fcntl.flock(other, fcntl.LOCK_UN)
    assert _free_for(other)  # this writer took nothing


def test_a_writer_with_nothing_else_to_serve_pauses_instead_of_spinning(descriptors, monkeypatch):
    """The lock held throughout and the loop otherwise idle: the writer tries again after each pause, not at every
    turn of the loop (a spin of system calls on the core the other process needs). A pause of 1 ms over a spin of
    20 ms: about 20 tries; spinning made thousands."""
    mine, other = descriptors
    monkeypatch.setattr(sqlite_engine, "LOCK_SPIN_SECONDS", 0.02)
    monkeypatch.setattr(sqlite_engine, "LOCK_IDLE_PAUSE", 0.001)
    fcntl.flock(other, fcntl.LOCK_EX)
    tries = {"n": 0}

    class CountingFcntl:
        LOCK_EX, LOCK_NB, LOCK_UN = fcntl.LOCK_EX, fcntl.LOCK_NB, fcntl.LOCK_UN

        @staticmethod
        def flock(fd, operation):
            tries["n"] += 1
            return fcntl.flock(fd, operation)

    monkeypatch.setattr(sqlite_engine, "fcntl", CountingFcntl)
    assert asyncio.run(sqlite_engine._lock_soon(mine)) is False
    assert 5 <= tries["n"] <= 40
    fcntl.flock(other, fcntl.LOCK_UN)
