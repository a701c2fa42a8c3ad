"""A learner's UAA list and the encoding in the row: rules, corrections, scope, history, htmx, query counts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from portal.accounts.tables import Account
from portal.core.clock import today
from portal.core.db import atomic, is_sqlite
from portal.directory.tables import Establishment, Implantation
from portal.history.tables import HistoryEvent
from portal.uaa import attempt_saves, encoding
from portal.uaa.tables import (
    Attempt,
    Attestation,
    Learner,
    Option,
    TrainingProfile,
    Uaa,
)
from tests.integration.conftest import login, post_form, queries_for, text

pytestmark = pytest.mark.anyio

HTMX = {"HX-Request": "true"}
TODAY = today()
DAY1 = TODAY - timedelta(days=40)
DAY2 = TODAY - timedelta(days=20)


async def _id(table, *where) -> int:
    query = table.select(table.id)
    for condition in where:
        query = query.where(condition)
    return (await query.first())["id"]


async def _insert(row) -> int:
    return (await type(row).insert(row).returning(type(row).id))[0]["id"]


async def make_learner(uaa_count: int = 3, fase: str = "99107", cf: str = "T-0001", last_name: str = "Testeur",
                       first_name: str = "Jules", option_code: str = "T2115") -> dict:
    """An option with a profile and ``uaa_count`` UAA, a learner of the school ``fase``, one row to encode per UAA."""
    school = await _id(Establishment, Establishment.fase == fase)
    implantation = await _id(Implantation, Implantation.establishment == school)
    option = await Option.select(Option.id).where(Option.code == option_code).first()
    if option is None:
        option_id = await _insert(Option(code=option_code, label="Installateur électricien (test)"))
        profile = await _insert(TrainingProfile(option=option_id, code="P-T1", label="Installateur électricien résidentiel",
                                                short_label="Instal. élect. résidentiel(le)"))
        uaa_ids = [await _insert(Uaa(profile=profile, code=f"{10020 + i}", label=f"Placer les conduits, étape {i + 1}",
                                     weeks=4, year=4, position=i + 1)) for i in range(uaa_count)]
    else:
        option_id = option["id"]
        uaa_ids = [row["id"] for row in await Uaa.select(Uaa.id).where(
            Uaa.profile.option == option_id).order_by(Uaa.position)]
    learner = await _insert(Learner(establishment=school, implantation=implantation, option=option_id,
                                    cf_number=cf, last_name=last_name, first_name=first_name, sex="M",
                                    birth_date=date(2008, 9, 18), study_year="1 D2 4 P", year=4,
                                    school_year="2026-2027"))
    attempts = [await _insert(Attempt(learner=learner, uaa=uaa, sequence=1, status="a_encoder", establishment=school))
                for uaa in uaa_ids]
    return {"school": school, "learner": learner, "uaas": uaa_ids, "attempts": attempts, "option": option_id}


async def attempts_of(learner: int, uaa: int) -> list[dict]:
    return await Attempt.select().where((Attempt.learner == learner) & (Attempt.uaa == uaa)).order_by(Attempt.sequence)


async def snapshot(learner: int) -> list[tuple]:
    rows = await Attempt.select().where(Attempt.learner == learner).order_by(Attempt.id)
    return [(r["id"], r["uaa"], r["sequence"], r["status"], r["presented_on"], r["version"]) for r in rows]


async def save(client, attempt_id: int, status: str, day: date | str | None, version: int = 1, htmx: bool = False,
               back: str | None = None):
    value = day.isoformat() if isinstance(day, date) else (day or "")
    data = {"status": status, "presented_on": value, "version": str(version)}
    if back:
        data["retour"] = back
    return await post_form(client, f"/uaa/tentatives/{attempt_id}", data, headers=HTMX if htmx else None)


async def current_version(attempt_id: int) -> int:
    return (await Attempt.select(Attempt.version).where(Attempt.id == attempt_id).first())["version"]


# --- the page --------------------------------------------------------------------------------------------------


async def test_page_shows_identity_and_one_row_per_attempt(client):
    data = await make_learner()
    await login(client, "pierre.leroy")
    response = await client.get(f"/uaa/eleves/{data['learner']}")
    assert response.status_code == 200
    body = text(response)
    for words in ("UAA pour l'élève", "Liste des Unités d'Acquis d'Apprentissage", "Testeur", "Jules", "T-0001",
                  "18/09/2008", "1 D2 4 P", "Institut technique démo", "FASE 99107", "T2115",
                  "Profil form.", "Date de présentation", "Statut", "Actions", "Masquer échec", "Masquer réussite",
                  "Instal. élect. résidentiel(le)", "10020", "Placer les conduits, étape 1",
                  "Résultat(s) 1 à 3 sur 3 élément(s)"):
        assert words in body, words
    assert body.count('name="status"') == 3
    assert 'type="date"' in body
    assert "Statut de l'UAA 10020, présentation 1" in body
    assert f'id="uaa-{data["uaas"][0]}"' in body


async def test_unknown_learner_is_a_french_404(client):
    await login(client, "pierre.leroy")
    response = await client.get("/uaa/eleves/999999")
    assert response.status_code == 404
    assert "Cet élève n'existe pas" in text(response)


# --- encoding --------------------------------------------------------------------------------------------------


async def test_failure_adds_a_pending_row(client):
    data = await make_learner()
    await login(client, "pierre.leroy")
    first = data["attempts"][0]
    response = await save(client, first, "echec", DAY1, back=f"/uaa/eleves/{data['learner']}?masquer_reussite=1")
    assert response.status_code == 303
    assert response.headers["location"] == f"/uaa/eleves/{data['learner']}?masquer_reussite=1&enregistre=1"
    rows = await attempts_of(data["learner"], data["uaas"][0])
    assert [(r["sequence"], r["status"], r["presented_on"]) for r in rows] == [(1, "echec", DAY1),
                                                                                 (2, "a_encoder", None)]
    pierre = await _id(Account, Account.username == "pierre.leroy")
    assert rows[0]["version"] == 2 and rows[0]["updated_by"] == pierre and rows[0]["updated_at"] is not None
    assert rows[0]["establishment"] == data["school"] and rows[1]["establishment"] == data["school"]
    page = text(await client.get(response.headers["location"]))
    assert "L'enregistrement a été effectué." in page


async def test_success_makes_the_attestation_downloadable(client):
    data = await make_learner()
    await login(client, "pierre.leroy")
    first = data["attempts"][0]
    response = await save(client, first, "reussite", DAY1)
    assert response.status_code == 303
    rows = await attempts_of(data["learner"], data["uaas"][0])
    assert [(r["sequence"], r["status"]) for r in rows] == [(1, "reussite")]
    page = text(await client.get(f"/uaa/eleves/{data['learner']}"))
    assert f'href="/uaa/attestations/tentative/{first}"' in page
    assert "Télécharger l'attestation" in page


async def test_dates_typed_by_hand_are_accepted(client):
    data = await make_learner()
    await login(client, "pierre.leroy")
    response = await save(client, data["attempts"][0], "echec", DAY1.strftime("%d/%m/%Y"))
    assert response.status_code == 303
    assert (await attempts_of(data["learner"], data["uaas"][0]))[0]["presented_on"] == DAY1


async def test_wrong_failure_corrected_into_success_removes_the_pending_row(client):
    data = await make_learner()
    await login(client, "pierre.leroy")
    first = data["attempts"][0]
    await save(client, first, "echec", DAY1)
    response = await save(client, first, "reussite", DAY1, version=2)
    assert response.status_code == 303
    rows = await attempts_of(data["learner"], data["uaas"][0])
    assert [(r["sequence"], r["status"], r["version"]) for r in rows] == [(1, "reussite", 3)]


async def test_wrong_success_corrected_into_failure_adds_a_pending_row_and_revokes_the_attestation(client):
    data = await make_learner()
    await login(client, "pierre.leroy")
    first = data["attempts"][0]
    await save(client, first, "reussite", DAY1)
    attestation = await _insert(Attestation(number="TEST-0001", attempt=first, learner=data["learner"],
                                            uaa=data["uaas"][0], establishment=data["school"],
                                            issued_at=datetime.now(UTC)))
    response = await save(client, first, "echec", DAY1, version=2)
    assert response.status_code == 303
    rows = await attempts_of(data["learner"], data["uaas"][0])
    assert [(r["sequence"], r["status"]) for r in rows] == [(1, "echec"), (2, "a_encoder")]
    revoked = await Attestation.select().where(Attestation.id == attestation).first()
    assert revoked["revoked_at"] is not None
    assert "Echec" in revoked["revoked_reason"]
    page = text(await client.get(f"/uaa/eleves/{data['learner']}"))
    assert f'href="/uaa/attestations/tentative/{first}"' not in page


async def test_cancelling_an_encoding_leaves_one_row_to_encode(client):
    data = await make_learner()
    await login(client, "pierre.leroy")
    first = data["attempts"][0]
    await save(client, first, "echec", DAY1)
    response = await save(client, first, "a_encoder", "", version=2)
    assert response.status_code == 303
    rows = await attempts_of(data["learner"], data["uaas"][0])
    assert [(r["sequence"], r["status"], r["presented_on"]) for r in rows] == [(1, "a_encoder", None)]


async def test_saving_the_same_values_changes_nothing(client):
    data = await make_learner()
    await login(client, "pierre.leroy")
    first = data["attempts"][0]
    await save(client, first, "echec", DAY1)
    before = await snapshot(data["learner"])
    response = await save(client, first, "echec", DAY1, version=2)
    assert response.status_code == 303 and response.headers["location"].endswith("enregistre=0")
    assert await snapshot(data["learner"]) == before


@pytest.mark.parametrize(("day", "message"), [
    (TODAY + timedelta(days=1), "La date de présentation ne peut pas être dans le futur."),
    (None, "Indiquez la date de présentation (jj/mm/aaaa)."),
    ("31/02/2026", "La date de présentation n'est pas valide"),
])
async def test_refused_dates_answer_400_in_french_and_change_nothing(client, day, message):
    data = await make_learner()
    await login(client, "pierre.leroy")
    before = await snapshot(data["learner"])
    response = await save(client, data["attempts"][0], "reussite", day)
    assert response.status_code == 400
    body = text(response)
    assert message in body and "UAA pour l'élève" in body  # the page again, the message in the row
    assert await snapshot(data["learner"]) == before
    htmx = await save(client, data["attempts"][0], "reussite", day, htmx=True)
    assert htmx.status_code == 400 and message in text(htmx) and "<html" not in htmx.text
    assert await snapshot(data["learner"]) == before


async def test_a_date_before_the_previous_attempt_is_refused(client):
    data = await make_learner()
    await login(client, "pierre.leroy")
    await save(client, data["attempts"][0], "echec", DAY2)
    pending = (await attempts_of(data["learner"], data["uaas"][0]))[1]["id"]
    before = await snapshot(data["learner"])
    response = await save(client, pending, "reussite", DAY1)
    assert response.status_code == 400
    assert "ne peut pas précéder celle de la présentation précédente" in text(response)
    assert await snapshot(data["learner"]) == before


async def test_stale_version_answers_409_and_changes_nothing(client):
    data = await make_learner()
    await login(client, "pierre.leroy")
    first = data["attempts"][0]
    await save(client, first, "echec", DAY1)
    before = await snapshot(data["learner"])
    response = await save(client, first, "reussite", DAY1, version=1)  # the form shown before the first save
    assert response.status_code == 409
    assert "Cette ligne a été modifiée par quelqu'un d'autre" in text(response)
    assert await snapshot(data["learner"]) == before
    htmx = await save(client, first, "reussite", DAY1, version=1, htmx=True)
    assert htmx.status_code == 409 and "Cette ligne a été modifiée par quelqu'un d'autre" in text(htmx)
    assert htmx.text.lstrip().startswith("<tbody")
    assert await snapshot(data["learner"]) == before


async def test_a_row_removed_meanwhile_answers_409_with_the_rows_as_they_stand(client):
    data = await make_learner()
    await login(client, "pierre.leroy")
    first, uaa = data["attempts"][0], data["uaas"][0]
    await save(client, first, "echec", DAY1)
    pending = (await attempts_of(data["learner"], uaa))[1]["id"]
    await save(client, first, "reussite", DAY1, version=2)  # someone corrects: the row to encode goes
    response = await post_form(client, f"/uaa/tentatives/{pending}",
                               {"status": "echec", "presented_on": DAY2.isoformat(), "version": "1",
                                "eleve": str(data["learner"]), "uaa": str(uaa)}, headers=HTMX)
    assert response.status_code == 409
    body = text(response)
    assert "modifiée ou supprimée par quelqu'un d'autre" in body
    assert body.lstrip().startswith(f'<tbody id="uaa-{uaa}"') and body.count('<tr id="tentative-') == 1
    # without the form's learner and UAA (or with another school's), an unknown attempt is a 404
    response = await post_form(client, f"/uaa/tentatives/{pending}",
                               {"status": "echec", "presented_on": DAY2.isoformat(), "version": "1"})
    assert response.status_code == 404


def _teacher(account_id: int, school: int):
    from portal.accounts.identity import AffiliationView, CurrentUser
    from portal.permissions import Profile

    affiliation = AffiliationView(id=1, profile=Profile.TEACHER, establishment_id=school)
    return CurrentUser(account_id=account_id, session_id=0, username="pierre.leroy", first_name="Pierre",
                       last_name="Leroy", email="", help_enabled=False, version=1, affiliations=[affiliation],
                       active=affiliation)


@pytest.mark.parametrize("race", ["success-vs-failure", "date-vs-failure"])
async def test_concurrent_saves_of_one_uaa_keep_the_invariants(demo, race):
    """Two saves of the same UAA at once (« Echec, then a row to encode »): one wins, the other is refused.

    success-vs-failure: the Echec corrected into Réussite (the row to encode goes) while the row to encode is
    saved as Echec. date-vs-failure: the Echec's date moved later while the row to encode is saved as Echec
    with an earlier date. Whichever runs first, the invariants hold."""
    import asyncio

    from portal.uaa.rules import AttemptState, problems

    data = await make_learner()
    user = _teacher(await _id(Account, Account.username == "pierre.leroy"), data["school"])
    uaa = data["uaas"][0]
    await Attempt.delete().where(Attempt.learner == data["learner"])
    first_change = ("reussite", DAY1) if race == "success-vs-failure" else ("echec", DAY2 + timedelta(days=5))
    for _ in range(4):
        first = await _insert(Attempt(learner=data["learner"], uaa=uaa, sequence=1, status="echec",
                                      presented_on=DAY1, establishment=data["school"], version=2))
        pending = await _insert(Attempt(learner=data["learner"], uaa=uaa, sequence=2, status="a_encoder",
                                        establishment=data["school"]))
        outcomes = await asyncio.gather(
            attempt_saves.save_attempt(user, first, first_change[0], first_change[1].isoformat(), "2"),
            attempt_saves.save_attempt(user, pending, "echec", DAY2.isoformat(), "1", learner=str(data["learner"]),
                                  uaa=str(uaa)),
            return_exceptions=True,
        )
        assert sum(not isinstance(o, Exception) for o in outcomes) == 1, outcomes
        assert all(isinstance(o, encoding.EncodingError) for o in outcomes if isinstance(o, Exception)), outcomes
        rows = await attempts_of(data["learner"], uaa)
        assert problems([AttemptState(r["sequence"], r["status"], r["presented_on"]) for r in rows]) == [], rows
        await Attempt.delete().where(Attempt.learner == data["learner"])


async def test_two_saves_of_the_same_row_at_once_one_wins(demo):
    """The same row to encode saved twice at once (two teachers, the same form): one save wins, the other is
    refused as stale; one row to encode follows, one event is recorded."""
    import asyncio

    data = await make_learner()
    user = _teacher(await _id(Account, Account.username == "pierre.leroy"), data["school"])
    uaa, pending = data["uaas"][0], data["attempts"][0]
    outcomes = await asyncio.gather(
        *(attempt_saves.save_attempt(user, pending, "echec", day.isoformat(), "1") for day in (DAY1, DAY2)),
        return_exceptions=True)
    assert sum(isinstance(o, attempt_saves.Saved) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, encoding.StaleAttempt) for o in outcomes) == 1, outcomes
    rows = await attempts_of(data["learner"], uaa)
    assert [(r["sequence"], r["status"], r["version"]) for r in rows] == [(1, "echec", 2), (2, "a_encoder", 1)]
    events = await HistoryEvent.select().where(
        (HistoryEvent.entity == "uaa_attempt") & (HistoryEvent.entity_id == pending))
    assert len(events) == 1


async def test_an_encoding_is_written_and_recorded_in_one_statement_on_postgresql(client):
    """A row to encode saved as Echec: on PostgreSQL the UAA's rows are read, then one statement updates the row,
    adds the next row to encode and records the event; SQLite writes them in one transaction. The event is the
    same either way."""
    from piccolo.engine import engine_finder

    data = await make_learner()
    await login(client, "pierre.leroy")
    first, uaa = data["attempts"][0], data["uaas"][0]
    engine = engine_finder()
    before = engine.query_id
    response = await save(client, first, "echec", DAY1, htmx=True)
    assert response.status_code == 200
    # session + the UAA's rows + the one statement; SQLite: + the update, the new row and the event
    assert engine.query_id - before == (3 if engine.engine_type == "postgres" else 5), engine.query_id - before
    rows = await attempts_of(data["learner"], uaa)
    assert [(r["sequence"], r["status"], r["presented_on"], r["version"]) for r in rows] == [
        (1, "echec", DAY1, 2), (2, "a_encoder", None, 1)]
    assert f'id="tentative-{rows[1]["id"]}"' in response.text
    event = await HistoryEvent.select().where(
        (HistoryEvent.entity == "uaa_attempt") & (HistoryEvent.entity_id == first)).output(load_json=True).first()
    assert event["action"] == "encodage" and event["actor_username"] == "pierre.leroy"
    assert event["establishment_id"] == data["school"]
    assert event["before"] == {"status": "a_encoder", "presented_on": None, "version": 1}
    assert event["after"] == {"status": "echec", "presented_on": DAY1.isoformat(), "version": 2,
                              "learner_id": data["learner"], "uaa_id": uaa, "uaa": "10020", "sequence": 1,
                              "pending_removed": [], "pending_added": rows[1]["id"]}
    assert event["summary"] == (f"Jules Testeur — UAA 10020, présentation 1 : A encoder → "
                                f"Echec ({DAY1.strftime('%d/%m/%Y')})")


async def _write_as_read(user, school: int, checked) -> bool:
    """The save's first way to write, the rows as read (see attempt_saves): whether it wrote."""
    if not is_sqlite():
        written, _added = await attempt_saves._write_in_one_statement(user, school, checked)
        return written
    async with atomic():
        return await attempt_saves._write_in_transaction(user, school, checked, if_unchanged=True) is not None


