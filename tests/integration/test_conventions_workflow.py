"""Pole conventions through HTTP (SPEC §6): the instruments of the demo pole, the full workflow of a convention,
stale saves, scope, dérogation uploads, the stored PDF, change requests and the Administration's reference data."""

from __future__ import annotations

import hashlib

import pytest

from tests.integration.conftest import establishment_id, login, post_form, text

pytestmark = pytest.mark.anyio

HTMX = {"HX-Request": "true"}


async def convention_id(kind: str) -> int:
    from portal.conventions.tables import Convention

    row = await Convention.select(Convention.id).where((Convention.kind == kind) & (Convention.active == True)).first()
    return row["id"]


async def convention(kind_or_id) -> dict:
    from portal.conventions.tables import Convention

    ident = kind_or_id if isinstance(kind_or_id, int) else await convention_id(kind_or_id)
    return await Convention.select().where(Convention.id == ident).first()


async def switch(client, username: str):
    await post_form(client, "/logout")
    await login(client, username)


async def article(conv: int, key: str) -> dict | None:
    from portal.conventions.tables import ArticleText

    return await ArticleText.select().where((ArticleText.convention == conv) & (ArticleText.key == key)).first()


async def history_actions(conv: int) -> list[str]:
    from portal.history.tables import HistoryEvent

    rows = await HistoryEvent.select(HistoryEvent.action).where(
        (HistoryEvent.entity == "convention") & (HistoryEvent.entity_id == conv)).order_by(HistoryEvent.id)
    return [r["action"] for r in rows]


async def test_the_demo_pole_gets_its_instruments_and_shows_the_automatic_move(client):
    await login(client, "claire.lambert")
    response = await client.get("/conventions/poles/1")
    assert response.status_code == 200
    page = text(response)
    for label in ("Convention de partenariat", "Ressort de coopération", "Convention de coopération",
                  "Convention de partenariat spécifique", "École siège", "Coordonnateurs"):
        assert label in page
    assert "Ressort de partenariat" not in page
    assert "reprises automatiquement dans la convention de partenariat" in page
    assert "École partenaire démo Saint-Joseph" in page
    assert "<details" in response.text


