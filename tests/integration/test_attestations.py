"""Attestations de validation (SPEC §5, §9): issued once, stored and served as stored, revoked, verified in
public with initials only, printed in batches. Each test builds its own option, UAA, learners and attempts at the
Institut technique démo (FASE 99107)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
from datetime import UTC, date

import pypdf
import pytest

from portal.accounts.tables import Account
from portal.core.clock import local, now
from portal.core.db import atomic
from portal.directory.tables import Establishment, Implantation
from portal.documents.tables import StoredDocument
from portal.history.services import Actor
from portal.history.tables import HistoryEvent
from portal.uaa import attestation_batches, attestations
from portal.uaa.tables import (
    Attempt,
    Attestation,
    Learner,
    Option,
    TrainingProfile,
    Uaa,
)
from tests.integration.conftest import login, post_form, text

pytestmark = pytest.mark.anyio

HTMX = {"HX-Request": "true"}
TEACHER = Actor(account_id=None, username="pierre.leroy", profile="enseignant")


async def _id(table, condition) -> int:
    return (await table.select(table.id).where(condition).first())["id"]


async def _insert(row) -> int:
    return (await type(row).insert(row).returning(type(row).id))[0]["id"]


@pytest.fixture
async def world(demo):
    """An option with two UAA at the Institut technique démo; Lucas Petit (the demo learner's account) with a
    Réussite, an Echec and a pending attempt; Zoé Dupont with two Réussites; a learner in another option."""
    itd = await _id(Establishment, Establishment.fase == "99107")
    site = await _id(Implantation, Implantation.establishment == itd)
    lucas_account = await _id(Account, Account.username == "lucas.petit")
    option = await _insert(Option(code="9915", label="Installateur électricien (test)"))
    other_option = await _insert(Option(code="9916", label="Autre option (test)"))
    profile = await _insert(TrainingProfile(option=option, code="IER-T", label="Installateur électricien résidentiel",
                                            short_label="Instal. élect. résidentiel(le)"))
    other_profile = await _insert(TrainingProfile(option=other_option, code="AUT", label="Autre profil",
                                                  short_label="Autre"))
    uaa1 = await _insert(Uaa(profile=profile, code="90020", label="Placer les conduits et boîtiers encastrés",
                             weeks=4, year=4, position=1))
    uaa2 = await _insert(Uaa(profile=profile, code="90021", label="Placer, raccorder équip. élec. install. encastrée",
                             weeks=4, year=4, position=2))
    uaa3 = await _insert(Uaa(profile=other_profile, code="90030", label="Autre UAA", weeks=3, year=4, position=1))

    def learner(last, first, cf, opt, account=None, birth=date(2009, 5, 3)):
        return Learner(establishment=itd, implantation=site, option=opt, account=account, cf_number=cf,
                       last_name=last, first_name=first, sex="M", birth_date=birth, study_year="1 D2 4 T", year=4,
                       school_year="2026-2027", active=True, demo=False)

    lucas = await _insert(learner("Petit", "Lucas", "9990001/26", option, lucas_account))
    zoe = await _insert(learner("Dupont", "Zoé", "9990002/26", option, birth=date(2010, 1, 17)))
    other = await _insert(learner("Autre", "Max", "9990003/26", other_option))

    def attempt(who, uaa, seq, status, on=None):
        return Attempt(learner=who, uaa=uaa, sequence=seq, status=status, presented_on=on, establishment=itd)

    ids = {
        "itd": itd, "option": option, "lucas": lucas, "zoe": zoe, "uaa1": uaa1,
        "lucas_success": await _insert(attempt(lucas, uaa1, 1, "reussite", date(2026, 3, 4))),
        "lucas_failure": await _insert(attempt(lucas, uaa2, 1, "echec", date(2026, 3, 24))),
        "lucas_pending": await _insert(attempt(lucas, uaa2, 2, "a_encoder")),
        "zoe_success": await _insert(attempt(zoe, uaa1, 1, "reussite", date(2026, 2, 10))),
        "zoe_success2": await _insert(attempt(zoe, uaa2, 1, "reussite", date(2026, 3, 12))),
        "other_success": await _insert(attempt(other, uaa3, 1, "reussite", date(2026, 1, 20))),
    }
    return ids


def pdf_text(content: bytes) -> tuple[int, str]:
    """Number of pages and extracted text of a PDF."""
    reader = pypdf.PdfReader(io.BytesIO(content))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


async def stored_attestations(attempt_id: int) -> list[dict]:
    return await Attestation.select().where(Attestation.attempt == attempt_id).order_by(Attestation.id)


# --- one attestation ---------------------------------------------------------------------------------------------


async def test_teacher_downloads_a_reussite_as_a_pdf_a(client, world):
    await login(client, "pierre.leroy")
    response = await client.get(f"/uaa/attestations/tentative/{world['lucas_success']}")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    content = response.content
    assert content.startswith(b"%PDF-")
    [row] = await stored_attestations(world["lucas_success"])
    number = row["number"]
    assert attestations.parse_number(number) == (local(row["issued_at"]).year, 1)
    assert f'filename="attestation-{number}.pdf"' in response.headers["content-disposition"]
    assert response.headers["content-disposition"].startswith("attachment")

    pages, body = pdf_text(content)
    assert pages == 1
    for expected in ("Fédération Wallonie-Bruxelles", "Attestation de validation d'unité d'acquis",
                     "Institut technique démo", "99107", "Petit", "Lucas", "03/05/2009", "9990001/26",
                     "9915", "Installateur électricien (test)", "Installateur électricien résidentiel",
                     "90020", "Placer les conduits et boîtiers encastrés", "04/03/2026",
                     "Le jury de qualification", "Hesbaye", "Le chef d'établissement", number, f"/verifier/{number}"):
        assert expected in body, expected
    assert "DÉMONSTRATION" not in body  # a learner who is not demo data

    reader = pypdf.PdfReader(io.BytesIO(content))
    root = reader.trailer["/Root"]
    assert "/OutputIntents" in root and "/Metadata" in root  # PDF/A: sRGB output intent and XMP metadata
    xmp = root["/Metadata"].get_object().get_data()
    assert b'pdfaid:part="3"' in xmp and b'pdfaid:conformance="B"' in xmp
    issued = local(row["issued_at"]).astimezone(UTC)
    assert reader.metadata["/CreationDate"].startswith("D:" + issued.strftime("%Y%m%d%H%M%S"))

    # Stored once with its SHA-256; the second download serves the same bytes with the same ETag.
    document = await StoredDocument.select().where(StoredDocument.id == row["document"]).first()
    assert document["sha256"] == hashlib.sha256(content).hexdigest() and document["size"] == len(content)
    assert document["kind"] == "attestation" and document["number"] == number
    assert response.headers["etag"] == f'"{document["sha256"]}"'
    again = await client.get(f"/uaa/attestations/tentative/{world['lucas_success']}")
    assert again.status_code == 200 and again.content == content
    assert again.headers["etag"] == response.headers["etag"]
    cached = await client.get(f"/uaa/attestations/tentative/{world['lucas_success']}",
                              headers={"If-None-Match": response.headers["etag"]})
    assert cached.status_code == 304 and cached.content == b""
    assert len(await stored_attestations(world["lucas_success"])) == 1
    events = await HistoryEvent.select().where((HistoryEvent.entity == "attestation")
                                               & (HistoryEvent.action == "délivrance"))
    assert len(events) == 1 and events[0]["actor_username"] == "pierre.leroy"
    assert events[0]["establishment_id"] == world["itd"] and number in events[0]["summary"]


async def test_the_rendering_is_deterministic(world):
    facts = await attestations.load_attempt(world["zoe_success"])
    issued_at = now()
    view = attestations.attestation_view(facts, attestations.format_number(2026, 77), issued_at)
    first = attestations.render_attestation(view)
    assert attestations.render_attestation(view) == first


async def test_a_demo_learner_is_marked(client, world):
    await Learner.update({Learner.demo: True}).where(Learner.id == world["zoe"])
    await login(client, "pierre.leroy")
    response = await client.get(f"/uaa/attestations/tentative/{world['zoe_success']}")
    assert response.status_code == 200
    assert "DOCUMENT DE DÉMONSTRATION" in pdf_text(response.content)[1]


async def test_issued_once_even_when_asked_twice_at_once(world):
    first, second = await asyncio.gather(
        attestations.issue_for_attempt(world["lucas_success"], TEACHER),
        attestations.issue_for_attempt(world["lucas_success"], TEACHER),
    )
    assert first.number == second.number
    assert len(await stored_attestations(world["lucas_success"])) == 1
    # Two attempts at once: two consecutive numbers.
    a, b = await asyncio.gather(attestations.issue_for_attempt(world["zoe_success"], TEACHER),
                                attestations.issue_for_attempt(world["zoe_success2"], TEACHER))
    sequences = sorted(attestations.parse_number(n)[1] for n in (first.number, a.number, b.number))
    assert sequences == [1, 2, 3]


async def test_a_stored_document_that_no_longer_matches_its_sha256_is_not_served(client, world):
    attestation = await attestations.issue_for_attempt(world["lucas_success"], TEACHER)
    await StoredDocument.update({StoredDocument.content: b"%PDF-1.7 altered"}).where(
        StoredDocument.id == attestation.document)
    await login(client, "pierre.leroy")
    response = await client.get(f"/uaa/attestations/tentative/{world['lucas_success']}")
    assert response.status_code == 500
    assert "ne correspond plus à son empreinte SHA-256" in text(response)
    response = await post_form(client, "/uaa/attestations/lot", {"option": str(world["option"])})
    body = await _wait_for_batch(client, response.headers["location"])
    assert "ne correspond plus à son empreinte SHA-256" in body


async def test_pending_failure_and_unknown_attempts_are_refused(client, world):
    await login(client, "pierre.leroy")
    for key in ("lucas_failure", "lucas_pending"):
        response = await client.get(f"/uaa/attestations/tentative/{world[key]}")
        assert response.status_code == 400
        assert "n'est pas une réussite" in text(response)
    response = await client.get("/uaa/attestations/tentative/987654")
    assert response.status_code == 404 and "n'existe pas" in text(response)
    assert await Attestation.count() == 0


async def test_a_teacher_of_another_establishment_gets_404(client, world):
    await login(client, "julie.roux")
    response = await client.get(f"/uaa/attestations/tentative/{world['lucas_success']}")
    assert response.status_code == 404
    assert "Page introuvable" in text(response)
    assert await Attestation.count() == 0


async def test_the_school_that_encoded_keeps_access_after_a_change_of_school(client, world):
    seat = await _id(Establishment, Establishment.fase == "99101")
    await Learner.update({Learner.establishment: seat}).where(Learner.id == world["lucas"])
    await login(client, "pierre.leroy")  # Institut technique démo encoded the attempt
    response = await client.get(f"/uaa/attestations/tentative/{world['lucas_success']}")
    assert response.status_code == 200
    assert "Institut technique démo" in pdf_text(response.content)[1]


async def test_a_learner_gets_their_own_and_404_for_another(client, world):
    await login(client, "lucas.petit")
    own = await client.get(f"/uaa/mes-attestations/tentative/{world['lucas_success']}")
    assert own.status_code == 200 and own.content.startswith(b"%PDF")
    assert "Lucas" in pdf_text(own.content)[1]
    other = await client.get(f"/uaa/mes-attestations/tentative/{world['zoe_success']}")
    assert other.status_code == 404
    staff_route = await client.get(f"/uaa/attestations/tentative/{world['lucas_success']}")
    assert staff_route.status_code == 403
    # The teacher downloads the same attestation: the same stored bytes.
    await post_form(client, "/logout")
    await login(client, "pierre.leroy")
    staff = await client.get(f"/uaa/attestations/tentative/{world['lucas_success']}")
    assert staff.content == own.content


async def test_anonymous_reaches_only_the_verification(client, world):
    attestation = await attestations.issue_for_attempt(world["lucas_success"], TEACHER)
    for url in (f"/uaa/attestations/tentative/{world['lucas_success']}",
                f"/uaa/mes-attestations/tentative/{world['lucas_success']}", "/uaa/attestations/lot",
                "/uaa/attestations/lot/0123456789abcdef0123", "/uaa/attestations/lot/0123456789abcdef0123/pdf"):
        response = await client.get(url)
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), url
    response = await client.get(f"/verifier/{attestation.number}")
    assert response.status_code == 200


# --- revocation and verification -------------------------------------------------------------------------------


async def test_revocation_stops_the_download_and_shows_on_the_verification(client, world):
    await login(client, "pierre.leroy")
    first = await client.get(f"/uaa/attestations/tentative/{world['lucas_success']}")
    assert first.status_code == 200
    [row] = await stored_attestations(world["lucas_success"])
    # What the encoding does when a Réussite is corrected: the status changes and the attestation is revoked.
    async with atomic():
        await Attempt.update({Attempt.status: "echec"}).where(Attempt.id == world["lucas_success"])
        await attestations.revoke_for_attempt(world["lucas_success"], TEACHER,
                                              "Réussite corrigée en Echec (04/03/2026).")
    response = await client.get(f"/uaa/attestations/tentative/{world['lucas_success']}")
    assert response.status_code == 410
    body = text(response)
    assert "révoquée le" in body and "Réussite corrigée en Echec (04/03/2026)." in body and row["number"] in body
    document = await StoredDocument.select().where(StoredDocument.id == row["document"]).first()
    assert document["revoked_at"] is not None and document["revoked_reason"] == "Réussite corrigée en Echec (04/03/2026)."
    assert hashlib.sha256(document["content"]).hexdigest() == document["sha256"]  # the bytes stay as stored
    assert await HistoryEvent.count().where(HistoryEvent.action == "révocation") == 1

    await post_form(client, "/logout")
    verification = await client.get(f"/verifier/{row['number']}")
    assert verification.status_code == 200
    page = text(verification)
    assert "Attestation révoquée" in page and "Réussite corrigée en Echec" in page
    assert local(now()).strftime("%d/%m/%Y") in page

    # Revoking again changes nothing; a Réussite encoded again gets a new attestation with a new number.
    await attestations.revoke_for_attempt(world["lucas_success"], TEACHER, "encore")
    assert await HistoryEvent.count().where(HistoryEvent.action == "révocation") == 1
    await Attempt.update({Attempt.status: "reussite"}).where(Attempt.id == world["lucas_success"])
    await login(client, "pierre.leroy")
    again = await client.get(f"/uaa/attestations/tentative/{world['lucas_success']}")
    assert again.status_code == 200
    rows = await stored_attestations(world["lucas_success"])
    assert len(rows) == 2 and rows[1]["number"] != row["number"] and rows[1]["revoked_at"] is None
    assert "Attestation révoquée" in text(await client.get(f"/verifier/{row['number']}"))
    assert "Attestation valide" in text(await client.get(f"/verifier/{rows[1]['number']}"))


async def test_the_verification_shows_initials_only(client, world):
    attestation = await attestations.issue_for_attempt(world["lucas_success"], TEACHER)
    response = await client.get(f"/verifier/{attestation.number}")
    assert response.status_code == 200
    body = text(response)
    for shown in (attestation.number, "L. P.", "90020", "Placer les conduits et boîtiers encastrés", "04/03/2026",
                  "Institut technique démo", "Attestation valide"):
        assert shown in body, shown
    # In the page's content: the CSRF token of the layout is random hex, which may hold "2009" by chance.
    content = body[body.index("<main"):body.index("</main>")]
    for hidden in ("Petit", "Lucas", "9990001/26", "03/05/2009", "2009", "Installateur"):
        assert hidden not in content, hidden
    # Typed in lower case with spaces: the form normalises and redirects.
    typed = await client.get("/verifier", params={"numero": " " + attestation.number.lower() + " "})
    assert typed.status_code == 303 and typed.headers["location"] == f"/verifier/{attestation.number}"
    assert (await client.get("/verifier")).status_code == 200


async def test_an_unknown_number_is_a_french_404(client, world):
    await attestations.issue_for_attempt(world["lucas_success"], TEACHER)
    for number in (attestations.format_number(2031, 999), "CPU-2026-000001-0", "n'importe-quoi"):
        response = await client.get(f"/verifier/{number}")
        assert response.status_code == 404
        assert "Aucune attestation ne porte le numéro" in text(response)


# --- batches -----------------------------------------------------------------------------------------------------


async def _wait_for_batch(client, url: str) -> str:
    for _ in range(300):
        body = text(await client.get(url))
        if "Le PDF est prêt" in body or "alert error" in body:
            return body
        await asyncio.sleep(0.1)
    raise AssertionError("le lot ne s'est pas terminé")


async def test_a_batch_gives_one_pdf_with_every_reussite(client, world):
    already = await attestations.issue_for_attempt(world["zoe_success"], TEACHER)
    # Zoé's name is corrected after that attestation was issued: the batch prints the issued document as it is.
    await Learner.update({Learner.last_name: "Durand"}).where(Learner.id == world["zoe"])
    await login(client, "pierre.leroy")
    form = await client.get("/uaa/attestations/lot")
    assert form.status_code == 200
    body = text(form)
    assert "9915 — Installateur électricien (test)" in body and "1 D2 4 T" in body and "2026-2027" in body
    assert 'name="_csrf_token"' in body

    response = await post_form(client, "/uaa/attestations/lot", {"option": str(world["option"]),
                                                                 "annee_scolaire": "2026-2027"})
    assert response.status_code == 303, text(response)
    url = response.headers["location"]
    assert re.fullmatch(r"/uaa/attestations/lot/[0-9a-f]{20}", url)
    progress = await client.get(url)
    assert progress.status_code == 200
    fragment = await client.get(url, headers=HTMX)
    assert fragment.status_code == 200 and "<html" not in fragment.text and 'id="batch-progress"' in fragment.text
    body = await _wait_for_batch(client, url)
    assert "Le PDF est prêt" in body and "3 attestation(s)" in body
    assert 'hx-trigger="every 1s"' not in body and 'http-equiv="refresh"' not in body  # polling has stopped
    download = await client.get(url + "/pdf")
    assert download.status_code == 200 and download.headers["content-type"] == "application/pdf"
    pages, pdf_body = pdf_text(download.content)
    assert pages == 3  # Lucas's Réussite and Zoé's two, not the Echec, not the other option
    assert pdf_body.count("Date de validation") == 3
    assert "Autre UAA" not in pdf_body
    # Missing attestations were issued; the one issued before kept its number.
    assert await Attestation.count() == 3
    assert already.number in pdf_body
    for key in ("lucas_success", "zoe_success2"):
        [row] = await stored_attestations(world[key])
        assert row["number"] in pdf_body
    # The stored documents themselves: the one issued before the correction still says Dupont, the new one Durand;
    # Zoé before Lucas: the batch is in the order of the learners' (current) names.
    assert pdf_body.index("Dupont") < pdf_body.index("Durand") < pdf_body.index("Petit")


async def test_a_running_batch_shows_its_progress(client, world):
    await login(client, "pierre.leroy")
    response = await post_form(client, "/uaa/attestations/lot", {"annee_etudes": "1 D2 4 T"})
    assert response.status_code == 303
    job_id = response.headers["location"].rsplit("/", 1)[1]
    job = attestation_batches.batch_job(job_id, world["itd"])
    assert job is not None and job.total == 4
    await _wait_for_batch(client, response.headers["location"])

    # A job caught while it runs (registered by hand: a real one may finish before the page is asked for).
    running = attestation_batches.BatchJob(id="0" * 20, establishment_id=world["itd"], account_id=0, title="Lot en cours",
                                    total=4, done=2, state="en_cours")
    attestation_batches._JOBS[running.id] = running
    try:
        page = await client.get(f"/uaa/attestations/lot/{running.id}")
        body = text(page)
        assert page.status_code == 200 and "Lot en cours" in body and "2 sur 4" in body and "<progress" in body
        assert 'hx-trigger="every 1s"' in body and f'hx-get="/uaa/attestations/lot/{running.id}"' in body
        # JavaScript off: the full page refreshes itself; the meta is inside <noscript>, out of the fragment.
        assert re.search(r'<noscript>\s*<meta http-equiv="refresh" content="2">', body)
        fragment = await client.get(f"/uaa/attestations/lot/{running.id}", headers=HTMX)
        assert "<html" not in fragment.text and 'hx-trigger="every 1s"' in fragment.text
        assert "refresh" not in fragment.text
        # The form lists it; its author cannot start a second batch while it runs.
        assert f"/uaa/attestations/lot/{running.id}" in text(await client.get("/uaa/attestations/lot"))
        running.account_id = await _id(Account, Account.username == "pierre.leroy")
        refused = await post_form(client, "/uaa/attestations/lot", {"annee_etudes": "1 D2 4 T"})
        assert refused.status_code == 400 and "encore en préparation" in text(refused)
        # Another establishment does not see it.
        running.establishment_id = world["itd"] + 1000
        assert (await client.get(f"/uaa/attestations/lot/{running.id}")).status_code == 404
    finally:
        del attestation_batches._JOBS[running.id]


async def test_a_batch_needs_a_criterion_and_a_reussite(client, world):
    await login(client, "pierre.leroy")
    response = await post_form(client, "/uaa/attestations/lot", {})
    assert response.status_code == 400
    assert "Choisissez au moins une option" in text(response)
    response = await post_form(client, "/uaa/attestations/lot", {"option": "999999"})
    assert response.status_code == 400 and "de la liste" in text(response)
    await Attempt.update({Attempt.status: "echec"}).where(Attempt.learner.is_in([world["lucas"], world["zoe"]]))
    response = await post_form(client, "/uaa/attestations/lot", {"option": str(world["option"])})
    assert response.status_code == 400 and "Aucune réussite" in text(response)


async def test_a_batch_belongs_to_its_establishment(client, world):
    await login(client, "pierre.leroy")
    response = await post_form(client, "/uaa/attestations/lot", {"option": str(world["option"])})
    url = response.headers["location"]
    await _wait_for_batch(client, url)
    await post_form(client, "/logout")
    await login(client, "julie.roux")
    assert (await client.get(url)).status_code == 404
    assert (await client.get(url + "/pdf")).status_code == 404
    assert (await client.get("/uaa/attestations/lot/not-a-job")).status_code == 404


# --- issuing a group at once (batches) ---------------------------------------------------------------------------


async def _group(world) -> list:
    facts = await attestations.load_attempts([world[k] for k in ("lucas_success", "zoe_success", "zoe_success2")])
    return [facts[world[k]] for k in ("lucas_success", "zoe_success", "zoe_success2")]


async def test_a_group_gets_consecutive_numbers_rendered_in_parallel_as_one_by_one(world):
    group = await _group(world)
    issued = await attestations.issue_many(group, TEACHER)
    assert set(issued) == {facts.id for facts in group}
    numbers = [issued[facts.id].number for facts in group]
    sequences = [attestations.parse_number(number)[1] for number in numbers]
    assert sequences == list(range(sequences[0], sequences[0] + 3))
    events = await HistoryEvent.select().where(HistoryEvent.action == "délivrance")
    assert sorted(event["summary"].split(" ")[1] for event in events) == sorted(numbers)
    for facts in group:
        attestation = issued[facts.id]
        [document] = await StoredDocument.select().where(StoredDocument.id == attestation.document)
        # what the rendering processes made is byte for byte what the thread makes for the same view
        view = attestations.attestation_view(facts, attestation.number, attestation.issued_at)
        assert document["content"] == attestations.render_attestation(view)
        assert facts.last_name in pdf_text(document["content"])[1]
    # Asked again: nothing new, the same attestations.
    again = await attestations.issue_many(group, TEACHER)
    assert {k: v.number for k, v in again.items()} == dict(zip([f.id for f in group], numbers, strict=True))
    assert await Attestation.count() == 3


async def test_a_group_that_moved_while_rendering_is_issued_one_by_one(world, monkeypatch):
    group = await _group(world)
    rendering = attestations.pdf.run_parallel

    async def meanwhile(function, items):
        contents = await rendering(function, items)
        # While the group was rendered: another request issued Zoé's second attestation (taking the next number)
        # and Lucas's name was corrected.
        await attestations.issue_for_attempt(world["zoe_success2"], TEACHER)
        await Learner.update({Learner.last_name: "Petitjean"}).where(Learner.id == world["lucas"])
        return contents

    monkeypatch.setattr(attestations.pdf, "run_parallel", meanwhile)
    issued = await attestations.issue_many(group, TEACHER)
    assert set(issued) == {facts.id for facts in group}
    assert await Attestation.count() == 3  # Zoé's second one issued once, by the other request
    sequences = sorted(attestations.parse_number(a.number)[1] for a in issued.values())
    assert sequences == list(range(sequences[0], sequences[0] + 3))
    [document] = await StoredDocument.select().where(StoredDocument.id == issued[world["lucas_success"]].document)
    assert "Petitjean" in pdf_text(document["content"])[1]  # issued with the corrected name


async def test_a_group_leaves_out_what_is_no_longer_a_reussite(world):
    group = await _group(world)
    await Attempt.update({Attempt.status: "echec"}).where(Attempt.id == world["zoe_success"])
    fresh = await attestations.load_attempts([world["zoe_success"]])
    issued = await attestations.issue_many([group[0], fresh[world["zoe_success"]], group[2]], TEACHER)
    assert set(issued) == {world["lucas_success"], world["zoe_success2"]}
    # Stale facts that still say Réussite: the transaction sees the Echec and issues the others one by one.
    issued = await attestations.issue_many(group, TEACHER)
    assert set(issued) == {world["lucas_success"], world["zoe_success2"]}
    assert await Attestation.count() == 2
