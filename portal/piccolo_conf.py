"""Piccolo configuration: the engine (SQLite by default, PostgreSQL when configured) and the app registry."""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from piccolo.conf.apps import AppRegistry

from portal.core.postgres_engine import PooledPostgresEngine
from portal.core.sqlite_engine import PooledSQLiteEngine
from portal.settings import settings


def _postgres_config(url: str) -> dict:
    parsed = urlparse(url)
    return {
        "host": parsed.hostname or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": unquote(parsed.username) if parsed.username else "postgres",
        "password": unquote(parsed.password) if parsed.password else None,
        "database": parsed.path.lstrip("/") or "portal",
    }


if settings.is_postgres:
    DB = PooledPostgresEngine(config=_postgres_config(settings.database_url), log_queries=False)
else:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # A generous busy timeout: concurrent writers queue on SQLite's lock instead of failing.
    DB = PooledSQLiteEngine(path=str(settings.sqlite_path), timeout=30, check_same_thread=False)

APP_REGISTRY = AppRegistry(
    apps=[
        "portal.directory.piccolo_app",
        "portal.accounts.piccolo_app",
        "portal.history.piccolo_app",
        "portal.messaging.piccolo_app",
        "portal.documents.piccolo_app",
        "portal.uaa.piccolo_app",
        "portal.conventions.piccolo_app",
        "portal.competencies.piccolo_app",
        "portal.dashboards.piccolo_app",
    ]
)
