"""Framework versions in the database: loading is idempotent for the same file, a changed file under the same
version is refused, a new version creates new rows and leaves the evaluations of the old one untouched."""

from __future__ import annotations

import pytest

from portal.competencies import frameworks
from portal.competencies.tables import (
    Evaluation,
    EvaluationCompetency,
    Framework,
    FrameworkNode,
    GridCell,
)
from portal.history.tables import HistoryEvent
from tests.integration.conftest import login, text

pytestmark = pytest.mark.anyio


async def test_reloading_the_same_version_changes_nothing(demo):
    before = await FrameworkNode.count()
    report = await frameworks.load_file(frameworks.DEMO_FILE)
    assert not report.created and report.nodes == 22
    assert await FrameworkNode.count() == before


async def test_same_version_with_another_content_is_refused(demo):
    content = frameworks.DEMO_FILE.read_text().replace("Organiser le poste de travail", "Organiser l'atelier")
    with pytest.raises(frameworks.FrameworkVersionConflict, match="jamais réécrite"):
        await frameworks.load_framework(frameworks.parse_framework(content))
    labels = [r["label"] for r in await FrameworkNode.select(FrameworkNode.label).where(FrameworkNode.code == "T2-1")]
    assert labels == ["Organiser le poste de travail"]


async def test_new_version_adds_rows_and_keeps_past_results(client):
    evaluation = await Evaluation.select().where(Evaluation.demo == True).first()
    old_nodes = {r["node"] for r in await EvaluationCompetency.select().where(
        EvaluationCompetency.evaluation == evaluation["id"])}
    cells_before = await GridCell.select().where(GridCell.evaluation == evaluation["id"]).order_by(GridCell.id)
    content = (frameworks.DEMO_FILE.read_text().replace('version = "2026.1"', 'version = "2027.1"')
               .replace("Organiser le poste de travail", "Organiser le poste et la zone de travail"))
    report = await frameworks.load_framework(frameworks.parse_framework(content))
    assert report.created and report.nodes == 22
    assert await Framework.count().where(Framework.code == "BACPRO-MELEC") == 2
    assert await HistoryEvent.exists().where((HistoryEvent.entity == "cmp_framework")
                                             & (HistoryEvent.entity_id == report.framework_id))
    # the old evaluation still points at the old version's nodes, with its labels and levels
    assert {r["node"] for r in await EvaluationCompetency.select().where(
        EvaluationCompetency.evaluation == evaluation["id"])} == old_nodes
    assert await GridCell.select().where(GridCell.evaluation == evaluation["id"]).order_by(GridCell.id) == cells_before
    old = await FrameworkNode.select().where((FrameworkNode.code == "T2-1")
                                             & (FrameworkNode.framework == evaluation["framework"])).first()
    assert old["label"] == "Organiser le poste de travail"
    # new scenarios and evaluations are offered the newest version
    await login(client, "julie.roux")
    page = text(await client.get("/competences/evaluations/nouvelle"))
    assert f'name="referentiel" value="{report.framework_id}"' in page
    assert "Organiser le poste et la zone de travail" in page
    grid = text(await client.get(f"/competences/evaluations/{evaluation['id']}"))
    assert "version 2026.1" in grid


async def test_demo_load_is_idempotent(demo):
    from portal.accounts.tables import Account
    from portal.competencies import demo as cmp_demo
    from portal.competencies.tables import ClassMember, Scenario

    counts = [await t.count() for t in (Account, Scenario, Evaluation, GridCell, ClassMember, FrameworkNode)]
    await cmp_demo.load_demo()
    assert [await t.count() for t in (Account, Scenario, Evaluation, GridCell, ClassMember, FrameworkNode)] == counts
    demo_accounts = await Account.select(Account.username, Account.demo).where(
        Account.username.is_in([u for u, _f, _l in cmp_demo.LEARNERS]))
    assert len(demo_accounts) == 3 and all(r["demo"] for r in demo_accounts)
