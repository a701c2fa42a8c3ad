"""Messages of the Administration, the contact form and the outbox reader (SPEC §3, §4)."""

from __future__ import annotations

import re

import pytest

from portal.demo import DEMO_ACCOUNTS
from portal.directory.tables import Pole
from portal.history.tables import HistoryEvent
from portal.messaging.outbox import send_mail
from portal.messaging.tables import Message, OutboxMail
from portal.settings import settings
from tests.integration.conftest import (
    establishment_id,
    login,
    post_form,
    queries_for,
    text,
)

pytestmark = pytest.mark.anyio

SINGLE = [p for p in DEMO_ACCOUNTS if len(p.affiliations) == 1]
HTMX = {"HX-Request": "true"}


def box(html: str, box_id: str) -> str:
    """The text of one dashboard box (from its heading to the end of its section)."""
    start = html.index(f'id="{box_id}"')
    return html[start:html.index("</section>", start)]


async def as_user(client, username: str) -> None:
    await post_form(client, "/logout")
    await login(client, username)


async def dashboard(client, username: str) -> str:
    await as_user(client, username)
    response = await client.get("/tableau-de-bord")
    assert response.status_code == 200
    return text(response)



def message_form(**fields) -> dict:
    return {"kind": "applicatif", "subject": "Objet", "body": "Texte", "establishment": "", "pole": "", **fields}


# --- writing messages ---------------------------------------------------------------------------------------


async def test_applicatif_message_reaches_every_dashboard(client):
    await login(client, "helene.fontaine")
    page = await client.get("/messages")
    assert page.status_code == 200 and "Rédiger un message" in text(page)
    response = await post_form(client, "/messages", message_form(subject="Fermeture du portail (test)",
                                                                  body="Maintenance samedi.\nMerci."))
    assert response.status_code == 303 and response.headers["location"] == "/messages"
    message = await Message.objects().get(Message.subject == "Fermeture du portail (test)")
    assert message.kind == "applicatif" and message.establishment is None and message.pole is None
    assert message.body == "Maintenance samedi.\nMerci."
    event = await HistoryEvent.objects().get((HistoryEvent.entity == "message") & (HistoryEvent.entity_id == message.id))
    assert event.action == "publication" and event.actor_username == "helene.fontaine"
    assert event.profile == "administration" and event.before is None and "Fermeture du portail" in event.after
    listing = await client.get("/messages")
    assert "Fermeture du portail (test)" in text(listing) and "Tous les utilisateurs" in text(listing)
    for person in SINGLE:
        html = await dashboard(client, person.username)
        assert "Fermeture du portail (test)" in box(html, "box-app"), person.username
        assert "Fermeture du portail (test)" not in box(html, "box-mine"), person.username


async def test_targeted_message_to_an_establishment_reaches_only_it(client):
    await login(client, "helene.fontaine")
    response = await post_form(client, "/messages", message_form(kind="cible", establishment=" 99107 ",
                                                                  subject="Encodage urgent (test)"))
    assert response.status_code == 303
    itd = await establishment_id("99107")
    message = await Message.objects().get(Message.subject == "Encodage urgent (test)")
    assert message.kind == "cible" and message.establishment == itd and message.pole is None
    event = await HistoryEvent.objects().get((HistoryEvent.entity == "message") & (HistoryEvent.entity_id == message.id))
    assert event.establishment_id == itd and event.pole_id is None
    assert "Institut technique démo (FASE 99107)" in text(await client.get("/messages"))
    mine = box(await dashboard(client, "pierre.leroy"), "box-mine")
    assert "Encodage urgent (test)" in mine
    assert "Encodage urgent (test)" in box(await dashboard(client, "thomas.girard"), "box-mine")
    html = await dashboard(client, "marc.dubois")
    assert "Encodage urgent (test)" not in html
    assert "Encodage urgent (test)" not in await dashboard(client, "claire.lambert")


async def test_targeted_message_by_uai_reaches_the_french_school(client):
    await login(client, "helene.fontaine")
    response = await post_form(client, "/messages", message_form(kind="cible", establishment="0219999z",
                                                                  subject="Message au lycée (test)"))
    assert response.status_code == 303
    assert "Message au lycée (test)" in box(await dashboard(client, "julie.roux"), "box-mine")
    assert "Message au lycée (test)" not in await dashboard(client, "pierre.leroy")