async def _second_echec_checked():
    """A learner whose first UAA row holds an Echec: its pending row read and checked for an Echec on DAY2, not
    written. The learner's data, the teacher, the UAA, the first row and the pending row, and the check."""
    data = await make_learner()
    user = _teacher(await _id(Account, Account.username == "pierre.leroy"), data["school"])
    uaa, first = data["uaas"][0], data["attempts"][0]
    await attempt_saves.save_attempt(user, first, "echec", DAY1.isoformat(), "1")
    pending = (await attempts_of(data["learner"], uaa))[1]["id"]
    read, target = await attempt_saves._uaa_attempts(pending)
    checked = await attempt_saves._check(data["school"], pending, read, target, "echec", DAY2.isoformat(), "1",
                                         TODAY, None, None)
    return data, user, uaa, first, pending, checked


@pytest.mark.parametrize("meanwhile", ["date-moved-later", "date-moved-earlier", "row-added", "learner-moved"])
async def test_a_save_as_read_writes_nothing_when_the_rows_changed_since_read(demo, meanwhile):
    """The first way to write checks that the UAA's rows are still those read (PostgreSQL's one statement,
    SQLite's guarded update): after another save of the UAA between the read and the write, or a row added, it
    writes nothing, and the save takes the general way, which applies the rules to the rows as they now are
    (refused when the earlier Echec now comes after the date, saved otherwise). Both also check that the learner
    is still of the school acted for."""
    data, user, uaa, first, pending, checked = await _second_echec_checked()
    if meanwhile == "row-added":
        await _insert(Attempt(learner=data["learner"], uaa=uaa, sequence=9, status="a_encoder",
                              establishment=data["school"]))
    elif meanwhile == "learner-moved":
        other = await _id(Establishment, Establishment.id != data["school"])
        await Learner.update({Learner.establishment: other}).where(Learner.id == data["learner"])
    else:
        moved = DAY2 + timedelta(days=5) if meanwhile == "date-moved-later" else DAY1 - timedelta(days=5)
        await attempt_saves.save_attempt(user, first, "echec", moved.isoformat(), "2")
    before = await snapshot(data["learner"])
    events = await HistoryEvent.count().where(HistoryEvent.entity == "uaa_attempt")

    assert await _write_as_read(user, data["school"], checked) is False
    assert await snapshot(data["learner"]) == before
    assert await HistoryEvent.count().where(HistoryEvent.entity == "uaa_attempt") == events

    if meanwhile == "date-moved-later":
        with pytest.raises(encoding.EncodingError, match="ne peut pas précéder"):
            await attempt_saves.save_attempt(user, pending, "echec", DAY2.isoformat(), "1")
        assert await snapshot(data["learner"]) == before
    elif meanwhile == "learner-moved":
        with pytest.raises(encoding.LearnerNotFound):
            await attempt_saves.save_attempt(user, pending, "echec", DAY2.isoformat(), "1")
        assert await snapshot(data["learner"]) == before
    elif meanwhile == "row-added":  # the general way reads the rows again: the added one is among them
        saved = await attempt_saves.save_attempt(user, pending, "echec", DAY2.isoformat(), "1")
        assert 9 in [r.sequence for r in saved.rows]
    else:
        saved = await attempt_saves.save_attempt(user, pending, "echec", DAY2.isoformat(), "1")
        assert [(r.sequence, r.status) for r in saved.rows] == [(1, "echec"), (2, "echec"), (3, "a_encoder")]


