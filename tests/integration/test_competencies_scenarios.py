"""Scenarios over HTTP: creation with competencies, complexities and aléas; edition by the author only, stale
saves refused; private scenarios unreadable by colleagues; duplication; sharing with another establishment;
DOCX and ODT exports that open with python-docx and odfpy; attachments checked by content; deletion; an
evaluation made from a scenario."""

from __future__ import annotations

import io
import re
import zipfile
from urllib.parse import urlencode

import pytest

from portal.accounts.passwords import hash_password
from portal.accounts.tables import Account, Affiliation
from portal.competencies.tables import (
    Evaluation,
    EvaluationLearner,
    FrameworkNode,
    Scenario,
    ScenarioCompetency,
    ScenarioFile,
)
from portal.core.clock import now
from portal.demo import DEMO_PASSWORD
from portal.directory.tables import Establishment
from portal.history.tables import HistoryEvent
from tests.integration.conftest import csrf_token, login, post_form, text

pytestmark = pytest.mark.anyio


async def post_pairs(client, url: str, pairs: list[tuple[str, str]]):
    """POST a form with repeated fields (check boxes), as a browser encodes it."""
    body = urlencode([("_csrf_token", await csrf_token(client)), *pairs])
    return await client.post(url, content=body, headers={"content-type": "application/x-www-form-urlencoded"})


async def _colleague(username: str = "marc.colin", uai: str = "0219999Z") -> int:
    school = (await Establishment.select(Establishment.id).where(Establishment.uai == uai).first())["id"]
    account = (await Account.insert(Account(username=username, first_name="Marc", last_name="Colin",
                                            password_hash=hash_password(DEMO_PASSWORD), created_at=now()))
               .returning(Account.id))[0]["id"]
    await Affiliation.insert(Affiliation(account=account, profile="enseignant", establishment=school,
                                         granted_at=now()))
    return account


async def _demo_scenario() -> dict:
    return await Scenario.select().where(Scenario.demo == True).first()


async def _create(client, title: str = "Câblage d'un coffret", private: bool = False) -> int:
    page = await client.get("/competences/scenarios/nouveau")
    assert page.status_code == 200
    framework = re.search(r'name="referentiel" value="(\d+)"', page.text).group(1)
    nodes = {r["code"]: r for r in await FrameworkNode.select().where(FrameworkNode.framework == int(framework))}
    t23, t42 = nodes["T2-3"], nodes["T4-2"]
    pairs = [("referentiel", framework), ("titre", title), ("contexte", "Atelier, deux postes."),
             ("materiels", "Coffret, multimètre"), ("liens", "https://example.org/fiche"), ("niveau", "Seconde"),
             ("competence", str(t23["id"])), (f"cx-{t23['id']}", "Réseau de communication"),
             ("competence", str(t42["id"])), (f"al-{t42['id']}", "Panne intermittente"),
             (f"al-{t42['id']}", "Aléa qui n'existe pas")]
    if private:
        pairs.append(("prive", "1"))
    response = await post_pairs(client, "/competences/scenarios/nouveau", pairs)
    assert response.status_code == 303, text(response)
    return int(re.search(r"/scenarios/(\d+)", response.headers["location"]).group(1))


async def test_create_scenario_with_competencies_options(client):
    await login(client, "julie.roux")
    scenario_id = await _create(client)
    chosen = await ScenarioCompetency.select(ScenarioCompetency.node.code, ScenarioCompetency.complexities,
                                             ScenarioCompetency.hazards).where(
        ScenarioCompetency.scenario == scenario_id).order_by(ScenarioCompetency.position)
    assert [c["node.code"] for c in chosen] == ["T2-3", "T4-2"]
    assert "Réseau de communication" in chosen[0]["complexities"]
    assert "Panne intermittente" in chosen[1]["hazards"] and "existe pas" not in chosen[1]["hazards"]
    page = text(await client.get(f"/competences/scenarios/{scenario_id}?cree=1"))
    assert "Câblage d'un coffret" in page and "Panne intermittente" in page and "Joindre" in page
    assert await HistoryEvent.exists().where((HistoryEvent.entity == "cmp_scenario")
                                             & (HistoryEvent.entity_id == scenario_id))


async def test_refused_form_names_its_faults(client):
    await login(client, "julie.roux")
    page = await client.get("/competences/scenarios/nouveau")
    framework = re.search(r'name="referentiel" value="(\d+)"', page.text).group(1)
    response = await post_pairs(client, "/competences/scenarios/nouveau", [
        ("referentiel", framework), ("titre", "  "), ("liens", "javascript:alert(1)")])
    assert response.status_code == 400
    body = text(response)
    assert "Titre : à renseigner." in body and "n'est pas une adresse" in body