async def test_full_workflow_of_a_cooperation_convention(client):
    conv = await convention_id("cooperation")
    await login(client, "claire.lambert")
    page = text(await client.get(f"/conventions/{conv}"))
    assert "À compléter" in page and "Complété" in page
    # cannot validate while an article is red: French message, nothing changed
    refused = await post_form(client, f"/conventions/{conv}/valider")
    assert refused.status_code == 400
    assert "Complétez d'abord les articles en rouge" in text(refused)
    assert (await convention(conv))["step"] == "articles"
    # an article saved in place (htmx): the fragment comes back green, with the count refreshed out of band
    saved = await post_form(client, f"/conventions/{conv}/articles/art5",
                            {"texte": "Collaboration avec le centre PMS (texte de test).", "version": "0"}, headers=HTMX)
    assert saved.status_code == 200
    fragment = text(saved)
    assert 'id="article-art5"' in fragment and "Complété" in fragment and "À compléter" not in fragment.split("articles-left")[0]
    assert 'hx-swap-oob="true"' in fragment and "Tous les articles requis sont complétés" in fragment
    assert "<html" not in fragment
    validated = await post_form(client, f"/conventions/{conv}/valider")
    assert validated.status_code == 303
    assert (await convention(conv))["step"] == "signatures"
    # frozen: no more article saves
    frozen = await post_form(client, f"/conventions/{conv}/articles/art5", {"texte": "Autre", "version": "1"})
    assert frozen.status_code == 400 and "ne peut plus être modifiée" in text(frozen)
    # both délégués sign (seat PO and the other party's PO)
    await switch(client, "anne.lemaire")
    unchecked = await post_form(client, f"/conventions/{conv}/signer", {})
    assert unchecked.status_code == 400 and "Cochez la case" in text(unchecked)
    assert (await post_form(client, f"/conventions/{conv}/signer", {"confirme": "1"})).status_code == 303
    again = await post_form(client, f"/conventions/{conv}/signer", {"confirme": "1"})
    assert again.status_code == 409
    assert (await convention(conv))["step"] == "signatures"
    await switch(client, "paul.gerard")
    assert (await post_form(client, f"/conventions/{conv}/signer", {"confirme": "1"})).status_code == 303
    assert (await convention(conv))["step"] == "validation_administration"
    # the Administration validates: the PDF/A is stored once, with its SHA-256
    await switch(client, "helene.fontaine")
    dashboard = text(await client.get("/tableau-de-bord"))
    assert "Conventions à valider" in dashboard
    assert (await post_form(client, f"/conventions/{conv}/validation-administration", {"confirme": "1"})).status_code == 303
    row = await convention(conv)
    assert row["step"] == "prise_de_connaissance" and row["document"]
    first = await client.get(f"/conventions/{conv}/convention.pdf")
    second = await client.get(f"/conventions/{conv}/convention.pdf")
    assert first.status_code == 200 and first.content.startswith(b"%PDF")
    assert first.content == second.content
    from portal.documents.services import fetch

    stored = await fetch(row["document"])
    assert stored.sha256 == hashlib.sha256(first.content).hexdigest()
    assert first.headers["etag"] == f'"{stored.sha256}"'
    # the directions concerned acknowledge: the seat's and the cooperating school's
    await switch(client, "marc.dubois")
    assert "Conventions à prendre en connaissance" in text(await client.get("/tableau-de-bord"))
    assert (await post_form(client, f"/conventions/{conv}/prise-de-connaissance", {"confirme": "1"})).status_code == 303
    await switch(client, "luc.renard")
    assert (await post_form(client, f"/conventions/{conv}/prise-de-connaissance", {"confirme": "1"})).status_code == 303
    assert (await convention(conv))["step"] == "terminee"
    actions = await history_actions(conv)
    for action in ("article", "validation_articles", "signature", "validation_administration", "prise_de_connaissance"):
        assert action in actions


async def test_a_stale_article_save_is_refused_and_keeps_the_other_text(client):
    conv = await convention_id("cooperation")
    await login(client, "claire.lambert")
    first = await post_form(client, f"/conventions/{conv}/articles/art5", {"texte": "Texte de Claire", "version": "0"})
    assert first.status_code == 303
    stale = await post_form(client, f"/conventions/{conv}/articles/art5", {"texte": "Texte écrasant", "version": "0"},
                            headers=HTMX)
    assert stale.status_code == 409
    assert "modifié par quelqu'un d'autre" in text(stale)
    assert "Texte de Claire" in text(stale)
    saved = await article(conv, "art5")
    assert saved["text"] == "Texte de Claire" and saved["version"] == 1
    # JS off: the page comes back with the message, nothing changed
    stale_page = await post_form(client, f"/conventions/{conv}/articles/art5", {"texte": "Encore", "version": "0"})
    assert stale_page.status_code == 409 and "<html" in stale_page.text
    assert (await article(conv, "art5"))["text"] == "Texte de Claire"


async def test_scope_a_partner_direction_reads_but_cannot_edit(client):
    partnership = await convention_id("partenariat")
    cooperation = await convention_id("cooperation")
    await login(client, "sophie.martin")
    assert (await client.get(f"/conventions/{partnership}")).status_code == 200
    # the cooperation convention does not concern her school
    assert (await client.get(f"/conventions/{cooperation}")).status_code == 404
    before = await convention(partnership)
    refused = await post_form(client, f"/conventions/{partnership}/articles/art13", {"texte": "x", "version": "0"})
    assert refused.status_code == 403
    assert "Seuls le coordonnateur" in text(refused)
    assert await article(partnership, "art13") is None
    assert (await convention(partnership))["version"] == before["version"]
    # no edit form is offered to her
    page = text(await client.get(f"/conventions/{partnership}"))
    assert "Enregistrer l'article" not in page


