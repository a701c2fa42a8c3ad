"""Change of establishment: the learner moves with attempts; both schools' histories show it."""

from __future__ import annotations

from datetime import date

import pytest

from portal.directory.tables import Establishment
from portal.history.tables import HistoryEvent
from portal.uaa.tables import Attempt, Learner, Option, TrainingProfile, Uaa
from tests.integration.conftest import login, post_form, text

pytestmark = pytest.mark.anyio


async def _learner_at(fase: str) -> tuple[int, int]:
    school = await Establishment.objects().get(Establishment.fase == fase)
    option = await Option.objects().where(Option.code == "T-9999").first()
    if option is None:
        option = Option(code="T-9999", label="Option de test")
        await option.save()
    profile = TrainingProfile(option=option.id, code="TP", label="Profil de test", short_label="Test")
    await profile.save()
    uaa = Uaa(profile=profile.id, code="T1", label="UAA de test", weeks=4, year=4, position=1)
    await uaa.save()
    learner = Learner(establishment=school.id, option=option.id, cf_number="7700001/20", last_name="Transfert",
                      first_name="Théo", sex="M", birth_date=date(2009, 5, 4), study_year="1 D2 4 P", year=4,
                      school_year="2026-2027")
    await learner.save()
    attempt = Attempt(learner=learner.id, uaa=uaa.id, sequence=1, status="echec", presented_on=date(2026, 10, 1),
                      establishment=school.id)
    await attempt.save()
    return learner.id, school.id


async def test_new_school_takes_in_the_learner_with_attempts(client):
    learner_id, old_school = await _learner_at("99102")
    await login(client, "thomas.girard")  # school admin of Institut technique démo (99107)
    response = await post_form(client, "/uaa/transfert", {"cf_number": "7700001/20", "birth_date": "04/05/2009"})
    assert response.status_code == 200 and "désormais inscrit" in text(response)
    learner = await Learner.objects().get(Learner.id == learner_id)
    new_school = await Establishment.objects().get(Establishment.fase == "99107")
    assert learner.establishment == new_school.id
    attempt = await Attempt.objects().get(Attempt.learner == learner_id)
    assert attempt.establishment == old_school and attempt.status == "echec"
    scopes = {e["establishment_id"] for e in await HistoryEvent.select(HistoryEvent.establishment_id).where(
        HistoryEvent.entity == "learner")}
    assert scopes == {old_school, new_school.id}


async def test_wrong_birth_date_or_cf_changes_nothing(client):
    learner_id, old_school = await _learner_at("99102")
    await login(client, "thomas.girard")
    for data in ({"cf_number": "7700001/20", "birth_date": "05/05/2009"},
                 {"cf_number": "pas-un-cf", "birth_date": "demain"},
                 {"cf_number": "7700002/20", "birth_date": "04/05/2009"}):
        response = await post_form(client, "/uaa/transfert", data)
        assert response.status_code == 400
    assert (await Learner.objects().get(Learner.id == learner_id)).establishment == old_school
    assert "Aucun élève ne correspond" in text(response)


async def test_teacher_cannot_transfer(client):
    await login(client, "pierre.leroy")
    assert (await client.get("/uaa/transfert")).status_code == 403


async def test_a_row_the_new_school_saves_becomes_the_new_schools(client):
    """A row the old school encoded and the new school saves again (here the last Echec's date corrected) is the
    new school's from then on, as is the row to encode that follows it."""
    learner_id, old_school = await _learner_at("99102")
    await login(client, "thomas.girard")
    await post_form(client, "/uaa/transfert", {"cf_number": "7700001/20", "birth_date": "04/05/2009"})
    new_school = (await Establishment.objects().get(Establishment.fase == "99107")).id
    await login(client, "pierre.leroy")  # teacher at the new school
    attempt = await Attempt.objects().get(Attempt.learner == learner_id)
    response = await post_form(client, f"/uaa/tentatives/{attempt.id}",
                               {"status": "echec", "presented_on": "2026-10-02", "version": str(attempt.version)})
    assert response.status_code == 303
    rows = await Attempt.select().where(Attempt.learner == learner_id).order_by(Attempt.sequence)
    assert [(r["status"], r["presented_on"], r["establishment"]) for r in rows] == [
        ("echec", date(2026, 10, 2), new_school), ("a_encoder", None, new_school)]
    assert old_school != new_school
