"""The benchmark dataset (``portal seed``) and the baseline endpoint of the load runner, on the small size."""

from __future__ import annotations

import dataclasses
import random

import pytest

from bench import seed as bench_seed
from portal.accounts import rules
from portal.accounts.tables import AccessRequest, Account, Affiliation, UserSession
from portal.directory.tables import (
    Establishment,
    Implantation,
    OrganisingBody,
    Pole,
    PoleSchool,
    Zone,
)
from portal.history.tables import HistoryEvent
from portal.messaging.tables import Message, OutboxMail
from portal.permissions import Profile
from tests import dbsetup
from tests.integration.conftest import login

pytestmark = pytest.mark.anyio

SMALL = bench_seed.SIZES["small"]


@pytest.fixture
async def seeded():
    """A database holding exactly the small benchmark set."""
    await dbsetup.reset_tables()
    return await bench_seed.generate("small")


async def test_small_seed_has_the_expected_shape(seeded):
    counts = seeded.counts
    assert await Establishment.count() == SMALL.be_establishments + SMALL.fr_schools == counts["establishment"]
    assert await Establishment.count().where(Establishment.country == "FR") == SMALL.fr_schools
    assert await OrganisingBody.count() == SMALL.organising_bodies
    assert await Pole.count() == SMALL.poles
    assert await Zone.count() == counts["zone"] > 0
    assert await Implantation.count() >= SMALL.be_establishments
    # every pole: a Belgian seat and 3 to 8 other schools, never itself
    for pole in await Pole.select(Pole.id, Pole.seat):
        schools = await PoleSchool.select(PoleSchool.establishment, PoleSchool.role).where(
            PoleSchool.pole == pole["id"])
        assert 3 <= len(schools) <= 8
        assert pole["seat"] not in {s["establishment"] for s in schools}
        assert {s["role"] for s in schools} <= {"partenaire", "partenaire_specifique", "cooperante"}
    # learners: imported, no password, one learner affiliation each, the requested numbers per country
    learners = await Affiliation.select(Affiliation.account, Affiliation.establishment.country).where(
        Affiliation.profile == Profile.LEARNER.value)
    bench_learner = bench_seed.BENCH_USERNAMES[Profile.LEARNER]
    imported = await Account.select(Account.id).where((Account.origin == "import") & Account.password_hash.is_null())
    assert len(imported) >= SMALL.be_learners + SMALL.fr_learners
    assert sum(1 for r in learners if r["establishment.country"] == "BE") == SMALL.be_learners + 1  # + bench learner
    assert sum(1 for r in learners if r["establishment.country"] == "FR") == SMALL.fr_learners
    assert len({r["account"] for r in learners}) == len(learners)
    assert await Account.count() == counts["account"]
    assert await Affiliation.count() == counts["affiliation"]
    assert await Affiliation.count().where(Affiliation.profile == Profile.COORDINATOR.value) == SMALL.poles + 1
    assert await Affiliation.count().where(Affiliation.profile == Profile.DDFTP.value) == SMALL.fr_schools + 1
    teachers = await Affiliation.count().where(Affiliation.profile == Profile.TEACHER.value)
    assert teachers >= SMALL.teachers * 0.8
    # login names follow the portal's rule: unique, at most 20 characters
    names = [r["username"] for r in await Account.select(Account.username)]
    assert len(names) == len(set(names))
    assert all(len(n) <= rules.USERNAME_MAX for n in names)
    assert bench_learner in names
    # messages, access requests, mails and history exist and say they are benchmark data
    assert await Message.count() == SMALL.applicative_messages + SMALL.targeted_messages
    assert await Message.count().where(Message.kind == "applicatif") == SMALL.applicative_messages
    assert not await Message.exists().where(Message.subject.not_like("%(bench%"))
    assert await AccessRequest.count() == SMALL.access_requests
    assert await AccessRequest.exists().where(AccessRequest.status == "pending")
    assert await OutboxMail.count() == counts["outbox_mail"] > 0
    assert await HistoryEvent.count() == SMALL.history_events + 1  # + the bench framework's loading (competencies)
    assert not await Establishment.exists().where(Establishment.name.not_like("%(bench %"))
    assert not await Pole.exists().where(Pole.name.not_like("%(bench %"))
    assert not await OrganisingBody.exists().where(OrganisingBody.name.not_like("PO (bench)%"))
    assert not await Account.exists().where((Account.email != "") & Account.email.not_like("%@bench.invalid"))
    fase = [r["fase"] for r in await Establishment.select(Establishment.fase).where(Establishment.country == "BE")]
    assert all(f.startswith("97") for f in fase)


async def test_benchmark_accounts_share_one_password_hash_and_have_one_affiliation(seeded):
    usernames = list(bench_seed.BENCH_USERNAMES.values())
    accounts = await Account.select(Account.id, Account.username, Account.password_hash).where(
        Account.username.is_in(usernames))
    assert {a["username"] for a in accounts} == set(usernames)
    assert len({a["password_hash"] for a in accounts}) == 1 and accounts[0]["password_hash"]
    for account in accounts:
        assert await Affiliation.count().where(Affiliation.account == account["id"]) == 1
    # the measured scopes have something to show: messages for the teacher's school, pending requests for the direction
    teacher_school = seeded.bench_scope[Profile.TEACHER]["establishment"]
    assert await Message.count().where(Message.establishment == teacher_school) >= 1
    direction_school = seeded.bench_scope[Profile.DIRECTION]["establishment"]
    assert await AccessRequest.count().where(
        (AccessRequest.establishment == direction_school) & (AccessRequest.status == "pending")) >= 1


