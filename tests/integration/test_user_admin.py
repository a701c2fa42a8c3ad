"""Administrators' user management (``/utilisateurs``): scope, list, creation, edit, hide, reset, CSV export."""

from __future__ import annotations

import json
import re

import pytest

from portal.accounts.tables import Account, Affiliation, UserSession
from portal.core.clock import now
from portal.directory.tables import Establishment, OrganisingBody, Pole
from portal.history.tables import HistoryEvent
from portal.messaging.tables import OutboxMail
from tests.integration.conftest import csrf_token, login, post_form, queries_for, text

pytestmark = pytest.mark.anyio


async def account(username: str) -> Account:
    """The account row of ``username``."""
    return await Account.objects().get(Account.username == username)


async def itd() -> int:
    """The id of « Institut technique démo »."""
    return (await Establishment.select(Establishment.id).where(Establishment.fase == "99107").first())["id"]


async def add_accounts(count: int, establishment_id: int, prefix: str = "eleve") -> None:
    """``count`` learners at one establishment, each with one affiliation, inserted directly."""
    current = now()
    for i in range(count):
        rows = await Account.insert(Account(username=f"{prefix}{i:03d}", first_name=f"Élève{i:03d}",
                                            last_name=f"Test{i:03d}", email=f"{prefix}{i}@ecole.be",
                                            origin="import", created_at=current)).returning(Account.id)
        await Affiliation.insert(Affiliation(account=rows[0]["id"], profile="apprenant",
                                             establishment=establishment_id, granted_at=current))


async def htmx_post(client, url: str, data: dict | None = None):
    """POST the way htmx does: CSRF in the header, the hidden field too."""
    token = await csrf_token(client)
    return await client.post(url, data={"_csrf_token": token, **(data or {})},
                             headers={"hx-request": "true", "x-csrftoken": token})


def as_dict(value) -> dict:
    """A JSON column as a dict (PostgreSQL gives a string, like SQLite)."""
    return value if isinstance(value, dict) else json.loads(value)


def usernames_listed(response) -> set[str]:
    """The login names linked from the table of a list page."""
    return set(re.findall(r'<a href="/utilisateurs/\d+">([^<]+)</a>', response.text))


# --- scope -----------------------------------------------------------------------------------------------------


async def test_school_admin_lists_only_accounts_of_their_establishment(client):
    await login(client, "thomas.girard")
    response = await client.get("/utilisateurs")
    assert response.status_code == 200
    listed = usernames_listed(response)
    assert {"pierre.leroy", "lucas.petit", "thomas.girard", "jf.bernard"} <= listed
    assert "marc.dubois" not in listed and "helene.fontaine" not in listed and "julie.roux" not in listed
    body = text(response)
    assert "Institut technique démo" in body
    assert '<span class="badge manual">manuel</span>' in body and "activé" in body
    # jf.bernard's direction at another school is none of thomas's business
    assert "Tilleuls" not in body


async def test_administration_lists_every_account_with_scopes(client):
    await login(client, "helene.fontaine")
    response = await client.get("/utilisateurs")
    listed = usernames_listed(response)
    assert {"marc.dubois", "pierre.leroy", "helene.fontaine", "emma.garnier"} <= listed
    assert "Direction — École partenaire démo des Tilleuls" in text(response)


async def test_accounts_outside_the_scope_answer_404_on_every_route(client):
    marc = await account("marc.dubois")
    await login(client, "thomas.girard")
    detail = await client.get(f"/utilisateurs/{marc.id}")
    assert detail.status_code == 404 and "Page introuvable" in text(detail)
    assert "Marc" not in detail.text
    edit = await post_form(client, f"/utilisateurs/{marc.id}",
                           {"first_name": "X", "last_name": "Y", "email": "x@ecole.be", "version": "1"})
    assert edit.status_code == 404
    for action in ("masquer", "afficher", "reinitialiser"):
        assert (await post_form(client, f"/utilisateurs/{marc.id}/{action}")).status_code == 404, action
    pierre = await account("pierre.leroy")
    bulk = await post_form(client, "/utilisateurs/reinitialiser", {"ids": [str(pierre.id), str(marc.id)]})
    assert bulk.status_code == 404
    after = await account("marc.dubois")
    assert after.first_name == "Marc" and after.password_hash and not after.hidden
    assert (await account("pierre.leroy")).password_hash  # all or nothing: pierre was not reset either
    assert await OutboxMail.count() == 0


