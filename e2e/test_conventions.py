"""Journeys of the pole conventions (e-Pôles): a coordinator completes a convention de coopération (articles turn
green in place, no reload), cannot validate while one is red, validates; both délégués PO sign; the Administration
validates; the PDF downloaded twice is byte-identical; the directions acknowledge; a partner school's direction
cannot edit; a change request is granted and the convention unlocks. The same journey with JavaScript off. The
demo pole shows the automatic move of its partners into the convention de partenariat. axe-core checks every page.

Each journey creates its own pole (seat: the demo seat school, one cooperating school of another PO, its own
coordinator) in the live server's database, so that it depends on no other journey.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import ROOT
from e2e.pages import sign_in

SEED_SCRIPT = r'''
import asyncio, json, sys

async def main(tag):
    from portal.accounts.passwords import hash_password
    from portal.accounts.tables import Account, Affiliation
    from portal.conventions.demo import DEMO_PDF
    from portal.conventions.services import pole_info, sync_pole
    from portal.conventions.tables import Convention, ConventionSchool
    from portal.core.clock import now
    from portal.demo import DEMO_PASSWORD
    from portal.directory.tables import Establishment, Pole, PoleSchool
    from portal.documents import services as documents

    async def insert(row):
        return (await type(row).insert(row).returning(type(row).id))[0]["id"]

    async def school(fase):
        return (await Establishment.select(Establishment.id).where(Establishment.fase == fase).first())["id"]

    pole = await insert(Pole(name=f"Pôle e2e {tag[:6]} (démo)", seat=await school("99101"), demo=True))
    condroz = await school("99106")
    await insert(PoleSchool(pole=pole, establishment=condroz, role="cooperante", position=1))
    username = f"e2e.{tag[:10]}"
    account = await insert(Account(username=username, first_name="Camille", last_name=f"Coord{tag[:4]}",
                                   email=f"{username}@demo.invalid", password_hash=hash_password(DEMO_PASSWORD),
                                   origin="manual", demo=True, created_at=now()))
    await insert(Affiliation(account=account, profile="coordonnateur", pole=pole, granted_at=now()))
    await sync_pole(await pole_info(pole), demo=True)
    convention = (await Convention.select(Convention.id).where(Convention.pole == pole).first())["id"]
    document = await documents.store("derogation", f"DER-E2E-{tag[:20]}", "derogation-demo.pdf", DEMO_PDF)
    await ConventionSchool.update({ConventionSchool.derogation: document}).where(
        ConventionSchool.convention == convention)
    await Convention.update({Convention.step: "articles", Convention.list_validated_at: now()}).where(
        Convention.id == convention)
    print(json.dumps({"pole": pole, "convention": convention, "coordinator": username}))

asyncio.run(main(sys.argv[1]))
'''


@pytest.fixture
def pole(server_data_dir) -> dict:
    """A pole of its own with one convention de coopération at its articles, created in the live database."""
    env = {**os.environ, "PORTAL_DATA_DIR": server_data_dir}
    env.pop("PORTAL_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", SEED_SCRIPT, uuid.uuid4().hex], env=env, cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def as_user(page: Page, username: str) -> None:
    """Sign in as someone else (a fresh session)."""
    page.context.clear_cookies()
    sign_in(page, username)


def article(page: Page, key: str):
    return page.locator(f"#article-{key}")


def write_article(page: Page, key: str, number: int, content: str) -> None:
    """Open an article, type its text and save it."""
    if article(page, key).get_attribute("open") is None:
        article(page, key).locator("summary").click()
    page.get_by_label(f"Texte de l'article {number}", exact=True).fill(content)
    page.get_by_role("button", name=f"Enregistrer l'article {number}", exact=True).click()


def journey(page: Page, a11y, pole: dict, js: bool) -> None:
    url = f"/conventions/{pole['convention']}"
    sign_in(page, pole["coordinator"])
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Convention de coopération")
    expect(article(page, "art4")).to_contain_text("À compléter")
    a11y(page)

    # Validating while an article is red is refused, with the reason.
    page.get_by_role("button", name="Valider la convention").click()
    expect(page.locator(".alert.error")).to_contain_text("Complétez d'abord les articles en rouge")
    a11y(page)

    if js:
        page.evaluate("() => { window.__portalMarker = 'toujours là'; }")
    write_article(page, "art4", 4, "Le pôle rencontre l'école coopérante chaque trimestre (texte e2e).")
    expect(article(page, "art4").locator("summary")).to_contain_text("Complété")
    expect(article(page, "art5").locator("summary")).to_contain_text("À compléter")
    write_article(page, "art5", 5, "Le pôle collabore avec le centre PMS de la zone (texte e2e).")
    expect(article(page, "art5").locator("summary")).to_contain_text("Complété")
    expect(page.locator("#articles-left")).to_contain_text("Tous les articles requis sont complétés")
    if js:
        assert page.evaluate("() => window.__portalMarker") == "toujours là"  # saved in place, no reload
    a11y(page)
    page.get_by_role("button", name="Valider la convention").click()
    expect(page.locator(".alert.success")).to_contain_text("La convention est validée")
    expect(page.get_by_role("button", name="Enregistrer l'article 4")).to_have_count(0)
    a11y(page)

    # Both délégués PO sign: the seat's PO, then the cooperating school's PO.
    for delegate in ("anne.lemaire", "paul.gerard"):
        as_user(page, delegate)
        page.goto(url)
        page.get_by_label("Je signe la convention au nom de mon pouvoir organisateur").check()
        page.get_by_role("button", name="Signer").click()
        expect(page.locator(".alert.success")).to_contain_text("Votre signature a été enregistrée")
        a11y(page)

    # The Administration validates; the stored PDF is served as stored.
    as_user(page, "helene.fontaine")
    page.goto("/tableau-de-bord")
    expect(page.get_by_role("heading", name="Conventions à valider")).to_be_visible()
    a11y(page)
    page.goto(url)
    page.get_by_role("button", name="Valider la convention (Administration)").click()
    expect(page.locator(".alert.success")).to_contain_text("validée par l'Administration")
    a11y(page)
    first = page.request.get(f"{url}/convention.pdf")
    second = page.request.get(f"{url}/convention.pdf")
    assert first.ok and first.body().startswith(b"%PDF")
    assert first.body() == second.body()

    # The directions concerned acknowledge: the seat's, then the cooperating school's.
    for direction in ("marc.dubois", "luc.renard"):
        as_user(page, direction)
        page.goto(url)
        page.get_by_label("Je prends connaissance de la convention pour mon école").check()
        page.get_by_role("button", name="Acter la prise de connaissance").click()
        expect(page.locator(".alert.success")).to_contain_text("La prise de connaissance a été enregistrée")
        a11y(page)
    expect(page.locator(".conv-steps [aria-current=step]")).to_have_text("Terminée")

    # A change request, granted by the Administration: the convention is unlocked (back to its articles).
    as_user(page, pole["coordinator"])
    page.goto(url)
    page.get_by_label("Modification demandée à l'Administration (motif)").fill(
        "Ajout d'un partenaire extérieur à l'article 5 (e2e).")
    page.get_by_role("button", name="Envoyer la demande de modification").click()
    expect(page.locator(".alert.success")).to_contain_text("La demande de modification a été envoyée")
    a11y(page)
    as_user(page, "helene.fontaine")
    page.goto(url)
    page.get_by_role("button", name="Accorder (déverrouiller la convention)").click()
    expect(page.locator(".alert.success")).to_contain_text("La décision a été enregistrée")
    expect(page.locator(".conv-steps [aria-current=step]")).to_have_text("Étape 2 — articles")
    a11y(page)
    as_user(page, pole["coordinator"])
    page.goto(url)
    expect(page.get_by_role("button", name="Valider la convention")).to_be_visible()
    article(page, "art5").locator("summary").click()
    expect(page.get_by_label("Texte de l'article 5", exact=True)).to_be_editable()


def test_cooperation_convention_from_articles_to_acknowledgment(page, a11y, pole):
    journey(page, a11y, pole, js=True)


def test_cooperation_convention_without_javascript(page_nojs, a11y, pole):
    journey(page_nojs, a11y, pole, js=False)


def test_partner_direction_reads_but_cannot_edit_and_the_move_is_shown(page, a11y):
    sign_in(page, "claire.lambert")
    page.goto("/conventions")
    a11y(page)
    page.get_by_role("link", name="Pôle territorial démo de Mosane").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pôle territorial démo de Mosane")
    expect(page.locator(".alert.warning")).to_contain_text(
        "reprises automatiquement dans la convention de partenariat")
    a11y(page)
    # the searchable list of schools to add answers as one types (htmx), in place
    page.locator("details.section", has_text="Écoles du pôle").locator("summary").click()
    page.get_by_label("Rechercher une école à ajouter au pôle (nom, FASE ou commune)").fill("Institut")
    expect(page.locator("#candidats")).to_contain_text("Institut technique démo")
    a11y(page)
    href = page.get_by_role("link", name="Convention de partenariat", exact=True).get_attribute("href")

    as_user(page, "sophie.martin")
    page.goto(href)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Convention de partenariat")
    expect(page.get_by_role("button", name="Enregistrer l'article 4")).to_have_count(0)
    a11y(page)
    token = page.context.cookies()
    csrf = next(c["value"] for c in token if c["name"] == "portal_csrf")
    refused = page.request.post(f"{href}/articles/art13", form={"_csrf_token": csrf, "texte": "x", "version": "0"})
    assert refused.status == 403


AVENANT_SEED = r'''
import asyncio, json, sys

async def main(tag):
    from portal.accounts.passwords import hash_password
    from portal.accounts.tables import Account, Affiliation
    from portal.conventions.services import pole_info, sync_pole
    from portal.conventions.tables import Convention
    from portal.core.clock import now
    from portal.demo import DEMO_PASSWORD
    from portal.directory.tables import Establishment, Pole, PoleSchool

    async def insert(row):
        return (await type(row).insert(row).returning(type(row).id))[0]["id"]

    async def school(fase):
        return (await Establishment.select(Establishment.id).where(Establishment.fase == fase).first())["id"]

    pole = await insert(Pole(name=f"Pôle e2e avenant {tag[:6]} (démo)", seat=await school("99101"), demo=True))
    await insert(PoleSchool(pole=pole, establishment=await school("99102"), role="partenaire", position=1))
    username = f"e2e.av{tag[:8]}"
    account = await insert(Account(username=username, first_name="Camille", last_name=f"Avenant{tag[:4]}",
                                   email=f"{username}@demo.invalid", password_hash=hash_password(DEMO_PASSWORD),
                                   origin="manual", demo=True, created_at=now()))
    await insert(Affiliation(account=account, profile="coordonnateur", pole=pole, granted_at=now()))
    await sync_pole(await pole_info(pole), demo=True)
    convention = (await Convention.select(Convention.id).where(Convention.pole == pole).first())["id"]
    current = now()
    await Convention.update({Convention.step: "prise_de_connaissance", Convention.list_validated_at: current,
                             Convention.articles_validated_at: current, Convention.admin_validated_at: current}).where(
        Convention.id == convention)
    print(json.dumps({"pole": pole, "convention": convention, "coordinator": username}))

asyncio.run(main(sys.argv[1]))
'''


@pytest.fixture
def validated_ressort(server_data_dir) -> dict:
    """A pole of its own whose ressort de partenariat is validated by the Administration."""
    env = {**os.environ, "PORTAL_DATA_DIR": server_data_dir}
    env.pop("PORTAL_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", AVENANT_SEED, uuid.uuid4().hex], env=env, cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_avenant_from_draft_to_prise_en_compte(page, a11y, validated_ressort):
    url = f"/conventions/{validated_ressort['convention']}"
    sign_in(page, validated_ressort["coordinator"])
    page.goto(url)
    expect(page.get_by_role("heading", name="Avenants")).to_be_visible()
    a11y(page)
    page.locator("#avenants details", has_text="Préparer un avenant").locator("summary").click()
    page.get_by_label("Motivation de l'avenant").fill("Rééquilibrage annuel (test e2e).")
    page.get_by_role("button", name="Créer le brouillon d'avenant").click()
    expect(page.locator("#avenants")).to_contain_text("Brouillon")
    a11y(page)
    page.get_by_role("button", name="Envoyer l'avenant aux signatures").click()
    expect(page.locator("#avenants")).to_contain_text("En attente des signatures")
    a11y(page)

    as_user(page, "anne.lemaire")
    page.goto(url)
    page.get_by_label("Je signe l'avenant au nom de mon pouvoir organisateur").check()
    page.get_by_role("button", name="Signer l'avenant").click()
    expect(page.locator("#avenants")).to_contain_text("Communiqué à l'Administration")
    a11y(page)
    href = page.get_by_role("link", name="Télécharger l'avenant communiqué (PDF)").get_attribute("href")
    first, second = page.request.get(href), page.request.get(href)
    assert first.ok and first.body().startswith(b"%PDF") and first.body() == second.body()

    as_user(page, "helene.fontaine")
    page.goto("/tableau-de-bord")
    expect(page.get_by_role("heading", name="Avenants communiqués")).to_be_visible()
    a11y(page)
    page.goto(url)
    page.get_by_role("button", name="Marquer l'avenant « pris en compte » (Administration)").click()
    expect(page.locator("#avenants")).to_contain_text("Pris en compte par l'Administration")
    a11y(page)
