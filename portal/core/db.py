"""Database lifecycle and transactions, the same for SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from contextlib import asynccontextmanager

from piccolo.engine import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.querystring import QueryString

from portal.settings import settings

_engine = None


def engine():
    """The configured Piccolo engine, found once (as each Piccolo table keeps it: ``Table._meta.db``)."""
    global _engine
    if _engine is None:
        _engine = engine_finder()
    return _engine


#: Prebuilt statements as the engine runs them, by template: ``{}`` turned into ``?`` or ``$n`` once.
_compiled: dict[tuple[str, str], str] = {}
_COMPILED_MAX = 4096


def _compile(template: str, engine_type: str, count: int) -> str:
    key = (template, engine_type)
    sql = _compiled.get(key)
    if sql is None:
        sql, _ = QueryString(template, *([None] * count)).compile_string(engine_type=engine_type)
        if len(_compiled) < _COMPILED_MAX:  # templates are the code's own: a bound that is never reached
            _compiled[key] = sql
    return sql


async def query(template: str, *args) -> list[dict]:
    """Run a prebuilt statement (Piccolo's ``{}`` placeholders, one per argument) and return its rows as dicts:
    what ``Table.raw(template, *args)`` does, in the current transaction or outside, without building and
    compiling the template again at each call (Piccolo's query objects cost more than the hot statements they
    run). The statement is counted in the engine's ``query_id``, as Piccolo counts its own."""
    db = engine()
    sql = _compile(template, db.engine_type, len(args))
    db.get_query_id()
    transaction = db.current_transaction.get()
    if isinstance(db, PostgresEngine):
        if transaction is not None:
            rows = await transaction.connection.fetch(sql, *args)
        elif db.pool is not None:
            rows = await db._run_in_pool(sql, args)
        else:
            rows = await db._run_in_new_connection(sql, args)
        return [dict(row) for row in rows]
    if transaction is not None:
        return await db._run_in_existing_connection(transaction.connection, sql, list(args))
    return await db._run_in_new_connection(sql, list(args))


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
