"""Journeys of access requests: an anonymous visitor asks for access, the school administrator approves it in
place (htmx swaps the row, no reload) and then revokes it; the same decision flow with JavaScript off (a refusal).
axe-core checks every page visited.

The e2e server is shared by the whole session: these journeys create their own requests (people who exist
nowhere else) and never touch the demo accounts' affiliations.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e.pages import sign_in


def fill_request(page: Page, first_name: str, last_name: str, email: str, profile: str, fase: str) -> None:
    """Fill the request form the way a person does (requester, profile, scope, motivation)."""
    page.get_by_label("Nom", exact=True).fill(last_name)
    page.get_by_label("Prénom").fill(first_name)
    page.get_by_label("Adresse e-mail de contact").fill(email)
    page.get_by_label("Fonction").fill("Élève de 5e TQ" if profile == "Apprenant" else "Enseignant de pratique")
    page.get_by_label("Profil demandé").select_option(label=profile)
    page.get_by_label("Établissement : numéro FASE ou UAI").fill(fase)
    page.get_by_label("Pourquoi cet accès est-il nécessaire ?").fill("Accès au suivi des UAA (parcours e2e).")


def open_requests(page: Page) -> None:
    """From the dashboard, follow the navigation link to the access requests."""
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Demandes d'accès").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demandes d'accès")


def test_anonymous_request_approved_in_place_then_revoked(page, a11y):
    page.goto("/login")
    page.get_by_role("link", name="Demander un accès au portail").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demande d'accès au portail")
    a11y(page)

    # A wrong address: French messages naming the field, nothing stored, the values kept.
    fill_request(page, "Yasmine", "Hoebeke", "yasmine@", "Apprenant", "99107")
    expect(page.locator("#establishment-found")).to_contain_text("Institut technique démo (FASE 99107)")
    page.get_by_role("button", name="Envoyer la demande").click()
    expect(page.get_by_role("alert")).to_contain_text("Adresse e-mail : l'adresse n'a pas une forme valide")
    expect(page.get_by_label("Prénom")).to_have_value("Yasmine")
    expect(page.get_by_label("Adresse e-mail de contact")).to_have_attribute("aria-invalid", "true")
    a11y(page)

    page.get_by_label("Adresse e-mail de contact").fill("yasmine.hoebeke@ecole-e2e.invalid")
    page.get_by_role("button", name="Envoyer la demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demande d'accès envoyée")
    expect(page.get_by_role("status")).to_contain_text("en attente de décision")
    expect(page.locator("dl.facts")).to_contain_text("Institut technique démo (FASE 99107)")
    a11y(page)

    sign_in(page, "thomas.girard")
    open_requests(page)
    row = page.locator("tbody tr", has_text="Yasmine Hoebeke")
    expect(row).to_contain_text("En attente")
    a11y(page)

    # Approving swaps the row in place: a marker set in the page survives (no full reload).
    page.evaluate("() => { window.__portalMarker = 'toujours là'; }")
    row.get_by_role("button", name="Accepter la demande de Yasmine Hoebeke").click()
    expect(row).to_contain_text("Acceptée")
    expect(row).to_contain_text("Compte yasmine.hoebeke créé ; lien d'activation envoyé")
    expect(row.get_by_role("button", name="Accepter la demande de Yasmine Hoebeke")).to_have_count(0)
    assert page.evaluate("() => window.__portalMarker") == "toujours là"
    expect(page).to_have_url(re.compile(r"/demandes-acces$"))
    a11y(page)

    # Annex 5: the access just granted is revoked, with a reason.
    page.get_by_role("link", name="Accès accordés : consulter ou révoquer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accès accordés")
    page.get_by_label("Nom ou identifiant").fill("hoebeke")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    a11y(page)
    page.get_by_role("link", name="Révoquer l'accès Apprenant de Yasmine Hoebeke").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Révoquer un accès")
    a11y(page)
    page.get_by_label("Motif de la révocation").fill("Inscription annulée (parcours e2e).")
    page.get_by_role("button", name="Confirmer la révocation").click()
    expect(page.get_by_role("status")).to_contain_text("Yasmine Hoebeke (yasmine.hoebeke) est révoqué")
    expect(page.get_by_role("link", name="Révoquer l'accès Apprenant de Yasmine Hoebeke")).to_have_count(0)
    a11y(page)


def test_refusal_without_javascript(page_nojs, a11y):
    page = page_nojs
    page.goto("/demande-acces")
    a11y(page)
    fill_request(page, "Bastien", "Olivier", "bastien.olivier@ecole-e2e.invalid", "Enseignant", "99107")
    page.get_by_role("button", name="Envoyer la demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demande d'accès envoyée")
    expect(page.locator("dl.facts")).to_contain_text("Institut technique démo (FASE 99107)")

    sign_in(page, "thomas.girard")
    open_requests(page)
    row = page.locator("tbody tr", has_text="Bastien Olivier")
    expect(row).to_contain_text("En attente")
    a11y(page)
    row.get_by_label("Motif du refus — Bastien Olivier").fill("Aucune attribution dans l'établissement.")
    row.get_by_role("button", name="Refuser la demande de Bastien Olivier").click()
    expect(page).to_have_url(re.compile(r"/demandes-acces\?traitee=\d+$"))
    expect(page.get_by_role("status")).to_contain_text("Demande de Bastien Olivier : refusée.")
    decided = page.locator("tbody tr", has_text="Bastien Olivier")
    expect(decided).to_contain_text("Refusée")
    expect(decided).to_contain_text("Motif : Aucune attribution dans l'établissement.")
    a11y(page)


def test_a_request_decided_elsewhere_meanwhile_shows_why_in_the_row(page, browser, server, a11y):
    page.goto("/demande-acces")
    fill_request(page, "Quentin", "Lambotte", "quentin.lambotte@ecole-e2e.invalid", "Enseignant", "99107")
    page.get_by_role("button", name="Envoyer la demande").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Demande d'accès envoyée")
    sign_in(page, "thomas.girard")
    open_requests(page)
    row = page.locator("tbody tr", has_text="Quentin Lambotte")

    # Meanwhile, the Administration refuses the same request in another browser.
    other = browser.new_context(base_url=server, locale="fr-BE", java_script_enabled=False)
    try:
        elsewhere = other.new_page()
        sign_in(elsewhere, "helene.fontaine")
        elsewhere.goto("/demandes-acces")
        other_row = elsewhere.locator("tbody tr", has_text="Quentin Lambotte")
        other_row.get_by_label("Motif du refus — Quentin Lambotte").fill("Demande en double (parcours e2e).")
        other_row.get_by_role("button", name="Refuser la demande de Quentin Lambotte").click()
        expect(elsewhere.get_by_role("status")).to_contain_text("Demande de Quentin Lambotte : refusée.")
    finally:
        other.close()

    # The stale row answers 409: htmx swaps in the row as it is now, with the reason in words.
    row.get_by_role("button", name="Accepter la demande de Quentin Lambotte").click()
    expect(row.get_by_role("alert")).to_contain_text("Cette demande a déjà été refusée par Hélène Fontaine")
    expect(row).to_contain_text("Refusée")
    expect(row.get_by_role("button", name="Accepter la demande de Quentin Lambotte")).to_have_count(0)
    a11y(page)
