"""``uaa_stamp``: database triggers move a school's stamp on every write to its learners, their attempts and its
implantations, whoever writes them (the UAA caches are kept against it, so a write that did not move it would
leave a figure stale). Each kind of write, on SQLite and on PostgreSQL, through the ORM like any other writer."""

from __future__ import annotations

from datetime import date

import pytest

from portal.core.db import atomic, engine, is_sqlite
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
    site = (await Implantation.select(Implantation.id).where(Implantation.name == "Site du tampon").first())["id"]

    async def rename_site():
        await Implantation.update({Implantation.name: "Site du tampon II"}).where(Implantation.id == site)

    assert await _moves(rename_site, school, other) == [True, False]

    async def hand_over_site():  # a site moved to another school: both schools' search lists change
        await Implantation.update({Implantation.establishment: other}).where(Implantation.id == site)

    assert await _moves(hand_over_site, school, other) == [True, True]


async def test_a_transaction_moves_each_schools_stamp_and_every_later_one_again(demo):
    """One transaction writing three attempts of two schools moves both stamps (on PostgreSQL by exactly one: the
    triggers bump a school once a transaction); each later transaction moves them again. The test client opens a
    connection per query: the next test keeps one connection across transactions, as the server's pool does."""
    school, other = await _schools()
    here, there = await _learner(school, "STAMP-3"), await _learner(other, "STAMP-4")
    uaa = (await Uaa.select(Uaa.id).first())["id"]
    for sequence in range(1, 6):
        before = [await stamps.school_stamp(s) for s in (school, other)]
        async with atomic():
            await Attempt.insert(Attempt(learner=here, uaa=uaa, sequence=2 * sequence - 1, establishment=school),
                                 Attempt(learner=here, uaa=uaa, sequence=2 * sequence, establishment=school))
            await Attempt.update({Attempt.status: "echec"}).where(Attempt.learner == here)
            await Attempt.insert(Attempt(learner=there, uaa=uaa, sequence=sequence, establishment=other))
        moves = [await stamps.school_stamp(s) - stamp for s, stamp in zip((school, other), before, strict=True)]
        if is_sqlite():
            assert all(move >= 1 for move in moves), moves
        else:
            assert moves == [1, 1]


async def test_postgresql_marks_a_bump_for_its_transaction_only(demo):
    """The live server's pool keeps its connections (no reset between borrowers): on ONE connection, each
    transaction writing a school's attempts moves its stamp, and an autocommit statement too."""
    if is_sqlite():
        pytest.skip("PostgreSQL's trigger functions")
    import asyncpg

    school, _ = await _schools()
    learner = await _learner(school, "STAMP-5")
    uaa = (await Uaa.select(Uaa.id).first())["id"]
    connection = await asyncpg.connect(**engine().config)
    try:
        for sequence in range(1, 4):
            before = await stamps.school_stamp(school)
            async with connection.transaction():
                await connection.execute("INSERT INTO uaa_attempt (learner, uaa, sequence, status, establishment, "
                                         "version) VALUES ($1, $2, $3, 'a_encoder', $4, 1)",
                                         learner, uaa, sequence, school)
            assert await stamps.school_stamp(school) == before + 1
            before += 1
            await connection.execute("UPDATE uaa_attempt SET version = version + 1 WHERE learner = $1", learner)
            assert await stamps.school_stamp(school) == before + 1
    finally:
        await connection.close()


async def test_postgresql_saves_of_a_school_from_two_connections_do_not_queue_on_its_stamp(demo):
    """Two connections committing changes to the same school at the same moment bump two rows of its stamp (one
    per connection): the second does not wait for the first's commit (its lock timeout would end it), and the
    school's stamp moves by two."""
    if is_sqlite():
        pytest.skip("PostgreSQL's stamp rows (SQLite has one writer at a time)")
    import asyncpg

    school, _ = await _schools()
    learner = await _learner(school, "STAMP-6")
    uaa = (await Uaa.select(Uaa.id).first())["id"]
    connections = [await asyncpg.connect(**engine().config)]
    try:
        while True:  # two backends whose rows differ (pid modulo the number of rows)
            other = await asyncpg.connect(**engine().config)
            connections.append(other)
            if other.get_server_pid() % 16 != connections[0].get_server_pid() % 16:
                break
        first, second = connections[0], connections[-1]
        before = await stamps.school_stamp(school)
        insert = ("INSERT INTO uaa_attempt (learner, uaa, sequence, status, establishment, version) "
                  "VALUES ($1, $2, $3, 'a_encoder', $4, 1)")
        first_transaction, second_transaction = first.transaction(), second.transaction()
        await first_transaction.start()
        await first.execute(insert, learner, uaa, 1, school)
        await first.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred bump now: its row locked to the commit
        await second_transaction.start()
        await second.execute("SET LOCAL lock_timeout = '300ms'")
        await second.execute(insert, learner, uaa, 2, school)
        await second.execute("SET CONSTRAINTS ALL IMMEDIATE")  # one row for both: would wait, then time out
        await second_transaction.commit()
        await first_transaction.commit()
        assert await stamps.school_stamp(school) == before + 2
    finally:
        for connection in connections:
            await connection.close()
