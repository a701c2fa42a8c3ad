"""Access requests: the public form, approval and refusal by the deciders of the right scope, revocation."""

from __future__ import annotations

import json
import re

import pytest
from litestar.testing import AsyncTestClient

from portal.accounts import access_services as access
from portal.accounts.sessions import active_affiliations
from portal.accounts.tables import AccessRequest, Account, ActivationToken, Affiliation
from portal.demo import DEMO_ACCOUNTS
from portal.directory.tables import Establishment, OrganisingBody, Pole
from portal.history.tables import HistoryEvent
from portal.messaging.tables import OutboxMail
from portal.permissions import Profile
from tests.integration.conftest import establishment_id, login, post_form, text

pytestmark = pytest.mark.anyio

HTMX = {"HX-Request": "true"}


def form(**overrides) -> dict:
    """A valid anonymous request for a teacher profile at the Institut technique démo (FASE 99107)."""
    data = {
        "last_name": "Vandamme", "first_name": "Aurélie", "email": "aurelie.vandamme@ecole.example",
        "function": "Enseignante", "profile": "enseignant", "establishment_code": "99107", "pole": "",
        "po_fase": "", "motivation": "Nouvelle enseignante de l'option électricité.",
    }
    data.update(overrides)
    return data


async def camille() -> AccessRequest:
    """The demo's pending request (Camille Durand, enseignant, Institut technique démo)."""
    return await AccessRequest.objects().get(AccessRequest.email == "camille.durand@demo.invalid")


async def submit(client, **overrides) -> int:
    """Submit a request as the client's person and return its id."""
    response = await post_form(client, "/demande-acces", form(**overrides))
    assert response.status_code == 200, text(response)
    row = await AccessRequest.objects().order_by(AccessRequest.id, ascending=False).first()
    return row.id


def as_json(value):
    """A JSON column as read back (a string on some engines)."""
    return json.loads(value) if isinstance(value, str) else value



@pytest.fixture
async def other_client(client):
    """A second browser (another person's session) on the same database."""
    from portal.app import create_app

    async with AsyncTestClient(app=create_app(), base_url="http://testserver.local") as second:
        second.follow_redirects = False
        yield second


# --- the request form ------------------------------------------------------------------------------------------


async def test_anonymous_request_is_stored_pending(client):
    page = await client.get("/demande-acces")
    assert page.status_code == 200
    assert "Demande d'accès au portail" in text(page) and 'name="establishment_code"' in page.text
    before = await AccessRequest.count()
    response = await post_form(client, "/demande-acces", form(establishment_code="FASE 99107"))
    assert response.status_code == 200
    body = text(response)
    assert "Demande d'accès envoyée" in body and "Institut technique démo (FASE 99107)" in body
    assert await AccessRequest.count() == before + 1
    row = await AccessRequest.objects().order_by(AccessRequest.id, ascending=False).first()
    itd = await Establishment.objects().get(Establishment.fase == "99107")
    assert (row.status, row.account, row.profile, row.establishment, row.organising_body) == (
        "pending", None, "enseignant", itd.id, itd.organising_body)
    assert row.first_name == "Aurélie" and row.email == "aurelie.vandamme@ecole.example"
    event = await HistoryEvent.objects().where((HistoryEvent.entity == "access_request")
                                                & (HistoryEvent.entity_id == row.id)).first()
    assert event.action == "demande" and event.actor_id is None and event.establishment_id == itd.id


