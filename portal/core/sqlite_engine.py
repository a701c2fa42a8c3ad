"""A Piccolo SQLite engine that keeps a few connections open.

Piccolo's ``SQLiteEngine`` opens a new aiosqlite connection (a new thread) for every query outside a transaction,
which costs about as much as the query itself. This engine keeps idle connections in a small list and reuses
them; each was opened once with its PRAGMAs. Connections are in autocommit mode (``isolation_level=None``), so
every statement sees the latest committed state (WAL). Transactions keep Piccolo's own connection handling.

No asyncio primitive is held across calls: the idle list works from any event loop (the test client serves
requests on a loop of its own), and a query that finds no idle connection simply opens one.

Reuse is switched on by the app's start-up (:meth:`start_reuse`) and off at shutdown (:meth:`close_idle`):
aiosqlite runs each connection in a non-daemon thread, so a short command (``portal demo``) that left one open
would never exit. Outside the app, queries open and close their own connection as Piccolo does.
"""

from __future__ import annotations

from typing import Any

import aiosqlite
from piccolo.engine.sqlite import SQLiteEngine, dict_factory


class PooledSQLiteEngine(SQLiteEngine):
    """``SQLiteEngine`` reusing up to ``max_idle`` open connections for queries outside transactions."""

    def __init__(self, *args: Any, max_idle: int = 8, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._idle: list[aiosqlite.Connection] = []
        self._max_idle = max_idle
        self._reuse = False

    def start_reuse(self) -> None:
        """Keep connections open between queries (until :meth:`close_idle`)."""
        self._reuse = True

    async def _open(self) -> aiosqlite.Connection:
        connection = await self.get_connection()
        return connection

    async def get_connection(self) -> aiosqlite.Connection:
        """A new connection with the portal's PRAGMAs (transactions use it too).

        ``synchronous=NORMAL`` is safe with WAL (a power cut may lose the last commits, never corrupt the file)
        and spares every commit a disk sync: about 2 ms per write.
        """
        connection = await aiosqlite.connect(**self.connection_kwargs)
        connection.row_factory = dict_factory  # type: ignore[assignment]
        await connection.execute("PRAGMA foreign_keys = 1")
        await connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    async def _run_in_new_connection(self, query: str, args: list[Any] | None = None, query_type: str = "generic",
                                     table: Any = None):
        if not self._reuse:
            return await super()._run_in_new_connection(query, args, query_type, table)
        connection = self._idle.pop() if self._idle else await self._open()
        healthy = False
        try:
            async with connection.execute(query, args or []) as cursor:
                rows = await cursor.fetchall()
            healthy = True
            return rows
        finally:
            if healthy and self._reuse and not connection.in_transaction and len(self._idle) < self._max_idle:
                self._idle.append(connection)
            else:
                await connection.close()

    async def close_idle(self) -> None:
        """Stop reusing connections and close the idle ones (at shutdown)."""
        self._reuse = False
        idle, self._idle = self._idle, []
        for connection in idle:
            await connection.close()