async def test_unknown_and_malformed_ids_are_french_404s(client):
    await login(client, "helene.fontaine")
    for url in ("/utilisateurs/999999", "/utilisateurs/abc", "/utilisateurs/99999999999999999999", "/utilisateurs/-3"):
        response = await client.get(url)
        assert response.status_code in {400, 404}, url
        assert "introuvable" in text(response) or "Requête invalide" in text(response), url
    assert (await post_form(client, "/utilisateurs/999999/reinitialiser")).status_code == 404
    bulk = await post_form(client, "/utilisateurs/reinitialiser", {"ids": ["abc"]})
    assert bulk.status_code == 400 and "valeur invalide" in text(bulk)


@pytest.mark.parametrize("username", ["pierre.leroy", "lucas.petit", "marc.dubois"])
async def test_profiles_without_the_permission_get_403_everywhere(client, username):
    lucas = await account("lucas.petit")
    await login(client, username)
    for url in ("/utilisateurs", "/utilisateurs/nouveau", "/utilisateurs/export.csv", f"/utilisateurs/{lucas.id}"):
        response = await client.get(url)
        assert response.status_code == 403, url
        assert "Accès refusé" in text(response)
    for url in ("/utilisateurs/nouveau", "/utilisateurs/reinitialiser", f"/utilisateurs/{lucas.id}",
                f"/utilisateurs/{lucas.id}/masquer", f"/utilisateurs/{lucas.id}/afficher",
                f"/utilisateurs/{lucas.id}/reinitialiser"):
        response = await post_form(client, url, {"ids": str(lucas.id), "first_name": "A", "last_name": "B",
                                                 "email": "a@b.be", "version": "1", "profile": "apprenant"})
        assert response.status_code == 403, url
    assert (await account("lucas.petit")).password_hash and await OutboxMail.count() == 0


async def test_anonymous_visitor_goes_to_login(client):
    response = await client.get("/utilisateurs?q=lucas")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?suivant=")


# --- list ------------------------------------------------------------------------------------------------------


async def test_filters_by_text_profile_and_keeps_criteria_in_the_url(client):
    await login(client, "thomas.girard")
    by_text = await client.get("/utilisateurs", params={"q": "PETIT"})
    assert usernames_listed(by_text) == {"lucas.petit"}
    assert 'value="PETIT"' in by_text.text
    by_words = await client.get("/utilisateurs", params={"q": "lucas petit"})
    assert usernames_listed(by_words) == {"lucas.petit"}
    by_profile = await client.get("/utilisateurs", params={"profil": "enseignant"})
    assert usernames_listed(by_profile) == {"pierre.leroy", "jf.bernard"}
    assert '<option value="enseignant" selected>' in by_profile.text
    assert "/utilisateurs/export.csv?profil=enseignant" in by_profile.text
    # a school admin cannot filter on profiles outside an establishment: ignored, not an error
    ignored = await client.get("/utilisateurs", params={"profil": "administration", "page": "x"})
    assert ignored.status_code == 200 and "pierre.leroy" in usernames_listed(ignored)
    nothing = await client.get("/utilisateurs", params={"q": "zzzz"})
    assert "Aucun compte ne correspond" in text(nothing)


