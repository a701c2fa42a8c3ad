"""The UAA part of the demo data (SPEC §11). EVERYTHING HERE IS INVENTED FOR THE DEMO.

Learners, their N° CF, birth dates and results are fictitious; the learner rows carry ``demo = True``. The option
2115 and the UAA come from the reference file (``portal/uaa/reference/uaa.toml``, which says which of them are
real). At « Institut technique démo » (FASE 99107) twelve learners of option 2115 in 4th, 5th and 6th year, one of
them Lucas Petit, linked to the demo account ``lucas.petit``; at « École partenaire démo des Tilleuls » (FASE 99102)
three learners in 4th year. Their attempts show every kind of row: A encoder, Réussite, Echec followed by a row to
encode, Echec then Réussite. Each learner's attempts are built by applying the rules' :func:`plan_save`, as the
encoding screen does, so the invariants of :func:`problems` hold. No attestation is created here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from portal.accounts.tables import Account
from portal.core.clock import BRUSSELS, now
from portal.core.db import atomic
from portal.directory.tables import Establishment, Implantation
from portal.history.services import SYSTEM, record
from portal.uaa.reference import load_reference
from portal.uaa.rules import (
    FAILURE,
    SUCCESS,
    AttemptState,
    initial,
    plan_save,
    problems,
)
from portal.uaa.tables import Attempt, Learner, Option, TrainingProfile, Uaa

OPTION_CODE = "2115"
SCHOOL_YEAR = "2026-2027"
SCHOOL_YEAR_START = 2026
STUDY_YEARS = {4: "1 D2 4 P", 5: "1 D3 5 P", 6: "2 D3 6 P"}
BATCH = 500

#: what happens to one UAA: "P" nothing encoded yet, "S" Réussite, "F" Echec (a row to encode follows),
#: "FS" Echec then Réussite, "FF" two Echecs (a row to encode follows)
Script = tuple[str, ...]


@dataclass(frozen=True)
class DemoLearner:
    """A demo learner: identity, school and year, and the script of the current year's UAA (in order)."""

    school: str  # "itd" or "tilleuls"
    cf_number: str
    last_name: str
    first_name: str
    sex: str
    birth_date: date
    year: int
    current: Script
    earlier: Script = ()  # UAA of the earlier years, in order ("S" when shorter)
    account: str | None = None


DEMO_LEARNERS: tuple[DemoLearner, ...] = (
    # Institut technique démo — 4th year
    DemoLearner("itd", "8507101/23", "Janssens", "Inès", "F", date(2011, 3, 14), 4, ("S", "F", "P", "P", "P")),
    DemoLearner("itd", "8507102/23", "El Amrani", "Yanis", "M", date(2011, 7, 2), 4, ("S", "S", "P", "P", "P")),
    DemoLearner("itd", "8507103/23", "Dupont", "Manon", "F", date(2010, 12, 9), 4, ("FS", "P", "P", "P", "P")),
    DemoLearner("itd", "8507104/23", "Maes", "Théo", "M", date(2011, 9, 27), 4, ("P", "P", "P", "P", "P")),
    # 5th year
    DemoLearner("itd", "8507105/22", "Petit", "Lucas", "M", date(2010, 5, 14), 5, ("S", "F", "P", "P", "P"),
                earlier=("S", "S", "FS", "S", "S"), account="lucas.petit"),
    DemoLearner("itd", "8507106/22", "Peeters", "Sarah", "F", date(2010, 1, 21), 5, ("FF", "S", "P", "P", "P")),
    DemoLearner("itd", "8507107/22", "Benali", "Mehdi", "M", date(2009, 11, 5), 5, ("S", "P", "P", "P", "P"),
                earlier=("S", "FS", "S", "S", "S")),
    DemoLearner("itd", "8507108/22", "Wouters", "Chloé", "F", date(2010, 8, 30), 5, ("F", "P", "P", "P", "P")),
    # 6th year
    DemoLearner("itd", "8507109/21", "Claes", "Nathan", "M", date(2009, 4, 3), 6, ("S", "S", "F", "P", "P")),
    DemoLearner("itd", "8507110/21", "Jacobs", "Lina", "F", date(2009, 6, 18), 6, ("FS", "S", "P", "P", "P"),
                earlier=("S", "S", "S", "FS", "S", "S", "FS", "S", "S", "S")),
    DemoLearner("itd", "8507111/21", "Mertens", "Hugo", "M", date(2008, 12, 24), 6, ("S", "P", "P", "P", "P")),
    DemoLearner("itd", "8507112/21", "Willems", "Zoé", "F", date(2009, 2, 11), 6, ("P", "P", "P", "P", "P")),
    # École partenaire démo des Tilleuls — 4th year
    DemoLearner("tilleuls", "8502201/23", "Lemmens", "Arthur", "M", date(2011, 2, 8), 4, ("S", "P", "P", "P", "P")),
    DemoLearner("tilleuls", "8502202/23", "Hermans", "Jade", "F", date(2011, 10, 16), 4, ("F", "P", "P", "P", "P")),
    DemoLearner("tilleuls", "8502203/23", "Goossens", "Adam", "M", date(2011, 5, 29), 4, ("P", "P", "P", "P", "P")),
)

SCHOOLS = {"itd": "99107", "tilleuls": "99102"}
ENCODED_BY = {"itd": "pierre.leroy", "tilleuls": "jf.bernard"}