async def test_pole_message_reaches_the_coordinator(client):
    pole = await Pole.select(Pole.id).first()
    await login(client, "helene.fontaine")
    page = text(await client.get("/messages"))
    assert f'<option value="{pole["id"]}"' in page and "Pôle territorial démo de Mosane" in page
    response = await post_form(client, "/messages", message_form(kind="cible", pole=str(pole["id"]),
                                                                  subject="Réunion du pôle (test)"))
    assert response.status_code == 303
    message = await Message.objects().get(Message.subject == "Réunion du pôle (test)")
    assert message.pole == pole["id"] and message.establishment is None
    event = await HistoryEvent.objects().get((HistoryEvent.entity == "message") & (HistoryEvent.entity_id == message.id))
    assert event.pole_id == pole["id"] and event.establishment_id is None
    assert "Réunion du pôle (test)" in box(await dashboard(client, "claire.lambert"), "box-mine")
    assert "Réunion du pôle (test)" not in await dashboard(client, "pierre.leroy")


BAD_MESSAGES = [
    (message_form(subject=""), "Indiquez l'objet."),
    (message_form(subject="   "), "Indiquez l'objet."),
    (message_form(body=""), "Indiquez le texte."),
    (message_form(subject="x" * 201), "L'objet ne peut pas dépasser 200 caractères"),
    (message_form(body="x" * 5001), "Le texte ne peut pas dépasser 5 000 caractères"),
    (message_form(kind="tous"), "Choisissez le type du message"),
    (message_form(kind=""), "Choisissez le type du message"),
    (message_form(kind="cible"), "Pour un message ciblé, indiquez le numéro FASE ou UAI"),
    (message_form(kind="cible", establishment="99107", pole="1"), "pas les deux"),
    (message_form(kind="cible", establishment="12345"), "Aucun établissement ne porte le numéro FASE ou UAI « 12345 »"),
    (message_form(kind="cible", establishment="9" * 21), "ne peut pas dépasser 20 caractères"),
    (message_form(kind="cible", pole="abc"), "Choisissez un pôle de la liste."),
    (message_form(kind="cible", pole="999999"), "Le pôle choisi n'existe pas"),
    (message_form(kind="cible", pole="99999999999999999999999"), "Choisissez un pôle de la liste."),
    (message_form(establishment="99107"), "Un message applicatif s'adresse à tous"),
]


@pytest.mark.parametrize(("data", "expected"), BAD_MESSAGES)
async def test_bad_message_is_refused_in_french_and_nothing_is_stored(client, data, expected):
    await login(client, "helene.fontaine")
    messages, events = await Message.count(), await HistoryEvent.count()
    response = await post_form(client, "/messages", data)
    assert response.status_code == 400
    body = text(response)
    assert expected in body and "Rien n'a été enregistré" in body
    assert "<html" in body and 'id="message-list"' in body  # the whole page, form kept
    assert await Message.count() == messages and await HistoryEvent.count() == events


async def test_message_form_keeps_what_was_typed_after_an_error(client):
    await login(client, "helene.fontaine")
    response = await post_form(client, "/messages", message_form(kind="cible", establishment="12345",
                                                                  subject="Mon objet", body="Mon texte"))
    body = text(response)
    assert 'value="Mon objet"' in body and ">Mon texte</textarea>" in body and 'value="12345"' in body
    assert re.search(r'value="cible"\s+checked', body)


async def test_htmx_publication_swaps_the_list_and_a_fresh_form(client):
    await login(client, "helene.fontaine")
    response = await post_form(client, "/messages", message_form(subject="Publié par htmx (test)"), headers=HTMX)
    assert response.status_code == 200
    body = text(response)
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="message-list">')
    assert "Publié par htmx (test)" in body
    assert 'id="message-form-panel" aria-labelledby="message-form-title" hx-swap-oob="true"' in body
    assert "Message publié : « Publié par htmx (test) »" in body
    assert await Message.exists().where(Message.subject == "Publié par htmx (test)")


async def test_htmx_error_retargets_the_form(client):
    await login(client, "helene.fontaine")
    count = await Message.count()
    response = await post_form(client, "/messages", message_form(subject=""), headers=HTMX)
    assert response.status_code == 400
    assert response.headers["hx-retarget"] == "#message-form-panel"
    assert response.headers["hx-reswap"] == "outerHTML"
    body = text(response)
    assert "<html" not in body and "Indiquez l'objet." in body and 'id="message-list"' not in body
    assert await Message.count() == count


async def test_message_list_is_paged_newest_first_and_htmx_gets_the_partial(client):
    from portal.core.clock import now

    for number in range(25):
        await Message.insert(Message(kind="applicatif", subject=f"Message numéro {number:02d}", body="…",
                                     created_at=now()))
    await login(client, "helene.fontaine")
    first = text(await client.get("/messages"))
    assert "Message numéro 05" in first and "Message numéro 04" not in first
    assert first.index("Message numéro 24") < first.index("Message numéro 23")
    assert "page 1 sur 2" in first and 'href="/messages?page=2"' in first
    second = await client.get("/messages?page=2", headers=HTMX)
    assert second.status_code == 200
    body = text(second)
    assert "<html" not in body and body.lstrip().startswith('<div id="message-list">')
    assert "Message numéro 03" in body and "Message numéro 24" not in body and "Page précédente" in body
    beyond = text(await client.get("/messages?page=99"))
    assert "page 2 sur 2" in beyond
    bad = await client.get("/messages?page=deux")
    assert bad.status_code == 400 and "Requête invalide" in text(bad)


