"""Journeys of the encoding of UAA: a teacher opens a learner's UAA list, encodes an Echec (the row to encode
appears in place, no reload), a Réussite (the attestation link appears), corrects the Réussite into an Echec; the
same encoding with JavaScript off; a learner reads their own results. axe-core checks every page visited.

Each journey creates its own learner (an option, a training profile, two UAA, one row to encode per UAA) in the
live server's database, so that it depends on no other data and no other journey touches it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import ROOT
from e2e.pages import sign_in

SEED_SCRIPT = r'''
import asyncio, json, sys
from datetime import date

async def main(tag):
    from portal.directory.tables import Establishment, Implantation
    from portal.uaa.tables import Attempt, Learner, Option, TrainingProfile, Uaa

    async def insert(row):
        return (await type(row).insert(row).returning(type(row).id))[0]["id"]

    school = (await Establishment.select(Establishment.id).where(Establishment.fase == "99107").first())["id"]
    site = await Implantation.select(Implantation.id).where(Implantation.establishment == school).first()
    option = await insert(Option(code=f"E{tag[:8]}", label="Installateur électricien (e2e)"))
    profile = await insert(TrainingProfile(option=option, code="E2E", label="Installateur électricien résidentiel",
                                           short_label="Instal. élect. résidentiel(le)"))
    uaas = [await insert(Uaa(profile=profile, code=code, label=label, weeks=4, year=4, position=position))
            for position, (code, label) in enumerate([
                ("10020", "Placer les conduits et boîtiers encastrés"),
                ("10021", "Placer, raccorder équip. élec. install. encastrée")], start=1)]
    learner = await insert(Learner(establishment=school, implantation=site["id"] if site else None, option=option,
                                   cf_number=f"E2E-{tag[:12]}", last_name=f"Parcours-{tag[:6]}", first_name="Alix",
                                   sex="F", birth_date=date(2010, 4, 2), study_year="1 D2 4 P", year=4,
                                   school_year="2026-2027"))
    attempts = [await insert(Attempt(learner=learner, uaa=uaa, sequence=1, status="a_encoder", establishment=school))
                for uaa in uaas]
    print(json.dumps({"learner": learner, "uaas": uaas, "attempts": attempts}))

asyncio.run(main(sys.argv[1]))
'''


@pytest.fixture
def learner(server_data_dir) -> dict:
    """A learner of « Institut technique démo » with two UAA to encode, created in the live server's database."""
    env = {**os.environ, "PORTAL_DATA_DIR": server_data_dir}
    env.pop("PORTAL_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", SEED_SCRIPT, uuid.uuid4().hex], env=env, cwd=ROOT, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def group(page: Page, uaa_id: int):
    """The rows of one UAA in the list."""
    return page.locator(f"#uaa-{uaa_id} tr.attempt")


def encode(page: Page, uaa_code: str, sequence: int, status: str, day: date | None) -> None:
    """Choose the status and the date in the row, then save it."""
    where = f"de l'UAA {uaa_code}, présentation {sequence}"
    page.get_by_label(f"Statut {where}", exact=True).select_option(label=status)
    page.get_by_label(f"Date de présentation {where}", exact=True).fill(day.isoformat() if day else "")
    page.get_by_role("button", name=f"Enregistrer la présentation {sequence} de l'UAA {uaa_code}").click()


