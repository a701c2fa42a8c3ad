"""Dashboards: each profile's blocks, the message boxes, and a query count that does not grow with the data."""

from __future__ import annotations

import pytest

from portal.core.clock import now
from portal.directory.tables import Establishment, Pole
from portal.messaging.tables import Message
from tests.integration.conftest import login, queries_for, text

pytestmark = pytest.mark.anyio


async def _add_messages(n: int) -> None:
    school = await Establishment.objects().get(Establishment.fase == "99107")
    pole = await Pole.objects().first()
    rows = []
    for i in range(n):
        rows.append(Message(kind="applicatif", subject=f"Général {i}", body="x", created_at=now()))
        rows.append(Message(kind="cible", subject=f"École {i}", body="x", establishment=school.id, created_at=now()))
        rows.append(Message(kind="cible", subject=f"Pôle {i}", body="x", pole=pole.id, created_at=now()))
    await Message.insert(*rows)


@pytest.mark.parametrize("username", ["helene.fontaine", "thomas.girard", "claire.lambert", "marc.dubois",
                                      "anne.lemaire", "pierre.leroy"])
async def test_dashboard_queries_do_not_grow_with_the_data(client, username):
    await login(client, username)
    before = await queries_for(client, "/tableau-de-bord")
    await _add_messages(30)
    after = await queries_for(client, "/tableau-de-bord")
    assert after <= before  # the Administration's counters are cached after the first view
    assert before <= 10


async def test_targeted_messages_reach_only_their_establishment(client):
    await login(client, "pierre.leroy")
    page = text(await client.get("/tableau-de-bord"))
    assert "Encodage des UAA (démo)" in page and "Réunion du pôle (démo)" not in page
    await login(client, "claire.lambert")
    page = text(await client.get("/tableau-de-bord"))
    assert "Réunion du pôle (démo)" in page and "Encodage des UAA (démo)" not in page


async def test_coordinator_sees_the_pole_schools_and_directions_their_pole(client):
    await login(client, "claire.lambert")
    page = text(await client.get("/tableau-de-bord"))
    assert "Collège coopérant démo du Condroz" in page and "École partenaire spécifique" in page
    await login(client, "marc.dubois")
    page = text(await client.get("/tableau-de-bord"))
    assert "Pôle territorial démo de Mosane — École siège" in page


async def test_pending_access_requests_are_counted_for_deciders_in_scope(client):
    await login(client, "thomas.girard")
    assert "1</strong> demande(s) en attente" in (await client.get("/tableau-de-bord")).text
    await login(client, "marc.dubois")
    assert "0</strong> demande(s) en attente" in (await client.get("/tableau-de-bord")).text


async def test_demo_data_is_marked(client):
    await login(client, "pierre.leroy")
    assert 'class="badge demo"' in (await client.get("/tableau-de-bord")).text


async def test_prebuilt_pending_count_agrees_with_the_scope_rule_for_every_affiliation(client):
    """The dashboard's prebuilt count and access_services.scope_condition say the same, profile by profile."""
    from portal.accounts.access_services import scope_condition
    from portal.accounts.identity import AffiliationView
    from portal.accounts.tables import AccessRequest, Affiliation
    from portal.dashboards.services import _pending_requests_sql
    from portal.permissions import Profile

    schools = await Establishment.select(Establishment.id, Establishment.organising_body)
    for n, school in enumerate(schools):  # a request of each kind at every school, and to every PO
        for profile in (Profile.TEACHER, Profile.DIRECTION, Profile.DELEGUE_PO):
            scope = ({"organising_body": school["organising_body"]} if profile == Profile.DELEGUE_PO
                     else {"establishment": school["id"], "organising_body": school["organising_body"]})
            await AccessRequest.insert(AccessRequest(first_name="A", last_name=f"B{n}", email=f"a{n}@demo.invalid",
                                                     profile=profile.value, created_at=now(), **scope))
    affiliations = await Affiliation.select()
    assert affiliations
    for row in affiliations:
        view = AffiliationView(id=row["id"], profile=Profile(row["profile"]), establishment_id=row["establishment"],
                               pole_id=row["pole"], organising_body_id=row["organising_body"])
        condition = scope_condition(AccessRequest, view)
        prepared = _pending_requests_sql(view)
        if condition is False:
            assert prepared is None
            continue
        query = AccessRequest.count().where(AccessRequest.status == "pending")
        expected = await (query if condition is True else query.where(condition))
        sql, args = prepared
        assert int((await AccessRequest.raw(sql, *args))[0]["n"]) == expected, row["profile"]


async def test_message_boxes_are_kept_until_a_message_changes(client):
    """The boxes are kept per process against the messages' change counter (read with the session): a second view
    runs no message query, and any insert, change or deletion — even in plain SQL, past the services — shows at
    once."""
    await login(client, "pierre.leroy")
    await client.get("/tableau-de-bord")  # the first view fills the process's copies
    kept = await queries_for(client, "/tableau-de-bord")
    assert await queries_for(client, "/tableau-de-bord") == kept
    school = await Establishment.objects().get(Establishment.fase == "99107")
    await Message.raw("INSERT INTO message (kind, subject, body, establishment, created_at, demo) "
                      "VALUES ('cible', 'Conseil de classe avancé', 'x', {}, {}, {})", school.id, now(), False)
    assert await queries_for(client, "/tableau-de-bord") == kept + 1  # the boxes are read again, once
    assert await queries_for(client, "/tableau-de-bord") == kept
    assert "Conseil de classe avancé" in text(await client.get("/tableau-de-bord"))
    await Message.raw("UPDATE message SET subject = 'Conseil de classe reporté' WHERE subject = 'Conseil de classe avancé'")
    page = text(await client.get("/tableau-de-bord"))
    assert "Conseil de classe reporté" in page and "Conseil de classe avancé" not in page
    await Message.raw("DELETE FROM message WHERE subject = 'Conseil de classe reporté'")
    assert "Conseil de classe reporté" not in text(await client.get("/tableau-de-bord"))
