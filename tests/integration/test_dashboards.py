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
