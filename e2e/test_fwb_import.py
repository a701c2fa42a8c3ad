"""Journey of the FWB directory import: the Administration refuses a wrong file, imports the shared directory, and
sees the report (with JavaScript and without). axe-core checks every page visited."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.pages import Dashboard, sign_in

IMPORT_TIMEOUT = 60_000  # the whole directory: a few seconds


def open_import_page(page: Page) -> None:
    """From the navigation to ``/annuaire/import``."""
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Annuaire FWB").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import de l'annuaire des établissements (FWB)")


def test_administration_imports_the_fwb_directory(page, a11y, tmp_path):
    sign_in(page, "helene.fontaine")
    open_import_page(page)
    a11y(page)

    # a file that is not the directory: refused, in French, nothing stored
    wrong = tmp_path / "eleves.csv"
    wrong.write_text("nom,prenom\nDupont,Jean\n", encoding="utf-8")
    page.get_by_label("Fichier de l'annuaire (CSV ou CSV compressé .csv.gz)").set_input_files(str(wrong))
    page.get_by_role("button", name="Importer ce fichier").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Import refusé")
    expect(alert).to_contain_text("Colonnes manquantes : « N° FASE de l'établissement »")
    a11y(page)

    # the shared directory file
    page.get_by_role("button", name="Importer le fichier de référence").click()
    expect(page.get_by_role("heading", name="Rapport d'import — Cartographie-Ecoles-FWB.csv.gz")).to_be_visible(
        timeout=IMPORT_TIMEOUT)
    expect(page.get_by_role("status")).to_contain_text("Import terminé")
    table = page.get_by_role("table", name="Résultat par type d'enregistrement")
    establishments = table.get_by_role("row", name="Établissements")
    expect(establishments).to_contain_text("972")
    expect(table.get_by_role("row", name="Pouvoirs organisateurs")).to_contain_text("012")
    expect(page.locator("#state-title + dl")).to_contain_text("Dernier import")
    a11y(page)
    Dashboard(page).sign_out()


def test_the_import_page_works_without_javascript(page_nojs, a11y):
    page = page_nojs
    sign_in(page, "helene.fontaine")
    page.goto("/annuaire/import")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import de l'annuaire des établissements (FWB)")
    page.get_by_role("button", name="Importer le fichier de référence").click()
    expect(page.get_by_role("heading", name="Rapport d'import — Cartographie-Ecoles-FWB.csv.gz")).to_be_visible(
        timeout=IMPORT_TIMEOUT)
    expect(page.get_by_role("status")).to_contain_text("Import terminé")
    a11y(page)