async def test_a_save_as_read_writes_when_the_rows_are_those_read(demo):
    """The other side of the check: with the rows unchanged, the first way writes the save (the row, the new
    pending row and the event), so that the test above fails if the check refuses everything."""
    data, user, uaa, first, pending, checked = await _second_echec_checked()
    events = await HistoryEvent.count().where(HistoryEvent.entity == "uaa_attempt")
    assert await _write_as_read(user, data["school"], checked) is True
    assert [(r["sequence"], r["status"]) for r in await attempts_of(data["learner"], uaa)] == [
        (1, "echec"), (2, "echec"), (3, "a_encoder")]
    assert await HistoryEvent.count().where(HistoryEvent.entity == "uaa_attempt") == events + 1


async def test_a_garbled_version_is_refused(client):
    data = await make_learner()
    await login(client, "pierre.leroy")
    response = await post_form(client, f"/uaa/tentatives/{data['attempts'][0]}",
                               {"status": "echec", "presented_on": DAY1.isoformat(), "version": "x"})
    assert response.status_code == 400
    assert "Le formulaire est incomplet" in text(response)


async def test_only_the_last_encoded_attempt_can_be_edited(client):
    data = await make_learner()
    await login(client, "pierre.leroy")
    first = data["attempts"][0]
    await save(client, first, "echec", DAY1)
    second = (await attempts_of(data["learner"], data["uaas"][0]))[1]["id"]
    await save(client, second, "echec", DAY2)
    page = text(await client.get(f"/uaa/eleves/{data['learner']}"))
    assert f'id="statut-{first}"' not in page and f'id="statut-{second}"' in page
    before = await snapshot(data["learner"])
    response = await save(client, first, "reussite", DAY1, version=2)
    assert response.status_code == 400
    assert "Seule la dernière présentation encodée peut être modifiée" in text(response)
    assert await snapshot(data["learner"]) == before