def test_teacher_encodes_failure_success_and_correction_in_place(page, a11y, learner):
    day1, day2 = date.today() - timedelta(days=30), date.today() - timedelta(days=10)
    uaa1, uaa2 = learner["uaas"]
    sign_in(page, "pierre.leroy")
    page.goto(f"/uaa/eleves/{learner['learner']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("UAA pour l'élève")
    expect(page.get_by_role("heading", name="Liste des Unités d'Acquis d'Apprentissage")).to_be_visible()
    expect(page.locator(".learner-facts")).to_contain_text("Alix")
    expect(group(page, uaa1)).to_have_count(1)
    a11y(page)

    # Echec: the row stays, a row to encode appears under it; the page is not reloaded.
    page.evaluate("() => { window.__portalMarker = 'toujours là'; }")
    encode(page, "10020", 1, "Echec", day1)
    expect(group(page, uaa1)).to_have_count(2)
    expect(group(page, uaa1).nth(1)).to_contain_text("A encoder")
    expect(page.locator(f"#uaa-{uaa1}").get_by_role("status")).to_contain_text("Une ligne « A encoder » a été ajoutée")
    assert page.evaluate("() => window.__portalMarker") == "toujours là"
    a11y(page)

    # Réussite: the attestation can be downloaded from the row.
    encode(page, "10021", 1, "Réussite", day2)
    link = page.locator(f"#uaa-{uaa2}").get_by_role("link", name="Télécharger l'attestation")
    expect(link).to_have_attribute("href", f"/uaa/attestations/tentative/{learner['attempts'][1]}")
    expect(group(page, uaa2)).to_have_count(1)
    assert page.evaluate("() => window.__portalMarker") == "toujours là"
    a11y(page)

    # A future date is refused in the row (the browser's own check is bypassed to reach the server's).
    page.locator(f"#date-{learner['attempts'][1]}").evaluate("element => element.removeAttribute('max')")
    encode(page, "10021", 1, "Echec", date.today() + timedelta(days=2))
    expect(page.locator(f"#uaa-{uaa2}").get_by_role("alert")).to_contain_text(
        "La date de présentation ne peut pas être dans le futur.")
    expect(group(page, uaa2)).to_have_count(1)
    a11y(page)

    # The Réussite was wrong: corrected into Echec, a row to encode appears and the attestation link goes.
    encode(page, "10021", 1, "Echec", day2)
    expect(group(page, uaa2)).to_have_count(2)
    expect(page.locator(f"#uaa-{uaa2}").get_by_role("link", name="Télécharger l'attestation")).to_have_count(0)
    assert page.evaluate("() => window.__portalMarker") == "toujours là"
    a11y(page)

    # The filters swap the table: only the rows left to encode.
    page.get_by_label("Masquer échec").check()
    page.get_by_label("Masquer réussite").check()
    expect(page.locator("tr.attempt")).to_have_count(2)
    expect(page.locator("tr.attempt.status-echec")).to_have_count(0)
    assert page.evaluate("() => window.__portalMarker") == "toujours là"
    a11y(page)


def test_teacher_encodes_without_javascript(page_nojs, a11y, learner):
    page = page_nojs
    day1 = date.today() - timedelta(days=15)
    uaa1 = learner["uaas"][0]
    sign_in(page, "pierre.leroy")
    page.goto(f"/uaa/eleves/{learner['learner']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("UAA pour l'élève")
    a11y(page)

    encode(page, "10020", 1, "Echec", day1)
    expect(page.locator(".alert.success")).to_contain_text("L'enregistrement a été effectué.")
    expect(group(page, uaa1)).to_have_count(2)
    expect(group(page, uaa1).nth(1)).to_contain_text("A encoder")
    a11y(page)

    # The new row is a Réussite; missing date refused with the message in the row (status 400, page again).
    encode(page, "10020", 2, "Réussite", None)
    expect(page.locator(f"#tentative-{learner['attempts'][0]}")).to_be_visible()
    expect(page.get_by_role("alert").first).to_contain_text("Indiquez la date de présentation")
    a11y(page)
    encode(page, "10020", 2, "Réussite", date.today())
    expect(page.locator(".alert.success")).to_contain_text("L'enregistrement a été effectué.")
    expect(group(page, uaa1)).to_have_count(2)
    expect(page.locator(f"#uaa-{uaa1}").get_by_role("link", name="Télécharger l'attestation")).to_have_count(1)
    a11y(page)

    # The filters work as a plain GET form.
    page.get_by_label("Masquer réussite").check()
    page.get_by_role("button", name="Filtrer").click()
    expect(page).to_have_url(re.compile(r"\?(.*&)?masquer_reussite=1"))
    expect(group(page, uaa1)).to_have_count(1)
    a11y(page)


def test_learner_reads_their_own_results(page, a11y):
    sign_in(page, "lucas.petit")
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Mes UAA").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes UAA")
    expect(page.locator("select[name=status]")).to_have_count(0)  # read-only
    a11y(page)
