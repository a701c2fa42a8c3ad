"""A Piccolo SQLite engine that keeps a few connections open.

Piccolo's ``SQLiteEngine`` opens a new aiosqlite connection (a new thread) for every query outside a transaction,
which costs about as much as the query itself. This engine keeps idle connections in a small list and reuses
them; each was opened once with its PRAGMAs. Connections are in autocommit mode (``isolation_level=None``), so
every statement sees the latest committed state (WAL). Transactions keep Piccolo's own connection handling.

No asyncio primitive is held across calls: the idle list works from any event loop (the test client serves
requests on a loop of its own), and a query that finds no idle connection simply opens one.

Write transactions (``BEGIN IMMEDIATE``) reuse the same idle connections, and within one process they take turns
on an asyncio lock before asking SQLite for its write lock. SQLite has one writer at a time anyway; a writer that
finds the lock taken sleeps in its busy handler (1, 2, 5, 10 … 100 ms between tries), which is what made the p95
of concurrent saves climb. Queued on the lock, the next writer starts the moment the previous one commits; only
writers of *different* processes (``--workers``) then take turns on an OS lock on a file beside the database
(``flock``), where SQLite's busy handler would have slept up to 100 ms between tries. A writer that finds it
taken tries again at each turn of the event loop, serving the process's other requests in between, for up to
:data:`LOCK_SPIN_SECONDS` (pausing :data:`LOCK_IDLE_PAUSE` after a turn that served nothing else, rather than
spinning); only then does it wait in a thread (another process writes for long: an import).
Waiting in a thread at once was dearer than it looks: under saves from two workers, about three writers in four
found the lock taken, and each paid a hand-off to a thread and back; worse, the thread got the lock while the
event loop was busy with another request, and held it unused until the loop came back to it, so the other
process found it taken in turn. Measured, two workers, the UAA save chain: 1.11–1.28 → 0.96–1.04 ms of server
CPU a save, the baseline 0.46–0.48 → 0.44–0.45 ms (bench/README.md).

Round trips: aiosqlite runs each connection in a thread of its own, and its cursor API takes three trips to that
thread per statement (execute, fetch, close), each a queue hand-off and a wake-up of the event loop: about 125 µs of
CPU, ten times the statement. Here a statement is ONE trip (:func:`_fetch_all` runs in the connection's thread),
and a read outside a transaction (``SELECT``) runs at once in the event loop's own thread, on a plain ``sqlite3``
reader connection opened ``query_only``: about 12 µs. In WAL mode a reader never waits for a writer; the reader
connections have no busy timeout, and a read that finds the database locked anyway (a database not in WAL mode)
goes through a connection's thread instead, where waiting does not stop the event loop. A long read does hold the
event loop while it runs, like any computation of the request; the portal's reads are indexed and short.

Writes run in the event loop's thread too, once the writer has its turn (below): ``BEGIN IMMEDIATE``, the
statements and ``COMMIT`` on a plain writer connection, without a single hand-off, so the write lock is held for
the statements' own time (a fraction of a millisecond) instead of several turns of a busy event loop — it was the
queue of writers, not the CPU, that bounded the saves per second. The writer connections have no busy timeout
either: if another program (a ``portal`` command) holds SQLite's write lock, ``BEGIN`` fails at once and the
transaction is run through a connection's thread, which waits for it. A long write transaction (an import) lets
the event loop serve other requests every 10 ms of statements.

Reuse is switched on by the app's start-up (:meth:`start_reuse`) and off at shutdown (:meth:`close_idle`):
aiosqlite runs each connection in a non-daemon thread, so a short command (``portal demo``) that left one open
would never exit. Outside the app, queries open and close their own connection as Piccolo does.

Checkpoints: in WAL mode the commit that takes the log past 1,000 pages copies them back into the database file
and syncs it (SQLite's automatic checkpoint), and a write runs in the event loop's thread: measured here, one
commit in a hundred took 1 to 50 ms instead of 50 µs, every request of the process waiting meanwhile. Once reuse
is on, the portal's connections do no automatic checkpoint (``wal_autocheckpoint = 0``); a thread of the process
(:class:`Checkpointer`) runs a PASSIVE checkpoint every half second instead: it never blocks a reader or a writer,
and SQLite releases the GIL while it copies and syncs. The last connection to close checkpoints what is left.

The log only starts again from its beginning when a writer finds it entirely copied back. Under a steady stream of
writes a PASSIVE checkpoint never gets there (commits append while it copies), so the log grew without end:
measured, 530 MB in 20 s of saves. Every page read looks the page up in the log's index first, so every read got
slower as the log grew: the identity query took 29 µs with a log of 4,000 pages, 275 µs with 130,000. So when the
log held more than :data:`RESTART_FRAMES` pages at its PASSIVE checkpoint, the Checkpointer takes the writers'
turn (the ``flock`` above, from its own descriptor) and checkpoints again: nothing is appended meanwhile, so the
copy reaches the end of the log (only what was appended during the first copy is left: a short pause for
writers), and the next write starts the log over.

Converters: Piccolo registers ``sqlite3`` converters by declared column type, and they run for every value read.
Its INTEGER converter (every id and foreign key) decodes the bytes, builds a ``Decimal`` and then an ``int``:
about a microsecond a value, a fifth of a 750-cell grid's reads. :func:`register_fast_converters` puts in front of
the most read types converters that give the same values from the bytes directly, and fall back to Piccolo's for
anything unusual (an INTEGER column holding ``1.0``, say).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import fcntl
import os
import sqlite3
import threading
import time
import weakref
from typing import Any

import aiosqlite
from piccolo.engine import sqlite as piccolo_sqlite
from piccolo.engine.sqlite import SQLiteEngine, SQLiteTransaction, TransactionType, dict_factory


def _int_out(value: bytes) -> int:
    """An INTEGER column's value: ``int`` reads the digits from the bytes; Piccolo's converter for the rest."""
    try:
        return int(value)
    except ValueError:
        return piccolo_sqlite.convert_int_out(value)


def _boolean_out(value: bytes) -> bool:
    """A BOOLEAN column's value (Piccolo stores 1 or 0): what Piccolo's converter gives, without decoding."""
    return value == b"1"


def _timestamptz_out(value: bytes) -> datetime.datetime:
    """A TIMESTAMPTZ column's value: the stored ISO text, in UTC, as Piccolo's converter gives it."""
    return datetime.datetime.fromisoformat(value.decode()).replace(tzinfo=datetime.UTC)


def _date_out(value: bytes) -> datetime.date:
    """A DATE column's value, as Piccolo's converter gives it."""
    return datetime.date.fromisoformat(value.decode())


def register_fast_converters() -> None:
    """Register the converters above for their declared types (process-wide, like Piccolo's own)."""
    for declared, converter in (("INTEGER", _int_out), ("BOOLEAN", _boolean_out),
                                ("TIMESTAMPTZ", _timestamptz_out), ("DATE", _date_out)):
        sqlite3.register_converter(declared, converter)


register_fast_converters()

WRITES = frozenset({"INSERT", "UPDATE", "DELETE"})  # statements that write (Piccolo marks only inserts)


def _fetch_all(connection: sqlite3.Connection, query: str, args: list[Any]) -> list:
    """Run one statement and read all its rows (in whichever thread calls it)."""
    cursor = connection.execute(query, args)
    try:
        return cursor.fetchall()
    finally:
        cursor.close()


def _is_locked(error: sqlite3.OperationalError) -> bool:
    """True for SQLite's "database is locked" / "busy" (another connection holds the lock)."""
    message = str(error)
    return "locked" in message or "busy" in message


CHECKPOINT_EVERY = 0.5  # seconds between two checkpoints of the WAL by the process's Checkpointer thread
RESTART_FRAMES = 1000  # pages in the log at a PASSIVE checkpoint beyond which writers wait for a complete one
NO_AUTOCHECKPOINT = "PRAGMA wal_autocheckpoint = 0"  # on the connections opened while a Checkpointer runs


class Checkpointer:
    """Copies the write-ahead log back into the database file in a thread of its own (see the module's
    docstring), so that no request's commit does it, and has the log start over when it grows."""

    def __init__(self, connection_kwargs: dict[str, Any], lock_path: str | None = None):
        self._kwargs = connection_kwargs | {"timeout": 0, "check_same_thread": False}
        self._lock_path = lock_path
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (a Checkpointer runs once: the engine makes a new one for each start)."""
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        connection = sqlite3.connect(**self._kwargs)
        # a descriptor of its own: flock() locks are held per open file, so this one queues with the writers of
        # its own process too
        lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600) if self._lock_path else None
        try:
            while not self._stop.wait(CHECKPOINT_EVERY):
                self.checkpoint(connection, lock_fd)
        finally:
            if lock_fd is not None:
                os.close(lock_fd)
            connection.close()

    @staticmethod
    def checkpoint(connection: sqlite3.Connection, lock_fd: int | None = None) -> tuple[int, int, int] | None:
        """One PASSIVE checkpoint: (busy, pages in the log, pages copied), or None when SQLite refused it (another
        process checkpointing at the same moment; the next turn will do it). With ``lock_fd`` (the writers'
        lock file), a log longer than :data:`RESTART_FRAMES` pages is then copied back to its very end while
        writers wait (the result is that second checkpoint's), so that the next write starts it over."""
        result = Checkpointer._passive(connection)
        if lock_fd is None or result is None or result[1] <= RESTART_FRAMES:
            return result
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        try:
            return Checkpointer._passive(connection)
        finally:
            fcntl.flock(lock_fd, fcntl.LOCK_UN)

    @staticmethod
    def _passive(connection: sqlite3.Connection) -> tuple[int, int, int] | None:
        with contextlib.suppress(sqlite3.Error):
            return tuple(connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
        return None

    def stop(self) -> None:
        """Stop the thread and wait for it (a checkpoint under way finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


BREATHE = 0.010  # seconds of statements after which a long write transaction lets the event loop run


async def _one_trip(connection: aiosqlite.Connection, query: str, args: list[Any] | None = None) -> list:
    """One statement in the connection's thread, in one round trip (aiosqlite's cursor API takes three)."""
    return await connection._execute(_fetch_all, connection._conn, query, args or [])


_process_id = os.getpid()  # a system call each time otherwise, twice a write: kept, and renewed in a forked child


def _forked() -> None:
    global _process_id
    _process_id = os.getpid()


os.register_at_fork(after_in_child=_forked)


LOCK_SPIN_SECONDS = 0.002  # how long a writer keeps trying the other processes' lock between the loop's turns
#: A turn of the loop shorter than this served nothing else: the writer then pauses for :data:`LOCK_IDLE_PAUSE`
#: before trying again, instead of spinning.
LOCK_IDLE_TURN = 20e-6
LOCK_IDLE_PAUSE = 50e-6


async def _lock_soon(fd: int) -> bool:
    """Take the processes' write lock (``flock``) if it is free now or within :data:`LOCK_SPIN_SECONDS`: tried
    again at each turn of the event loop, which serves the process's other requests in between. False when it is
    still taken (the caller then waits for it in a thread).

    A turn that served nothing else (the process's other requests all wait for this writer) would make the next
    try a spin: a system call and a loop turn every few microseconds, on the core the other process needs to
    finish its transaction. Then the writer pauses :data:`LOCK_IDLE_PAUSE` (the loop has nothing to serve meanwhile;
    a request arriving then waits that long at most) before trying again."""
    deadline = None
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
        moment = time.perf_counter()
        if deadline is None:
            deadline = moment + LOCK_SPIN_SECONDS
        elif moment > deadline:
            return False
        await asyncio.sleep(0)
        if time.perf_counter() - moment < LOCK_IDLE_TURN:
            time.sleep(LOCK_IDLE_PAUSE)


class WriteLock:
    """Writers take turns: first within the event loop (asyncio), then across processes (``flock``)."""

    def __init__(self, engine: PooledSQLiteEngine):
        self._engine = engine
        self._local = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait for the turn of this writer."""
        await self._local.acquire()
        try:
            fd = self._engine.lock_file()
            if not await _lock_soon(fd):  # another process writes for long (an import): wait in a thread
                await asyncio.get_running_loop().run_in_executor(None, fcntl.flock, fd, fcntl.LOCK_EX)
        except BaseException:
            self._local.release()
            raise

    def release(self) -> None:
        """Hand the turn to the next writer."""
        try:
            fcntl.flock(self._engine.lock_file(), fcntl.LOCK_UN)
        finally:
            self._local.release()


class PooledSQLiteTransaction(SQLiteTransaction):
    """A transaction on a reused connection, queued on the process's write lock when it is a write."""

    engine: PooledSQLiteEngine

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None or not self.engine._reuse:
            return await super().__aenter__()
        self._lock = None
        self.inline = False
        if self.transaction_type != TransactionType.deferred:
            self._lock = self.engine.write_lock()
            await self._lock.acquire()
        try:
            if self._lock is not None:
                self.inline = self.engine._begin_now(self)
            if not self.inline:
                self.connection = self.engine._idle.pop() if self.engine._idle else await self.engine._open()
                await self.begin()
        except BaseException:
            if self._lock is not None:
                self._lock.release()
            raise
        self.breathed_at = time.perf_counter()
        self.context = self.engine.current_transaction.set(self)
        return self

    async def begin(self) -> None:
        await _one_trip(self.connection, f"BEGIN {self.transaction_type.value}")

    async def _end(self, statement: str) -> None:
        if getattr(self, "inline", False):
            _fetch_all(self.connection, statement, [])
        else:
            await _one_trip(self.connection, statement)

    async def commit(self) -> None:
        await self._end("COMMIT")
        self._committed = True

    async def rollback(self) -> None:
        await self._end("ROLLBACK")
        self._rolled_back = True

    async def __aexit__(self, exception_type, exception, traceback) -> bool:
        if self._parent is not None or not hasattr(self, "_lock"):
            return await super().__aexit__(exception_type, exception, traceback)
        healthy = False
        try:
            if exception:
                if not self._rolled_back:
                    await self.rollback()
            elif not self._committed and not self._rolled_back:
                await self.commit()
            healthy = True
        finally:
            self.engine.current_transaction.reset(self.context)
            if self._lock is not None:
                self._lock.release()
            if self.inline:
                self.engine._give_back_writer(self.connection, healthy)
            else:
                await self.engine._give_back(self.connection, healthy)
        return exception is None


class PooledSQLiteEngine(SQLiteEngine):
    """``SQLiteEngine`` reusing up to ``max_idle`` open connections for queries outside transactions."""

    def __init__(self, *args: Any, max_idle: int = 8, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._idle: list[aiosqlite.Connection] = []
        self._readers: list[sqlite3.Connection] = []  # used in the event loop's thread, for reads
        self._writers: list[sqlite3.Connection] = []  # used in the event loop's thread, for writes
        self._max_idle = max_idle
        self._reuse = False
        # one lock per event loop: the test client serves requests on a loop of its own
        self._write_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, WriteLock] = (
            weakref.WeakKeyDictionary())
        self._lock_fd: int | None = None
        self._checkpointer: Checkpointer | None = None

    def write_lock(self) -> WriteLock:
        """The lock the write transactions of this process (and event loop) take turns on."""
        loop = asyncio.get_running_loop()
        lock = self._write_locks.get(loop)
        if lock is None:
            lock = self._write_locks[loop] = WriteLock(self)
        return lock

    def lock_file(self) -> int:
        """The descriptor of ``<database>.write-lock``, opened once per process."""
        if self._lock_fd is None or self._lock_pid != _process_id:
            self._lock_fd = os.open(self.path + ".write-lock", os.O_RDWR | os.O_CREAT, 0o600)
            self._lock_pid = _process_id
        return self._lock_fd

    def transaction(self, transaction_type: TransactionType = TransactionType.deferred,
                    allow_nested: bool = True) -> SQLiteTransaction:
        """A transaction that reuses an open connection (and queues writers) once reuse is on."""
        return PooledSQLiteTransaction(engine=self, transaction_type=transaction_type, allow_nested=allow_nested)

    async def _give_back(self, connection: aiosqlite.Connection, healthy: bool) -> None:
        if healthy and self._reuse and not connection.in_transaction and len(self._idle) < self._max_idle:
            self._idle.append(connection)
        else:
            await connection.close()

    def start_reuse(self) -> None:
        """Keep connections open between queries (until :meth:`close_idle`), and checkpoint the WAL in a thread."""
        self._reuse = True
        if self._checkpointer is None:
            self._checkpointer = Checkpointer(self.connection_kwargs, self.path + ".write-lock")
            self._checkpointer.start()


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
        if self._checkpointer is not None:
            await connection.execute(NO_AUTOCHECKPOINT)
        return connection

    async def _run_in_new_connection(self, query: str, args: list[Any] | None = None, query_type: str = "generic",
                                     table: Any = None):
        if not self._reuse:
            return await super()._run_in_new_connection(query, args, query_type, table)
        verb = query.lstrip()[:6].upper()
        if verb == "SELECT":
            try:
                return self._read_now(query, args or [])
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) and "busy" not in str(error):
                    raise
                # locked (not in WAL mode?): wait for it in a connection's thread, below
        # a lone INSERT / UPDATE / DELETE is a write transaction of its own: it queues like the others
        lock = self.write_lock() if verb in WRITES else None
        if lock is not None:
            await lock.acquire()
        try:
            if lock is not None:
                done = self._write_now(query, args or [])
                if done is not None:
                    writer, rows = done
                    self._give_back_writer(writer, True)
                    return rows
                # another program holds SQLite's write lock: wait for it in a connection's thread, below
            connection = self._idle.pop() if self._idle else await self._open()
            healthy = False
            try:
                rows = await _one_trip(connection, query, args)
                healthy = True
                return rows
            finally:
                await self._give_back(connection, healthy)
        finally:
            if lock is not None:
                lock.release()

    def _read_now(self, query: str, args: list[Any]) -> list:
        """A read in the event loop's thread, on a reader connection (see the module's docstring)."""
        reader = self._readers.pop() if self._readers else self._open_reader()
        healthy = False
        try:
            rows = _fetch_all(reader, query, args)
            healthy = True
            return rows
        finally:
            if healthy and self._reuse and len(self._readers) < self._max_idle:
                self._readers.append(reader)
            else:
                reader.close()

    def _open_writer(self) -> sqlite3.Connection:
        writer = sqlite3.connect(**(self.connection_kwargs | {"timeout": 0, "check_same_thread": False}))
        try:
            writer.row_factory = dict_factory
            writer.execute("PRAGMA foreign_keys = 1")
            writer.execute("PRAGMA synchronous = NORMAL")  # reads the schema: may find the database locked
            if self._checkpointer is not None:
                writer.execute(NO_AUTOCHECKPOINT)
        except BaseException:
            writer.close()
            raise
        return writer

    def _give_back_writer(self, writer: sqlite3.Connection, healthy: bool) -> None:
        if healthy and self._reuse and not writer.in_transaction and len(self._writers) < self._max_idle:
            self._writers.append(writer)
        else:
            if writer.in_transaction:
                writer.rollback()
            writer.close()

    def _write_now(self, query: str, args: list[Any]) -> tuple[sqlite3.Connection, list] | None:
        """Run ``query`` on a writer connection in this thread: the writer (still to give back) and the rows, or
        None when another program holds SQLite's write lock (nothing was done; the caller waits in a thread).

        Opening a writer can find the database locked too: the last connection to close (another process's, or
        one closing in a thread of this one) checkpoints and removes the log under an exclusive lock, and a new
        connection without a busy timeout cannot even read the schema meanwhile (seen once in CI at an app's
        start-up, right after a seed)."""
        if self._writers:
            writer = self._writers.pop()
        else:
            try:
                writer = self._open_writer()
            except sqlite3.OperationalError as error:
                if _is_locked(error):
                    return None
                raise
        try:
            return writer, _fetch_all(writer, query, args)
        except sqlite3.OperationalError as error:
            self._give_back_writer(writer, True)
            if _is_locked(error):
                return None
            raise
        except BaseException:
            self._give_back_writer(writer, False)
            raise

    def _begin_now(self, transaction: PooledSQLiteTransaction) -> bool:
        """Begin ``transaction`` on a writer connection in this thread; False when another program holds the
        write lock (the caller then begins it through a connection's thread, which waits)."""
        done = self._write_now(f"BEGIN {transaction.transaction_type.value}", [])
        if done is None:
            return False
        transaction.connection = done[0]
        return True

    def _open_reader(self) -> sqlite3.Connection:
        reader = sqlite3.connect(**(self.connection_kwargs | {"timeout": 0, "check_same_thread": False}))
        reader.row_factory = dict_factory
        reader.execute("PRAGMA query_only = 1")
        return reader

    async def _run_in_existing_connection(self, connection, query: str, args: list[Any] | None = None,
                                          query_type: str = "generic", table: Any = None):
        """A statement inside a transaction. Piccolo sends ``PRAGMA foreign_keys = 1`` before each one (a second
        round trip to the connection's thread); the connections of this engine were opened with it already."""
        if isinstance(connection, sqlite3.Connection):  # a transaction begun in this thread
            rows = _fetch_all(connection, query, args or [])
            transaction = self.current_transaction.get()
            if transaction is not None and time.perf_counter() - transaction.breathed_at > BREATHE:
                await asyncio.sleep(0)  # a long transaction: let the event loop serve the others a moment
                transaction.breathed_at = time.perf_counter()
            return rows
        if not self._reuse or self.get_version_sync() < 3.35:
            return await super()._run_in_existing_connection(connection, query, args, query_type, table)
        return await _one_trip(connection, query, args)

    async def close_idle(self) -> None:
        """Stop reusing connections and close the idle ones (at shutdown)."""
        self._reuse = False
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        idle, self._idle = self._idle, []
        plain, self._readers, self._writers = self._readers + self._writers, [], []
        for connection in plain:
            connection.close()
        for connection in idle:
            await connection.close()