async def test_french_lycee_by_uai_and_pole_and_po_scopes(client):
    await submit(client, profile="ddftp", establishment_code="0219999z")
    lycee = await AccessRequest.objects().order_by(AccessRequest.id, ascending=False).first()
    assert lycee.establishment == (await Establishment.objects().get(Establishment.uai == "0219999Z")).id
    pole = await Pole.objects().first()
    await submit(client, profile="coordonnateur", establishment_code="", pole=str(pole.id))
    row = await AccessRequest.objects().order_by(AccessRequest.id, ascending=False).first()
    assert (row.pole, row.establishment, row.organising_body) == (pole.id, None, None)
    await submit(client, profile="delegue_po", establishment_code="", po_fase="99001")
    row = await AccessRequest.objects().order_by(AccessRequest.id, ascending=False).first()
    po = await OrganisingBody.objects().get(OrganisingBody.fase == "99001")
    assert (row.organising_body, row.establishment, row.pole) == (po.id, None, None)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"last_name": ""}, "Nom : indiquez le nom"),
    ({"first_name": "   "}, "Prénom : indiquez son prénom"),
    ({"email": "pas-une-adresse"}, "Adresse e-mail : l'adresse n'a pas une forme valide"),
    ({"function": ""}, "Fonction : indiquez sa fonction"),
    ({"motivation": ""}, "Motivation : expliquez"),
    ({"profile": "roi"}, "Profil demandé : choisissez l'un des profils"),
    ({"establishment_code": ""}, "Établissement (numéro FASE ou UAI) : indiquez le numéro"),
    ({"establishment_code": "12345"}, "aucun établissement ne porte le numéro « 12345 »"),
    ({"profile": "coordonnateur", "pole": "999999"}, "Pôle : choisissez le pôle"),
    ({"profile": "delegue_po", "po_fase": "77777"}, "aucun pouvoir organisateur ne porte le numéro FASE « 77777 »"),
    ({"profile": "delegue_po", "po_fase": ""}, "Pouvoir organisateur (numéro FASE) : indiquez le numéro"),
    ({"last_name": "x" * 101}, "Nom : 100 caractères au maximum"),
    ({"email": "a" * 250 + "@ecole.be"}, "Adresse e-mail : 255 caractères au maximum"),
    ({"motivation": "m" * 2001}, "Motivation : 2000 caractères au maximum"),
    ({"function": "f" * 121}, "Fonction : 120 caractères au maximum"),
    ({"establishment_code": "9" * 21}, "20 caractères au maximum"),
])
async def test_bad_input_is_refused_in_french_and_nothing_is_stored(client, overrides, message):
    await client.get("/demande-acces")
    before = await AccessRequest.count()
    events = await HistoryEvent.count()
    response = await post_form(client, "/demande-acces", form(**overrides))
    assert response.status_code == 400
    assert message in text(response)
    assert "Rien n'a été enregistré" in text(response)
    assert await AccessRequest.count() == before
    assert await HistoryEvent.count() == events


async def test_duplicate_pending_request_is_refused(client):
    response = await post_form(client, "/demande-acces", form(
        first_name="Camille", last_name="Durand", email="Camille.Durand@demo.invalid"))
    assert response.status_code == 400
    assert "déjà en attente" in text(response)
    assert await AccessRequest.count().where(AccessRequest.email == "camille.durand@demo.invalid") == 1
    # Another profile for the same person is a different request.
    response = await post_form(client, "/demande-acces", form(
        first_name="Camille", last_name="Durand", email="camille.durand@demo.invalid", profile="ddftp"))
    assert response.status_code == 200


async def test_too_many_pending_requests_for_one_address(client):
    for fase in ("99101", "99102", "99103", "99104", "99105"):
        await submit(client, establishment_code=fase)
    response = await post_form(client, "/demande-acces", form(establishment_code="99106"))
    assert response.status_code == 400 and "demandes sont déjà en attente" in text(response)


async def test_signed_in_request_is_prefilled_and_linked_to_the_account(client):
    await login(client, "pierre.leroy")
    page = await client.get("/demande-acces")
    assert 'value="Pierre"' in page.text and 'value="pierre.leroy@demo.invalid"' in page.text
    already = await post_form(client, "/demande-acces", form(
        first_name="Pierre", last_name="Leroy", email="pierre.leroy@demo.invalid"))
    assert already.status_code == 400 and "vous disposez déjà du profil Enseignant" in text(already)
    request_id = await submit(client, first_name="Pierre", last_name="Leroy", email="pierre.leroy@demo.invalid",
                              establishment_code="99101")
    pierre = await Account.objects().get(Account.username == "pierre.leroy")
    row = await AccessRequest.objects().get(AccessRequest.id == request_id)
    assert row.account == pierre.id
    event = await HistoryEvent.objects().where((HistoryEvent.entity == "access_request")
                                                & (HistoryEvent.entity_id == request_id)).first()
    assert event.actor_id == pierre.id


