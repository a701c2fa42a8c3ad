"""The evaluation grid over HTTP: the demo grid, cells saved in place, stale cells refused with the current value,
the row form without JavaScript, comments, the history, the constant number of queries, the blank sheet, the
learners' side (visible evaluations only, never a cell route) and the settings (order, visibility, learners)."""

from __future__ import annotations

import json
import re

import pytest

from portal.accounts.tables import Account, Affiliation
from portal.competencies import demo as cmp_demo
from portal.competencies.tables import (
    Evaluation,
    EvaluationCompetency,
    EvaluationLearner,
    FrameworkNode,
    GridCell,
)
from portal.directory.tables import Establishment
from portal.history.tables import HistoryEvent
from tests.integration.conftest import csrf_token, login, post_form, queries_for, text

pytestmark = pytest.mark.anyio

HX = {"HX-Request": "true"}


async def _account(username: str) -> int:
    return (await Account.select(Account.id).where(Account.username == username).first())["id"]


async def _evaluation() -> dict:
    return await Evaluation.select().where(Evaluation.demo == True).first()


async def _node(code: str, framework_id: int) -> int:
    return (await FrameworkNode.select(FrameworkNode.id).where(
        (FrameworkNode.code == code) & (FrameworkNode.framework == framework_id)).first())["id"]


async def post_pairs(client, url: str, pairs: list[tuple[str, str]]):
    """POST a form with repeated fields (check boxes), as a browser encodes it."""
    from urllib.parse import urlencode

    body = urlencode([("_csrf_token", await csrf_token(client)), *pairs])
    return await client.post(url, content=body, headers={"content-type": "application/x-www-form-urlencoded"})


async def _hx_post(client, url: str, data: dict):
    token = await csrf_token(client)
    return await client.post(url, data=data, headers={**HX, "x-csrftoken": token})


