"""The hand-written reads of a grid page give exactly what the Piccolo selects they replace gave: the evaluation
with its author, framework and scenario, the learners, the competencies in order and the cells, with the same
keys and types (booleans, dates), on both engines. The Piccolo selects are kept here as the reference."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from portal.competencies import grids
from portal.competencies import services as svc
from portal.competencies.tables import Evaluation, EvaluationCompetency, EvaluationLearner, GridCell
from portal.permissions import Profile

pytestmark = pytest.mark.anyio


def _teacher(evaluation: dict):
    active = SimpleNamespace(establishment_id=evaluation["establishment"], establishment_name="École",
                             establishment_code="F", profile=Profile.TEACHER)
    return SimpleNamespace(active=active, account_id=evaluation["author"], affiliations=[],
                           can=lambda permission: True)


async def _reference_evaluation(evaluation_id: int, school: int) -> dict | None:
    return await Evaluation.select(Evaluation.all_columns(), Evaluation.author.first_name,
                                   Evaluation.author.last_name, Evaluation.framework.title,
                                   Evaluation.framework.version, Evaluation.scenario.title).where(
        (Evaluation.id == evaluation_id) & (Evaluation.establishment == school)).first()


async def _reference_rows(evaluation_id: int, learner_id: int | None = None):
    learners = EvaluationLearner.select(
        EvaluationLearner.learner, EvaluationLearner.learner.first_name, EvaluationLearner.learner.last_name,
        EvaluationLearner.comment, EvaluationLearner.comment_version).where(
        EvaluationLearner.evaluation == evaluation_id)
    cells = GridCell.select(GridCell.learner, GridCell.node, GridCell.level, GridCell.version).where(
        GridCell.evaluation == evaluation_id)
    if learner_id is not None:
        learners = learners.where(EvaluationLearner.learner == learner_id)
        cells = cells.where(GridCell.learner == learner_id)
    competencies = EvaluationCompetency.select(
        EvaluationCompetency.id, EvaluationCompetency.node, EvaluationCompetency.node.code,
        EvaluationCompetency.node.label, EvaluationCompetency.position, EvaluationCompetency.complexities,
        EvaluationCompetency.hazards).where(EvaluationCompetency.evaluation == evaluation_id).order_by(
        EvaluationCompetency.position).order_by(EvaluationCompetency.id)
    return await learners, await competencies, await cells


async def test_grid_reads_what_the_piccolo_selects_read(demo):
    evaluation = await Evaluation.select().order_by(Evaluation.id).first()
    assert evaluation, "the demo has an evaluation"
    # Two competencies at the same position: the id breaks the tie, as in the Piccolo select.
    first = await EvaluationCompetency.select().where(EvaluationCompetency.evaluation == evaluation["id"]).order_by(
        EvaluationCompetency.id)
    await EvaluationCompetency.update({EvaluationCompetency.position: 0}).where(
        EvaluationCompetency.id.is_in([first[0]["id"], first[-1]["id"]]))
    await GridCell.update({GridCell.level: "P"}).where(GridCell.evaluation == evaluation["id"])

    grid = await grids.grid(_teacher(evaluation), evaluation["id"])
    reference = await _reference_evaluation(evaluation["id"], evaluation["establishment"])
    assert grid.evaluation == reference
    assert type(grid.evaluation["visible"]) is bool and type(grid.evaluation["demo"]) is bool
    assert grid.evaluation["created_at"] == reference["created_at"] and grid.evaluation["created_at"].tzinfo

    learners, competencies, cells = await _reference_rows(evaluation["id"])
    assert sorted((g.id, g.first_name, g.last_name, g.comment, g.comment_version) for g in grid.learners) == sorted(
        (r["learner"], r["learner.first_name"], r["learner.last_name"], r["comment"], r["comment_version"])
        for r in learners)
    assert [(c.id, c.node_id, c.code, c.label, c.position) for c in grid.competencies] == [
        (r["id"], r["node"], r["node.code"], r["node.label"], r["position"]) for r in competencies]
    assert {key: (c.level, c.version) for key, c in grid.cells.items()} == {
        (r["learner"], r["node"]): (r["level"], r["version"]) for r in cells} != {}

    one = grid.learners[0].id
    _learners, _competencies, cells_of_one = await grids.grid_rows(evaluation["id"], one)
    ref_learners, _ref_competencies, ref_cells = await _reference_rows(evaluation["id"], one)
    assert [g.id for g in _learners] == [r["learner"] for r in ref_learners] == [one]
    assert set(cells_of_one) == {(r["learner"], r["node"]) for r in ref_cells}


async def test_an_evaluation_without_scenario_and_of_another_school_read_as_before(demo):
    evaluation = await Evaluation.select().order_by(Evaluation.id).first()
    await Evaluation.update({Evaluation.scenario: None}).where(Evaluation.id == evaluation["id"])
    row = await grids.team_evaluation(_teacher(evaluation), evaluation["id"])
    assert row == await _reference_evaluation(evaluation["id"], evaluation["establishment"])
    assert row["scenario"] is None and row["scenario.title"] is None
    elsewhere = _teacher({**evaluation, "establishment": evaluation["establishment"] + 1000})
    with pytest.raises(svc.NotFound):
        await grids.team_evaluation(elsewhere, evaluation["id"])