async def test_signed_in_request_for_someone_else_is_not_linked_to_ones_account(client):
    await login(client, "marc.dubois")
    request_id = await submit(client, establishment_code="99101")
    row = await AccessRequest.objects().get(AccessRequest.id == request_id)
    marc = await Account.objects().get(Account.username == "marc.dubois")
    assert row.account is None and row.email == "aurelie.vandamme@ecole.example"
    event = await HistoryEvent.objects().where((HistoryEvent.entity == "access_request")
                                                & (HistoryEvent.entity_id == request_id)).first()
    assert event.actor_id == marc.id


async def test_lookup_shows_the_establishment_or_po_found(client):
    found = await client.get("/demande-acces/etablissement", params={"establishment_code": "99107"}, headers=HTMX)
    assert found.status_code == 200 and "Institut technique démo (FASE 99107)" in text(found)
    assert "<html" not in found.text
    lycee = await client.get("/demande-acces/etablissement", params={"establishment_code": "0219999Z"})
    assert "Gustave-Eiffel" in text(lycee)
    missing = await client.get("/demande-acces/etablissement", params={"establishment_code": "1"})
    assert "Aucun établissement ne porte ce numéro." in text(missing)
    po = await client.get("/demande-acces/pouvoir-organisateur", params={"po_fase": "99003"})
    assert "PO démo — Province de Hesbaye (FASE 99003)" in text(po)


# --- deciding --------------------------------------------------------------------------------------------------


async def test_school_admin_approves_camille_account_affiliation_mail_history(client):
    request = await camille()
    await login(client, "thomas.girard")
    listing = await client.get("/demandes-acces")
    assert listing.status_code == 200
    assert "Camille Durand" in text(listing) and "En attente" in text(listing)
    assert f'hx-post="/demandes-acces/{request.id}/accepter"' in listing.text
    assert 'hx-target="closest tr"' in listing.text and 'hx-swap="outerHTML"' in listing.text

    response = await post_form(client, f"/demandes-acces/{request.id}/accepter", headers=HTMX)
    assert response.status_code == 200
    fragment = text(response)
    assert fragment.lstrip().startswith("<tr") and "<html" not in fragment
    assert "Acceptée" in fragment and "Thomas Girard" in fragment and "camille.durand" in fragment

    account = await Account.objects().get(Account.username == "camille.durand")
    assert account.password_hash is None and account.origin == "manual"
    assert account.email == "camille.durand@demo.invalid"
    thomas = await Account.objects().get(Account.username == "thomas.girard")
    affiliation = await Affiliation.objects().get(Affiliation.account == account.id)
    itd = await establishment_id("99107")
    assert (affiliation.profile, affiliation.establishment, affiliation.granted_by, affiliation.revoked_at) == (
        "enseignant", itd, thomas.id, None)
    decided = await camille()
    assert (decided.status, decided.decided_by, decided.affiliation, decided.account) == (
        "approved", thomas.id, affiliation.id, account.id)
    assert decided.decided_at is not None

    mails = await OutboxMail.objects().where(OutboxMail.recipient == "camille.durand@demo.invalid")
    assert any("/activation/" in m.body and "camille.durand" in m.body for m in mails)
    assert any("acceptée" in m.subject for m in mails)
    assert await ActivationToken.count().where(ActivationToken.account == account.id) == 1

    grant = await HistoryEvent.objects().where((HistoryEvent.entity == "affiliation")
                                                & (HistoryEvent.entity_id == affiliation.id)).first()
    assert grant.action == "attribution" and grant.actor_id == thomas.id and grant.establishment_id == itd
    assert as_json(grant.before) == {"profil": None} and as_json(grant.after)["profil"] == "enseignant"
    assert as_json(grant.after)["compte"] == "camille.durand"
    closing = await HistoryEvent.objects().where((HistoryEvent.entity == "access_request")
                                                  & (HistoryEvent.entity_id == request.id)).first()
    assert as_json(closing.before) == {"statut": "pending"} and as_json(closing.after)["statut"] == "approved"
    assert await HistoryEvent.exists().where((HistoryEvent.entity == "account") & (HistoryEvent.entity_id == account.id)
                                             & (HistoryEvent.action == "création"))

    # Camille opens her activation link, chooses a password and signs in as a teacher of the school.
    mail = next(m for m in mails if "/activation/" in m.body)
    link = re.search(r"/activation/\S+", mail.body).group(0)
    await post_form(client, "/logout")
    done = await post_form(client, link, {"password": "Atelier-Bois-42", "confirmation": "Atelier-Bois-42"})
    assert done.status_code == 200
    await login(client, "camille.durand", "Atelier-Bois-42")
    dashboard = await client.get("/tableau-de-bord")
    assert dashboard.status_code == 200 and "Tableau de bord — Enseignant" in text(dashboard)


