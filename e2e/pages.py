"""Page objects of the journeys: what a person does, in the words of the screens."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from portal.demo import DEMO_PASSWORD


class LoginPage:
    """``/login``."""

    def __init__(self, page: Page):
        self.page = page

    def open(self) -> LoginPage:
        self.page.goto("/login")
        return self

    def sign_in(self, username: str, password: str = DEMO_PASSWORD) -> None:
        self.page.get_by_label("Identifiant").fill(username)
        self.page.get_by_label("Mot de passe").fill(password)
        self.page.get_by_role("button", name="Se connecter").click()


class ChooserPage:
    """``/choisir-profil``."""

    def __init__(self, page: Page):
        self.page = page

    def choose(self, label_part: str) -> None:
        self.page.get_by_label(label_part, exact=False).check()
        self.page.get_by_role("button", name="Continuer").click()


class Dashboard:
    """``/tableau-de-bord``."""

    def __init__(self, page: Page):
        self.page = page

    def expect_profile(self, label: str) -> None:
        expect(self.page.get_by_role("heading", level=1)).to_have_text(f"Tableau de bord — {label}")
        expect(self.page.get_by_role("heading", name="Messages applicatifs")).to_be_visible()
        expect(self.page.get_by_role("heading", name="Mes messages")).to_be_visible()

    def acting_for(self) -> str:
        return self.page.locator(".acting-for").inner_text()

    def sign_out(self) -> None:
        self.page.get_by_role("button", name="Se déconnecter").click()


def sign_in(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Open the login page and sign in."""
    LoginPage(page).open().sign_in(username, password)
