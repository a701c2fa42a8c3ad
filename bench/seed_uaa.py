"""UAA part of the benchmark dataset: learners of the Belgian schools and their attempts (bench data).

Every Belgian learner account of the base set gets a ``Learner`` row in one invented option with 18 UAA (6 a
year, 4th to 6th), then attempts as real schools have them: the UAA of earlier years encoded (mostly Réussite,
some Echec then Réussite), the current year's partly encoded, failures followed by a pending row. Sequences keep
the invariants of :mod:`portal.uaa.rules` (checked in ``tests/integration/test_bench_seed.py``).
"""

from __future__ import annotations

from datetime import date, timedelta

from bench.seed import SeedContext, register
from portal.core.clock import today
from portal.uaa.rules import FAILURE, PENDING, SUCCESS
from portal.uaa.tables import Attempt, Learner, Option, TrainingProfile, Uaa

SCHOOL_YEAR = "2026-2027"
UAA_PER_YEAR = 6
STUDY_YEARS = {4: "1 D2 4 P", 5: "1 D3 5 P", 6: "2 D3 6 P"}


def _attempts_for(rng, learner_id: int, establishment_id: int, year: int, uaa_by_year: dict[int, list[int]],
                  start: date, latest: date) -> list[dict]:
    """The attempts of one learner, each UAA's sequence sound by the rules and dated no later than ``latest``."""
    rows: list[dict] = []
    for uaa_year in range(4, year + 1):
        for uaa_id in uaa_by_year[uaa_year]:
            # A presentation is in the past: the current school year's are pulled back before ``latest`` (with
            # room for a Réussite after an Echec), or the next presentation could not be encoded today, since
            # the rules refuse a date before the previous presentation's.
            day = min(start + timedelta(days=(uaa_year - 4) * 365 + rng.randint(20, 300)),
                      latest - timedelta(days=rng.randint(41, 60)))
            current = uaa_year == year
            outcome = rng.random()
            if current and outcome < 0.45:
                sequence = [(PENDING, None)]
            elif outcome < 0.72 or (current and outcome < 0.8):
                sequence = [(SUCCESS, day)]
            elif current and outcome < 0.9:
                sequence = [(FAILURE, day), (PENDING, None)]
            else:
                sequence = [(FAILURE, day), (SUCCESS, day + timedelta(days=rng.randint(7, 40)))]
            for number, (status, presented_on) in enumerate(sequence, start=1):
                rows.append({"learner": learner_id, "uaa": uaa_id, "sequence": number, "status": status,
                             "presented_on": presented_on, "establishment": establishment_id, "version": 1})
    return rows


@register("uaa")
async def seed_uaa(ctx: SeedContext) -> dict[str, int] | None:
    """Learners, one option with its UAA, and about ``ctx.size.uaa_attempts`` attempts."""
    rng = ctx.rng
    await ctx.insert(Option, [{"code": "9115", "label": "Option de mesure (bench)", "demo": False}])
    option_id = (await Option.select(Option.id).where(Option.code == "9115").first())["id"]
    await ctx.insert(TrainingProfile, [{"option": option_id, "code": "9115-P", "label": "Profil de mesure (bench)",
                                        "short_label": "Profil bench"}])
    profile_id = (await TrainingProfile.select(TrainingProfile.id).where(TrainingProfile.option == option_id)
                  .first())["id"]
    uaa_rows = [{"profile": profile_id, "code": f"9{year}{n:02d}", "label": f"UAA de mesure {year}.{n} (bench)",
                 "weeks": 4 if n < 5 else 5, "year": year, "position": (year - 4) * UAA_PER_YEAR + n,
                 "invented": True}
                for year in (4, 5, 6) for n in range(1, UAA_PER_YEAR + 1)]
    await ctx.insert(Uaa, uaa_rows)
    uaa_by_year: dict[int, list[int]] = {4: [], 5: [], 6: []}
    for row in await Uaa.select(Uaa.id, Uaa.year).where(Uaa.profile == profile_id).order_by(Uaa.position):
        uaa_by_year[row["year"]].append(row["id"])

    belgian = {e["id"] for e in ctx.establishments if e["country"] == "BE"}
    learner_rows = []
    number = 0
    for establishment_id, account_ids in ctx.learners_by_establishment.items():
        if establishment_id not in belgian:
            continue
        for account_id in account_ids:
            number += 1
            year = rng.choice((4, 5, 6))
            learner_rows.append({
                "establishment": establishment_id, "implantation": None, "option": option_id, "account": account_id,
                "cf_number": f"{9000000 + number}/26", "last_name": f"Élève{number:05d}", "first_name": "Bench",
                "sex": rng.choice("MF"), "birth_date": date(2012 - year + 4, 1, 1) + timedelta(days=rng.randint(0, 364)),
                "study_year": STUDY_YEARS[year], "year": year, "school_year": SCHOOL_YEAR, "active": True,
                "demo": False, "version": 1,
            })
    await ctx.insert(Learner, learner_rows)
    learners = await Learner.select(Learner.id, Learner.establishment, Learner.year).where(Learner.option == option_id)
    start = date(2024, 9, 1)
    latest = today() - timedelta(days=1)
    budget = ctx.size.uaa_attempts
    attempts: list[dict] = []
    for learner in learners:
        if len(attempts) >= budget:
            break
        attempts.extend(_attempts_for(rng, learner["id"], learner["establishment"], learner["year"], uaa_by_year, start,
                                      latest))
        if len(attempts) >= 50_000:  # flush in slices: bounded memory for the large set
            await ctx.insert(Attempt, attempts)
            budget -= len(attempts)
            attempts = []
    await ctx.insert(Attempt, attempts)
    return None