async def test_derogation_is_checked_by_content_and_size(client):
    from portal.documents.tables import StoredDocument

    conv = await convention_id("partenariat_specifique")
    school = await establishment_id("99104")
    url = f"/conventions/{conv}/ecoles/{school}/derogation"
    await login(client, "claire.lambert")
    token = client.cookies.get("portal_csrf")
    count = await StoredDocument.count()
    exe = await client.post(url, data={"_csrf_token": token},
                            files={"fichier": ("derogation.pdf", b"MZ\x90\x00" + b"\x00" * 200, "application/pdf")})
    assert exe.status_code == 400 and "ni un PDF" in text(exe)
    big = await client.post(url, data={"_csrf_token": token},
                            files={"fichier": ("derogation.pdf", b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024), "application/pdf")})
    assert big.status_code == 400 and "5 Mo" in text(big)
    assert await StoredDocument.count() == count
    # the list cannot be validated without the dérogation of a school outside the seat's zone
    refused = await post_form(client, f"/conventions/{conv}/ecoles/valider")
    assert refused.status_code == 400 and "dérogation" in text(refused)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    ok = await client.post(url, data={"_csrf_token": token}, files={"fichier": ("scan.png", png, "image/png")})
    assert ok.status_code == 303
    assert await StoredDocument.count() == count + 1
    download = await client.get(url)
    assert download.status_code == 200 and download.content == png
    assert download.headers["content-type"].startswith("image/png")
    assert (await post_form(client, f"/conventions/{conv}/ecoles/valider")).status_code == 303
    assert (await convention(conv))["step"] == "articles"
    assert "derogation" in await history_actions(conv)


async def test_specific_partnership_article_8_points(client):
    from portal.conventions.tables import StaffFunction

    conv = await convention_id("partenariat_specifique")
    functions = {r["name"]: r for r in await StaffFunction.select()}
    logo = functions["Logopède (démo)"]
    await login(client, "claire.lambert")
    preview = await post_form(client, f"/conventions/{conv}/points", {f"cell-{logo['id']}-2,5/5": "2"}, headers=HTMX)
    assert preview.status_code == 200 and "36,00" in text(preview)
    bad = await post_form(client, f"/conventions/{conv}/articles/art8", {f"cell-{logo['id']}-1/5": "abc", "version": "0"})
    assert bad.status_code == 400 and "nombre entier" in text(bad)
    assert await article(conv, "art8") is None
    ok = await post_form(client, f"/conventions/{conv}/articles/art8", {f"cell-{logo['id']}-2,5/5": "2", "version": "0"})
    assert ok.status_code == 303
    page = text(await client.get(f"/conventions/{conv}"))
    assert "36,00" in page


async def test_change_request_granted_unlocks_the_convention(client):
    conv = await convention_id("partenariat")
    await login(client, "helene.fontaine")
    assert (await post_form(client, f"/conventions/{conv}/validation-administration", {"confirme": "1"})).status_code == 303
    await switch(client, "claire.lambert")
    short = await post_form(client, f"/conventions/{conv}/demande-de-modification", {"motif": "court"})
    assert short.status_code == 400
    asked = await post_form(client, f"/conventions/{conv}/demande-de-modification",
                            {"motif": "Changement de la clé de répartition des points."})
    assert asked.status_code == 303
    from portal.conventions.tables import ChangeRequest, Signature

    request = await ChangeRequest.select().where(ChangeRequest.convention == conv).first()
    assert request["status"] == "en_attente"
    await switch(client, "helene.fontaine")
    assert "Demandes de modification" in text(await client.get("/tableau-de-bord"))
    granted = await post_form(client, f"/conventions/demandes/{request['id']}", {"decision": "accorder"})
    assert granted.status_code == 303
    row = await convention(conv)
    assert row["step"] == "articles" and row["admin_validated_at"] is None
    assert await Signature.count().where(Signature.convention == conv) == 0
    twice = await post_form(client, f"/conventions/demandes/{request['id']}", {"decision": "refuser"})
    assert twice.status_code == 409
    await switch(client, "claire.lambert")
    resaved = await post_form(client, f"/conventions/{conv}/articles/art13", {"texte": "Divers (test)", "version": "0"})
    assert resaved.status_code == 303


