"""Attestation timings on the large dataset (issue #3: one attestation ≤ 150 ms once warm, a batch of 30 ≤ 3 s).

``python -m bench.attestations [--engine sqlite|postgres|both] [--size large]`` prepares the same database as the
load runner (:mod:`bench.run`: SQLite from its cache, PostgreSQL a throwaway database), then, in a fresh process
pointed at it, times the services themselves (no HTTP: the figures are the work a request or a batch job does):

- **single, cold**: the first attestation issued by the process (WeasyPrint loads its fonts and stylesheets);
- **single, warm**: ten more Réussites of the bench school issued one after the other (number, PDF/A rendering,
  document + attestation + history in one transaction): median and maximum;
- **batch of 30, to issue**: :func:`portal.uaa.attestation_batches.build_batch` on 30 Réussites without an
  attestation (issuing all 30, then putting their stored pages together);
- **batch of 30, already issued**: the same batch again (every document read, checked and merged).

The measuring process settles its heap once its database is open, as every process of ``portal serve`` does at
start-up (:mod:`portal.core.heap`), and lists the pauses of the collector's oldest generation during the ten warm
ones.

The figures are printed and written to ``bench/results/attestations-<engine>-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SINGLE_RUNS = 10
BATCH_SIZE = 30


async def _candidates(count: int) -> list[int]:
    """Réussites (with a date) of the bench teacher's school that have no attestation yet, in a stable order."""
    from portal.uaa.tables import Attempt

    rows = await Attempt.raw(
        "SELECT a.id FROM uaa_attempt a JOIN learner l ON l.id = a.learner "
        "WHERE a.status = 'reussite' AND a.presented_on IS NOT NULL AND l.active "
        "AND NOT EXISTS (SELECT 1 FROM attestation t WHERE t.attempt = a.id) "
        "AND l.establishment = (SELECT af.establishment FROM affiliation af JOIN account c ON c.id = af.account "
        "                       WHERE c.username = 'bench.enseignant' LIMIT 1) "
        "ORDER BY l.last_name, l.id, a.id LIMIT {}", count)
    ids = [row["id"] for row in rows]
    if len(ids) < count:
        raise SystemExit(f"Seulement {len(ids)} réussites sans attestation dans l'école de mesure ({count} requises).")
    return ids


async def measure() -> dict:
    """Run in the process whose environment names the database: time the services, return the figures."""
    from portal.core import heap
    from portal.core.db import close_database, open_database
    from portal.documents import pdf
    from portal.history.services import SYSTEM
    from portal.uaa.attestation_batches import BatchJob, build_batch
    from portal.uaa.attestations import issue_for_attempt

    await open_database()
    heap.settle(pdf.environment())  # what a serving process does once started (``portal serve``)
    collections = _CollectorPauses()
    try:
        ids = await _candidates(1 + SINGLE_RUNS + BATCH_SIZE)
        began = time.perf_counter()
        await issue_for_attempt(ids[0], SYSTEM)
        cold = (time.perf_counter() - began) * 1000
        singles = []
        collections.pauses.clear()
        for attempt_id in ids[1:1 + SINGLE_RUNS]:
            began = time.perf_counter()
            await issue_for_attempt(attempt_id, SYSTEM)
            singles.append((time.perf_counter() - began) * 1000)
        single_pauses = list(collections.pauses)
        batch = ids[1 + SINGLE_RUNS:]
        began = time.perf_counter()
        await pdf.warm_up()  # what opening the batch page does
        pool_start = (time.perf_counter() - began) * 1000
        timings = {}
        for label in ("to_issue", "issued"):
            job = BatchJob(id=label, establishment_id=0, account_id=0, title="Lot de mesure", total=len(batch))
            began = time.perf_counter()
            content = await build_batch(job, batch, SYSTEM)
            timings[label] = time.perf_counter() - began
            if job.pages != BATCH_SIZE or not content.startswith(b"%PDF"):
                raise SystemExit(f"Lot incomplet : {job.pages} page(s) sur {BATCH_SIZE}.")
        return {
            "single_cold_ms": round(cold, 1),
            "single_warm_median_ms": round(statistics.median(singles), 1),
            "single_warm_max_ms": round(max(singles), 1),
            "single_warm_ms": [round(value, 1) for value in singles],
            "single_warm_gc_pauses_ms": [round(value, 1) for value in single_pauses],
            "pool_start_ms": round(pool_start, 1),
            "pdf_processes": pdf.pool_size(),
            "batch30_to_issue_s": round(timings["to_issue"], 2),
            "batch30_issued_s": round(timings["issued"], 2),
            "batch_bytes": len(content),
        }
    finally:
        collections.stop()
        await pdf.close_pool()
        await close_database()


class _CollectorPauses:
    """The pauses of CPython's collector of the oldest generation (``gc.callbacks``), in milliseconds: a long one
    inside a rendering is what makes one attestation of ten slower than the others."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._began = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self.pauses.append((time.perf_counter() - self._began) * 1000)

    def stop(self) -> None:
        gc.callbacks.remove(self._callback)


def run_engine(engine: str, size: str) -> dict:
    """Prepare ``engine``'s database as the load runner does, measure in a child process, clean up."""
    from bench import run as runner

    work = Path(tempfile.mkdtemp(prefix="portal-bench-attest-"))
    env = runner.base_env(work)
    pg_name = None
    try:
        if engine == "postgres":
            info = runner.prepare_postgres(size, work, skip_seed=False, log=print)
            pg_name = info["database"]
            env["PORTAL_DATABASE_URL"] = info["url"]
        else:
            runner.prepare_sqlite(size, work, fresh=False, skip_seed=False, log=print)
        result = subprocess.run([sys.executable, "-m", "bench.attestations", "--measure"], check=False, cwd=ROOT,
                                env=env, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise SystemExit(f"La mesure a échoué :\n{result.stdout}\n{result.stderr}")
        return json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        if pg_name:
            runner.drop_postgres(pg_name)


def _pauses(pauses: list[float]) -> str:
    """The collector's pauses as printed: their durations in ms, or « aucune »."""
    return f"{pauses} ms" if pauses else "aucune"


def main(argv: list[str] | None = None) -> None:
    """Command line: see the module's docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--engine", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--size", choices=("large", "small"), default="large")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(asyncio.run(measure())))
        return
    engines = ("sqlite", "postgres") if args.engine == "both" else (args.engine,)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for engine in engines:
        figures = run_engine(engine, args.size)
        figures |= {"engine": engine, "size": args.size, "date": stamp, "cpus": os.cpu_count(),
                    "machine": platform.machine()}
        print(f"\n=== attestations, {engine} ===")
        print(f"  une attestation, première du processus : {figures['single_cold_ms']} ms")
        print(f"  une attestation, à chaud (médiane / max sur {SINGLE_RUNS}) : {figures['single_warm_median_ms']} / "
              f"{figures['single_warm_max_ms']} ms   (cible ≤ 150 ms)")
        print(f"    les {SINGLE_RUNS} : {figures['single_warm_ms']} ms ; pauses du ramasse-miettes (génération 2) "
              f"pendant ce temps : {_pauses(figures['single_warm_gc_pauses_ms'])}")
        print(f"  démarrage des {figures['pdf_processes']} processus de rendu : {figures['pool_start_ms']} ms")
        print(f"  lot de {BATCH_SIZE} à délivrer : {figures['batch30_to_issue_s']} s   (cible ≤ 3 s)")
        print(f"  lot de {BATCH_SIZE} déjà délivrées : {figures['batch30_issued_s']} s")
        (RESULTS / f"attestations-{engine}-{stamp}.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
