"""Journeys of the user management: a school administrator lists and filters the accounts of the establishment
(the table is swapped in place by htmx), creates an account, reads its login name and resets it; the same
creation with JavaScript off. axe-core checks every page visited.

The e2e server is shared by the whole session: these journeys only touch the accounts they create.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e.pages import sign_in


def open_users(page: Page) -> None:
    """From the dashboard, follow the navigation link to the user list."""
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Utilisateurs").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Utilisateurs")


def create_account(page: Page, first_name: str, last_name: str, email: str, profile: str) -> str:
    """Fill the creation form; returns the login name shown on the account page."""
    page.get_by_role("link", name="Créer un compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Créer un compte")
    page.get_by_label("Prénom").fill(first_name)
    page.get_by_label("Nom", exact=True).fill(last_name)
    page.get_by_label("Adresse e-mail").fill(email)
    page.get_by_label("Profil").select_option(label=profile)
    page.get_by_role("button", name="Créer le compte").click()
    expect(page.get_by_role("status")).to_contain_text("Le compte a été créé.")
    return page.locator("strong.username").inner_text()


def table_rows(page: Page):
    """The rows of the account table."""
    return page.locator("#user-table tbody tr")


def test_school_admin_filters_in_place_creates_and_resets(page, a11y):
    sign_in(page, "thomas.girard")
    open_users(page)
    expect(page.get_by_role("link", name="lucas.petit")).to_be_visible()
    expect(page.get_by_role("link", name="marc.dubois")).to_have_count(0)
    a11y(page)

    # Filtering swaps only the table: a marker set in the page survives, the URL keeps the criteria.
    page.evaluate("() => { window.__portalMarker = 'toujours là'; }")
    page.get_by_label("Nom ou identifiant").fill("lucas")
    page.get_by_role("button", name="Filtrer").click()
    expect(table_rows(page)).to_have_count(1)
    expect(table_rows(page).first).to_contain_text("lucas.petit")
    expect(page).to_have_url(re.compile(r"/utilisateurs\?q=lucas"))
    assert page.evaluate("() => window.__portalMarker") == "toujours là"
    page.get_by_label("Nom ou identifiant").fill("")
    page.get_by_label("Profil").select_option(label="Enseignant")
    expect(table_rows(page)).to_have_count(2)
    expect(page.get_by_role("link", name="lucas.petit")).to_have_count(0)
    assert page.evaluate("() => window.__portalMarker") == "toujours là"
    expect(page).to_have_url(re.compile(r"profil=enseignant"))
    a11y(page)

    username = create_account(page, "Noémie", "Vandenberghe", "noemie.v@ecole-demo.invalid", "Apprenant")
    assert username == "noemie.vandenberghe"
    expect(page.get_by_text("en attente d'activation")).to_be_visible()
    a11y(page)

    page.get_by_role("link", name="← Retour à la liste des utilisateurs").click()
    page.get_by_label("Nom ou identifiant").fill(username)
    page.get_by_role("button", name="Filtrer").click()
    expect(table_rows(page)).to_have_count(1)
    row = table_rows(page).first
    expect(row.locator(".badge.manual")).to_have_text("manuel")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name=f"Réinitialiser {username}").click()
    expect(table_rows(page).first).to_contain_text("Nouveau lien d'activation envoyé.")
    expect(table_rows(page).first).to_contain_text("en attente d'activation")
    a11y(page)

    # Hide it in place, then show the hidden accounts to find it again.
    table_rows(page).first.get_by_role("button", name=f"Masquer {username}").click()
    expect(table_rows(page).first).to_contain_text("Compte masqué.")
    page.get_by_role("button", name="Filtrer").click()
    expect(page.get_by_text("Aucun compte ne correspond à ces critères.")).to_be_visible()
    page.get_by_label("Afficher les comptes masqués").check()
    expect(table_rows(page)).to_have_count(1)
    expect(page).to_have_url(re.compile(r"masques=1"))
    a11y(page)


def test_school_admin_without_javascript(page_nojs, a11y):
    page = page_nojs
    sign_in(page, "thomas.girard")
    open_users(page)
    a11y(page)
    page.get_by_label("Nom ou identifiant").fill("petit")
    page.get_by_role("button", name="Filtrer").click()
    expect(page).to_have_url(re.compile(r"/utilisateurs\?q=petit"))
    expect(table_rows(page)).to_have_count(1)
    a11y(page)

    username = create_account(page, "Jean-Sébastien", "Delacroix-Marchal", "js.dm@ecole-demo.invalid", "Enseignant")
    assert username == "js.delacroixmarchal"
    a11y(page)

    page.get_by_label("Nom", exact=True).fill("Delacroix")
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("status")).to_contain_text("Les modifications ont été enregistrées.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Jean-Sébastien Delacroix")
    page.get_by_role("button", name="Réinitialiser le mot de passe").click()
    expect(page.get_by_role("status")).to_contain_text("nouveau lien d'activation a été envoyé")
    a11y(page)

    page.get_by_role("link", name="← Retour à la liste des utilisateurs").click()
    page.get_by_label("Nom ou identifiant").fill("delacroix")
    page.get_by_role("button", name="Filtrer").click()
    page.get_by_label(f"Sélectionner {username}").check()
    page.get_by_role("button", name="Réinitialiser la sélection").click()
    expect(page.get_by_role("status").first).to_contain_text("1 compte(s) réinitialisé(s)")
    a11y(page)


def test_invalid_creation_shows_french_errors(page, a11y):
    sign_in(page, "thomas.girard")
    page.goto("/utilisateurs/nouveau")
    page.get_by_label("Prénom").fill("Anne")
    page.get_by_label("Nom", exact=True).fill("Sansmail")
    page.get_by_label("Adresse e-mail").fill("anne@")
    page.get_by_label("Profil").select_option(label="Apprenant")
    page.evaluate("() => document.querySelector('form.stacked').noValidate = true")
    page.get_by_role("button", name="Créer le compte").click()
    expect(page.get_by_role("alert")).to_contain_text("L'adresse e-mail n'a pas une forme valide")
    expect(page.get_by_label("Prénom")).to_have_value("Anne")
    a11y(page)
