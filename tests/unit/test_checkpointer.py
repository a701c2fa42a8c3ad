"""The SQLite engine's checkpoint thread keeps the write-ahead log bounded under a steady stream of writes.

A PASSIVE checkpoint copies the log back while writers go on appending, so it never finds the log copied to its
end, and the log only starts over from its beginning when it is: without help, it grew by every page ever written.
The Checkpointer takes the writers' lock for a second checkpoint once the log is long (portal/core/sqlite_engine.py).
These tests write as the portal's writers do (each write transaction under the ``flock`` of the lock file).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time

import pytest

from portal.core import sqlite_engine
from portal.core.sqlite_engine import Checkpointer


def _database(path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA wal_autocheckpoint = 0")  # as on the engine's connections
    # as on the engine's connections too: no disk sync at each commit, so that how many writes the tests make
    # does not hang on the disk's latency (with FULL, one run of the suite made 87 writes in 1.5 s, not thousands)
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    connection.execute("BEGIN")
    connection.executemany("INSERT INTO t (body) VALUES (?)", [("x" * 200,)] * 2000)
    connection.execute("COMMIT")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the tests start from an empty log
    return connection


def _write_for(connection: sqlite3.Connection, lock_path: str, seconds: float, most: int = 10**9) -> int:
    """Write transactions back to back for ``seconds`` (``most`` of them at the most), each under the writers'
    lock; returns how many."""
    lock = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    count, deadline = 0, time.monotonic() + seconds
    try:
        while time.monotonic() < deadline and count < most:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("UPDATE t SET body = ? WHERE id = ?", (f"{count:0200d}", count % 2000 + 1))
                connection.execute("COMMIT")
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
            count += 1
    finally:
        os.close(lock)
    return count


@pytest.mark.parametrize("with_lock", [True, False])
def test_the_log_starts_over_under_steady_writes(tmp_path, monkeypatch, with_lock):
    """With the writers' lock, the log stays within what a few checkpoint intervals write; without it (a
    checkpointer that only runs PASSIVE checkpoints, as before), it holds every page written."""
    monkeypatch.setattr(sqlite_engine, "CHECKPOINT_EVERY", 0.05)
    monkeypatch.setattr(sqlite_engine, "RESTART_FRAMES", 50)
    path = str(tmp_path / "portal.sqlite3")
    writer = _database(path)
    checkpointer = Checkpointer({"database": path}, path + ".write-lock" if with_lock else None)
    checkpointer.start()
    try:
        writes = _write_for(writer, path + ".write-lock", 1.5)
    finally:
        checkpointer.stop()
    log_pages = os.path.getsize(path + "-wal") // 4096
    assert writes > 1000  # each write appends at least one page to the log
    if with_lock:
        assert log_pages < writes / 2  # measured: a fifteenth to a thirtieth
    else:
        assert log_pages >= writes  # the failure the lock prevents: the log never started over
    writer.close()


def test_a_short_log_is_copied_back_without_stopping_writers(tmp_path, monkeypatch):
    """Below RESTART_FRAMES pages the checkpoint does not take the writers' lock: a writer holding it does not
    stop the checkpoint, which copies the whole log back."""
    path = str(tmp_path / "portal.sqlite3")
    writer = _database(path)
    _write_for(writer, path + ".write-lock", 5, most=100)
    lock = os.open(path + ".write-lock", os.O_RDWR)
    held = os.open(path + ".write-lock", os.O_RDWR)
    fcntl.flock(held, fcntl.LOCK_EX)  # a writer's turn under way
    try:
        done: list = []
        reader = sqlite3.connect(path, timeout=0, check_same_thread=False)
        checkpoint = threading.Thread(target=lambda: done.append(Checkpointer.checkpoint(reader, lock)))
        checkpoint.start()
        checkpoint.join(timeout=5)
        reader.close()
        busy, logged, copied = done[0]
        assert busy == 0 and 0 < logged <= sqlite_engine.RESTART_FRAMES and copied == logged
    finally:
        fcntl.flock(held, fcntl.LOCK_UN)
        os.close(held)
        os.close(lock)
        writer.close()