async def test_edit_by_author_and_stale_save_refused(client):
    await login(client, "julie.roux")
    scenario = await _demo_scenario()
    form = await client.get(f"/competences/scenarios/{scenario['id']}/modifier")
    assert form.status_code == 200
    node_ids = re.findall(r'name="competence" value="(\d+)" checked', form.text)
    assert len(node_ids) == 4
    pairs = [("referentiel", str(scenario["framework"])), ("titre", "Tableau divisionnaire v2"),
             ("version", str(scenario["version"])), *[("competence", n) for n in node_ids]]
    saved = await post_pairs(client, f"/competences/scenarios/{scenario['id']}/modifier", pairs)
    assert saved.status_code == 303
    stale = await post_pairs(client, f"/competences/scenarios/{scenario['id']}/modifier", pairs)
    assert stale.status_code == 409 and "modifié par quelqu'un d'autre" in text(stale)
    row = await Scenario.select().where(Scenario.id == scenario["id"]).first()
    assert row["title"] == "Tableau divisionnaire v2" and row["version"] == scenario["version"] + 1


async def test_colleague_reads_shared_but_cannot_edit_nor_read_private(client):
    await login(client, "julie.roux")
    private_id = await _create(client, "Mon brouillon", private=True)
    shared = await _demo_scenario()
    await client.post("/logout", data={"_csrf_token": await csrf_token(client)})
    await _colleague()
    client.cookies.clear()
    await login(client, "marc.colin")
    listing = text(await client.get("/competences/scenarios"))
    assert shared["title"] in listing and "Mon brouillon" not in listing
    page = await client.get(f"/competences/scenarios/{shared['id']}")
    assert page.status_code == 200 and "lecture seule" in text(page) and "/modifier" not in page.text
    assert (await client.get(f"/competences/scenarios/{shared['id']}/modifier")).status_code == 403
    edit = await post_form(client, f"/competences/scenarios/{shared['id']}/modifier",
                           {"titre": "Piraté", "referentiel": str(shared["framework"]), "version": "1"})
    assert edit.status_code == 403 and "Seul l'auteur" in text(edit)
    assert (await post_form(client, f"/competences/scenarios/{shared['id']}/supprimer")).status_code == 403
    assert (await client.get(f"/competences/scenarios/{private_id}")).status_code == 404
    assert (await client.get(f"/competences/scenarios/{private_id}/export.docx")).status_code == 404
    # duplicating a colleague's scenario makes one's own copy
    copy = await post_form(client, f"/competences/scenarios/{shared['id']}/dupliquer",
                           {"titre": "Ma version", "niveau": "Terminale Bac Pro"})
    assert copy.status_code == 303
    new_id = int(re.search(r"/scenarios/(\d+)", copy.headers["location"]).group(1))
    row = await Scenario.select().where(Scenario.id == new_id).first()
    assert row["author"] != shared["author"] and row["class_level"] == "Terminale Bac Pro"
    assert await ScenarioCompetency.count().where(ScenarioCompetency.scenario == new_id) == 4


async def test_teacher_of_another_school_sees_only_what_is_shared_with_it(client):
    scenario = await _demo_scenario()
    await login(client, "pierre.leroy")
    assert (await client.get(f"/competences/scenarios/{scenario['id']}")).status_code == 404
    client.cookies.clear()
    await login(client, "julie.roux")
    shared = await post_form(client, f"/competences/scenarios/{scenario['id']}/partager", {"etablissement": "99107"})
    assert shared.status_code == 303
    unknown = await post_form(client, f"/competences/scenarios/{scenario['id']}/partager", {"etablissement": "X1"})
    assert unknown.status_code == 400 and "Aucun établissement" in text(unknown)
    client.cookies.clear()
    await login(client, "pierre.leroy")
    assert scenario["title"] in text(await client.get("/competences/scenarios"))
    assert (await client.get(f"/competences/scenarios/{scenario['id']}")).status_code == 200
    assert (await client.get(f"/competences/scenarios/{scenario['id']}/modifier")).status_code == 403