async def test_plain_form_approval_redirects_back_to_the_list(client):
    request = await camille()
    await login(client, "thomas.girard")
    response = await post_form(client, f"/demandes-acces/{request.id}/accepter")
    assert response.status_code == 303
    assert response.headers["location"] == f"/demandes-acces?traitee={request.id}"
    listing = await client.get(response.headers["location"])
    assert "Demande de Camille Durand : acceptée." in text(listing)


async def test_other_school_and_other_po_get_404_and_nothing_changes(client):
    request = await camille()
    for username in ("marc.dubois", "anne.lemaire", "sophie.martin"):
        await login(client, username)
        listing = await client.get("/demandes-acces")
        assert listing.status_code == 200 and "Camille Durand" not in text(listing)
        for action in ("accepter", "refuser"):
            response = await post_form(client, f"/demandes-acces/{request.id}/{action}", {"reason": "non"})
            assert response.status_code == 404, username
            assert "Page introuvable" in text(response) and "ne relève pas de votre périmètre" in text(response)
        await post_form(client, "/logout")
    assert (await camille()).status == "pending"
    assert not await Account.exists().where(Account.username == "camille.durand")


async def test_teacher_gets_403(client):
    request = await camille()
    await login(client, "pierre.leroy")
    assert (await client.get("/demandes-acces")).status_code == 403
    assert (await client.get("/demandes-acces/acces")).status_code == 403
    response = await post_form(client, f"/demandes-acces/{request.id}/accepter")
    assert response.status_code == 403 and "Accès refusé" in text(response)
    assert (await camille()).status == "pending"


async def test_refusal_requires_a_reason_then_mails_it(client):
    request = await camille()
    await login(client, "thomas.girard")
    empty = await post_form(client, f"/demandes-acces/{request.id}/refuser", {"reason": "  "})
    assert empty.status_code == 400
    assert "Motif du refus : indiquez pourquoi" in text(empty) and "<html" in empty.text
    htmx = await post_form(client, f"/demandes-acces/{request.id}/refuser", {"reason": ""}, headers=HTMX)
    assert htmx.status_code == 400 and htmx.text.lstrip().startswith("<tr")
    assert "Motif du refus : indiquez pourquoi" in text(htmx)
    too_long = await post_form(client, f"/demandes-acces/{request.id}/refuser", {"reason": "x" * 1001})
    assert too_long.status_code == 400
    assert (await camille()).status == "pending"
    assert await OutboxMail.count() == 0

    done = await post_form(client, f"/demandes-acces/{request.id}/refuser",
                           {"reason": "Personne inconnue de l'établissement."}, headers=HTMX)
    assert done.status_code == 200 and "Refusée" in text(done) and "Personne inconnue" in text(done)
    refused = await camille()
    assert (refused.status, refused.decision_note, refused.affiliation) == (
        "refused", "Personne inconnue de l'établissement.", None)
    mail = await OutboxMail.objects().get(OutboxMail.recipient == "camille.durand@demo.invalid")
    assert "refusée" in mail.subject and "Personne inconnue de l'établissement." in mail.body
    event = await HistoryEvent.objects().where((HistoryEvent.entity == "access_request")
                                                & (HistoryEvent.action == "refusée")).first()
    assert as_json(event.after) == {"statut": "refused", "motif": "Personne inconnue de l'établissement."}
    assert not await Account.exists().where(Account.username == "camille.durand")


async def test_second_decision_is_a_409_and_changes_nothing(client):
    request = await camille()
    await login(client, "thomas.girard")
    assert (await post_form(client, f"/demandes-acces/{request.id}/accepter")).status_code == 303
    counts = (await Account.count(), await Affiliation.count(), await OutboxMail.count(), await HistoryEvent.count())
    again = await post_form(client, f"/demandes-acces/{request.id}/accepter")
    assert again.status_code == 409 and "déjà été acceptée par Thomas Girard" in text(again)
    refuse = await post_form(client, f"/demandes-acces/{request.id}/refuser", {"reason": "trop tard"}, headers=HTMX)
    assert refuse.status_code == 409 and refuse.text.lstrip().startswith("<tr")
    assert "Rien n'a été modifié" in text(refuse)
    assert (await Account.count(), await Affiliation.count(), await OutboxMail.count(),
            await HistoryEvent.count()) == counts
    assert (await camille()).status == "approved"