async def test_administration_reference_data(client):
    from portal.conventions.tables import Campaign, SchoolHoliday, StaffFunction

    await login(client, "helene.fontaine")
    assert (await client.get("/conventions/reference")).status_code == 200
    count = await StaffFunction.count()
    bad = await post_form(client, "/conventions/reference/fonctions", {"nom": "Orthoptiste", "points": "-3"})
    assert bad.status_code == 400 and "nombre entier" in text(bad)
    assert await StaffFunction.count() == count
    assert (await post_form(client, "/conventions/reference/fonctions", {"nom": "Orthoptiste", "points": "30"})).status_code == 303
    duplicate = await post_form(client, "/conventions/reference/fonctions", {"nom": "Orthoptiste", "points": "30"})
    assert duplicate.status_code == 400
    holidays = await SchoolHoliday.count()
    reversed_dates = await post_form(client, "/conventions/reference/conges",
                                     {"libelle": "Congé test", "debut": "2027-03-10", "fin": "2027-03-01"})
    assert reversed_dates.status_code == 400 and "précède" in text(reversed_dates)
    assert await SchoolHoliday.count() == holidays
    assert (await post_form(client, "/conventions/reference/conges",
                            {"libelle": "Congé test", "debut": "2027-03-01", "fin": "2027-03-05"})).status_code == 303
    bad_year = await post_form(client, "/conventions/reference/campagne", {"annee": "2026-2028", "echeance": "2026-10-15"})
    assert bad_year.status_code == 400
    assert (await post_form(client, "/conventions/reference/campagne",
                            {"annee": "2030-2031", "echeance": "2030-10-15"})).status_code == 303
    assert await Campaign.exists().where(Campaign.school_year == "2030-2031")
    await switch(client, "claire.lambert")
    assert (await client.get("/conventions/reference")).status_code == 403


async def test_partner_of_another_po_moves_the_partners_into_a_partnership_convention(demo):
    from portal.accounts.identity import AffiliationView, CurrentUser
    from portal.conventions import services
    from portal.conventions.tables import Convention
    from portal.directory.tables import Pole
    from portal.permissions import Profile

    seat = await establishment_id("99102")
    pole = (await Pole.insert(Pole(name="Pôle de test", seat=seat)).returning(Pole.id))[0]["id"]
    user = CurrentUser(account_id=1, session_id=1, username="test", first_name="T", last_name="Test", email="",
                       help_enabled=False, version=1,
                       active=AffiliationView(id=1, profile=Profile.COORDINATOR, pole_id=pole))
    await services.add_pole_school(user, pole, str(await establishment_id("99105")), "partenaire")
    rows = await Convention.select(Convention.kind, Convention.active).where(Convention.pole == pole)
    assert rows == [{"kind": "ressort_partenariat", "active": True}]
    # a ressort only offers schools of the seat's PO
    ressort = (await Convention.select(Convention.id).where(Convention.pole == pole).first())["id"]
    with pytest.raises(services.ConventionError):
        await services.add_convention_school(user, ressort, str(await establishment_id("99107")))
    # adding a partner of another PO on the pole: the partnership convention replaces the ressort
    await services.add_pole_school(user, pole, str(await establishment_id("99107")), "partenaire")
    rows = {r["kind"]: r["active"] for r in await Convention.select(Convention.kind, Convention.active).where(
        Convention.pole == pole)}
    assert rows == {"ressort_partenariat": False, "partenariat": True}
    page = await services.pole_page(user, pole)
    assert [c.kind for c in page.conventions] == ["partenariat"]
    assert len(page.conventions[0].schools) == 2
    assert [s.name for s in page.moved_partners] == ["Institut technique démo"]
    assert "remplacement" in await history_actions(ressort)


