"""Journeys of messaging and history: the Administration writes messages (htmx and JavaScript off), a teacher
writes to the support and the Administration reads the mail in the outbox, a direction reads its history.
axe-core checks every page visited."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from e2e.pages import Dashboard, sign_in


def unique(text: str) -> str:
    """A subject no other journey of the session uses."""
    return f"{text} {uuid.uuid4().hex[:6]}"


def write_message(page: Page, subject: str, *, establishment: str = "", body: str = "Texte du message (e2e).") -> None:
    """Fill and send the message form of ``/messages``."""
    if establishment:
        page.get_by_label("Ciblé : à un établissement ou à un pôle").check()
        page.get_by_label("Établissement : numéro FASE ou UAI").fill(establishment)
    else:
        page.get_by_label("Applicatif : à tous les utilisateurs").check()
    page.get_by_label("Objet").fill(subject)
    page.get_by_label("Texte", exact=True).fill(body)
    page.get_by_role("button", name="Publier le message").click()


def test_administration_writes_a_targeted_message_in_place(page, a11y):
    sign_in(page, "helene.fontaine")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Messages").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Messages")
    a11y(page)
    page.evaluate("() => { window.__sameDocument = true; }")

    # A FASE number that does not exist: the form comes back with the error, in place.
    write_message(page, unique("Erreur"), establishment="12345")
    expect(page.get_by_role("alert")).to_contain_text("Aucun établissement ne porte le numéro FASE ou UAI « 12345 »")
    expect(page.get_by_label("Objet")).to_have_value(re.compile("^Erreur "))
    a11y(page)

    subject = unique("Encodage des résultats")
    page.get_by_label("Établissement : numéro FASE ou UAI").fill("99107")
    page.get_by_label("Objet").fill(subject)
    page.get_by_role("button", name="Publier le message").click()
    expect(page.get_by_role("status")).to_contain_text(f"Message publié : « {subject} »")
    table = page.locator("#message-list table")
    expect(table.locator("tbody tr").first).to_contain_text(subject)
    expect(table.locator("tbody tr").first).to_contain_text("Institut technique démo (FASE 99107)")
    expect(page.get_by_label("Objet")).to_have_value("")
    assert page.evaluate("() => window.__sameDocument === true"), "la page a été rechargée"
    a11y(page)
    Dashboard(page).sign_out()

    sign_in(page, "pierre.leroy")
    mine = page.locator("section[aria-labelledby=box-mine]")
    expect(mine).to_contain_text(subject)
    mine.get_by_text(subject).click()
    expect(mine.get_by_text("Texte du message (e2e).")).to_be_visible()
    a11y(page)


def test_teacher_writes_to_the_support_and_the_administration_reads_it(page, a11y):
    sign_in(page, "pierre.leroy")
    page.get_by_role("link", name="Écrire au support (formulaire de contact)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Écrire au support")
    a11y(page)
    subject = unique("Question sur l'encodage")
    page.get_by_label("Objet").fill(subject)
    page.get_by_label("Votre message").fill("Bonjour,\nComment encoder une UAA ?")
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_role("status")).to_contain_text("Votre message a été envoyé au support")
    a11y(page)
    Dashboard(page).sign_out()

    sign_in(page, "helene.fontaine")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Courriels envoyés").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Courriels envoyés")
    a11y(page)
    page.get_by_label("Destinataire ou objet contient").fill(subject)
    page.get_by_role("button", name="Filtrer").click()
    expect(page.locator("#outbox-table tbody tr")).to_have_count(1)
    expect(page.locator("#outbox-table")).to_contain_text("en attente")
    a11y(page)
    page.get_by_role("link", name=re.compile(re.escape(subject))).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(subject)
    expect(page.locator(".mail-body")).to_contain_text("Identifiant : pierre.leroy")
    expect(page.locator(".mail-body")).to_contain_text("Comment encoder une UAA ?")
    a11y(page)


def test_messages_without_javascript(page_nojs, a11y):
    page = page_nojs
    sign_in(page, "helene.fontaine")
    page.goto("/messages")
    a11y(page)

    write_message(page, unique("Sans JavaScript"), establishment="99999")
    expect(page.get_by_role("alert")).to_contain_text("Aucun établissement ne porte le numéro FASE ou UAI « 99999 »")
    a11y(page)

    subject = unique("Réunion sans JavaScript")
    page.get_by_label("Établissement : numéro FASE ou UAI").fill("99107")
    page.get_by_label("Objet").fill(subject)
    page.get_by_role("button", name="Publier le message").click()
    expect(page).to_have_url(re.compile(r"/messages$"))
    expect(page.locator("#message-list tbody tr").first).to_contain_text(subject)

    page.get_by_role("link", name=f"Supprimer le message « {subject} »").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Supprimer un message")
    a11y(page)
    page.get_by_role("button", name="Supprimer définitivement").click()
    expect(page).to_have_url(re.compile(r"/messages$"))
    expect(page.locator("#message-list")).not_to_contain_text(subject)

    page.goto("/courriels?recherche=activation")
    expect(page.get_by_role("heading", level=1)).to_have_text("Courriels envoyés")
    a11y(page)


def test_direction_reads_the_history_of_its_school(page, a11y):
    sign_in(page, "helene.fontaine")
    page.goto("/messages")
    subject = unique("Visite de l'inspection")
    write_message(page, subject, establishment="99101")
    expect(page.get_by_role("status")).to_contain_text(subject)
    page.goto("/historique")
    expect(page.get_by_role("heading", level=1)).to_have_text("Historique")
    a11y(page)
    Dashboard(page).sign_out()

    sign_in(page, "marc.dubois")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Historique").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Historique")
    table = page.locator("#history-table")
    expect(table).to_contain_text(f"Message publié : {subject}")
    expect(table).not_to_contain_text("Données de démonstration chargées")
    a11y(page)
    page.get_by_label("Texte (qui, action, résumé)").fill(subject)
    page.get_by_role("button", name="Filtrer").click()
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"recherche="))
    a11y(page)
