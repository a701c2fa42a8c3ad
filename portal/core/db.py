"""Database lifecycle and transactions, the same for SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from contextlib import asynccontextmanager

from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from portal.settings import settings


def engine():
    """The configured Piccolo engine."""
    return engine_finder()


def is_sqlite() -> bool:
    """True on the embedded SQLite engine."""
    return isinstance(engine(), SQLiteEngine)


def prepare_sqlite_file() -> None:
    """Switch the SQLite file to WAL once: readers then never wait for the writer."""
    if settings.is_postgres:
        return
    settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(settings.sqlite_path) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")


async def keep_session(connection) -> None:
    """What the pool does to a connection it takes back, beyond asyncpg's own ROLLBACK of a transaction left open:
    nothing. asyncpg's default sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` — a second
    round trip for each of Piccolo's queries, which borrow a connection per statement (measured: a tenth of a
    dashboard's CPU). The portal leaves no session state to undo: its advisory locks are ``_xact`` ones, released
    with their transaction; it sets no session variable, listens to nothing and keeps no cursor outside a
    transaction."""


async def open_database() -> None:
    """Called when the app starts: WAL on SQLite, the connection pool on PostgreSQL."""
    db = engine()
    if isinstance(db, PostgresEngine):
        if not settings.db_pool:
            return
        await db.start_connection_pool(min_size=2, max_size=settings.db_pool_max, reset=keep_session)
    else:
        prepare_sqlite_file()
        if hasattr(db, "start_reuse"):
            db.start_reuse()
    from portal.accounts.sessions import (
        housekeeping,  # late import: accounts builds on this module
    )

    await housekeeping()


async def close_database() -> None:
    """Called when the app stops."""
    db = engine()
    if isinstance(db, PostgresEngine) and db.pool is not None:
        await db.close_connection_pool()
    elif hasattr(db, "close_idle"):
        await db.close_idle()


def transaction():
    """A write transaction: IMMEDIATE on SQLite (take the write lock first, no upgrade deadlock)."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        return db.transaction(transaction_type=TransactionType.immediate)
    return db.transaction()


@asynccontextmanager
async def atomic():
    """``async with atomic():`` runs the block in one write transaction (nested blocks join the outer one)."""
    db = engine()
    if db.current_transaction.get() is not None:
        yield
        return
    async with transaction():
        yield


def is_unique_violation(error: BaseException) -> bool:
    """True when ``error`` is the database refusing a duplicate (a UNIQUE index), on SQLite or PostgreSQL: the
    refusal of the loser of a race that a check before the insert could not see."""
    if isinstance(error, sqlite3.IntegrityError):
        return "UNIQUE" in str(error)
    return type(error).__name__ == "UniqueViolationError"  # asyncpg


async def ping() -> bool:
    """True when the database answers a trivial query."""
    rows = await engine().run_ddl("SELECT 1 AS ok")
    return bool(rows)
