"""Throwaway databases for test runs: a temporary SQLite file, or a PostgreSQL database created and dropped.

Imported by conftest files *before* anything from ``portal``: the engine is chosen from the environment when
Piccolo's configuration is first imported.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid

PG_ADMIN_URL = os.environ.get("PORTAL_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_url(database: str) -> str:
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


async def _pg_admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def prepare_environment(engine: str) -> dict:
    """Point the portal at a fresh database of ``engine``; returns what :func:`drop` needs."""
    data_dir = tempfile.mkdtemp(prefix="portal-test-")
    os.environ["PORTAL_DATA_DIR"] = data_dir
    os.environ.setdefault("PORTAL_SECRET_KEY", "test-secret-key-not-for-production")
    os.environ["PORTAL_ARGON2_PROFILE"] = "test"
    # Litestar's test client serves requests on its own event loop while the test body queries the database
    # on another; a connection pool belongs to one loop, so integration tests connect per query. The live
    # server of the browser tests and the benchmarks run with the pool.
    os.environ["PORTAL_DB_POOL"] = "0"
    info = {"engine": engine, "data_dir": data_dir}
    if engine == "postgres":
        name = f"portal_test_{uuid.uuid4().hex[:10]}"
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
        os.environ["PORTAL_DATABASE_URL"] = _pg_url(name)
        info["database"] = name
    else:
        os.environ.pop("PORTAL_DATABASE_URL", None)
    return info


def drop(info: dict) -> None:
    """Drop the PostgreSQL database of a run (SQLite files go with the temporary folder)."""
    import shutil

    if info.get("engine") == "postgres":
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{info["database"]}" WITH (FORCE)'))
    shutil.rmtree(info["data_dir"], ignore_errors=True)


async def reset_tables() -> None:
    """Empty every table of the portal (not the migration table)."""
    from piccolo.apps.migrations.commands.base import BaseMigrationManager
    from piccolo.engine import engine_finder
    from piccolo.engine.sqlite import SQLiteEngine

    tables = []
    for app_config in BaseMigrationManager().get_app_registry().app_configs.values():
        tables.extend(app_config.table_classes)
    names = [t._meta.tablename for t in tables]
    engine = engine_finder()
    if isinstance(engine, SQLiteEngine):
        async with engine.transaction():
            await engine.run_ddl("PRAGMA defer_foreign_keys = ON")
            for name in reversed(names):
                await engine.run_ddl(f'DELETE FROM "{name}"')
    else:
        await engine.run_ddl("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE")