async def test_unknown_and_malformed_ids_and_filters(client):
    await login(client, "helene.fontaine")
    missing = await post_form(client, "/demandes-acces/999999/accepter")
    assert missing.status_code == 404 and "Page introuvable" in text(missing)
    malformed = await post_form(client, "/demandes-acces/abc/accepter")
    assert malformed.status_code in (400, 404) and ("Page introuvable" in text(malformed)
                                                    or "Requête invalide" in text(malformed))
    bad_filter = await client.get("/demandes-acces", params={"statut": "toutes-sortes"})
    assert bad_filter.status_code == 400 and "Requête invalide" in text(bad_filter)
    bad_notice = await client.get("/demandes-acces", params={"traitee": "x"})
    assert bad_notice.status_code == 400
    assert (await client.get("/demandes-acces/acces/999999/revoquer")).status_code == 404
    assert (await client.get("/demandes-acces/acces", params={"page": "0"})).status_code == 400
    assert (await client.get("/demandes-acces/acces/abc/revoquer")).status_code in (400, 404)


async def test_status_filter_lists_pending_first_then_decided(client):
    request = await camille()
    other = await submit(client)
    await login(client, "thomas.girard")
    await post_form(client, f"/demandes-acces/{other}/refuser", {"reason": "Doublon."})
    page = text(await client.get("/demandes-acces"))
    assert page.index("Camille Durand") < page.index("Aurélie Vandamme")
    assert page.index("En attente de décision") < page.index("Demandes traitées")
    refused = text(await client.get("/demandes-acces", params={"statut": "refusees"}))
    assert "Aurélie Vandamme" in refused and "Camille Durand" not in refused
    pending = text(await client.get("/demandes-acces", params={"statut": "en-attente"}))
    assert "Camille Durand" in pending and "Aurélie Vandamme" not in pending
    assert request.id


async def test_school_admin_may_not_grant_direction_but_the_po_and_administration_may(client):
    request_id = await submit(client, profile="direction", function="Directrice adjointe")
    await login(client, "thomas.girard")
    assert "Aurélie Vandamme" not in text(await client.get("/demandes-acces"))
    assert (await post_form(client, f"/demandes-acces/{request_id}/accepter")).status_code == 404
    await post_form(client, "/logout")
    await login(client, "helene.fontaine")
    assert (await post_form(client, f"/demandes-acces/{request_id}/accepter")).status_code == 303
    affiliation = await Affiliation.objects().where(Affiliation.profile == "direction").order_by(
        Affiliation.id, ascending=False).first()
    assert affiliation.establishment == await establishment_id("99107")


async def test_po_delegate_decides_for_the_schools_of_its_po_and_its_own_po(client):
    seat_teacher = await submit(client, establishment_code="99101")
    delegate = await submit(client, profile="delegue_po", establishment_code="", po_fase="99001",
                            email="autre.adresse@ecole.example")
    other_po = await submit(client, profile="delegue_po", establishment_code="", po_fase="99003",
                            email="troisieme@ecole.example")
    pole = await Pole.objects().first()
    coordinator = await submit(client, profile="coordonnateur", establishment_code="", pole=str(pole.id),
                               email="quatrieme@ecole.example")
    await login(client, "anne.lemaire")
    listing = text(await client.get("/demandes-acces"))
    assert set(map(int, re.findall(r'<tr id="demande-(\d+)"', listing))) == {seat_teacher, delegate}
    assert (await post_form(client, f"/demandes-acces/{other_po}/accepter")).status_code == 404
    assert (await post_form(client, f"/demandes-acces/{coordinator}/accepter")).status_code == 404
    assert (await post_form(client, f"/demandes-acces/{seat_teacher}/accepter")).status_code == 303
    assert (await post_form(client, f"/demandes-acces/{delegate}/accepter")).status_code == 303
    granted = await Affiliation.objects().where(Affiliation.granted_by == (
        await Account.objects().get(Account.username == "anne.lemaire")).id)
    assert sorted(a.profile for a in granted) == ["delegue_po", "enseignant"]
    await post_form(client, "/logout")
    await login(client, "marc.dubois")
    assert (await post_form(client, f"/demandes-acces/{coordinator}/accepter")).status_code == 404
    await post_form(client, "/logout")
    await login(client, "helene.fontaine")
    assert (await post_form(client, f"/demandes-acces/{coordinator}/accepter")).status_code == 303