# --- htmx ------------------------------------------------------------------------------------------------------


async def test_htmx_save_returns_the_uaa_group(client):
    data = await make_learner()
    await login(client, "pierre.leroy")
    first, uaa = data["attempts"][0], data["uaas"][0]
    response = await save(client, first, "echec", DAY1, htmx=True, back=f"/uaa/eleves/{data['learner']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"  # the charset once
    body = response.text
    assert body.lstrip().startswith(f'<tbody id="uaa-{uaa}"') and "<html" not in body
    assert body.count("<tr id=\"tentative-") == 2  # the saved row and the new pending row
    pending = (await attempts_of(data["learner"], uaa))[1]["id"]
    assert f'id="tentative-{pending}"' in body and 'name="version" value="2"' in body
    assert "Une ligne « A encoder » a été ajoutée" in text(response)
    # with failures hidden, the saved row leaves the group, the new row stays, the message goes on the group
    response = await save(client, pending, "echec", DAY2, htmx=True,
                          back=f"/uaa/eleves/{data['learner']}?masquer_echec=1")
    body = text(response)
    assert body.count('<tr id="tentative-') == 1 and f'id="tentative-{pending}"' not in body
    assert "Présentation 2 de l'UAA 10020 enregistrée : Echec" in body


async def test_htmx_filters_return_the_table_only(client):
    data = await make_learner(uaa_count=4)
    await login(client, "pierre.leroy")
    await save(client, data["attempts"][0], "echec", DAY1)
    await save(client, data["attempts"][1], "reussite", DAY1)
    url = f"/uaa/eleves/{data['learner']}"
    response = await client.get(url + "?masquer_echec=1&masquer_reussite=1", headers=HTMX)
    assert response.status_code == 200 and "<html" not in response.text
    assert response.text.lstrip().startswith('<div id="uaa-table"')
    body = text(response)
    assert "Résultat(s) 1 à 3 sur 3 élément(s)" in body  # the three rows left to encode
    assert "étape 2" not in body
    body = text(await client.get(url + "?masquer_echec=1"))
    assert "Résultat(s) 1 à 4 sur 4 élément(s)" in body and "<html" in body
    # every word in the code or the label; accents and case do not matter: « étape 3 » (10022) and 10023
    body = text(await client.get(url + "?q=ETAPE+3"))
    assert "Résultat(s) 1 à 2 sur 2 élément(s)" in body and "étape 3" in body and "étape 4" in body
    body = text(await client.get(url + "?q=10023"))
    assert "Placer les conduits, étape 4" in body and "étape 1<" not in body


async def test_paging_and_rows_per_page(client):
    data = await make_learner(uaa_count=12)
    await login(client, "pierre.leroy")
    url = f"/uaa/eleves/{data['learner']}"
    body = text(await client.get(url))
    assert "Résultat(s) 1 à 10 sur 12 élément(s)" in body and "Page suivante" in body
    body = text(await client.get(url + "?page=2"))
    assert "Résultat(s) 11 à 12 sur 12 élément(s)" in body
    body = text(await client.get(url + "?afficher=25"))
    assert "Résultat(s) 1 à 12 sur 12 élément(s)" in body and "Page suivante" not in body
    body = text(await client.get(url + "?afficher=7&page=x"))  # unknown values fall back to the defaults
    assert "Résultat(s) 1 à 10 sur 12 élément(s)" in body


# --- scope and permissions -------------------------------------------------------------------------------------


async def test_a_teacher_of_another_establishment_gets_404(client):
    data = await make_learner()
    await login(client, "julie.roux")
    assert (await client.get(f"/uaa/eleves/{data['learner']}")).status_code == 404
    before = await snapshot(data["learner"])
    response = await save(client, data["attempts"][0], "echec", DAY1)
    assert response.status_code == 404
    assert await snapshot(data["learner"]) == before


async def test_a_school_administrator_reads_without_editing(client):
    data = await make_learner()
    await login(client, "thomas.girard")
    page = await client.get(f"/uaa/eleves/{data['learner']}")
    assert page.status_code == 200 and 'name="status"' not in page.text and "A encoder" in text(page)
    assert (await save(client, data["attempts"][0], "echec", DAY1)).status_code == 403


async def test_a_former_school_reads_only_the_attempts_it_encoded(client):
    data = await make_learner()
    await login(client, "pierre.leroy")
    await save(client, data["attempts"][0], "echec", DAY1)
    seat = await _id(Establishment, Establishment.fase == "99101")
    # the learner moves; the rows not encoded by the Institut go with the new school
    await Learner.update({Learner.establishment: seat, Learner.implantation: None}).where(
        Learner.id == data["learner"])
    await Attempt.update({Attempt.establishment: seat}).where(
        (Attempt.learner == data["learner"]) & (Attempt.status == "a_encoder"))
    page = await client.get(f"/uaa/eleves/{data['learner']}")
    assert page.status_code == 200
    body = text(page)
    assert "Cet élève a changé d'établissement" in body and 'name="status"' not in body
    assert "Résultat(s) 1 à 1 sur 1 élément(s)" in body and "Echec" in body
    before = await snapshot(data["learner"])
    assert (await save(client, data["attempts"][0], "reussite", DAY1, version=2)).status_code == 404
    assert await snapshot(data["learner"]) == before


async def test_a_learner_cannot_encode_and_sees_only_their_own_results(client):
    mine = await make_learner()
    other = await make_learner(cf="T-0002", last_name="Autrui", first_name="Zoé")
    lucas = await _id(Account, Account.username == "lucas.petit")
    await login(client, "pierre.leroy")
    await save(client, mine["attempts"][0], "reussite", DAY1)
    await save(client, other["attempts"][1], "reussite", DAY1)
    client.cookies.clear()

    await login(client, "lucas.petit")
    await Learner.update({Learner.account: None}).where(Learner.account == lucas)  # the demo may link one
    empty = await client.get("/uaa/mes-resultats")
    assert empty.status_code == 200 and "Aucun dossier d'élève n'est lié à votre compte" in text(empty)
    await Learner.update({Learner.account: lucas}).where(Learner.id == mine["learner"])
    before = await snapshot(mine["learner"])
    assert (await save(client, mine["attempts"][1], "echec", DAY1)).status_code == 403
    assert (await client.get(f"/uaa/eleves/{mine['learner']}")).status_code == 403
    assert await snapshot(mine["learner"]) == before
    response = await client.get("/uaa/mes-resultats")
    assert response.status_code == 200
    body = text(response)
    assert "Mes UAA" in body and "Testeur" in body and "T-0001" in body
    assert "Autrui" not in body and "T-0002" not in body
    assert f"/uaa/mes-attestations/tentative/{mine['attempts'][0]}" in body
    assert f"/uaa/mes-attestations/tentative/{other['attempts'][1]}" not in body
    assert 'name="status"' not in body and "Réussite" in body
    fragment = await client.get("/uaa/mes-resultats?masquer_reussite=1", headers=HTMX)
    assert "<html" not in fragment.text and "Résultat(s) 1 à 2 sur 2 élément(s)" in text(fragment)


# --- history ---------------------------------------------------------------------------------------------------


async def test_every_save_is_in_the_history_with_before_and_after(client):
    data = await make_learner()
    await login(client, "pierre.leroy")
    first = data["attempts"][0]
    await save(client, first, "reussite", DAY1)
    await save(client, first, "echec", DAY2, version=2)
    events = await HistoryEvent.select().where(
        (HistoryEvent.entity == "uaa_attempt") & (HistoryEvent.entity_id == first)
    ).order_by(HistoryEvent.id).output(load_json=True)
    assert [e["action"] for e in events] == ["encodage", "correction"]
    pierre = await _id(Account, Account.username == "pierre.leroy")
    assert all(e["actor_id"] == pierre and e["establishment_id"] == data["school"] for e in events)
    encoded, corrected = events
    assert encoded["before"]["status"] == "a_encoder" and encoded["after"]["status"] == "reussite"
    assert corrected["before"] == {"status": "reussite", "presented_on": DAY1.isoformat(), "version": 2}
    assert corrected["after"]["status"] == "echec" and corrected["after"]["presented_on"] == DAY2.isoformat()
    assert corrected["after"]["pending_added"] is not None
    assert "Réussite" in corrected["summary"] and "Echec" in corrected["summary"]


# --- performance -----------------------------------------------------------------------------------------------


async def test_the_list_page_runs_a_constant_number_of_queries(client):
    small = await make_learner(uaa_count=10)
    large = await make_learner(uaa_count=10, cf="T-0040", option_code="T2116")
    await login(client, "pierre.leroy")
    # 40 attempts for the second learner: failures followed by rows to encode
    for uaa, attempt in zip(large["uaas"], large["attempts"], strict=True):
        await Attempt.update({Attempt.status: "echec", Attempt.presented_on: DAY1}).where(Attempt.id == attempt)
        for sequence, status in ((2, "echec"), (3, "echec"), (4, "a_encoder")):
            await _insert(Attempt(learner=large["learner"], uaa=uaa, sequence=sequence, status=status,
                                  presented_on=DAY1 if status == "echec" else None, establishment=large["school"]))
    assert len(await snapshot(large["learner"])) == 40
    few = await queries_for(client, f"/uaa/eleves/{small['learner']}?afficher=100")
    many = await queries_for(client, f"/uaa/eleves/{large['learner']}?afficher=100")
    assert few == many
    assert many <= 6


async def test_a_save_runs_a_handful_of_queries(client):
    from piccolo.engine import engine_finder

    data = await make_learner()
    await login(client, "pierre.leroy")
    engine = engine_finder()
    before = engine.query_id
    response = await save(client, data["attempts"][0], "echec", DAY1, htmx=True)
    assert response.status_code == 200
    assert engine.query_id - before <= 10, engine.query_id - before
    assert re.search(r'<tbody id="uaa-\d+"', response.text)


async def test_learner_results_link_to_their_own_attestation_route(client):
    """The learner's page links Réussites to the learner's download route, which serves them a PDF."""
    import re

    await login(client, "lucas.petit")
    page = (await client.get("/uaa/mes-resultats")).text
    links = re.findall(r'href="(/uaa/mes-attestations/tentative/\d+)"', page)
    assert links and "/uaa/attestations/tentative/" not in page
    response = await client.get(links[0])
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