async def test_dashboards_show_the_conventions_blocks(client):
    await login(client, "claire.lambert")
    page = text(await client.get("/tableau-de-bord"))
    assert "Conventions du pôle" in page and "Convention de coopération" in page
    await switch(client, "anne.lemaire")
    page = text(await client.get("/tableau-de-bord"))
    assert "Conventions à signer" in page and "Ressort de coopération" in page


async def test_insert_the_text_of_the_last_cooperation_convention(client):
    first = await convention_id("cooperation")
    await login(client, "claire.lambert")
    nothing = await post_form(client, f"/conventions/{first}/articles/art5/reprendre", {}, headers=HTMX)
    assert nothing.status_code == 200 and "Aucune autre convention de coopération" in text(nothing)
    # a cooperating school of a third PO: its own convention de coopération, which may reuse the first one's text
    added = await post_form(client, "/conventions/poles/1/ecoles",
                            {"etablissement": str(await establishment_id("99107")), "role": "cooperante"})
    assert added.status_code == 303
    from portal.conventions.tables import Convention

    second = (await Convention.select(Convention.id).where(Convention.kind == "cooperation").order_by(
        Convention.id, ascending=False).first())["id"]
    assert second != first
    filled = await post_form(client, f"/conventions/{second}/articles/art4/reprendre", {}, headers=HTMX)
    assert filled.status_code == 200
    assert "Texte de démonstration (fictif)" in text(filled) and "vérifiez-le" in text(filled)
    assert await article(second, "art4") is None  # filled in the form, not saved
    # JS off: the whole page with the text in the form
    page = await post_form(client, f"/conventions/{second}/articles/art4/reprendre", {})
    assert page.status_code == 200 and "<html" in page.text and "Texte de démonstration (fictif)" in text(page)


async def test_delegates_sign_only_what_concerns_their_po(client):
    partnership = await convention_id("partenariat")
    specific = await convention_id("partenariat_specifique")
    await login(client, "ines.collard")
    assert (await client.get(f"/conventions/{specific}")).status_code == 200
    assert (await client.get(f"/conventions/{partnership}")).status_code == 404
    assert (await post_form(client, f"/conventions/{partnership}/signer", {"confirme": "1"})).status_code == 404
    # the ressort waits for the seat's délégué only; hers is not asked
    ressort = await convention_id("ressort_cooperation")
    assert (await post_form(client, f"/conventions/{ressort}/signer", {"confirme": "1"})).status_code == 404


async def test_school_list_pdf_and_pole_school_refusals(client):
    conv = await convention_id("cooperation")
    await login(client, "claire.lambert")
    listing = await client.get(f"/conventions/{conv}/liste-des-ecoles.pdf")
    assert listing.status_code == 200 and listing.content.startswith(b"%PDF")
    # a school already in the pole, an unknown role, a validated list: French refusals, nothing changed
    from portal.directory.tables import PoleSchool

    count = await PoleSchool.count()
    again = await post_form(client, "/conventions/poles/1/ecoles",
                            {"etablissement": str(await establishment_id("99103")), "role": "partenaire"})
    assert again.status_code == 400 and "fait déjà partie du pôle" in text(again)
    role = await post_form(client, "/conventions/poles/1/ecoles",
                           {"etablissement": str(await establishment_id("99107")), "role": "autre"})
    assert role.status_code == 400 and "rôle" in text(role)
    frozen = await post_form(client, f"/conventions/poles/1/ecoles/{await establishment_id('99106')}/retirer")
    assert frozen.status_code == 400 and "validée" in text(frozen)
    assert await PoleSchool.count() == count


