"""Journeys of the foundation: every profile signs in and lands on its dashboard; choosing and switching a
profile; the account page; the same with JavaScript off. axe-core checks every page visited."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from e2e.pages import ChooserPage, Dashboard, LoginPage, sign_in
from portal.demo import DEMO_ACCOUNTS

SINGLE = [p for p in DEMO_ACCOUNTS if len(p.affiliations) == 1]


@pytest.mark.parametrize("person", SINGLE, ids=lambda p: p.username)
def test_each_profile_lands_on_its_dashboard(page, a11y, person):
    LoginPage(page).open()
    a11y(page)
    sign_in(page, person.username)
    dashboard = Dashboard(page)
    dashboard.expect_profile(person.affiliations[0][0].label)
    a11y(page)
    page.get_by_role("link", name="Guide de l'utilisateur").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Guide de l'utilisateur")
    a11y(page)
    dashboard.sign_out()
    expect(page).to_have_url(re.compile(r".*/login$"))


def test_multi_affiliation_chooses_then_switches(page, a11y):
    sign_in(page, "jf.bernard")
    expect(page.get_by_role("heading", level=1)).to_have_text("Pour qui agissez-vous ?")
    a11y(page)
    ChooserPage(page).choose("Enseignant — Institut technique démo")
    dashboard = Dashboard(page)
    dashboard.expect_profile("Enseignant")
    assert "Institut technique démo" in dashboard.acting_for()
    page.get_by_role("link", name="Changer de profil").click()
    ChooserPage(page).choose("Direction — École partenaire démo des Tilleuls")
    dashboard.expect_profile("Direction")
    assert "Tilleuls" in dashboard.acting_for()
    a11y(page)


def test_account_page_and_help_switch(page, a11y):
    sign_in(page, "pierre.leroy")
    expect(page.locator("aside.help")).to_be_visible()
    page.get_by_role("button", name="Masquer l'aide contextuelle").click()
    expect(page.locator("aside.help")).to_have_count(0)
    page.get_by_role("link", name="Mon compte").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mon compte")
    a11y(page)
    page.get_by_role("button", name="Afficher l'aide contextuelle").click()


def test_wrong_password_shows_a_french_message(page, a11y):
    sign_in(page, "marc.dubois", "Pas-le-bon-1")
    expect(page.get_by_role("alert")).to_contain_text("Identifiant ou mot de passe incorrect.")
    a11y(page)


def test_without_javascript_login_choice_and_messages(page_nojs, a11y):
    page = page_nojs
    sign_in(page, "jf.bernard")
    a11y(page)
    ChooserPage(page).choose("Direction — École partenaire démo des Tilleuls")
    Dashboard(page).expect_profile("Direction")
    page.get_by_text("Bienvenue sur le portail (démo)").click()
    expect(page.get_by_text("Toutes les données affichées sont fictives.")).to_be_visible()
    a11y(page)
    Dashboard(page).sign_out()
    expect(page.get_by_role("heading", level=1)).to_have_text("Connexion")