async def test_seed_is_deterministic_and_refuses_a_database_with_accounts(seeded):
    first = sorted(r["username"] for r in await Account.select(Account.username))
    with pytest.raises(bench_seed.SeedRefused):
        await bench_seed.generate("small")
    assert await Account.count() == len(first)  # nothing was added
    await dbsetup.reset_tables()
    await bench_seed.generate("small")
    assert sorted(r["username"] for r in await Account.select(Account.username)) == first


def test_usernames_in_memory_match_the_rule_with_every_name_taken():
    rng = random.Random(7)
    fast = bench_seed.Usernames()
    taken: list[str] = []
    firsts = ["Jean-François", "Marie-Claire", "Léa", "Maximilien-Alexandre"]
    lasts = ["Van den Broeck", "Vandenberghe-Delacroix", "Petit", "El Amrani"]
    for _ in range(600):
        first, last = rng.choice(firsts), rng.choice(lasts)
        expected = rules.unique_username(first, last, taken)
        assert fast.new(first, last) == expected
        taken.append(expected)


async def test_baseline_endpoint_does_one_update_and_renders_a_fragment(seeded, monkeypatch):
    from litestar.testing import AsyncTestClient

    import portal.app

    monkeypatch.setattr(portal.app, "settings", dataclasses.replace(portal.app.settings, bench_endpoints=True))
    async with AsyncTestClient(app=portal.app.create_app(), base_url="http://testserver.local") as client:
        client.follow_redirects = False
        assert (await client.post("/bench/baseline")).status_code in {401, 303}  # signed-in only
        await login(client, bench_seed.BENCH_USERNAMES[Profile.TEACHER], bench_seed.BENCH_PASSWORD)
        response = await client.post("/bench/baseline")  # no CSRF token: excluded for this route only
        assert response.status_code == 200, response.text
        assert 'id="bench-baseline"' in response.text and "bench.enseignant" in response.text
        assert "<html" not in response.text
        session = await UserSession.select(UserSession.user_agent).first()
        assert session["user_agent"].startswith("bench ")
    # without the setting, the route does not exist
    monkeypatch.setattr(portal.app, "settings", dataclasses.replace(portal.app.settings, bench_endpoints=False))
    async with AsyncTestClient(app=portal.app.create_app(), base_url="http://testserver.local") as client:
        assert (await client.post("/bench/baseline")).status_code in {403, 404, 405}


async def test_uaa_attempts_of_the_seed_keep_the_rules(seeded):
    from collections import defaultdict

    from portal.core.clock import today
    from portal.uaa.rules import AttemptState, problems
    from portal.uaa.tables import Attempt, Learner

    assert await Learner.count() > 0
    rows = await Attempt.select(Attempt.learner, Attempt.uaa, Attempt.sequence, Attempt.status, Attempt.presented_on)
    assert len(rows) >= 500
    sequences = defaultdict(list)
    for row in rows:
        sequences[(row["learner"], row["uaa"])].append(AttemptState(row["sequence"], row["status"], row["presented_on"]))
    assert all(problems(states) == [] for states in sequences.values())
    assert {row["status"] for row in rows} == {"a_encoder", "reussite", "echec"}
    # Nothing dated after the day of seeding: the row after an Echec can be encoded today (the benchmark's save
    # chain does it), where a previous presentation dated in the future would make the rules refuse it.
    assert max(row["presented_on"] for row in rows if row["presented_on"]) < today()


async def test_the_statements_bench_runs_the_saves_sql_on_a_copy(seeded, tmp_path):
    """``bench.statements`` times the portal's own SQL of an Echec save: on a copy of the seeded database, each
    save encodes a pending row, adds the next one and records an event, and the original is left alone."""
    import sqlite3

    from bench import statements
    from portal.core.db import engine, is_sqlite

    if not is_sqlite():
        pytest.skip("the statements bench measures SQLite")
    source = sqlite3.connect(engine().path)
    copy = tmp_path / "copy.sqlite3"
    with sqlite3.connect(copy) as target:
        source.backup(target)
    source.close()
    events = await HistoryEvent.count()
    figures = statements.measure(copy, saves=6, processes=2, group=2)
    assert set(figures) == {*statements.STEPS, "save_mean_us"}
    assert all(figures[step]["mean_us"] > 0 for step in statements.STEPS)
    with sqlite3.connect(copy) as result:
        assert result.execute("SELECT count(*) FROM history_event").fetchone()[0] == events + 6
        assert result.execute("SELECT count(*) FROM history_event WHERE summary LIKE '%données de mesure%'"
                              ).fetchone()[0] == 6
    assert await HistoryEvent.count() == events