async def test_delete_message_with_confirmation_and_history(client):
    await login(client, "helene.fontaine")
    message = await Message.objects().get(Message.subject == "Encodage des UAA (démo)")
    confirm = await client.get(f"/messages/{message.id}/supprimer")
    assert confirm.status_code == 200
    assert "Supprimer définitivement" in text(confirm) and "Encodage des UAA (démo)" in text(confirm)
    assert await Message.exists().where(Message.id == message.id)
    response = await post_form(client, f"/messages/{message.id}/supprimer")
    assert response.status_code == 303 and response.headers["location"] == "/messages"
    assert not await Message.exists().where(Message.id == message.id)
    event = await HistoryEvent.objects().get((HistoryEvent.entity == "message") & (HistoryEvent.action == "suppression"))
    assert event.entity_id == message.id and event.after is None and "Encodage des UAA" in event.before
    assert event.establishment_id == await establishment_id("99107")
    again = await post_form(client, f"/messages/{message.id}/supprimer")
    assert again.status_code == 404 and "n'existe pas" in text(again)


@pytest.mark.parametrize("url", ["/messages/999999/supprimer", "/messages/abc/supprimer",
                                 "/messages/99999999999999999999999/supprimer", "/messages/0/supprimer"])
async def test_unknown_message_is_a_french_404(client, url):
    await login(client, "helene.fontaine")
    response = await client.get(url)
    assert response.status_code == 404 and "Page introuvable" in text(response)
    posted = await post_form(client, url)
    assert posted.status_code == 404


@pytest.mark.parametrize("username", ["pierre.leroy", "thomas.girard", "marc.dubois", "claire.lambert"])
async def test_only_the_administration_writes_messages(client, username):
    await login(client, username)
    count = await Message.count()
    assert (await client.get("/messages")).status_code == 403
    response = await post_form(client, "/messages", message_form(subject="Intrus"))
    assert response.status_code == 403 and "Accès refusé" in text(response)
    message = await Message.select(Message.id).first()
    assert (await post_form(client, f"/messages/{message['id']}/supprimer")).status_code == 403
    assert await Message.count() == count


async def test_anonymous_is_sent_to_login(client):
    response = await client.get("/messages")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


# --- contact form -------------------------------------------------------------------------------------------


async def test_contact_form_sends_a_mail_to_the_support(client):
    await login(client, "pierre.leroy")
    form = await client.get("/contact")
    assert form.status_code == 200 and settings.contact_address in text(form)
    response = await post_form(client, "/contact", {"subject": "Question sur les UAA",
                                                    "message": "Bonjour,\r\nComment encoder ?"})
    assert response.status_code == 303 and response.headers["location"] == "/contact?envoye=1"
    mail = await OutboxMail.objects().order_by(OutboxMail.id, ascending=False).first()
    assert mail.recipient == settings.contact_address
    assert "Question sur les UAA" in mail.subject
    for expected in ("Nom : Pierre Leroy", "Identifiant : pierre.leroy", "Profil : Enseignant — Institut technique démo",
                     "99107", "Bonjour,\nComment encoder ?"):
        assert expected in mail.body
    assert mail.establishment == await establishment_id("99107")
    event = await HistoryEvent.objects().get(HistoryEvent.entity == "contact")
    assert event.entity_id == mail.id and event.actor_username == "pierre.leroy"
    done = await client.get("/contact?envoye=1")
    assert "Votre message a été envoyé au support" in text(done)


async def test_contact_from_a_pole_has_no_establishment(client):
    await login(client, "claire.lambert")
    response = await post_form(client, "/contact", {"subject": "Pôle", "message": "Question"})
    assert response.status_code == 303
    mail = await OutboxMail.objects().order_by(OutboxMail.id, ascending=False).first()
    assert mail.establishment is None and "Coordonnateur de pôle — Pôle territorial démo de Mosane" in mail.body


@pytest.mark.parametrize(("data", "expected"), [
    ({"subject": "", "message": "x"}, "Indiquez l'objet."),
    ({"subject": "x", "message": "  "}, "Indiquez votre message."),
    ({"subject": "x" * 201, "message": "x"}, "L'objet ne peut pas dépasser 200 caractères"),
    ({"subject": "x", "message": "x" * 5001}, "Votre message ne peut pas dépasser 5 000 caractères"),
    ({}, "Indiquez l'objet."),
])
async def test_bad_contact_is_refused_and_sends_nothing(client, data, expected):
    await login(client, "lucas.petit")
    count = await OutboxMail.count()
    response = await post_form(client, "/contact", data)
    assert response.status_code == 400 and expected in text(response)
    assert await OutboxMail.count() == count
    assert not await HistoryEvent.exists().where(HistoryEvent.entity == "contact")


