"""The history reader (SPEC §10): who reads what, filters, paging, constant number of queries."""

from __future__ import annotations

import pytest

from portal.history.services import Actor, record
from tests.integration.conftest import (
    establishment_id,
    login,
    post_form,
    queries_for,
    text,
)

pytestmark = pytest.mark.anyio

HTMX = {"HX-Request": "true"}
ADMIN = Actor(account_id=None, username="helene.fontaine", profile="administration")



async def _events() -> tuple[int, int]:
    seat, itd = await establishment_id("99101"), await establishment_id("99107")
    await record(ADMIN, "message", 501, "publication", after={"objet": "Pour le siège", "texte": "é"},
                 summary="Événement du siège", establishment_id=seat)
    await record(ADMIN, "message", 502, "suppression", before={"objet": "Pour l'institut"},
                 summary="Événement de l'institut", establishment_id=itd)
    return seat, itd


async def test_direction_reads_only_its_establishment(client):
    await _events()
    await login(client, "marc.dubois")
    response = await client.get("/historique")
    assert response.status_code == 200
    body = text(response)
    assert "Événement du siège" in body and "Événement de l'institut" not in body
    assert "Données de démonstration chargées" not in body
    assert '{"objet": "Pour le siège", "texte": "é"}' in body  # compact JSON, accents kept
    assert "helene.fontaine" in body and "Administration" in body and "Message" in body
    assert "École siège démo" in body


async def test_administration_reads_everything(client):
    await _events()
    await login(client, "helene.fontaine")
    body = text(await client.get("/historique"))
    for summary in ("Événement du siège", "Événement de l'institut", "Données de démonstration chargées"):
        assert summary in body
    assert '{"objet": "Pour l\'institut"}' in body
    assert "système" in body


async def test_a_message_published_shows_in_the_history_of_its_establishment(client):
    await login(client, "helene.fontaine")
    response = await post_form(client, "/messages", {"kind": "cible", "establishment": "99101",
                                                     "subject": "Visite de la commission", "body": "Mardi."})
    assert response.status_code == 303
    await post_form(client, "/logout")
    await login(client, "marc.dubois")
    body = text(await client.get("/historique?entite=message"))
    assert "Message publié : Visite de la commission" in body and "publication" in body


@pytest.mark.parametrize("username", ["pierre.leroy", "lucas.petit", "thomas.girard", "claire.lambert",
                                      "anne.lemaire", "nathalie.moreau"])
async def test_other_profiles_are_refused(client, username):
    await login(client, username)
    response = await client.get("/historique")
    assert response.status_code == 403 and "Accès refusé" in text(response)


async def test_filters_by_entity_and_text(client):
    await _events()
    await login(client, "helene.fontaine")
    page = text(await client.get("/historique"))
    assert '<option value="message"' in page and '<option value="demo"' in page
    by_entity = text(await client.get("/historique?entite=demo"))
    assert "Données de démonstration chargées" in by_entity and "Événement du siège" not in by_entity
    by_text = text(await client.get("/historique?recherche=INSTITUT"))
    assert "Événement de l'institut" in by_text and "Événement du siège" not in by_text
    by_action = text(await client.get("/historique?recherche=suppression"))
    assert "Événement de l'institut" in by_action and "Événement du siège" not in by_action
    # "_" is a literal underscore, not LIKE's any-character: "du_siège" does not match "du siège"
    nothing = text(await client.get("/historique?recherche=du_si%C3%A8ge"))
    assert "Aucun événement ne correspond" in nothing
    assert "Événement du siège" in text(await client.get("/historique?recherche=si%C3%A8ge"))
    partial = await client.get("/historique?entite=message&recherche=siège", headers=HTMX)
    assert partial.status_code == 200 and "<html" not in partial.text
    assert partial.text.lstrip().startswith('<div id="history-table">')
    assert "Événement du siège" in text(partial)


async def test_bad_filters_are_french_400(client):
    await login(client, "helene.fontaine")
    long_text = await client.get("/historique?recherche=" + "x" * 101)
    assert long_text.status_code == 400 and "ne peut pas dépasser 100 caractères" in text(long_text)
    long_entity = await client.get("/historique?entite=" + "x" * 41)
    assert long_entity.status_code == 400
    bad_page = await client.get("/historique?page=un")
    assert bad_page.status_code == 400 and "Requête invalide" in text(bad_page)
    bad_size = await client.get("/historique?taille=beaucoup")
    assert bad_size.status_code == 400


async def test_paging_newest_first(client):
    await login(client, "helene.fontaine")
    for number in range(30):
        await record(ADMIN, "message", number, "publication", summary=f"Numéro {number:02d}")
    first = text(await client.get("/historique?taille=20"))
    assert "Numéro 29" in first and "Numéro 10" in first and "Numéro 09" not in first
    assert first.index("Numéro 29") < first.index("Numéro 28")
    assert 'href="/historique?taille=20&page=2"' in first
    second = text(await client.get("/historique?taille=20&page=2"))
    assert "Numéro 09" in second and "Numéro 10" not in second and "Page précédente" in second
    odd = text(await client.get("/historique?taille=7"))  # not an offered size: the default
    assert "Numéro 09" in odd


async def test_query_count_does_not_grow_with_the_page_size(client):
    seat = await establishment_id("99101")
    await login(client, "marc.dubois")

    await record(ADMIN, "message", 1, "publication", after={"a": 1}, establishment_id=seat)
    one = await queries_for(client, "/historique?taille=100")
    for number in range(120):
        await record(ADMIN, "message", number, "publication", before={"n": number}, after={"n": number + 1},
                     summary=f"n° {number}", establishment_id=seat)
    hundred = await queries_for(client, "/historique?taille=100")
    twenty = await queries_for(client, "/historique?taille=20&entite=message&recherche=n")
    assert 0 < one == hundred == twenty
    body = text(await client.get("/historique?taille=100"))
    assert body.count("<tr>") == 101  # header row and 100 events


async def test_long_values_are_folded(client):
    await login(client, "helene.fontaine")
    await post_form(client, "/messages", {"kind": "applicatif", "subject": "Long", "body": "mot " * 400})
    body = text(await client.get("/historique?entite=message"))
    assert "<details><summary><code class=\"json\">" in body and "…</code></summary>" in body
