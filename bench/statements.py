"""The SQL of a UAA save, statement by statement: ``python -m bench.statements [--saves 1500] [--group 1]``.

What a run of :mod:`bench.run` cannot show on a shared VM: its ratios move by ±0.07 between two runs of the same
code, more than a change of 50 µs to a save of 1.5 ms. This times the statements alone, in this process, on a copy
of the seeded large dataset (:func:`bench.run.prepare_sqlite`, the runner's cache), with the portal's own SQL
(:mod:`portal.uaa.attempt_saves`, :mod:`portal.history.services`) and plain ``sqlite3`` connections opened with
the portal's PRAGMAs. Each save is the bench's chain: a pending row of the bench teacher's school encoded as an
Echec (the read of the UAA's rows, ``BEGIN IMMEDIATE``, the guarded update, the new pending row, the history
event, ``COMMIT``).

Two layouts, one after the other, on fresh copies:

- **one connection** reads and writes: its page cache stays warm;
- **two processes**, as served with ``--workers 2``: two writer connections, each with its reader, take turns, so
  every transaction starts after the other's commit, which empties the page caches (SQLite's WAL mode).

``--group N`` puts N saves in each write transaction (each under a savepoint), to measure what a group commit
would save. The figures are printed (µs, median and mean of each statement; the mean of a whole save) and written
to ``bench/results/statements-sqlite-<timestamp>.json``. The WAL is checkpointed every 200 saves, outside the
timings, as the server's checkpointer thread does.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import run as runner
from portal.history import services as history
from portal.uaa import attempt_saves
from portal.uaa.rules import PENDING

RESULTS = runner.RESULTS
STEPS = ("read", "begin", "update", "insert", "event", "commit")
CHECKPOINT_EVERY = 200
TEACHER = "bench.enseignant"


def _sql(template: str) -> str:
    """A portal template (Piccolo's ``{}`` placeholders) as sqlite3 runs it."""
    return template.replace("{}", "?")


def _connect(path: Path) -> sqlite3.Connection:
    """A connection with the PRAGMAs of the portal's (portal.core.sqlite_engine), in autocommit mode."""
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ("foreign_keys = 1", "synchronous = NORMAL", "wal_autocheckpoint = 0"):
        connection.execute(f"PRAGMA {pragma}")
    return connection


def _pending(connection: sqlite3.Connection, count: int) -> tuple[int, int, list[tuple]]:
    """The bench teacher's account and school, and ``count`` pending attempts of that school (one per UAA of a
    learner: the first pending row of each)."""
    account, school = connection.execute(
        "SELECT a.id, f.establishment FROM account a JOIN affiliation f ON f.account = a.id "
        "WHERE a.username = ? AND f.establishment IS NOT NULL", (TEACHER,)).fetchone()
    rows = connection.execute(
        "SELECT min(a.id) FROM uaa_attempt a JOIN learner l ON l.id = a.learner "
        "WHERE l.establishment = ? AND a.status = ? GROUP BY a.learner, a.uaa LIMIT ?",
        (school, PENDING, count)).fetchall()
    return account, school, [r[0] for r in rows]


class Timer:
    """Durations of each step, in seconds."""

    def __init__(self):
        self.steps: dict[str, list[float]] = {step: [] for step in STEPS}

    def run(self, step: str, connection: sqlite3.Connection, sql: str, args=()) -> list:
        began = time.perf_counter()
        rows = connection.execute(sql, args).fetchall()
        self.steps[step].append(time.perf_counter() - began)
        return rows

    def figures(self) -> dict:
        result = {step: {"median_us": round(statistics.median(values) * 1e6, 1),
                         "mean_us": round(statistics.mean(values) * 1e6, 1)}
                  for step, values in self.steps.items() if values}
        saves = len(self.steps["read"])
        total = sum(sum(values) for values in self.steps.values())
        result["save_mean_us"] = round(total / saves * 1e6, 1)
        return result


def _writes(timer: Timer, writer: sqlite3.Connection, data: list[tuple], account: int, school: int,
            savepoint: bool) -> None:
    """One save's writes (the rows ``data`` as read): the guarded update, the pending row, the event."""
    target = data[0]
    attempt, learner, uaa, version = target["id"], target["learner"], target["uaa"], target["version"]
    stamp = datetime.now(UTC).isoformat()
    args = ["echec", "2026-11-02", account, stamp, attempt, version, learner, school, len(data)]
    for row in data:
        args += [row["id"], row["version"]]
    args += [learner, uaa]
    if savepoint:
        writer.execute("SAVEPOINT save")
    changed = timer.run("update", writer, _sql(attempt_saves._update_sql(False, len(data))), args)
    if not changed:
        raise SystemExit(f"La tentative {attempt} n'a pas été enregistrée : le jeu de mesure a changé.")
    sequence = max(row["sequence"] for row in data) + 1
    timer.run("insert", writer, _sql(attempt_saves._INSERT_PENDING_SQL),
              (learner, uaa, sequence, PENDING, school, account, stamp))
    after = {"status": "echec", "presented_on": "2026-11-02", "version": version + 1, "learner_id": learner,
             "uaa_id": uaa, "uaa": "bench", "sequence": target["sequence"], "pending_removed": [],
             "pending_added": 0}
    timer.run("event", writer, _sql(history._INSERT_SQL),
              (stamp, account, TEACHER, "enseignant", school, None, "uaa_attempt", attempt, "encodage",
               "Mesure des requêtes d'un enregistrement (données de mesure)",
               json.dumps({"status": PENDING, "presented_on": None, "version": version}), json.dumps(after)))
    if savepoint:
        writer.execute("RELEASE save")


def measure(path: Path, saves: int, processes: int, group: int) -> dict:
    """Run ``saves`` Echec saves on the database at ``path``; ``processes`` 1 or 2 (see the module's docstring)."""
    pairs = []  # (writer, reader) of each process
    for _ in range(processes):
        writer = _connect(path)
        reader = writer if processes == 1 else _connect(path)  # one process: one connection reads and writes
        if reader is not writer:
            reader.execute("PRAGMA query_only = 1")
        reader.row_factory = sqlite3.Row
        pairs.append((writer, reader))
    account, school, attempts = _pending(pairs[0][1], saves)
    if len(attempts) < saves:
        raise SystemExit(f"{len(attempts)} lignes à encoder seulement dans l'école du compte {TEACHER}.")
    read_sql = _sql(attempt_saves._UAA_ATTEMPTS_SQL)
    timer = Timer()
    checkpointer = _connect(path)
    for index in range(0, saves, group):
        writer, reader = pairs[(index // group) % processes]
        batch = [timer.run("read", reader, read_sql, (attempt,)) for attempt in attempts[index:index + group]]
        timer.run("begin", writer, "BEGIN IMMEDIATE")
        for data in batch:
            _writes(timer, writer, [dict(row) for row in data], account, school, savepoint=group > 1)
        timer.run("commit", writer, "COMMIT")
        if (index // group) % (CHECKPOINT_EVERY // group or 1) == 0:
            checkpointer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    for connection in {c for pair in pairs for c in pair} | {checkpointer}:
        connection.close()
    return timer.figures()


def main(argv: list[str] | None = None) -> None:
    """Command line: see the module's docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saves", type=int, default=1500, help="enregistrements mesurés par disposition")
    parser.add_argument("--group", type=int, default=1, help="enregistrements par transaction d'écriture")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="portal-bench-statements-"))
    try:
        prepared = runner.prepare_sqlite("large", work, fresh=False, skip_seed=False, log=print)
        seeded = Path(prepared["database"])
        figures: dict = {"saves": args.saves, "group": args.group, "machine": runner.machine(),
                         "date": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"), "layouts": {}}
        for processes, name in ((1, "one connection"), (2, "two processes")):
            copy = work / f"layout-{processes}.sqlite3"
            shutil.copyfile(seeded, copy)
            figures["layouts"][name] = result = measure(copy, args.saves, processes, args.group)
            print(f"\n=== {name}, {args.saves} enregistrements, {args.group} par transaction ===")
            for step in STEPS:
                figure = result[step]
                print(f"  {step:<7} médiane {figure['median_us']:7.1f} µs   moyenne {figure['mean_us']:7.1f} µs")
            print(f"  un enregistrement, en moyenne : {result['save_mean_us']} µs")
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"statements-sqlite-{figures['date']}.json").write_text(json.dumps(figures, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
