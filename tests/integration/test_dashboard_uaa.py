"""The UAA blocks of the dashboards: teacher (left to encode), learner (own results), direction (CPU indicators)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from portal.accounts.tables import Account
from portal.dashboards import uaa_blocks
from portal.dashboards.services import clear_caches
from portal.directory.tables import Establishment
from portal.uaa.tables import Attempt, Learner, Option, TrainingProfile, Uaa
from tests.integration.conftest import login, queries_for, text

pytestmark = pytest.mark.anyio


async def _school_with_results(learners: int = 3) -> dict:
    school = await Establishment.objects().get(Establishment.fase == "99107")
    option = Option(code="T-7777", label="Option de tableau de bord")
    await option.save()
    profile = TrainingProfile(option=option.id, code="TB", label="Profil", short_label="Profil")
    await profile.save()
    uaas = []
    for position, code in enumerate(("T10", "T11"), start=1):
        uaa = Uaa(profile=profile.id, code=code, label=f"UAA {code}", weeks=5, year=4, position=position)
        await uaa.save()
        uaas.append(uaa)
    lucas = await Account.objects().get(Account.username == "lucas.petit")
    for n in range(learners):
        learner = Learner(establishment=school.id, option=option.id, cf_number=f"66000{n:02d}/20", last_name=f"Nom{n}",
                          first_name="Élève", study_year="1 D2 4 P", year=4, school_year="2026-2027",
                          account=lucas.id if n == 0 else None)
        await learner.save()
        await Attempt.insert(
            Attempt(learner=learner.id, uaa=uaas[0].id, sequence=1, status="reussite",
                    presented_on=date(2026, 10, 1), establishment=school.id),
            Attempt(learner=learner.id, uaa=uaas[1].id, sequence=1, status="echec",
                    presented_on=date(2026, 10, 2), establishment=school.id),
            Attempt(learner=learner.id, uaa=uaas[1].id, sequence=2, status="a_encoder", establishment=school.id),
        )
    return {"school": school, "option": option}


async def _count(status: str, where: dict) -> int:
    query = Attempt.count().where(Attempt.status == status)
    for column, value in where.items():  # column objects as keys
        query = query.where(column == value)
    return await query


async def test_teacher_sees_learners_with_uaa_to_encode(client):
    data = await _school_with_results()
    await login(client, "pierre.leroy")
    page = text(await client.get("/tableau-de-bord"))
    learners = {r["learner"] for r in await Attempt.select(Attempt.learner).where(
        (Attempt.status == "a_encoder") & (Attempt.learner.establishment == data["school"].id))}
    assert "UAA à encoder" in page and f"{len(learners)} élève(s) ont des UAA à encoder" in page
    assert "Élève" in page and "/uaa/eleves/" in page


async def test_learner_sees_own_counts(client):
    await _school_with_results()
    await login(client, "lucas.petit")
    page = text(await client.get("/tableau-de-bord"))
    lucas = (await Account.objects().get(Account.username == "lucas.petit")).id
    success = await _count("reussite", {Attempt.learner.account: lucas})
    failure = await _count("echec", {Attempt.learner.account: lucas})
    assert "Mes UAA" in page and f"{success} réussie(s)" in page and f"{failure} échec(s)" in page


async def test_own_counts_of_a_learner_without_attempts_and_of_an_account_that_is_no_learners(client):
    data = await _school_with_results(learners=1)
    emma = await Account.objects().get(Account.username == "emma.garnier")
    assert not await Learner.exists().where(Learner.account == emma.id)
    assert await uaa_blocks.own_results(emma.id) is None  # no learner record: no « Mes UAA » block
    learner = Learner(establishment=data["school"].id, option=data["option"].id, cf_number="6600099/20",
                      last_name="Sans", first_name="Tentative", study_year="1 D2 4 P", year=4,
                      school_year="2026-2027", account=emma.id)
    await learner.save()
    assert await uaa_blocks.own_results(emma.id) == {"success": 0, "failure": 0, "pending": 0}
    lucas = (await Account.objects().get(Account.username == "lucas.petit")).id
    assert await uaa_blocks.own_results(lucas) == {
        kind: await _count(status, {Attempt.learner.account: lucas})
        for kind, status in (("success", "reussite"), ("failure", "echec"), ("pending", "a_encoder"))}


async def test_direction_indicators_give_the_success_rate_per_uaa(client):
    from portal.accounts.tables import Affiliation

    data = await _school_with_results()
    marc = await Account.objects().get(Account.username == "marc.dubois")
    affiliation = await Affiliation.objects().get(Affiliation.account == marc.id)
    affiliation.establishment = data["school"].id  # the direction of the school holding the results
    await affiliation.save()
    await login(client, "marc.dubois")
    page = text(await client.get("/tableau-de-bord"))
    assert "Indicateurs CPU" in page and "OBG T-7777" in page
    assert "3 élève(s) · 6 présentation(s) encodée(s) · 3 à encoder" in page
    assert "100 %" in page and "0 %" in page
    # a cold computation (the aggregates are recomputed once the school's data changed) …
    clear_caches()
    before = await queries_for(client, "/tableau-de-bord")
    await _more_learners(data)
    clear_caches()
    assert await queries_for(client, "/tableau-de-bord") == before  # … costs as many queries with more rows
    # and a warm one makes no query but the session's (the school's stamp comes with it; the message boxes and
    # the board blocks are kept against their own stamps) …
    assert await queries_for(client, "/tableau-de-bord") == 1
    # … until an attempt of the school changes: the stamp read with the next request's session moves
    figures = _group_figures(text(await client.get("/tableau-de-bord")))
    pending = await Attempt.objects().where(
        (Attempt.status == "a_encoder") & (Attempt.learner.establishment == data["school"].id)).first()
    await Attempt.update({Attempt.status: "reussite", Attempt.presented_on: date(2026, 10, 1)}).where(
        Attempt.id == pending.id)
    assert _group_figures(text(await client.get("/tableau-de-bord"))) != figures


async def test_uaa_aggregates_are_recomputed_as_soon_as_an_attempt_changes(client):
    """The cache keyed on uaa_stamp never serves a figure older than the data: triggers bump the stamp."""
    data = await _school_with_results()
    before = await uaa_blocks.school_stamp(data["school"].id)
    first = await uaa_blocks.learners_to_encode(data["school"].id)
    pending = await Attempt.objects().where(
        (Attempt.status == "a_encoder") & (Attempt.learner.establishment == data["school"].id)).first()
    await Attempt.update({Attempt.status: "reussite", Attempt.presented_on: date(2026, 10, 1)}).where(
        Attempt.id == pending.id)
    assert await uaa_blocks.school_stamp(data["school"].id) > before
    second = await uaa_blocks.learners_to_encode(data["school"].id)
    assert second["attempts"] == first["attempts"] - 1
    await _more_learners(data)
    third = await uaa_blocks.learners_to_encode(data["school"].id)
    assert third["attempts"] == second["attempts"] + 20 and third["total"] == second["total"] + 20


def _group_figures(page: str) -> list[str]:
    """The « N élève(s) · N présentation(s) encodée(s) · N à encoder » lines of the direction's indicators."""
    return re.findall(r"\d+ élève\(s\) · \d+ présentation\(s\) encodée\(s\) · \d+ à encoder", page)


async def _more_learners(data) -> None:
    uaa = await Uaa.objects().where(Uaa.code == "T10").first()
    for n in range(20):
        learner = Learner(establishment=data["school"].id, option=data["option"].id, cf_number=f"67000{n:02d}/20",
                          last_name=f"Autre{n}", first_name="Élève", year=4, school_year="2026-2027")
        await learner.save()
        await Attempt.insert(Attempt(learner=learner.id, uaa=uaa.id, sequence=1, status="a_encoder",
                                     establishment=data["school"].id))
