"""Journeys of the learners of an establishment: a school administrator imports a CSV of learners (the report
appears in place; a faulty file lists its faults by line and column), then a teacher searches them: the results
are swapped in place and the URL follows, the column headers sort, the pager pages, Back returns to the previous
results; the same journey with JavaScript off. axe-core checks every page visited.

Each journey imports its own learners (option 2115 of the demo, 7th year: no UAA of that year, so no attempt is
created and no other journey's lists change) under a surname of its own, and searches by that surname.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from pathlib import Path

from playwright.sync_api import Page, expect

from e2e.pages import sign_in

HEADER = "nom;prenom;sexe;date_naissance;numero_cf;annee_etudes;option;implantation;annee_scolaire"
COUNT = 30  # more than one page of 25


def learners_csv(folder: Path, surname: str, cf_base: int) -> tuple[Path, list[str]]:
    """A CSV of ``COUNT`` learners named ``surname``01…; returns the file and their N° CF in order."""
    year = date.today().year
    cfs = [f"{cf_base + i:07d}/26" for i in range(COUNT)]
    lines = [HEADER] + [
        f"{surname}{i:02d};Prénom{i:02d};{'MFX'[i % 3]};{1 + i % 28:02d}/{1 + i % 12:02d}/{year - 19};{cf};"
        f"1 D3 7 P;2115;;2026-2027"
        for i, cf in enumerate(cfs)
    ]
    path = folder / f"eleves-{surname}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, cfs


def open_from_nav(page: Page, link: str, heading: str) -> None:
    """Follow a link of the main navigation."""
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name=link).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    expect(page).to_have_url(re.compile(r"/login"))


def import_file(page: Page, path: Path) -> None:
    page.get_by_label("Fichier CSV des élèves").set_input_files(str(path))
    page.get_by_role("button", name="Importer").click()


def result_cfs(page: Page) -> list[str]:
    """The N° CF column of the result table (6th cell of each row)."""
    return page.locator("#resultats tbody tr td:nth-child(6)").all_inner_texts()


def test_import_then_search_sort_and_page_in_place(page, a11y, tmp_path):
    surname = "Essai" + uuid.uuid4().hex[:6]
    path, cfs = learners_csv(tmp_path, surname, 6_100_000)
    bad = tmp_path / "faux.csv"
    bad.write_text(f"{HEADER}\nDupont;Élodie;H;31/02/2010;8501293;1 D2 4 P;2115;;2026-2027\n", encoding="utf-8")

    sign_in(page, "thomas.girard")
    open_from_nav(page, "Import des élèves", "Import des élèves")
    a11y(page)
    # A faulty file: nothing imported, every fault named by line and column.
    import_file(page, bad)
    alert = page.locator("#rapport-import").get_by_role("alert")
    expect(alert).to_contain_text("Rien n'a été importé.")
    expect(alert).to_contain_text("Ligne 2, colonne sexe : « H » n'est pas accepté")
    expect(alert).to_contain_text("Ligne 2, colonne date_naissance : la date « 31/02/2010 » n'existe pas.")
    expect(alert).to_contain_text("Ligne 2, colonne numero_cf")
    a11y(page)
    # The good file: the report replaces the faults, in place.
    page.evaluate("() => { window.__portalMarker = 'toujours là'; }")
    import_file(page, path)
    report = page.locator("#rapport-import").get_by_role("status")
    expect(report).to_contain_text("Import terminé")
    expect(report).to_contain_text(f"Élèves créés : {COUNT}")
    expect(page.locator("#rapport-import").get_by_role("alert")).to_have_count(0)
    assert page.evaluate("() => window.__portalMarker") == "toujours là"
    a11y(page)
    sign_out(page)

    sign_in(page, "pierre.leroy")
    open_from_nav(page, "Recherche élève", "Recherche élèves")
    expect(page.get_by_text("ID FASE")).to_be_visible()
    a11y(page)
    page.evaluate("() => { window.__portalMarker = 'toujours là'; }")
    page.get_by_label("Nom, prénom ou N° CF").fill(surname)
    page.get_by_role("button", name="Rechercher").click()
    expect(page).to_have_url(re.compile(rf"/uaa/recherche\?.*q={surname}"))
    expect(page.locator("#resultats tbody tr")).to_have_count(25)
    expect(page.locator("#resultats").get_by_role("status")).to_contain_text(f"Résultat(s) 1 à 25 sur {COUNT}")
    assert result_cfs(page) == cfs[:25]
    assert page.evaluate("() => window.__portalMarker") == "toujours là"
    a11y(page)

    # Sort by N° CF, then flip the order: the header says how the table is sorted.
    table = page.locator("#resultats table")
    table.get_by_role("link", name="N° CF").click()
    expect(page).to_have_url(re.compile(r"tri=cf&ordre=asc"))
    expect(table.locator("th[aria-sort]")).to_have_attribute("aria-sort", "ascending")
    page.locator("#resultats table").get_by_role("link", name="N° CF").click()
    expect(page).to_have_url(re.compile(r"tri=cf&ordre=desc"))
    expect(page.locator("#resultats th[aria-sort]")).to_have_attribute("aria-sort", "descending")
    expect(page.locator("#resultats th[aria-sort]")).to_contain_text("N° CF")
    assert result_cfs(page) == cfs[::-1][:25]
    assert page.evaluate("() => window.__portalMarker") == "toujours là"
    a11y(page)

    # The next page keeps the sort; a new search keeps it too (the sort travels with the form).
    page.get_by_role("link", name="Page suivante").click()
    expect(page).to_have_url(re.compile(r"tri=cf&ordre=desc.*page=2"))
    expect(page.locator("#resultats tbody tr")).to_have_count(COUNT - 25)
    assert result_cfs(page) == cfs[::-1][25:]
    assert page.evaluate("() => window.__portalMarker") == "toujours là"
    a11y(page)
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"page=2"))
    expect(page.locator("#resultats tbody tr")).to_have_count(25)
    assert result_cfs(page) == cfs[::-1][:25]
    page.get_by_label("Élèves par page").select_option("50")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.locator("#resultats tbody tr")).to_have_count(COUNT)
    expect(page).to_have_url(re.compile(r"tri=cf&ordre=desc"))
    assert result_cfs(page) == cfs[::-1]
    a11y(page)

    # A bookmarked URL gives the same results; « Voir les UAA » leads to the learner's UAA list.
    page.goto(page.url)
    expect(page.locator("#resultats tbody tr")).to_have_count(COUNT)
    expect(page.get_by_label("Nom, prénom ou N° CF")).to_have_value(surname)
    link = page.locator("#resultats tbody tr").first.get_by_role("link", name=re.compile("^Voir les UAA"))
    expect(link).to_have_attribute("href", re.compile(r"^/uaa/eleves/\d+$"))
    # « Réinitialiser » comes back to the default criteria.
    page.get_by_role("link", name="Réinitialiser").click()
    expect(page).to_have_url(re.compile(r"/uaa/recherche$"))
    expect(page.get_by_label("Nom, prénom ou N° CF")).to_have_value("")


def test_import_and_search_without_javascript(page_nojs, a11y, tmp_path):
    page = page_nojs
    surname = "Sansjs" + uuid.uuid4().hex[:6]
    path, cfs = learners_csv(tmp_path, surname, 6_200_000)

    sign_in(page, "thomas.girard")
    open_from_nav(page, "Import des élèves", "Import des élèves")
    import_file(page, path)
    expect(page.get_by_role("status").filter(has_text="Import terminé")).to_contain_text(f"Élèves créés : {COUNT}")
    a11y(page)
    sign_out(page)

    sign_in(page, "pierre.leroy")
    open_from_nav(page, "Recherche élève", "Recherche élèves")
    page.get_by_label("Nom, prénom ou N° CF").fill(surname)
    page.get_by_label("Année d'études").select_option("1 D3 7 P")
    page.get_by_role("button", name="Rechercher").click()
    expect(page).to_have_url(re.compile(rf"q={surname}"))
    expect(page.locator("#resultats tbody tr")).to_have_count(25)
    assert result_cfs(page) == cfs[:25]
    a11y(page)

    page.locator("#resultats table").get_by_role("link", name="N° CF").click()
    page.locator("#resultats table").get_by_role("link", name="N° CF").click()
    expect(page).to_have_url(re.compile(r"tri=cf&ordre=desc"))
    expect(page.locator("#resultats th[aria-sort]")).to_have_attribute("aria-sort", "descending")
    assert result_cfs(page) == cfs[::-1][:25]
    a11y(page)

    page.get_by_role("link", name="Page suivante").click()
    expect(page).to_have_url(re.compile(r"page=2"))
    assert result_cfs(page) == cfs[::-1][25:]
    page.get_by_role("link", name="Page précédente").click()
    assert result_cfs(page) == cfs[::-1][:25]
    # A new search with the plain form keeps the sort (hidden fields) and the criteria.
    page.get_by_label("Élèves par page").select_option("100")
    page.get_by_role("button", name="Rechercher").click()
    expect(page).to_have_url(re.compile(r"tri=cf&ordre=desc"))
    assert result_cfs(page) == cfs[::-1]
    expect(page.get_by_label("Année d'études")).to_have_value("1 D3 7 P")
    a11y(page)