def presentation_dates(year_of_uaa: int, learner_year: int, index: int, today: date) -> tuple[date, date]:
    """First and second presentation dates of the ``index``-th UAA of a year, never after ``today``.

    UAA of the current year are presented from mid-September of this school year, two weeks apart; UAA of an
    earlier year from October of that year, five weeks apart. The second presentation is three weeks after the
    first.
    """
    if year_of_uaa == learner_year:
        first = date(SCHOOL_YEAR_START, 9, 15) + timedelta(days=14 * index)
    else:
        start = SCHOOL_YEAR_START - (learner_year - year_of_uaa)
        first = date(start, 10, 6) + timedelta(days=35 * index)
    second = first + timedelta(days=21)
    return min(first, today), min(second, today)


def build_attempts(script: str, dates: tuple[date, date], today: date) -> list[AttemptState]:
    """One UAA's attempts, built by saving each step through :func:`plan_save`; the invariants are asserted."""
    states = initial()
    steps = [] if script == "P" else list(script)
    for number, step in enumerate(steps):
        pending = states[-1]  # the row to encode is always last
        status = SUCCESS if step == "S" else FAILURE
        states = plan_save(states, pending.sequence, status, dates[min(number, 1)], today).apply(states)
    found = problems(states)
    if found:  # never happens: plan_save keeps the invariants
        raise RuntimeError(f"démo UAA incohérente : {', '.join(found)}")
    return states


async def demo_uaa_loaded() -> bool:
    """True when the demo learners are already in the database."""
    return await Learner.exists().where(Learner.cf_number.is_in([learner.cf_number for learner in DEMO_LEARNERS]))


async def load_uaa_demo() -> None:
    """Load the reference data, then the demo learners and their attempts (once; skipped when present)."""
    async with atomic():
        if await demo_uaa_loaded():
            await load_reference()
            return
        loaded = await load_reference(actor=None)  # recorded below, with the demo
        schools = {row["fase"]: row for row in await Establishment.select(Establishment.id, Establishment.fase)
                   .where(Establishment.fase.is_in(list(SCHOOLS.values())))}
        if len(schools) != len(SCHOOLS):
            return  # the directory part of the demo is not there
        implantations = {}
        for row in await Implantation.select(Implantation.id, Implantation.establishment).where(
                Implantation.establishment.is_in([s["id"] for s in schools.values()])).order_by(Implantation.id):
            implantations.setdefault(row["establishment"], row["id"])
        accounts = {row["username"]: row["id"] for row in await Account.select(Account.id, Account.username).where(
            Account.username.is_in(["lucas.petit", *ENCODED_BY.values()]))}
        option = await Option.select(Option.id).where(Option.code == OPTION_CODE).first()
        uaa_rows = await Uaa.select(Uaa.id, Uaa.year, Uaa.position).where(
            Uaa.profile.is_in(TrainingProfile.select(TrainingProfile.id).where(TrainingProfile.option == option["id"]))
        ).order_by(Uaa.position)
        by_year: dict[int, list[int]] = {}
        for row in uaa_rows:
            by_year.setdefault(row["year"], []).append(row["id"])

        learners = []
        for person in DEMO_LEARNERS:
            school = schools[SCHOOLS[person.school]]["id"]
            learners.append(Learner(
                establishment=school, implantation=implantations.get(school), option=option["id"],
                account=accounts.get(person.account) if person.account else None, cf_number=person.cf_number,
                last_name=person.last_name, first_name=person.first_name, sex=person.sex,
                birth_date=person.birth_date, study_year=STUDY_YEARS[person.year], year=person.year,
                school_year=SCHOOL_YEAR, active=True, demo=True,
            ))
        await Learner.insert(*learners)
        ids = {row["cf_number"]: row["id"] for row in await Learner.select(Learner.id, Learner.cf_number).where(
            Learner.cf_number.is_in([person.cf_number for person in DEMO_LEARNERS]))}

        today = now().astimezone(BRUSSELS).date()
        attempts = []
        for person in DEMO_LEARNERS:
            school = schools[SCHOOLS[person.school]]["id"]
            teacher = accounts.get(ENCODED_BY[person.school])
            plan = []  # (UAA id, script, year of the UAA, its index in that year)
            done = 0
            for year in sorted(y for y in by_year if y <= person.year):
                for index, uaa in enumerate(by_year[year]):
                    if year < person.year:
                        script = person.earlier[done] if done < len(person.earlier) else "S"
                        done += 1
                    else:
                        script = person.current[index] if index < len(person.current) else "P"
                    plan.append((uaa, script, year, index))
            for uaa, script, uaa_year, index in plan:
                dates = presentation_dates(uaa_year, person.year, index, today)
                for state in build_attempts(script, dates, today):
                    encoded = state.presented_on is not None
                    attempts.append(Attempt(
                        learner=ids[person.cf_number], uaa=uaa, sequence=state.sequence, status=state.status,
                        presented_on=state.presented_on, establishment=school,
                        updated_by=teacher if encoded else None,
                        updated_at=datetime.combine(state.presented_on, time(14, 0), BRUSSELS) if encoded else None,
                    ))
        for start in range(0, len(attempts), BATCH):
            await Attempt.insert(*attempts[start:start + BATCH])
        created = loaded["options"]["created"], loaded["profiles"]["created"], loaded["uaa"]["created"]
        await record(SYSTEM, "demo", None, "chargement", after={"référentiel": loaded},
                     summary=f"Données de démonstration UAA chargées : référentiel ({created[0]} option(s), "
                             f"{created[1]} profil(s), {created[2]} UAA créés), {len(learners)} apprenants, "
                             f"{len(attempts)} présentations")
