"""The UAA blocks of the dashboards (teacher, learner, direction). Grouped queries: a constant number per page.

The school-wide aggregates scan every attempt of the school (thousands of rows, 5 to 25 ms of database time),
so each process keeps them per establishment together with the ``uaa_stamp`` they were computed at
(:mod:`portal.uaa.stamps`): a dashboard gets the stamp with its session and recomputes only when it moved. A
figure is never served stale.
"""

from __future__ import annotations

from piccolo.query.functions.aggregate import Count

from portal.core.db import query
from portal.uaa.rules import FAILURE, PENDING, SUCCESS
from portal.uaa.stamps import kept, school_stamp
from portal.uaa.tables import Attempt, Learner

TEACHER_LIMIT = 15


async def learners_to_encode(establishment_id: int, stamp: int | None = None) -> dict:
    """Learners of the school with UAA left to encode (cached against the school's stamp)."""
    if stamp is None:
        stamp = await school_stamp(establishment_id)
    return await kept("to_encode", establishment_id, stamp, _learners_to_encode)


async def cpu_indicators(establishment_id: int, stamp: int | None = None) -> list[dict]:
    """The CPU indicators of the school (cached against the school's stamp)."""
    if stamp is None:
        stamp = await school_stamp(establishment_id)
    return await kept("cpu", establishment_id, stamp, _cpu_indicators)


async def _learners_to_encode(establishment_id: int) -> dict:
    """Learners of the school with UAA left to encode, most first, and how many learners in all have some."""
    rows = await Attempt.select(
        Attempt.learner.id, Attempt.learner.last_name, Attempt.learner.first_name, Attempt.learner.study_year,
        Count(Attempt.id, alias="pending"),
    ).where(
        (Attempt.status == PENDING) & (Attempt.learner.establishment == establishment_id)
        & (Attempt.learner.active == True)  # noqa: E712
    ).group_by(
        Attempt.learner.id, Attempt.learner.last_name, Attempt.learner.first_name, Attempt.learner.study_year,
    )
    rows.sort(key=lambda r: (-r["pending"], r["learner.last_name"], r["learner.first_name"]))
    return {"total": len(rows), "rows": rows[:TEACHER_LIMIT],
            "attempts": sum(r["pending"] for r in rows)}


# From the learner records of the account to their attempts (indexes on learner.account, then attempt.learner):
# Piccolo's LEFT JOIN from the attempts kept SQLite from starting at the learner, and it scanned every attempt.
# A learner record without attempts gives one row (status NULL, n 0); an account that is no learner's, none.
_OWN_RESULTS_SQL = """
SELECT a.status AS status, COUNT(a.id) AS n FROM learner l LEFT JOIN uaa_attempt a ON a.learner = l.id
WHERE l.account = {} GROUP BY a.status
"""


async def own_results(account_id: int) -> dict | None:
    """A learner's own counts by status, or None when the account is no learner's (one query)."""
    rows = await query(_OWN_RESULTS_SQL, account_id)
    if not rows:
        return None
    counts = {r["status"]: int(r["n"]) for r in rows}
    return {"success": counts.get(SUCCESS, 0), "failure": counts.get(FAILURE, 0), "pending": counts.get(PENDING, 0)}


async def _cpu_indicators(establishment_id: int) -> list[dict]:
    """Per option and year: learners, attempts encoded, and per UAA the success rate (SPEC §8, CPU indicators)."""
    learners = await Learner.select(
        Learner.option.code, Learner.option.label, Learner.year, Count(Learner.id, alias="n"),
    ).where((Learner.establishment == establishment_id) & (Learner.active == True)).group_by(  # noqa: E712
        Learner.option.code, Learner.option.label, Learner.year)
    attempts = await Attempt.select(
        Attempt.learner.option.code, Attempt.uaa.year, Attempt.uaa.code, Attempt.uaa.label, Attempt.uaa.position,
        Attempt.status, Count(Attempt.id, alias="n"),
    ).where((Attempt.learner.establishment == establishment_id) & (Attempt.learner.active == True)).group_by(  # noqa: E712
        Attempt.learner.option.code, Attempt.uaa.year, Attempt.uaa.code, Attempt.uaa.label, Attempt.uaa.position,
        Attempt.status)
    groups: dict[tuple, dict] = {}
    for row in learners:
        key = (row["option.code"], row["year"])
        groups[key] = {"option": row["option.code"], "label": row["option.label"], "year": row["year"],
                       "learners": row["n"], "encoded": 0, "pending": 0, "uaa": {}}
    for row in attempts:
        key = (row["learner.option.code"], row["uaa.year"])
        group = groups.setdefault(key, {"option": key[0], "label": "", "year": key[1], "learners": 0,
                                        "encoded": 0, "pending": 0, "uaa": {}})
        uaa = group["uaa"].setdefault(row["uaa.code"], {"code": row["uaa.code"], "label": row["uaa.label"],
                                                        "position": row["uaa.position"], "success": 0, "failure": 0,
                                                        "pending": 0})
        kind = {SUCCESS: "success", FAILURE: "failure"}.get(row["status"], "pending")
        uaa[kind] += row["n"]
        group["pending" if kind == "pending" else "encoded"] += row["n"]
    result = []
    for key in sorted(groups, key=lambda k: (str(k[0]), k[1] or 0)):
        group = groups[key]
        uaas = sorted(group["uaa"].values(), key=lambda u: (u["position"], u["code"]))
        for uaa in uaas:
            presented = uaa["success"] + uaa["failure"]
            uaa["rate"] = round(100 * uaa["success"] / presented) if presented else None
        group["uaa"] = uaas
        result.append(group)
    return result