async def test_demo_grid_shows_levels_letters_and_comment(client):
    await login(client, "julie.roux")
    evaluation = await _evaluation()
    response = await client.get(f"/competences/evaluations/{evaluation['id']}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"  # encoded chunk by chunk (LargePage)
    body = text(response)
    assert "Garnier Emma" in body and "Faure Léo" in body and "Mercier" not in body
    assert "T2-2" in body and "R · Réussite totale" in body
    assert "Travail soigné" in body
    assert 'class="cell lvl-r"' in body  # colour class, always with the letter in the option text
    by_competency = await client.get(f"/competences/evaluations/{evaluation['id']}?vue=competences")
    assert by_competency.status_code == 200 and "affichage par compétences" in text(by_competency)


async def test_cell_saved_in_place_and_recorded(client):
    await login(client, "julie.roux")
    evaluation = await _evaluation()
    learner = await _account("ines.blanc")
    node = await _node("T5-2", evaluation["framework"])
    url = f"/competences/evaluations/{evaluation['id']}/cellules/{learner}/{node}"
    response = await _hx_post(client, url, {f"niveau-{node}": "P", f"avant-{node}": ".0"})
    assert response.status_code == 200, response.text
    assert response.text.lstrip().startswith("<td") and 'class="cell lvl-p"' in response.text
    assert f'name="avant-{node}" value="P.1"' in response.text and "?vue=" not in response.text
    cell = await GridCell.select().where((GridCell.learner == learner) & (GridCell.node == node)).first()
    assert cell["level"] == "P" and cell["version"] == 1
    event = await HistoryEvent.select().where(HistoryEvent.entity == "cmp_grid_cell").order_by(
        HistoryEvent.id, ascending=False).first()
    assert event["entity_id"] == cell["id"] and "Réussite partielle" in event["summary"]
    # typing the letter in lower case, then clearing the cell
    again = await _hx_post(client, url, {f"niveau-{node}": "t", f"avant-{node}": "P.1"})
    assert again.status_code == 200 and 'class="cell lvl-t"' in again.text
    cleared = await _hx_post(client, url, {f"niveau-{node}": "", f"avant-{node}": "T.2"})
    assert cleared.status_code == 200 and "lvl-empty" in cleared.text


async def test_stale_cell_refused_with_current_value(client):
    await login(client, "julie.roux")
    evaluation = await _evaluation()
    learner = await _account("emma.garnier")
    node = await _node("T2-2", evaluation["framework"])  # demo: Réussite totale, version 1
    url = f"/competences/evaluations/{evaluation['id']}/cellules/{learner}/{node}"
    first = await _hx_post(client, url, {f"niveau-{node}": "E", f"avant-{node}": "R.1"})
    assert first.status_code == 200
    # a second teacher whose page still shows version 1 (Réussite totale)
    stale = await _hx_post(client, url, {f"niveau-{node}": "A", f"avant-{node}": "R.1"})
    assert stale.status_code == 409
    body = text(stale)
    assert "modifiée par quelqu'un d'autre" in body and "En cours d'acquisition" in body
    assert 'class="cell lvl-e"' in body and f'name="avant-{node}" value="E.2"' in body
    cell = await GridCell.select().where((GridCell.learner == learner) & (GridCell.node == node)).first()
    assert cell["level"] == "E" and cell["version"] == 2


async def test_bad_level_refused(client):
    await login(client, "julie.roux")
    evaluation = await _evaluation()
    learner = await _account("emma.garnier")
    node = await _node("T2-3", evaluation["framework"])
    response = await _hx_post(client, f"/competences/evaluations/{evaluation['id']}/cellules/{learner}/{node}",
                              {f"niveau-{node}": "Z", f"avant-{node}": "P.1"})
    assert response.status_code == 400 and "Niveau inconnu" in text(response)
    # what the form showed must be LEVEL.VERSION: an old page's field, or none, changes nothing
    before = await GridCell.select().where((GridCell.learner == learner) & (GridCell.node == node)).first()
    for shown in ("P", "P.x", "", "Z.1"):
        refused = await _hx_post(client, f"/competences/evaluations/{evaluation['id']}/cellules/{learner}/{node}",
                                 {f"niveau-{node}": "A", f"avant-{node}": shown})
        assert refused.status_code == 400, shown
    assert await GridCell.select().where((GridCell.learner == learner) & (GridCell.node == node)).first() == before


async def test_row_form_without_javascript(client):
    await login(client, "julie.roux")
    evaluation = await _evaluation()
    learner = await _account("leo.faure")
    t22, t31 = await _node("T2-2", evaluation["framework"]), await _node("T3-1", evaluation["framework"])
    response = await post_form(client, f"/competences/evaluations/{evaluation['id']}/lignes/{learner}?vue=apprenants", {
        f"niveau-{t22}": "P", f"avant-{t22}": "P.1",  # unchanged
        f"niveau-{t31}": "N", f"avant-{t31}": ".0",
        "commentaire": "Absent à la séance de mesures.", "commentaire_avant": "", "commentaire_version": "0",
    })
    assert response.status_code == 303 and "enregistre=1" in response.headers["location"]
    rows = {r["node"]: r for r in await GridCell.select().where(GridCell.learner == learner)}
    assert rows[t31]["level"] == "N" and rows[t22]["version"] == 1
    comment = await EvaluationLearner.select().where(EvaluationLearner.learner == learner).first()
    assert comment["comment"] == "Absent à la séance de mesures." and comment["comment_version"] == 1
    # the same row sent again from the old page: T3-1 changed meanwhile → the whole row is refused
    stale = await post_form(client, f"/competences/evaluations/{evaluation['id']}/lignes/{learner}", {
        f"niveau-{t31}": "R", f"avant-{t31}": ".0",
        "commentaire": "Autre chose", "commentaire_avant": "", "commentaire_version": "0",
    })
    assert stale.status_code == 409
    assert "Rien n'a été enregistré" in text(stale) and "Non évaluable" in text(stale)
    rows = {r["node"]: r for r in await GridCell.select().where(GridCell.learner == learner)}
    assert rows[t31]["level"] == "N"


async def test_comment_saved_in_place_and_stale_comment_refused(client):
    await login(client, "julie.roux")
    evaluation = await _evaluation()
    learner = await _account("emma.garnier")
    url = f"/competences/evaluations/{evaluation['id']}/commentaires/{learner}"
    saved = await _hx_post(client, url, {"commentaire": "Très bien.", "commentaire_avant": "Travail soigné ; revoir "
                                         "les essais avant mise sous tension.", "commentaire_version": "1"})
    assert saved.status_code == 200 and "Très bien." in saved.text and saved.text.lstrip().startswith("<td")
    stale = await _hx_post(client, url, {"commentaire": "Autre", "commentaire_avant": "x", "commentaire_version": "1"})
    assert stale.status_code == 409 and "Très bien." in text(stale)


async def test_grid_page_runs_a_constant_number_of_queries(client):
    await login(client, "julie.roux")
    evaluation = await _evaluation()
    url = f"/competences/evaluations/{evaluation['id']}"
    await client.get(url)  # warm caches (session, templates)
    small = await queries_for(client, url)
    # grow the grid: 12 more learners and every task of the framework, with levels everywhere
    school = (await Establishment.select(Establishment.id).where(Establishment.uai == "0219999Z").first())["id"]
    teacher = await _account("julie.roux")
    new_learners = []
    for i in range(12):
        account = (await Account.insert(Account(username=f"grille.{i}", first_name="Élève", last_name=f"Test{i:02}",
                                                created_at=evaluation["created_at"])).returning(Account.id))[0]["id"]
        await Affiliation.insert(Affiliation(account=account, profile="apprenant", establishment=school,
                                             granted_at=evaluation["created_at"]))
        new_learners.append(account)
    await EvaluationLearner.insert(*[EvaluationLearner(evaluation=evaluation["id"], learner=a) for a in new_learners])
    present = {r["node"] for r in await EvaluationCompetency.select().where(
        EvaluationCompetency.evaluation == evaluation["id"])}
    leaves = await FrameworkNode.select(FrameworkNode.id).where(
        (FrameworkNode.framework == evaluation["framework"]) & (FrameworkNode.is_leaf == True))
    await EvaluationCompetency.insert(*[EvaluationCompetency(evaluation=evaluation["id"], node=r["id"], position=50 + i)
                                        for i, r in enumerate(leaves) if r["id"] not in present])
    await GridCell.insert(*[GridCell(evaluation=evaluation["id"], learner=a, node=r["id"], level="R",
                                     updated_by=teacher, updated_at=evaluation["created_at"])
                            for a in new_learners for r in leaves])
    for vue in ("apprenants", "competences"):
        big = await queries_for(client, f"{url}?vue={vue}")
        assert big == small, (vue, small, big)
    assert small <= 10


async def test_cell_save_is_a_few_queries(client):
    from piccolo.engine import engine_finder

    await login(client, "julie.roux")
    evaluation = await _evaluation()
    learner = await _account("ines.blanc")
    node = await _node("T2-3", evaluation["framework"])
    url = f"/competences/evaluations/{evaluation['id']}/cellules/{learner}/{node}"
    await csrf_token(client)
    engine = engine_finder()
    before = engine.query_id
    response = await _hx_post(client, url, {f"niveau-{node}": "R", f"avant-{node}": ".0"})
    assert response.status_code == 200
    # session + target check + read cell + write cell + history (transaction statements aside)
    assert engine.query_id - before <= 8, engine.query_id - before


async def test_a_cell_as_shown_is_changed_and_recorded_in_one_statement(client):
    """The common save (the cell is as the page showed it) is not read first: on PostgreSQL one statement changes
    and records it, on SQLite one write transaction; the history holds the same as by the longer way."""
    from piccolo.engine import engine_finder

    await login(client, "julie.roux")
    evaluation = await _evaluation()
    learner = await _account("emma.garnier")
    node = await _node("T2-2", evaluation["framework"])  # demo: Réussite totale, version 1
    url = f"/competences/evaluations/{evaluation['id']}/cellules/{learner}/{node}"
    await csrf_token(client)
    engine = engine_finder()
    before = engine.query_id
    response = await _hx_post(client, url, {f"niveau-{node}": "T", f"avant-{node}": "R.1"})
    assert response.status_code == 200 and 'class="cell lvl-t"' in response.text
    assert f'name="avant-{node}" value="T.2"' in response.text
    # session + target check + the change (with its record on PostgreSQL), transaction statements aside
    assert engine.query_id - before <= (4 if engine_finder().engine_type == "sqlite" else 3), (
        engine.query_id - before)
    cell = await GridCell.select().where((GridCell.learner == learner) & (GridCell.node == node)).first()
    assert cell["level"] == "T" and cell["version"] == 2
    event = await HistoryEvent.select().where(HistoryEvent.entity == "cmp_grid_cell").order_by(
        HistoryEvent.id, ascending=False).first()
    assert event["entity_id"] == cell["id"] and event["action"] == "saisie"
    assert event["actor_username"] == "julie.roux" and event["establishment_id"] == evaluation["establishment"]
    assert "Réussite totale → Trop d'erreurs" in event["summary"]
    before_json, after_json = (v if isinstance(v, dict) else json.loads(v) for v in (event["before"], event["after"]))
    assert before_json == {"level": "R", "version": 1}
    assert after_json == {"level": "T", "version": 2, "evaluation": evaluation["id"], "learner": learner,
                          "node": node}


async def test_blank_sheet_is_a_pdf(client):
    await login(client, "julie.roux")
    evaluation = await _evaluation()
    response = await client.get(f"/competences/evaluations/{evaluation['id']}/fiche.pdf")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF-") and response.headers["content-type"].startswith("application/pdf")


async def test_learner_sees_only_visible_evaluations_and_own_row(client):
    evaluation = await _evaluation()
    await login(client, "emma.garnier")
    listing = await client.get("/competences/mes-evaluations")
    assert evaluation["title"] in text(listing)
    page = await client.get(f"/competences/mes-evaluations/{evaluation['id']}")
    body = text(page)
    assert page.status_code == 200 and "Réussite totale" in body and "Travail soigné" in body
    assert "Faure" not in body  # another learner's row never shows
    dashboard = await client.get("/tableau-de-bord")
    assert evaluation["title"] in text(dashboard)
    # the grid and its cell routes are the teachers'
    assert (await client.get(f"/competences/evaluations/{evaluation['id']}")).status_code == 403
    learner = await _account("emma.garnier")
    node = await _node("T2-2", evaluation["framework"])
    cell = await post_form(client, f"/competences/evaluations/{evaluation['id']}/cellules/{learner}/{node}",
                           {f"niveau-{node}": "R", f"avant-{node}": "R.1"})
    assert cell.status_code == 403 and "Accès refusé" in text(cell)
    # hidden: 404 in French
    await Evaluation.update({Evaluation.visible: False}).where(Evaluation.id == evaluation["id"])
    hidden = await client.get(f"/competences/mes-evaluations/{evaluation['id']}")
    assert hidden.status_code == 404 and "Page introuvable" in text(hidden)
    assert evaluation["title"] not in text(await client.get("/competences/mes-evaluations"))


async def test_learner_not_in_the_evaluation_does_not_see_it(client):
    evaluation = await _evaluation()
    await login(client, cmp_demo.NOT_EVALUATED)
    assert evaluation["title"] not in text(await client.get("/competences/mes-evaluations"))
    assert (await client.get(f"/competences/mes-evaluations/{evaluation['id']}")).status_code == 404
    assert evaluation["title"] not in text(await client.get("/tableau-de-bord"))


async def test_teacher_of_another_school_gets_404(client):
    evaluation = await _evaluation()
    await login(client, "pierre.leroy")
    assert (await client.get(f"/competences/evaluations/{evaluation['id']}")).status_code == 404
    learner = await _account("emma.garnier")
    node = await _node("T2-2", evaluation["framework"])
    response = await post_form(client, f"/competences/evaluations/{evaluation['id']}/cellules/{learner}/{node}",
                               {f"niveau-{node}": "T", f"avant-{node}": "R.1"})
    assert response.status_code == 404


async def test_settings_order_visibility_and_learners(client):
    await login(client, "julie.roux")
    evaluation = await _evaluation()
    base = f"/competences/evaluations/{evaluation['id']}"
    page = await client.get(f"{base}/parametres")
    assert page.status_code == 200 and "Monter" in text(page)
    order = [r["node"] for r in await EvaluationCompetency.select().where(
        EvaluationCompetency.evaluation == evaluation["id"]).order_by(EvaluationCompetency.position)]
    moved = await post_form(client, f"{base}/ordre", {"competence": str(order[1]), "sens": "up",
                                                      "version": str(evaluation["version"])})
    assert moved.status_code == 303
    after = [r["node"] for r in await EvaluationCompetency.select().where(
        EvaluationCompetency.evaluation == evaluation["id"]).order_by(EvaluationCompetency.position)]
    assert after == [order[1], order[0], *order[2:]]
    stale = await post_form(client, f"{base}/ordre", {"competence": str(order[1]), "sens": "down",
                                                      "version": str(evaluation["version"])})
    assert stale.status_code == 409
    # hide it, remove a learner and a competency (their cells stay), add hugo
    hugo, leo = await _account("hugo.mercier"), await _account("leo.faure")
    emma, ines = await _account("emma.garnier"), await _account("ines.blanc")
    data = [("version", str(evaluation["version"] + 1)),
            ("titre", "Tableau — positionnement"), ("apprenant", str(emma)), ("apprenant", str(ines)),
            ("apprenant", str(hugo))] + [("competence", str(n)) for n in after[:-1]]
    saved = await post_pairs(client, f"{base}/parametres", data)
    assert saved.status_code == 303, text(saved)
    row = await Evaluation.select().where(Evaluation.id == evaluation["id"]).first()
    assert row["title"] == "Tableau — positionnement" and row["visible"] is False
    members = {r["learner"] for r in await EvaluationLearner.select().where(
        EvaluationLearner.evaluation == evaluation["id"])}
    assert members == {emma, ines, hugo}
    assert await GridCell.exists().where(GridCell.learner == leo)  # kept
    grid = text(await client.get(base))
    assert "Mercier Hugo" in grid and "Faure Léo" not in grid
    visible = await post_form(client, f"{base}/visibilite", {"visible": "1", "version": str(row["version"])})
    assert visible.status_code == 303
    assert (await Evaluation.select(Evaluation.visible).where(Evaluation.id == evaluation["id"]).first())["visible"]


async def test_create_evaluation_directly_and_delete_it(client):
    await login(client, "julie.roux")
    page = await client.get("/competences/evaluations/nouvelle")
    assert page.status_code == 200
    framework = re.search(r'name="referentiel" value="(\d+)"', page.text).group(1)
    t11 = await _node("T1-1", int(framework))
    emma = await _account("emma.garnier")
    refused = await post_pairs(client, "/competences/evaluations/nouvelle", [
        ("referentiel", framework), ("titre", "")])
    assert refused.status_code == 400 and "Titre" in text(refused) and "Apprenants" in text(refused)
    created = await post_pairs(client, "/competences/evaluations/nouvelle", [
        ("referentiel", framework), ("titre", "Dossier T1-1"), ("competence", str(t11)),
        ("classe", cmp_demo.CLASS_NAME), ("apprenant", str(emma))])
    assert created.status_code == 303
    evaluation_id = int(created.headers["location"].rsplit("/", 1)[1])
    members = await EvaluationLearner.count().where(EvaluationLearner.evaluation == evaluation_id)
    assert members == 4  # the whole class
    confirm = await client.get(f"/competences/evaluations/{evaluation_id}/supprimer")
    assert confirm.status_code == 200 and "Supprimer définitivement" in text(confirm)
    deleted = await post_form(client, f"/competences/evaluations/{evaluation_id}/supprimer")
    assert deleted.status_code == 303
    assert not await Evaluation.exists().where(Evaluation.id == evaluation_id)


async def test_colleague_fills_but_cannot_change_settings(client):
    evaluation = await _evaluation()
    school = (await Establishment.select(Establishment.id).where(Establishment.uai == "0219999Z").first())["id"]
    from portal.accounts.passwords import hash_password
    from portal.demo import DEMO_PASSWORD

    colleague = (await Account.insert(Account(username="marc.colin", first_name="Marc", last_name="Colin",
                                              password_hash=hash_password(DEMO_PASSWORD),
                                              created_at=evaluation["created_at"])).returning(Account.id))[0]["id"]
    await Affiliation.insert(Affiliation(account=colleague, profile="enseignant", establishment=school,
                                         granted_at=evaluation["created_at"]))
    await login(client, "marc.colin")
    base = f"/competences/evaluations/{evaluation['id']}"
    assert (await client.get(base)).status_code == 200
    assert (await client.get(f"{base}/parametres")).status_code == 403
    assert (await post_form(client, f"{base}/supprimer")).status_code == 403
    learner = await _account("ines.blanc")
    node = await _node("T2-3", evaluation["framework"])
    saved = await _hx_post(client, f"{base}/cellules/{learner}/{node}",
                           {f"niveau-{node}": "R", f"avant-{node}": ".0"})
    assert saved.status_code == 200


async def test_two_teachers_saving_the_same_cell_at_once_never_overwrite_silently(demo):
    import asyncio

    from portal.competencies import grid_saves
    from portal.competencies import services as svc

    evaluation = await _evaluation()
    learner = await _account("ines.blanc")
    node = await _node("T5-2", evaluation["framework"])
    user = await _julie(evaluation)
    results = await asyncio.gather(
        grid_saves.save_cell(user, evaluation["id"], learner, node, "R", ".0"),
        grid_saves.save_cell(user, evaluation["id"], learner, node, "T", ".0"),
        return_exceptions=True)
    saved = [r for r in results if isinstance(r, grid_saves.CellSaved)]
    refused = [r for r in results if isinstance(r, svc.Stale)]
    assert len(saved) == 1 and len(refused) == 1, results
    cell = await GridCell.select().where((GridCell.learner == learner) & (GridCell.node == node)).first()
    assert cell["level"] == saved[0].cell.level and cell["version"] == 1
    assert rules_label(saved[0].cell.level) in refused[0].message


async def test_two_teachers_changing_a_saved_cell_at_once_never_overwrite_silently(demo):
    """Both pages show the cell at version 1: the first change wins, the second is refused with its value (the
    one-statement change checks the version in its WHERE; the loser then reads the cell and is refused)."""
    import asyncio

    from portal.competencies import grid_saves
    from portal.competencies import services as svc

    evaluation = await _evaluation()
    learner = await _account("emma.garnier")
    node = await _node("T2-2", evaluation["framework"])  # demo: Réussite totale, version 1
    user = await _julie(evaluation)
    events = await HistoryEvent.count().where(HistoryEvent.entity == "cmp_grid_cell")
    results = await asyncio.gather(
        grid_saves.save_cell(user, evaluation["id"], learner, node, "P", "R.1"),
        grid_saves.save_cell(user, evaluation["id"], learner, node, "A", "R.1"),
        return_exceptions=True)
    saved = [r for r in results if isinstance(r, grid_saves.CellSaved)]
    refused = [r for r in results if isinstance(r, svc.Stale)]
    assert len(saved) == 1 and len(refused) == 1, results
    cell = await GridCell.select().where((GridCell.learner == learner) & (GridCell.node == node)).first()
    assert cell["level"] == saved[0].cell.level and cell["version"] == 2
    assert refused[0].cell.level == cell["level"] and refused[0].cell.version == 2
    assert await HistoryEvent.count().where(HistoryEvent.entity == "cmp_grid_cell") == events + 1


async def _julie(evaluation: dict):
    """Julie Roux, teacher of the demo evaluation's school, as the services see her (no session)."""
    from portal.accounts.identity import AffiliationView, CurrentUser
    from portal.permissions import Profile

    return CurrentUser(account_id=await _account("julie.roux"), session_id=0, username="julie.roux",
                       first_name="Julie", last_name="Roux", email="", help_enabled=False, version=1,
                       active=AffiliationView(id=0, profile=Profile.TEACHER,
                                              establishment_id=evaluation["establishment"]))


def rules_label(code: str) -> str:
    from portal.competencies import rules

    return rules.level_label(code)


async def test_whole_order_from_drag_and_drop(client):
    await login(client, "julie.roux")
    evaluation = await _evaluation()
    nodes = [r["node"] for r in await EvaluationCompetency.select().where(
        EvaluationCompetency.evaluation == evaluation["id"]).order_by(EvaluationCompetency.position)]
    url = f"/competences/evaluations/{evaluation['id']}/ordre"
    wrong = await post_form(client, url, {"ordre": ",".join(map(str, nodes[:2])), "version": str(evaluation["version"])})
    assert wrong.status_code == 400 and "rechargez la page" in text(wrong)
    wanted = list(reversed(nodes))
    moved = await post_form(client, url, {"ordre": ",".join(map(str, wanted)), "version": str(evaluation["version"])})
    assert moved.status_code == 303
    assert [r["node"] for r in await EvaluationCompetency.select().where(
        EvaluationCompetency.evaluation == evaluation["id"]).order_by(EvaluationCompetency.position)] == wanted