async def test_htmx_gets_only_the_table_fragment(client):
    await login(client, "thomas.girard")
    fragment = await client.get("/utilisateurs", params={"q": "lucas"}, headers={"hx-request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text and "<table" in fragment.text
    assert usernames_listed(fragment) == {"lucas.petit"}
    assert "HX-Request" in fragment.headers.get("vary", "")
    full = await client.get("/utilisateurs", params={"q": "lucas"})
    assert "<html" in full.text and 'hx-get="/utilisateurs"' in full.text and 'hx-push-url="true"' in full.text
    restore = await client.get("/utilisateurs", params={"q": "lucas"},
                               headers={"hx-request": "true", "hx-history-restore-request": "true"})
    assert "<html" in restore.text


async def test_paging_by_fifty(client):
    await add_accounts(55, await itd())
    await login(client, "thomas.girard")
    first = await client.get("/utilisateurs")
    assert len(usernames_listed(first)) == 50
    assert "59 comptes trouvés" in text(first) and "page 1 / 2" in text(first)
    assert 'href="/utilisateurs?page=2"' in first.text
    second = await client.get("/utilisateurs", params={"page": "2"})
    assert len(usernames_listed(second)) == 9
    assert not usernames_listed(first) & usernames_listed(second)
    beyond = await client.get("/utilisateurs", params={"page": "40"})
    assert usernames_listed(beyond) == usernames_listed(second)
    imported = await client.get("/utilisateurs", params={"q": "eleve001"})
    assert '<span class="badge import">import</span>' in imported.text
    assert "en attente d'activation" in text(imported)


async def test_list_queries_do_not_grow_with_rows(client):
    establishment = await itd()
    await add_accounts(1, establishment, prefix="premier")  # 4 demo accounts + 1 = 5
    await login(client, "thomas.girard")
    small = await queries_for(client, "/utilisateurs")
    assert len(usernames_listed(await client.get("/utilisateurs"))) == 5
    await add_accounts(35, establishment, prefix="suivant")  # 40 accounts
    large = await queries_for(client, "/utilisateurs")
    assert len(usernames_listed(await client.get("/utilisateurs"))) == 40
    assert 0 < small <= 8  # session, affiliations of the person, count, page, profiles
    assert large == small


# --- creation --------------------------------------------------------------------------------------------------


async def test_school_admin_creates_an_account_with_activation_mail_and_history(client):
    await login(client, "thomas.girard")
    form = await client.get("/utilisateurs/nouveau")
    assert form.status_code == 200 and "Institut technique démo" in text(form)
    assert 'value="administration"' not in form.text and 'value="coordonnateur"' not in form.text
    response = await post_form(client, "/utilisateurs/nouveau", {
        "first_name": " Élodie ", "last_name": "Dupont", "email": "elodie.dupont@ecole.be", "profile": "apprenant",
        "establishment": "99101",  # ignored: a school admin creates at their own establishment
    })
    assert response.status_code == 303, text(response)
    created = await account("elodie.dupont")
    assert response.headers["location"] == f"/utilisateurs/{created.id}?fait=cree"
    assert created.origin == "manual" and created.password_hash is None and created.first_name == "Élodie"
    affiliations = await Affiliation.select().where(Affiliation.account == created.id)
    assert [(a["profile"], a["establishment"]) for a in affiliations] == [("apprenant", await itd())]
    mail = await OutboxMail.objects().where(OutboxMail.recipient == "elodie.dupont@ecole.be").first()
    assert mail is not None and "elodie.dupont" in mail.body and "/activation/" in mail.body
    event = await HistoryEvent.objects().where(
        (HistoryEvent.entity == "account") & (HistoryEvent.entity_id == created.id)
        & (HistoryEvent.action == "création")).first()
    assert event is not None and event.before is None
    after = as_dict(event.after)
    assert after["username"] == "elodie.dupont" and after["profile"] == "apprenant"
    assert event.establishment_id == await itd()
    detail = await client.get(response.headers["location"])
    assert detail.status_code == 200 and "elodie.dupont" in detail.text and "lien d'activation" in text(detail)
    assert "en attente d'activation" in text(detail)


async def test_duplicate_names_get_a_numeric_suffix(client):
    await login(client, "thomas.girard")
    for _ in range(2):
        response = await post_form(client, "/utilisateurs/nouveau", {
            "first_name": "Pierre", "last_name": "Leroy", "email": "autre.pierre@ecole.be", "profile": "enseignant"})
        assert response.status_code == 303
    assert await Account.exists().where(Account.username == "pierre.leroy2")
    assert await Account.exists().where(Account.username == "pierre.leroy3")
    assert (await account("pierre.leroy")).email == "pierre.leroy@demo.invalid"


@pytest.mark.parametrize("fields, message", [
    ({"first_name": ""}, "Indiquez le prénom."),
    ({"last_name": "   "}, "Indiquez le nom."),
    ({"last_name": "x" * 101}, "ne peut dépasser 100 caractères"),
    ({"first_name": "---", "last_name": "..."}, "au moins une lettre"),
    ({"email": "pas-une-adresse"}, "forme valide"),
    ({"email": ""}, "Indiquez une adresse e-mail."),
    ({"profile": "administration"}, "Choisissez un profil de la liste."),
    ({"profile": "inconnu"}, "Choisissez un profil de la liste."),
])
async def test_bad_input_is_refused_in_french_and_creates_nothing(client, fields, message):
    await login(client, "thomas.girard")
    accounts, mails, events = await Account.count(), await OutboxMail.count(), await HistoryEvent.count()
    data = {"first_name": "Nina", "last_name": "Lambert", "email": "nina@ecole.be", "profile": "apprenant", **fields}
    response = await post_form(client, "/utilisateurs/nouveau", data)
    assert response.status_code == 400
    body = text(response)
    assert message in body and "Rien n'a été enregistré" in body
    assert 'role="alert"' in body
    assert await Account.count() == accounts and await OutboxMail.count() == mails
    assert await HistoryEvent.count() == events


async def test_administration_creates_accounts_for_any_scope(client):
    await login(client, "helene.fontaine")
    form = await client.get("/utilisateurs/nouveau")
    assert "Pôle territorial démo de Mosane" in text(form) and 'value="coordonnateur"' in form.text
    pole = (await Pole.select(Pole.id).first())["id"]
    cases = [
        ({"profile": "enseignant", "establishment": "0219999z"}, "establishment",
         (await Establishment.select(Establishment.id).where(Establishment.uai == "0219999Z").first())["id"]),
        ({"profile": "coordonnateur", "pole": str(pole)}, "pole", pole),
        ({"profile": "delegue_po", "organising_body": "99001"}, "organising_body",
         (await OrganisingBody.select(OrganisingBody.id).where(OrganisingBody.fase == "99001").first())["id"]),
        ({"profile": "administration"}, "establishment", None),
    ]
    for i, (fields, column, expected) in enumerate(cases):
        response = await post_form(client, "/utilisateurs/nouveau", {
            "first_name": "Jean", "last_name": f"Essai{i}", "email": f"jean{i}@ecole.be", **fields})
        assert response.status_code == 303, text(response)
        created = await account(f"jean.essai{i}")
        affiliation = await Affiliation.objects().where(Affiliation.account == created.id).first()
        assert affiliation.profile == fields["profile"] and getattr(affiliation, column) == expected
    for fields, message in [
        ({"profile": "direction", "establishment": "12345"}, "Aucun établissement"),
        ({"profile": "direction", "establishment": ""}, "numéro FASE ou UAI"),
        ({"profile": "coordonnateur", "pole": "999"}, "pôle"),
        ({"profile": "delegue_po", "organising_body": "nope"}, "pouvoir organisateur"),
    ]:
        response = await post_form(client, "/utilisateurs/nouveau", {
            "first_name": "Refus", "last_name": "Net", "email": "refus@ecole.be", **fields})
        assert response.status_code == 400 and message in text(response), fields
    assert not await Account.exists().where(Account.username == "refus.net")


# --- edit ------------------------------------------------------------------------------------------------------


async def test_edit_saves_and_bumps_the_version_and_a_stale_form_is_refused(client):
    await login(client, "thomas.girard")
    lucas = await account("lucas.petit")
    page = await client.get(f"/utilisateurs/{lucas.id}")
    version = re.search(r'name="version" value="(\d+)"', page.text).group(1)
    assert int(version) == lucas.version
    saved = await post_form(client, f"/utilisateurs/{lucas.id}", {
        "first_name": "Lucas", "last_name": "Petit-Durand", "email": "lucas@ecole.be", "version": version})
    assert saved.status_code == 303 and saved.headers["location"] == f"/utilisateurs/{lucas.id}?fait=modifie"
    after = await account("lucas.petit")
    assert after.last_name == "Petit-Durand" and after.email == "lucas@ecole.be"
    assert after.version == lucas.version + 1 and after.username == "lucas.petit"
    event = await HistoryEvent.objects().where(HistoryEvent.action == "modification").first()
    before_data, after_data = as_dict(event.before), as_dict(event.after)
    assert before_data == {"last_name": "Petit", "email": "lucas.petit@demo.invalid"}
    assert after_data == {"last_name": "Petit-Durand", "email": "lucas@ecole.be"}

    stale = await post_form(client, f"/utilisateurs/{lucas.id}", {
        "first_name": "Luc", "last_name": "Autre", "email": "autre@ecole.be", "version": version})
    assert stale.status_code == 409
    body = text(stale)
    assert "Ce compte a été modifié par quelqu'un d'autre entre-temps" in body
    assert f'name="version" value="{after.version}"' in stale.text and "Petit-Durand" in body  # current values
    assert "autre@ecole.be" in body  # what was typed is not lost
    unchanged = await account("lucas.petit")
    assert (unchanged.last_name, unchanged.email, unchanged.version) == ("Petit-Durand", "lucas@ecole.be",
                                                                         after.version)


async def test_edit_rejects_bad_input_and_a_missing_version(client):
    await login(client, "thomas.girard")
    lucas = await account("lucas.petit")
    bad = await post_form(client, f"/utilisateurs/{lucas.id}", {
        "first_name": "Lucas", "last_name": "", "email": "faux", "version": str(lucas.version)})
    assert bad.status_code == 400 and "Indiquez le nom." in text(bad) and "forme valide" in text(bad)
    missing = await post_form(client, f"/utilisateurs/{lucas.id}", {
        "first_name": "Lucas", "last_name": "Petit", "email": "l@ecole.be"})
    assert missing.status_code == 400 and "Rechargez la page" in text(missing)
    same = await post_form(client, f"/utilisateurs/{lucas.id}", {
        "first_name": "Lucas", "last_name": "Petit", "email": "lucas.petit@demo.invalid",
        "version": str(lucas.version)})
    assert same.status_code == 303 and same.headers["location"].endswith("fait=inchange")
    assert (await account("lucas.petit")).version == lucas.version


async def test_school_admin_cannot_redirect_the_mail_of_an_account_shared_with_another_school(client):
    jf = await account("jf.bernard")  # teacher here, direction at another school
    await login(client, "thomas.girard")
    page = await client.get(f"/utilisateurs/{jf.id}")
    assert "aussi des profils dans d'autres établissements" in text(page) and "readonly" in page.text
    refused = await post_form(client, f"/utilisateurs/{jf.id}", {
        "first_name": "Jean-François", "last_name": "Bernard", "email": "pirate@ailleurs.be",
        "version": str(jf.version)})
    assert refused.status_code == 400 and "seule l'Administration" in text(refused)
    assert (await account("jf.bernard")).email == "jf.bernard@demo.invalid"
    renamed = await post_form(client, f"/utilisateurs/{jf.id}", {
        "first_name": "Jean-François", "last_name": "Bernard-Dupuis", "email": "jf.bernard@demo.invalid",
        "version": str(jf.version)})
    assert renamed.status_code == 303
    await login(client, "helene.fontaine")
    allowed = await post_form(client, f"/utilisateurs/{jf.id}", {
        "first_name": "Jean-François", "last_name": "Bernard", "email": "jf@ecole.be", "version": str(jf.version + 1)})
    assert allowed.status_code == 303 and (await account("jf.bernard")).email == "jf@ecole.be"


# --- hide, reset ---------------------------------------------------------------------------------------------


async def test_hide_and_show_a_manual_account(client):
    await login(client, "thomas.girard")
    lucas = await account("lucas.petit")
    hidden = await post_form(client, f"/utilisateurs/{lucas.id}/masquer", {"retour": "/utilisateurs?q=petit"})
    assert hidden.status_code == 303 and hidden.headers["location"] == "/utilisateurs?q=petit&fait=masque"
    assert (await account("lucas.petit")).hidden is True
    assert "lucas.petit" not in usernames_listed(await client.get("/utilisateurs"))
    with_hidden = await client.get("/utilisateurs", params={"masques": "1"})
    assert "lucas.petit" in usernames_listed(with_hidden)
    assert await HistoryEvent.exists().where(HistoryEvent.action == "masqué")
    shown = await htmx_post(client, f"/utilisateurs/{lucas.id}/afficher", {"retour": "/utilisateurs?masques=1"})
    assert shown.status_code == 200 and shown.text.lstrip().startswith("<tr")
    assert "Compte réaffiché." in text(shown) and "/masquer" in shown.text
    assert (await account("lucas.petit")).hidden is False
    # an open redirect is not followed
    away = await post_form(client, f"/utilisateurs/{lucas.id}/masquer", {"retour": "//ailleurs.example"})
    assert away.headers["location"] == "/utilisateurs?fait=masque"


async def test_an_imported_account_cannot_be_hidden(client):
    lucas = await account("lucas.petit")
    await Account.update({Account.origin: "import"}).where(Account.id == lucas.id)
    await login(client, "thomas.girard")
    response = await post_form(client, f"/utilisateurs/{lucas.id}/masquer")
    assert response.status_code == 400 and "Seuls les comptes créés manuellement" in text(response)
    assert (await account("lucas.petit")).hidden is False
    listed = await client.get("/utilisateurs", params={"q": "lucas"})
    assert f"/utilisateurs/{lucas.id}/masquer" not in listed.text


async def test_reset_clears_the_password_closes_sessions_and_mails(client):
    await login(client, "pierre.leroy")  # pierre has an open session
    pierre = await account("pierre.leroy")
    assert await UserSession.count().where(UserSession.account == pierre.id) == 1
    await login(client, "thomas.girard")
    response = await htmx_post(client, f"/utilisateurs/{pierre.id}/reinitialiser", {"retour": "/utilisateurs"})
    assert response.status_code == 200 and response.text.lstrip().startswith(f'<tr id="compte-{pierre.id}"')
    assert "en attente d'activation" in text(response) and "Nouveau lien d'activation envoyé." in text(response)
    after = await account("pierre.leroy")
    assert after.password_hash is None and after.version > pierre.version
    assert await UserSession.count().where(UserSession.account == pierre.id) == 0
    mail = await OutboxMail.objects().where(OutboxMail.recipient == "pierre.leroy@demo.invalid").first()
    assert mail is not None and "réinitialisation" in mail.subject
    assert await HistoryEvent.exists().where((HistoryEvent.action == "réinitialisation")
                                             & (HistoryEvent.entity_id == pierre.id))
    plain = await post_form(client, f"/utilisateurs/{pierre.id}/reinitialiser",
                            {"retour": f"/utilisateurs/{pierre.id}"})
    assert plain.status_code == 303 and plain.headers["location"] == f"/utilisateurs/{pierre.id}?fait=reinitialise"


async def test_one_cannot_reset_oneself_here(client):
    await login(client, "thomas.girard")
    thomas = await account("thomas.girard")
    response = await post_form(client, f"/utilisateurs/{thomas.id}/reinitialiser")
    assert response.status_code == 400 and "votre propre compte" in text(response)
    assert (await account("thomas.girard")).password_hash


async def test_bulk_reset_is_all_or_nothing(client):
    await login(client, "thomas.girard")
    pierre, lucas, thomas = await account("pierre.leroy"), await account("lucas.petit"), await account("thomas.girard")
    refused = await post_form(client, "/utilisateurs/reinitialiser", {"ids": [str(pierre.id), str(thomas.id)]})
    assert refused.status_code == 400 and (await account("pierre.leroy")).password_hash
    empty = await post_form(client, "/utilisateurs/reinitialiser", {"retour": "/utilisateurs"})
    assert empty.status_code == 400 and "Cochez au moins un compte" in text(empty)
    done = await post_form(client, "/utilisateurs/reinitialiser",
                           {"ids": [str(pierre.id), str(lucas.id), str(lucas.id)], "retour": "/utilisateurs?q=e"})
    assert done.status_code == 303
    assert done.headers["location"] == "/utilisateurs?q=e&fait=reinitialises&n=2"
    assert (await account("pierre.leroy")).password_hash is None
    assert (await account("lucas.petit")).password_hash is None
    assert await OutboxMail.count() == 2
    listed = await client.get(done.headers["location"])
    assert "2 compte(s) réinitialisé(s)" in text(listed)
    via_htmx = await htmx_post(client, "/utilisateurs/reinitialiser", {"ids": str(pierre.id)})
    assert via_htmx.status_code == 200 and via_htmx.headers["hx-redirect"].startswith("/utilisateurs?fait=")


# --- export ----------------------------------------------------------------------------------------------------


async def test_csv_export_of_the_filtered_list(client):
    await login(client, "thomas.girard")
    response = await client.get("/utilisateurs/export.csv", params={"profil": "apprenant"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"  # the charset once
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines == ["nom;prénom;identifiant;profils;origine;état", "Petit;Lucas;lucas.petit;Apprenant;manuel;activé"]
    everyone = (await client.get("/utilisateurs/export.csv")).content.decode("utf-8-sig")
    assert "pierre.leroy" in everyone and "marc.dubois" not in everyone
    assert "Leroy;Pierre;pierre.leroy;Enseignant;manuel;activé" in everyone
