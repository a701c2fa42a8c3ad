"""One's own account: password and e-mail changes, the help switch, activation links."""

from __future__ import annotations

import re

import pytest

from portal.accounts.tables import Account, UserSession
from portal.history.tables import HistoryEvent
from portal.messaging.tables import OutboxMail
from tests.integration.conftest import login, post_form

pytestmark = pytest.mark.anyio


async def test_password_change_enforces_policy_and_changes_nothing_on_error(client):
    await login(client, "marc.dubois")
    before = (await Account.objects().get(Account.username == "marc.dubois")).password_hash
    response = await post_form(client, "/compte/mot-de-passe",
                               {"current": "Portail-Demo-2026", "password": "marcdubois1A", "confirmation": "marcdubois1A"})
    assert response.status_code == 400
    assert "ne peut pas contenir votre nom" in response.text
    assert (await Account.objects().get(Account.username == "marc.dubois")).password_hash == before


async def test_password_change_then_login_with_new_password(client):
    await login(client, "marc.dubois")
    response = await post_form(client, "/compte/mot-de-passe",
                               {"current": "Portail-Demo-2026", "password": "Nouveau-Secret-9", "confirmation": "Nouveau-Secret-9"})
    assert response.status_code == 200 and "a été changé" in response.text
    await post_form(client, "/logout")
    await login(client, "marc.dubois", "Nouveau-Secret-9")
    assert await HistoryEvent.exists().where(HistoryEvent.action == "mot de passe changé")


async def test_email_change_requires_password_and_valid_address(client):
    await login(client, "marc.dubois")
    bad = await post_form(client, "/compte/email", {"password": "Portail-Demo-2026", "email": "pas-une-adresse"})
    assert bad.status_code == 400 and "forme valide" in bad.text
    wrong = await post_form(client, "/compte/email", {"password": "faux", "email": "marc@ecole.be"})
    assert wrong.status_code == 400 and "incorrect" in wrong.text
    assert (await Account.objects().get(Account.username == "marc.dubois")).email == "marc.dubois@demo.invalid"
    ok = await post_form(client, "/compte/email", {"password": "Portail-Demo-2026", "email": "marc@ecole.be"})
    assert ok.status_code == 200
    assert (await Account.objects().get(Account.username == "marc.dubois")).email == "marc@ecole.be"


async def test_activation_link_is_one_time(client):
    from portal.accounts.services import issue_activation
    from portal.history.services import SYSTEM

    account = await Account.objects().get(Account.username == "lucas.petit")
    token = await issue_activation(account.id, SYSTEM, purpose="reset")
    assert await UserSession.count().where(UserSession.account == account.id) == 0
    mail = await OutboxMail.objects().order_by(OutboxMail.id, ascending=False).first()
    assert token in mail.body and "lucas.petit" in mail.body
    link = re.search(r"/activation/\S+", mail.body).group(0)
    form = await client.get(link)
    assert form.status_code == 200 and "lucas.petit" in form.text
    weak = await post_form(client, link, {"password": "court", "confirmation": "court"})
    assert weak.status_code == 400 and "au moins 8 caractères" in weak.text
    done = await post_form(client, link, {"password": "Bonjour-Monde-7", "confirmation": "Bonjour-Monde-7"})
    assert done.status_code == 200 and "Mot de passe enregistré" in done.text
    again = await client.get(link)
    assert again.status_code == 404 and "plus valable" in again.text
    await login(client, "lucas.petit", "Bonjour-Monde-7")


async def test_language_switch_to_english(client):
    await post_form(client, "/langue", {"lang": "en", "next": "/login"})
    page = await client.get("/login")
    assert 'lang="en"' in page.text
