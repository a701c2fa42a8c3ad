"""Signing in and out, the profile chooser, throttling, CSRF and sessions."""

from __future__ import annotations

import pytest

from portal.accounts.tables import Account, UserSession
from portal.demo import DEMO_ACCOUNTS
from portal.history.tables import HistoryEvent
from tests.integration.conftest import csrf_token, login, post_form, text

pytestmark = pytest.mark.anyio

SINGLE = [p for p in DEMO_ACCOUNTS if len(p.affiliations) == 1]


async def test_login_page_is_a_french_form(client):
    response = await client.get("/login")
    assert response.status_code == 200
    assert 'name="username"' in response.text and 'name="password"' in response.text
    assert "Connexion" in response.text and 'lang="fr"' in response.text


@pytest.mark.parametrize("person", SINGLE, ids=lambda p: p.username)
async def test_every_demo_account_lands_on_its_dashboard(client, person):
    response = await login(client, person.username)
    assert response.headers["location"] == "/"
    home = await client.get("/", follow_redirects=True)
    assert home.status_code == 200
    profile = person.affiliations[0][0]
    assert f"Tableau de bord — {profile.label}" in text(home)
    assert "Messages applicatifs" in home.text and "Mes messages" in text(home)
    assert "Agit pour" in text(home)


async def test_wrong_password_is_refused_in_french_and_records_nothing(client):
    before = await UserSession.count()
    response = await post_form(client, "/login", {"username": "marc.dubois", "password": "Mauvais-1"})
    assert response.status_code == 200
    assert "Identifiant ou mot de passe incorrect." in response.text
    assert await UserSession.count() == before


async def test_five_failures_throttle_even_the_right_password(client):
    for _ in range(5):
        await post_form(client, "/login", {"username": "marc.dubois", "password": "Mauvais-1"})
    response = await post_form(client, "/login", {"username": "marc.dubois", "password": "Portail-Demo-2026"})
    assert response.status_code == 429
    assert "Trop de tentatives" in response.text
    assert "portal_session" not in response.cookies


async def test_a_post_without_csrf_token_is_refused(client):
    await client.get("/login")
    response = await client.post("/login", data={"username": "marc.dubois", "password": "Portail-Demo-2026"})
    assert response.status_code == 403
    assert "jeton de sécurité" in response.text
    assert await UserSession.count() == 0


async def test_htmx_header_carries_the_csrf_token(client):
    await login(client, "marc.dubois")
    token = await csrf_token(client)
    response = await client.post("/compte/aide", data={"enabled": "0", "next": "/compte"},
                                 headers={"x-csrftoken": token, "hx-request": "true"})
    assert response.status_code == 200 and response.headers["hx-redirect"] == "/compte"
    assert (await Account.objects().get(Account.username == "marc.dubois")).help_enabled is False


async def test_multi_affiliation_person_chooses_and_switches(client):
    response = await post_form(client, "/login", {"username": "jf.bernard", "password": "Portail-Demo-2026", "next": "/"})
    assert response.headers["location"].startswith("/choisir-profil")
    assert (await client.get("/tableau-de-bord")).headers["location"] == "/choisir-profil"
    chooser = await client.get("/choisir-profil")
    assert "Enseignant — Institut technique démo" in chooser.text
    assert "Direction — École partenaire démo des Tilleuls" in chooser.text
    await login(client, "jf.bernard", choose=0)
    dashboard = await client.get("/tableau-de-bord")
    assert "Tableau de bord — Enseignant" in dashboard.text and "Changer de profil" in dashboard.text
    await login(client, "jf.bernard", choose=1)
    dashboard = await client.get("/tableau-de-bord")
    assert "Tableau de bord — Direction" in dashboard.text
    assert "Agit pour :" in dashboard.text and "Tilleuls" in dashboard.text


async def test_choosing_someone_elses_affiliation_is_refused(client):
    await login(client, "jf.bernard")
    response = await post_form(client, "/choisir-profil", {"affiliation": "1", "next": "/"})
    assert response.status_code == 400
    assert "Choisissez l'un des profils" in text(response)


async def test_logout_closes_the_session(client):
    await login(client, "marc.dubois")
    response = await post_form(client, "/logout")
    assert response.status_code == 303
    assert (await client.get("/tableau-de-bord")).headers["location"].startswith("/login")
    assert await HistoryEvent.exists().where(HistoryEvent.action == "déconnexion")


async def test_anonymous_is_sent_to_login_with_return_path(client):
    response = await client.get("/compte")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?suivant=/compte"


async def test_open_redirect_is_not_followed(client):
    response = await post_form(client, "/login", {"username": "marc.dubois", "password": "Portail-Demo-2026",
                                                  "next": "//evil.example/"})
    assert response.headers["location"] == "/"


async def test_healthz(client):
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_unknown_page_is_a_french_404(client):
    response = await client.get("/nulle-part")
    assert response.status_code == 404 and "Page introuvable" in response.text