# --- outbox reader ------------------------------------------------------------------------------------------


async def _mails() -> dict[str, int]:
    itd, seat = await establishment_id("99107"), await establishment_id("99101")
    return {
        "itd": await send_mail("eleve@itd.invalid", "Bulletin ITD", "Corps du courriel ITD\nligne 2", itd),
        "seat": await send_mail("direction@siege.invalid", "Convention siège", "Corps du courriel siège", seat),
        "none": await send_mail("personne@nulle.invalid", "Activation", "Corps sans établissement"),
    }


async def test_school_admin_reads_only_the_mails_of_its_establishment(client):
    ids = await _mails()
    await login(client, "thomas.girard")
    listing = await client.get("/courriels")
    body = text(listing)
    assert listing.status_code == 200
    assert "Bulletin ITD" in body and "eleve@itd.invalid" in body and "en attente" in body
    assert "Convention siège" not in body and "personne@nulle.invalid" not in body
    mail = await client.get(f"/courriels/{ids['itd']}")
    assert mail.status_code == 200 and "Corps du courriel ITD\nligne 2" in text(mail)
    other = await client.get(f"/courriels/{ids['seat']}")
    assert other.status_code == 404 and "ne concerne pas votre établissement" in text(other)
    assert (await client.get(f"/courriels/{ids['none']}")).status_code == 404
    assert (await client.get("/courriels/abc")).status_code == 404
    assert (await client.get("/courriels/99999999999999999999")).status_code == 404


async def test_administration_reads_every_mail_with_filter_and_htmx(client):
    ids = await _mails()
    await login(client, "helene.fontaine")
    body = text(await client.get("/courriels"))
    for subject in ("Bulletin ITD", "Convention siège", "Activation"):
        assert subject in body
    assert (await client.get(f"/courriels/{ids['seat']}")).status_code == 200
    filtered = text(await client.get("/courriels?recherche=SIEGE"))
    assert "Convention siège" in filtered and "Bulletin ITD" not in filtered
    by_subject = text(await client.get("/courriels?recherche=bulletin"))
    assert "Bulletin ITD" in by_subject and "Convention siège" not in by_subject
    literal = text(await client.get("/courriels?recherche=%25"))
    assert "Aucun courriel ne correspond" in literal
    partial = await client.get("/courriels?recherche=bulletin", headers=HTMX)
    assert partial.status_code == 200
    assert "<html" not in partial.text and partial.text.lstrip().startswith('<div id="outbox-table">')
    assert "Bulletin ITD" in partial.text
    too_long = await client.get("/courriels?recherche=" + "x" * 101)
    assert too_long.status_code == 400 and "ne peut pas dépasser 100 caractères" in text(too_long)
    assert (await client.get("/courriels?page=x")).status_code == 400


async def test_outbox_states_are_words(client):
    ids = await _mails()
    from portal.core.clock import now

    await OutboxMail.update({OutboxMail.sent_at: now()}).where(OutboxMail.id == ids["itd"])
    await OutboxMail.update({OutboxMail.error: "Connexion refusée"}).where(OutboxMail.id == ids["seat"])
    await login(client, "helene.fontaine")
    body = text(await client.get("/courriels"))
    assert ">envoyé<" in body and ">erreur<" in body and ">en attente<" in body
    detail = text(await client.get(f"/courriels/{ids['seat']}"))
    assert "Connexion refusée" in detail


@pytest.mark.parametrize("username", ["marc.dubois", "pierre.leroy", "lucas.petit", "claire.lambert"])
async def test_outbox_is_refused_to_other_profiles(client, username):
    ids = await _mails()
    await login(client, username)
    assert (await client.get("/courriels")).status_code == 403
    assert (await client.get(f"/courriels/{ids['itd']}")).status_code == 403


async def test_outbox_is_paged_in_a_constant_number_of_queries(client):
    itd = await establishment_id("99107")
    await login(client, "thomas.girard")

    await send_mail("a@itd.invalid", "Un", "x", itd)
    few = await queries_for(client, "/courriels")
    for number in range(45):
        await send_mail(f"b{number}@itd.invalid", f"Courriel {number}", "x", itd)
    many = await queries_for(client, "/courriels")
    assert 0 < few == many
    body = text(await client.get("/courriels?page=3"))
    assert "page 3 sur 3" in body and "Un" in body