async def test_article_8_key_and_the_80_20_rule(client):
    from portal.conventions import services
    from portal.conventions.tables import Convention

    conv = await convention_id("partenariat")
    # the demo partnership waits for the Administration: unlock it the way the portal does (granted change request)
    await Convention.update({Convention.step: "articles"}).where(Convention.id == conv)
    await login(client, "claire.lambert")
    state = await article(conv, "art8")
    partners = [await establishment_id("99102"), await establishment_id("99103")]
    form = {"texte": "Organisation du personnel (test).", "version": str(state["version"]), "repartition": "cle",
            "part-0": "50", f"part-{partners[0]}": "25", f"part-{partners[1]}": "25", "fonctionnement": "25"}
    too_much = await post_form(client, f"/conventions/{conv}/articles/art8", form)
    assert too_much.status_code == 400 and "80 %" in text(too_much)
    wrong_total = await post_form(client, f"/conventions/{conv}/articles/art8",
                                  {**form, "fonctionnement": "15", "part-0": "40"})
    assert wrong_total.status_code == 400 and "totalisent 90 %" in text(wrong_total)
    assert (await article(conv, "art8"))["version"] == state["version"]
    ok = await post_form(client, f"/conventions/{conv}/articles/art8", {**form, "fonctionnement": "12,5"})
    assert ok.status_code == 303
    saved = services.stored_json((await article(conv, "art8"))["data"])
    assert saved == {"mode": "cle", "running": "12.5",
                     "shares": {"0": "50", str(partners[0]): "25", str(partners[1]): "25"}}


async def test_demo_loader_is_idempotent(demo):
    from portal.conventions.demo import load_demo
    from portal.conventions.tables import (
        ArticleText,
        Campaign,
        Convention,
        SchoolHoliday,
        Signature,
        StaffFunction,
    )

    tables = (Convention, ArticleText, Signature, StaffFunction, SchoolHoliday, Campaign)
    before = [await table.count() for table in tables]
    await load_demo()
    assert [await table.count() for table in tables] == before
    assert before[0] == 4


async def test_coordinator_dashboard_queries_do_not_grow_with_conventions(client):
    from tests.integration.conftest import queries_for

    await login(client, "claire.lambert")
    await client.get("/tableau-de-bord")
    before = await queries_for(client, "/tableau-de-bord")
    for fase in ("99107",):
        assert (await post_form(client, "/conventions/poles/1/ecoles",
                                {"etablissement": str(await establishment_id(fase)), "role": "cooperante"})).status_code == 303
    from portal.dashboards.services import clear_caches

    clear_caches()
    await client.get("/tableau-de-bord")
    after = await queries_for(client, "/tableau-de-bord")
    assert after == before


@pytest.mark.parametrize("username", ["claire.lambert", "marc.dubois", "sophie.martin", "luc.renard", "anne.lemaire",
                                      "paul.gerard", "ines.collard", "helene.fontaine", "jf.bernard"])
async def test_every_page_renders_for_every_person(client, username):
    from portal.conventions.tables import Convention

    await login(client, username, choose=1 if username == "jf.bernard" else None)
    ids = [r["id"] for r in await Convention.select(Convention.id)]
    assert (await client.get("/conventions")).status_code == 200
    assert (await client.get("/tableau-de-bord")).status_code == 200
    assert (await client.get("/conventions/poles/1")).status_code in (200, 404)
    seen = 0
    for ident in ids:
        response = await client.get(f"/conventions/{ident}")
        assert response.status_code in (200, 404), (ident, response.status_code)
        seen += response.status_code == 200
    expected = {"claire.lambert": 4, "marc.dubois": 4, "anne.lemaire": 4, "helene.fontaine": 4, "sophie.martin": 1,
                "luc.renard": 1, "paul.gerard": 2, "ines.collard": 1, "jf.bernard": 1}
    assert seen == expected[username]