async def test_exports_open_and_hold_title_and_competencies(client):
    from docx import Document
    from odf import teletype
    from odf.opendocument import load

    await login(client, "julie.roux")
    scenario = await _demo_scenario()
    docx = await client.get(f"/competences/scenarios/{scenario['id']}/export.docx")
    assert docx.status_code == 200 and "attachment" in docx.headers["content-disposition"]
    document = Document(io.BytesIO(docx.content))
    words = "\n".join(p.text for p in document.paragraphs) + "\n".join(
        c.text for t in document.tables for r in t.rows for c in r.cells)
    assert scenario["title"] in words and "T2-2" in words and "Implanter, poser" in words
    odt = await client.get(f"/competences/scenarios/{scenario['id']}/export.odt")
    assert odt.status_code == 200
    opened = load(io.BytesIO(odt.content))
    content = teletype.extractText(opened.text)
    assert scenario["title"] in content and "T3-1" in content


def _pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("fiche.txt", "Fiche de travail")
    return buffer.getvalue()


async def test_attachments_checked_by_content(client):
    await login(client, "julie.roux")
    scenario = await _demo_scenario()
    url = f"/competences/scenarios/{scenario['id']}/fichiers"
    token = await csrf_token(client)
    ok = await client.post(url, data={"_csrf_token": token}, files={"fichier": ("../../fiche élève.pdf", _pdf(),
                                                                                 "application/pdf")})
    assert ok.status_code == 303, text(ok)
    archive = await client.post(url, data={"_csrf_token": token}, files={"fichier": ("docs.zip", _zip(),
                                                                                      "application/zip")})
    assert archive.status_code == 303
    fake = await client.post(url, data={"_csrf_token": token}, files={"fichier": ("virus.pdf", b"MZ\x90\x00 not a pdf",
                                                                                   "application/pdf")})
    assert fake.status_code == 400 and "PDF et ZIP" in text(fake)
    files = await ScenarioFile.select().where(ScenarioFile.scenario == scenario["id"]).order_by(ScenarioFile.id)
    assert len(files) == 2 and files[0]["filename"].endswith(".pdf") and files[1]["filename"] == "docs.zip"
    assert "/" not in files[0]["filename"]
    download = await client.get(f"/competences/scenarios/{scenario['id']}/fichiers/{files[0]['id']}")
    assert download.status_code == 200 and download.content == _pdf()
    removed = await post_form(client, f"/competences/scenarios/{scenario['id']}/fichiers/{files[0]['id']}/retirer")
    assert removed.status_code == 303
    assert await ScenarioFile.count().where(ScenarioFile.scenario == scenario["id"]) == 1


async def test_evaluation_from_scenario_then_delete_scenario_keeps_it(client):
    await login(client, "julie.roux")
    scenario = await _demo_scenario()
    page = await client.get(f"/competences/scenarios/{scenario['id']}/evaluer")
    assert page.status_code == 200
    learners = re.findall(r'name="apprenant" value="(\d+)"', page.text)
    assert len(learners) == 4  # emma.garnier and the three demo learners of the class
    created = await post_pairs(client, f"/competences/scenarios/{scenario['id']}/evaluer",
                               [("titre", "Positionnement 2"), ("apprenant", learners[0]), ("visible", "1")])
    assert created.status_code == 303
    evaluation_id = int(created.headers["location"].rsplit("/", 1)[1])
    assert await EvaluationLearner.count().where(EvaluationLearner.evaluation == evaluation_id) == 1
    confirm = await client.get(f"/competences/scenarios/{scenario['id']}/supprimer")
    assert confirm.status_code == 200
    deleted = await post_form(client, f"/competences/scenarios/{scenario['id']}/supprimer")
    assert deleted.status_code == 303
    assert not await Scenario.exists().where(Scenario.id == scenario["id"])
    assert await Evaluation.exists().where(Evaluation.id == evaluation_id)


async def test_teacher_dashboard_lists_own_scenarios_and_incomplete_grids(client):
    from tests.integration.conftest import queries_for

    await login(client, "julie.roux")
    body = text(await client.get("/tableau-de-bord"))
    assert "Mes scénarios" in body and "Mise en service d'un tableau divisionnaire" in body
    assert "incomplète" in body
    before = await queries_for(client, "/tableau-de-bord")
    await _create(client, "Autre scénario")
    assert await queries_for(client, "/tableau-de-bord") == before


@pytest.mark.parametrize("username", ["pierre.leroy", "julie.roux", "emma.garnier"])
async def test_dashboards_stay_within_their_query_budget(client, username):
    from tests.integration.conftest import queries_for

    await login(client, username)
    assert await queries_for(client, "/tableau-de-bord") <= 10
