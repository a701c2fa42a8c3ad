"""Browser journeys of the attestations de validation: a teacher downloads a Réussite's attestation from the
learner's UAA list, anyone checks it on the public verification page, and a batch shows its progress and then its
download link — with JavaScript (htmx polling) and without (the page refreshes itself). Relies on the demo
learners of option 2115 at « Institut technique démo » (FASE 99107), Lucas Petit among them."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e.pages import sign_in

NUMBER = re.compile(r"attestation-(CPU-\d{4}-\d{6,}-\d)\.pdf")


def _download_first_attestation(page: Page, a11y) -> str:
    """From the search, open Lucas Petit's UAA and download the first attestation; returns its number."""
    page.goto("/uaa/recherche?q=Petit")
    a11y(page)
    page.get_by_role("link", name=re.compile("Voir les UAA.*Lucas Petit")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("UAA pour l'élève")
    expect(page.locator("main")).to_contain_text("Petit")
    a11y(page)
    with page.expect_download() as info:
        page.get_by_role("link", name=re.compile("Télécharger l'attestation")).first.click()
    download = info.value
    match = NUMBER.fullmatch(download.suggested_filename)
    assert match, download.suggested_filename
    with open(download.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    return match.group(1)


def test_download_then_verify_an_attestation(page: Page, a11y):
    sign_in(page, "pierre.leroy")
    number = _download_first_attestation(page, a11y)

    # The same attestation again: same number (issued once).
    assert _download_first_attestation(page, a11y) == number

    page.goto(f"/verifier/{number}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Vérifier une attestation de validation")
    expect(page.get_by_text("Attestation valide.")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("L. P.")
    expect(page.locator("dl.facts")).to_contain_text("Institut technique démo")
    expect(page.locator("main")).not_to_contain_text("Lucas")
    a11y(page)


def test_anyone_can_verify_and_an_unknown_number_is_refused(page: Page, a11y):
    page.goto("/verifier")
    a11y(page)
    page.get_by_label("Numéro de l'attestation").fill("cpu-2031-000999-0")
    page.get_by_role("button", name="Vérifier").click()
    expect(page.get_by_role("alert")).to_contain_text("Aucune attestation ne porte le numéro")
    a11y(page)


def test_a_batch_shows_progress_then_the_download(page: Page, a11y):
    sign_in(page, "pierre.leroy")
    page.goto("/uaa/attestations/lot")
    expect(page.get_by_role("heading", level=1)).to_have_text("Impression des attestations par lot")
    a11y(page)
    option = page.locator("#batch-option option", has_text="2115 — ").first.get_attribute("value")
    page.get_by_label("Option de base groupée").select_option(option)
    page.get_by_role("button", name="Préparer le PDF").click()
    expect(page).to_have_url(re.compile(r"/uaa/attestations/lot/[0-9a-f]{20}$"))
    # While it runs: a progress bar polled by htmx (or, if the machine is fast, already the link).
    progress = page.locator("progress")
    link = page.get_by_role("link", name="Télécharger le PDF du lot")
    expect(progress.or_(link)).to_be_visible()
    if progress.is_visible():
        a11y(page)
    expect(link).to_be_visible(timeout=90_000)
    a11y(page)
    with page.expect_download() as info:
        link.click()
    with open(info.value.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"


def test_a_batch_without_javascript(page_nojs: Page, a11y):
    page = page_nojs
    sign_in(page, "pierre.leroy")
    page.goto("/uaa/attestations/lot")
    page.get_by_label("Année d'études").select_option("1 D2 4 P")
    page.get_by_role("button", name="Préparer le PDF").click()
    expect(page).to_have_url(re.compile(r"/uaa/attestations/lot/[0-9a-f]{20}$"))
    # No htmx: the page refreshes itself (meta refresh inside <noscript>) until the link shows.
    link = page.get_by_role("link", name="Télécharger le PDF du lot")
    expect(link).to_be_visible(timeout=90_000)
    a11y(page)
    with page.expect_download() as info:
        link.click()
    with open(info.value.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"