async def test_existing_account_by_email_gets_the_profile_without_a_new_account(client):
    request_id = await submit(client, first_name="Pierre", last_name="Leroy", email="pierre.leroy@demo.invalid",
                              establishment_code="99101")
    accounts = await Account.count()
    await login(client, "marc.dubois")
    response = await post_form(client, f"/demandes-acces/{request_id}/accepter", headers=HTMX)
    assert response.status_code == 200 and "Profil ajouté au compte existant pierre.leroy" in text(response)
    assert await Account.count() == accounts
    pierre = await Account.objects().get(Account.username == "pierre.leroy")
    assert await ActivationToken.count().where(ActivationToken.account == pierre.id) == 0
    assert len(await active_affiliations(pierre.id)) == 2


async def test_already_held_profile_just_closes_the_request(client):
    request_id = await submit(client, first_name="Pierre", last_name="Leroy", email="pierre.leroy@demo.invalid")
    affiliations = await Affiliation.count()
    await login(client, "thomas.girard")
    response = await post_form(client, f"/demandes-acces/{request_id}/accepter", headers=HTMX)
    assert response.status_code == 200 and "disposait déjà de ce profil" in text(response)
    assert await Affiliation.count() == affiliations
    row = await AccessRequest.objects().get(AccessRequest.id == request_id)
    assert row.status == "approved" and row.affiliation is not None


async def test_nobody_decides_their_own_request(client):
    await login(client, "thomas.girard")
    request_id = await submit(client, first_name="Thomas", last_name="Girard", email="thomas.girard@demo.invalid",
                              profile="ddftp")
    response = await post_form(client, f"/demandes-acces/{request_id}/accepter")
    assert response.status_code == 403 and "votre propre demande" in text(response)
    assert (await AccessRequest.objects().get(AccessRequest.id == request_id)).status == "pending"


# --- revocation ------------------------------------------------------------------------------------------------


async def test_revocation_removes_access_at_once(client, other_client):
    await login(other_client, "pierre.leroy")
    assert (await other_client.get("/tableau-de-bord")).status_code == 200
    pierre = await Account.objects().get(Account.username == "pierre.leroy")
    affiliation = await Affiliation.objects().get(Affiliation.account == pierre.id)

    await login(client, "thomas.girard")
    listing = text(await client.get("/demandes-acces/acces"))
    assert "pierre.leroy" in listing and "marc.dubois" not in listing
    confirm = await client.get(f"/demandes-acces/acces/{affiliation.id}/revoquer")
    assert confirm.status_code == 200 and "Motif de la révocation" in text(confirm)
    empty = await post_form(client, f"/demandes-acces/acces/{affiliation.id}/revoquer", {"reason": ""})
    assert empty.status_code == 400 and "Motif de la révocation : indiquez" in text(empty)
    assert (await Affiliation.objects().get(Affiliation.id == affiliation.id)).revoked_at is None

    done = await post_form(client, f"/demandes-acces/acces/{affiliation.id}/revoquer",
                           {"reason": "Fin de fonctions au 30 juin."})
    assert done.status_code == 303
    assert done.headers["location"] == f"/demandes-acces/acces?revoquee={affiliation.id}"
    notice = text(await client.get(done.headers["location"]))
    assert "Pierre Leroy (pierre.leroy) est révoqué" in notice
    revoked = await Affiliation.objects().get(Affiliation.id == affiliation.id)
    thomas = await Account.objects().get(Account.username == "thomas.girard")
    assert revoked.revoked_at is not None and revoked.revoked_by == thomas.id
    event = await HistoryEvent.objects().where((HistoryEvent.entity == "affiliation")
                                                & (HistoryEvent.action == "révocation")).first()
    assert event.entity_id == affiliation.id and as_json(event.after)["motif"] == "Fin de fonctions au 30 juin."
    assert as_json(event.before)["révoqué"] is None
    assert await OutboxMail.exists().where((OutboxMail.recipient == "pierre.leroy@demo.invalid")
                                           & OutboxMail.body.like("%Fin de fonctions%"))

    # Pierre's open session no longer acts as a teacher: his next request goes to the profile chooser.
    response = await other_client.get("/tableau-de-bord")
    assert response.status_code == 303 and response.headers["location"] == "/choisir-profil"
    chooser = await other_client.get("/choisir-profil")
    assert "aucun profil" in text(chooser)

    again = await post_form(client, f"/demandes-acces/acces/{affiliation.id}/revoquer", {"reason": "encore"})
    assert again.status_code == 409 and "déjà été révoqué" in text(again)


