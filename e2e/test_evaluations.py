"""Journeys of competency tracking: a teacher creates a scenario, exports it (DOCX and ODT that open and hold the
title and the competencies), creates an evaluation from it for learners of the class, fills cells from the keyboard
(each saved in place, no reload), switches the view, makes it visible; the learner sees it, a learner who is not in
it does not; the same grid filled with JavaScript off. axe-core checks every page visited.

Each journey creates its own scenario or evaluation (titles carry a random tag) on the demo data of the live server.
"""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from e2e.pages import Dashboard, sign_in


def cell(page: Page, learner: str, code: str):
    """The level select of a learner for a competency (named by the row and column headers)."""
    return page.get_by_role("combobox", name=f"{learner} {code}", exact=True)


def test_teacher_scenario_export_evaluation_keyboard_grid_and_learners(page, a11y):
    tag = uuid.uuid4().hex[:6]
    title = f"Coffret de communication {tag}"
    sign_in(page, "julie.roux")
    page.goto("/competences/scenarios")
    expect(page.get_by_role("heading", level=1)).to_have_text("Scénarios pédagogiques")
    a11y(page)
    page.get_by_role("link", name="Créer un scénario").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Créer un scénario")
    a11y(page)
    page.get_by_label("Titre", exact=True).fill(title)
    page.get_by_label("Niveau de classe").fill("Première Bac Pro")
    page.get_by_label("Contexte").fill("Installation d'un coffret de communication dans un logement.")
    page.get_by_label("T2-3 Câbler, raccorder les matériels électriques").check()
    page.get_by_label("T3-1 Réaliser les vérifications", exact=False).check()
    t23 = page.locator("li", has=page.get_by_label("T2-3 Câbler, raccorder les matériels électriques")).last
    t23.locator("summary").click()
    t23.get_by_label("Réseau de communication").check()
    page.get_by_role("button", name="Valider la création du scénario").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_role("status")).to_contain_text("Le scénario a été créé")
    expect(page.get_by_role("cell", name="Réseau de communication")).to_be_visible()
    a11y(page)

    # Exports: DOCX opens with python-docx, ODT with odfpy, both with the title and the competencies.
    from docx import Document
    from odf import teletype
    from odf.opendocument import load

    with page.expect_download() as download:
        page.get_by_role("link", name="Exporter en DOCX").click()
    document = Document(str(download.value.path()))
    words = "\n".join(p.text for p in document.paragraphs) + "\n".join(
        c.text for t in document.tables for r in t.rows for c in r.cells)
    assert title in words and "T2-3" in words and "T3-1" in words
    with page.expect_download() as download:
        page.get_by_role("link", name="Exporter en ODT").click()
    content = teletype.extractText(load(download.value.path()).text)
    assert title in content and "T2-3" in content and "T3-1" in content

    # An evaluation from the scenario, for two learners of the class.
    page.get_by_role("link", name="Créer une grille de positionnement").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Créer une grille de positionnement")
    a11y(page)
    page.get_by_label("Garnier Emma", exact=False).check()
    page.get_by_label("Faure Léo", exact=False).check()
    page.get_by_role("button", name="Valider la sélection puis passer à l'évaluation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator("#visibilite")).to_have_text("Non")
    a11y(page)

    # Keyboard: letters set the level (saved in place), arrows move between cells; no reload.
    page.evaluate("() => { window.__portalMarker = 'toujours là'; }")
    first = cell(page, "Garnier Emma", "T2-3")
    first.focus()
    page.keyboard.press("r")
    expect(page.locator("td.cell.lvl-r")).to_have_count(1)
    expect(cell(page, "Garnier Emma", "T2-3")).to_have_value("R")
    expect(cell(page, "Garnier Emma", "T2-3")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(cell(page, "Garnier Emma", "T3-1")).to_be_focused()
    page.keyboard.press("e")
    expect(page.locator("td.cell.lvl-e")).to_have_count(1)
    page.keyboard.press("ArrowUp")
    expect(cell(page, "Faure Léo", "T3-1")).to_be_focused()
    page.keyboard.press("t")
    expect(page.locator("td.cell.lvl-t")).to_have_count(1)
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("a")
    expect(cell(page, "Faure Léo", "T2-3")).to_have_value("A")
    assert page.evaluate("() => window.__portalMarker") == "toujours là"
    a11y(page)
    page.reload()
    expect(cell(page, "Garnier Emma", "T2-3")).to_have_value("R")
    expect(cell(page, "Faure Léo", "T3-1")).to_have_value("T")

    # View by competency, then visible to learners.
    page.get_by_role("link", name="Affichage par compétences").click()
    expect(page.locator("table.grid caption")).to_contain_text("affichage par compétences")
    expect(cell(page, "Garnier Emma", "T3-1")).to_have_value("E")
    a11y(page)
    page.get_by_role("button", name="Rendre visible aux apprenants").click()
    expect(page.locator("#visibilite")).to_have_text("Oui")
    a11y(page)

    # Order of the competencies from the keyboard (no drag and drop needed).
    page.get_by_role("link", name="Apprenants, compétences, complexités et aléas").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Paramètres de l'évaluation")
    a11y(page)
    page.get_by_role("button", name="Descendre T2-3").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("L'ordre des compétences a été enregistré.")
    expect(page.locator(".order-list li").first).to_contain_text("T3-1")
    a11y(page)
    # … and with the mouse: T2-3 dragged back above T3-1.
    with page.expect_navigation():
        page.locator(".order-list li").nth(1).drag_to(page.locator(".order-list li").first,
                                                     target_position={"x": 20, "y": 2})
    page.reload()
    expect(page.locator(".order-list li").first).to_contain_text("T2-3")
    page.goto("/competences/evaluations")
    expect(page.get_by_role("link", name=title)).to_be_visible()
    a11y(page)
    page.goto("/tableau-de-bord")
    expect(page.get_by_role("heading", name="Mes évaluations")).to_be_visible()
    a11y(page)
    Dashboard(page).sign_out()

    # The learner sees it, with her levels.
    sign_in(page, "emma.garnier")
    page.goto("/competences/mes-evaluations")
    a11y(page)
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_role("row", name="T2-3", exact=False)).to_contain_text("Réussite totale")
    expect(page.get_by_role("row", name="T3-1", exact=False)).to_contain_text("En cours d'acquisition")
    a11y(page)
    Dashboard(page).sign_out()

    # A learner of the class who is not in it does not.
    sign_in(page, "hugo.mercier")
    page.goto("/competences/mes-evaluations")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mes évaluations")
    expect(page.get_by_role("link", name=title)).to_have_count(0)
    a11y(page)


def test_teacher_fills_a_grid_without_javascript(page_nojs, a11y):
    page = page_nojs
    title = f"Dossier technique {uuid.uuid4().hex[:6]}"
    sign_in(page, "julie.roux")
    page.goto("/competences/referentiels")
    expect(page.get_by_role("heading", level=1)).to_have_text("Référentiels de compétences")
    a11y(page)
    page.get_by_role("link", name="Bac Pro Métiers de l'électricité", exact=False).first.click()
    expect(page.get_by_text("T5-3", exact=True)).to_be_visible()
    a11y(page)
    page.goto("/competences/evaluations/nouvelle")
    expect(page.get_by_role("heading", level=1)).to_have_text("Créer une évaluation")
    a11y(page)
    page.get_by_label("Titre", exact=True).fill(title)
    page.get_by_label("T1-1 Prendre connaissance du dossier", exact=False).check()
    page.get_by_label("T5-1 Participer à la mise à jour", exact=False).check()
    page.get_by_label("Garnier Emma", exact=False).check()
    page.get_by_label("Blanc Inès", exact=False).check()
    page.get_by_role("button", name="Valider la sélection puis passer à l'évaluation").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    a11y(page)
    cell(page, "Garnier Emma", "T1-1").select_option("P")
    cell(page, "Garnier Emma", "T5-1").select_option("N")
    page.get_by_label("Commentaire pour Garnier Emma").fill("Dossier complet.")
    page.get_by_role("button", name="Enregistrer la ligne de Garnier Emma").click()
    expect(page.get_by_role("status")).to_contain_text("La ligne a été enregistrée.")
    expect(cell(page, "Garnier Emma", "T1-1")).to_have_value("P")
    expect(cell(page, "Garnier Emma", "T5-1")).to_have_value("N")
    expect(page.get_by_label("Commentaire pour Garnier Emma")).to_have_value("Dossier complet.")
    a11y(page)
    # the view by competency saves a learner's column the same way
    page.get_by_role("link", name="Affichage par compétences").click()
    cell(page, "Blanc Inès", "T1-1").select_option("A")
    page.get_by_role("button", name="Enregistrer les résultats de Blanc Inès").click()
    expect(page.get_by_role("status")).to_contain_text("La ligne a été enregistrée.")
    expect(cell(page, "Blanc Inès", "T1-1")).to_have_value("A")
    a11y(page)
