"""``uaa_stamp``: database triggers move a school's stamp on every write to its learners, their attempts and its
implantations, whoever writes them (the UAA caches are kept against it, so a write that did not move it would
leave a figure stale). Each kind of write, on SQLite and on PostgreSQL, through the ORM like any other writer."""

from __future__ import annotations

from datetime import date

import pytest

from portal.directory.tables import Establishment, Implantation
from portal.uaa import stamps
from portal.uaa.tables import Attempt, Learner, Uaa

pytestmark = pytest.mark.anyio


async def _schools() -> tuple[int, int]:
    rows = await Establishment.select(Establishment.id).order_by(Establishment.id).limit(2)
    return rows[0]["id"], rows[1]["id"]


async def _learner(school: int, cf: str) -> int:
    rows = await Learner.insert(Learner(establishment=school, cf_number=cf, last_name="Tampon", first_name="Léa",
                                        school_year="2026-2027")).returning(Learner.id)
    return rows[0]["id"]


async def _moves(writes, *schools: int) -> list[bool]:
    """Whether each school's stamp moved across ``writes()`` (committed, outside any transaction)."""
    before = [await stamps.school_stamp(school) for school in schools]
    await writes()
    return [await stamps.school_stamp(school) > stamp for school, stamp in zip(schools, before, strict=True)]


async def test_every_write_to_a_schools_attempts_moves_its_stamp(demo):
    school, other = await _schools()
    learner = await _learner(school, "STAMP-1")
    uaa = (await Uaa.select(Uaa.id).first())["id"]

    async def insert():
        await Attempt.insert(Attempt(learner=learner, uaa=uaa, sequence=1, establishment=school))

    assert await _moves(insert, school, other) == [True, False]
    attempt = (await Attempt.select(Attempt.id).where(Attempt.learner == learner).first())["id"]

    async def update():
        await Attempt.update({Attempt.status: "echec", Attempt.presented_on: date(2026, 10, 1)}).where(
            Attempt.id == attempt)

    assert await _moves(update, school, other) == [True, False]
    elsewhere = await _learner(other, "STAMP-2")

    async def hand_over():  # an attempt moved to a learner of another school: both schools' figures change
        await Attempt.update({Attempt.learner: elsewhere}).where(Attempt.id == attempt)

    assert await _moves(hand_over, school, other) == [True, True]

    async def delete():
        await Attempt.delete().where(Attempt.id == attempt)

    assert await _moves(delete, school, other) == [False, True]


async def test_every_write_to_a_schools_learners_and_implantations_moves_its_stamp(demo):
    school, other = await _schools()

    async def insert():
        await _learner(school, "STAMP-3")

    assert await _moves(insert, school, other) == [True, False]
    learner = (await Learner.select(Learner.id).where(Learner.cf_number == "STAMP-3").first())["id"]

    async def rename():
        await Learner.update({Learner.first_name: "Léna"}).where(Learner.id == learner)

    assert await _moves(rename, school, other) == [True, False]

    async def change_school():
        await Learner.update({Learner.establishment: other}).where(Learner.id == learner)

    assert await _moves(change_school, school, other) == [True, True]

    async def delete():
        await Learner.delete().where(Learner.id == learner)

    assert await _moves(delete, school, other) == [False, True]

    async def new_site():
        await Implantation.insert(Implantation(establishment=school, name="Site du tampon"))

    assert await _moves(new_site, school, other) == [True, False]