async def test_revocation_out_of_scope_or_of_ones_last_profile_is_refused(client):
    marc = await Account.objects().get(Account.username == "marc.dubois")
    marc_affiliation = await Affiliation.objects().get(Affiliation.account == marc.id)
    thomas = await Account.objects().get(Account.username == "thomas.girard")
    own = await Affiliation.objects().get(Affiliation.account == thomas.id)
    await login(client, "thomas.girard")
    outside = await post_form(client, f"/demandes-acces/acces/{marc_affiliation.id}/revoquer", {"reason": "x"})
    assert outside.status_code == 404
    last = await post_form(client, f"/demandes-acces/acces/{own.id}/revoquer", {"reason": "x"})
    assert last.status_code == 409 and "votre dernier profil" in text(last)
    assert (await client.get(f"/demandes-acces/acces/{own.id}/revoquer")).status_code == 409
    assert await Affiliation.count().where(Affiliation.revoked_at.is_not_null()) == 0


async def test_jf_bernard_keeps_the_other_profile_after_a_revocation(client, other_client):
    await login(other_client, "jf.bernard", choose=0)
    jf = await Account.objects().get(Account.username == "jf.bernard")
    teacher = await Affiliation.objects().get((Affiliation.account == jf.id) & (Affiliation.profile == "enseignant"))
    await login(client, "helene.fontaine")
    assert (await post_form(client, f"/demandes-acces/acces/{teacher.id}/revoquer",
                            {"reason": "Plus d'heures de cours."})).status_code == 303
    assert (await other_client.get("/tableau-de-bord")).status_code == 303
    chooser = text(await other_client.get("/choisir-profil"))
    assert "Direction — École partenaire démo des Tilleuls" in chooser and "Enseignant —" not in chooser


# --- the list agrees with the rule -----------------------------------------------------------------------------


async def test_listed_requests_and_accesses_match_the_scope_rule(client):
    """The database condition used to list and count equals :func:`may_decide` for every demo decider."""
    pole = await Pole.objects().first()
    n = 0
    for code in ("99101", "99102", "99103", "99104", "99106", "99107", "0219999Z"):
        for profile in ("enseignant", "direction", "admin_etablissement"):
            n += 1
            await submit(client, profile=profile, establishment_code=code, email=f"p{n}@ecole.example")
    for fase in ("99001", "99002", "99003"):
        n += 1
        await submit(client, profile="delegue_po", establishment_code="", po_fase=fase, email=f"p{n}@ecole.example")
    await submit(client, profile="coordonnateur", establishment_code="", pole=str(pole.id), email="c@ecole.example")
    await submit(client, profile="administration", establishment_code="", email="a@ecole.example")

    all_requests = {r["id"]: r for r in (await access.list_requests(
        (await active_affiliations((await Account.objects().get(Account.username == "helene.fontaine")).id))[0]))[
        "pending"]}
    assert len(all_requests) == n + 3  # with the demo's own request
    all_affiliations, _ = await access.list_affiliations(
        (await active_affiliations((await Account.objects().get(Account.username == "helene.fontaine")).id))[0])
    for person in DEMO_ACCOUNTS:
        account = await Account.objects().get(Account.username == person.username)
        for active in await active_affiliations(account.id):
            listed = {r["id"] for r in (await access.list_requests(active))["pending"]}
            expected = {i for i, r in all_requests.items() if access.may_decide(active, r["target"])}
            assert listed == expected, (person.username, active.profile)
            revocable = {a["id"] for a in (await access.list_affiliations(active))[0]}
            assert revocable == {a["id"] for a in all_affiliations if access.may_decide(active, a["target"])}
            if active.profile == Profile.ADMINISTRATION:
                assert listed == set(all_requests)
