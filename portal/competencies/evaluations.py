"""Evaluations of competency tracking: creating one (from a scenario or directly), the team's list, and what its
author alone may change: title, visibility, learners, competencies and their order, deletion (SPEC §7; CERISE PRO
guide §3.6, CPRO guide §4). The grid itself is read in :mod:`portal.competencies.grids` and saved in
:mod:`portal.competencies.grid_saves`. No Litestar here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portal.accounts.identity import CurrentUser
from portal.competencies import rules
from portal.competencies.grids import FILLED_SQL, GridCompetency, authored_evaluation, grid_rows
from portal.competencies.scenarios import scenario_view
from portal.competencies.services import (
    STALE_RECORD, TITLE_MAX, FormData, Invalid, LearnerChoice, NotFound, Selected, Stale, Tree, class_names,
    clean_text, framework_tree, parse_selection, parse_version, pick_learners, school_learners, school_of,
    write_competencies,
)
from portal.competencies.tables import Evaluation, EvaluationCompetency, EvaluationLearner, GridCell
from portal.core.clock import now
from portal.core.db import atomic, query
from portal.history.services import record


# --- evaluations ---------------------------------------------------------------------------------------------


def _refuse_if_wrong(errors: list[str], selection: list[Selected], learner_ids: list[int]) -> None:
    """Refuse the form with ``errors`` and what an evaluation lacks: a competency, a learner."""
    if not selection:
        errors.append("Compétences : choisissez-en au moins une.")
    if not learner_ids:
        errors.append("Apprenants : choisissez-en au moins un.")
    if errors:
        raise Invalid(errors)


async def create_evaluation(user: CurrentUser, title: Any, framework_id: int, selection: list[Selected],
                            learner_ids: list[int], scenario_id: int | None = None, visible: bool = False,
                            demo: bool = False) -> int:
    """Create an evaluation of the establishment acted for (learners already checked to be of it)."""
    school = school_of(user)
    errors: list[str] = []
    title = clean_text(title, TITLE_MAX, "Titre", errors, required=True)
    _refuse_if_wrong(errors, selection, learner_ids)
    stamp = now()
    async with atomic():
        inserted = await Evaluation.insert(Evaluation(
            establishment=school, author=user.account_id, scenario=scenario_id, framework=framework_id, title=title,
            visible=visible, version=1, created_at=stamp, updated_at=stamp, demo=demo)).returning(Evaluation.id)
        evaluation_id = inserted[0]["id"]
        await write_competencies(EvaluationCompetency, EvaluationCompetency.evaluation, evaluation_id, selection)
        await EvaluationLearner.insert(*[EvaluationLearner(evaluation=evaluation_id, learner=i) for i in learner_ids])
        await record(user.actor, "cmp_evaluation", evaluation_id, "création",
                     after={"title": title, "scenario": scenario_id, "learners": learner_ids,
                            "competencies": [s.node_id for s in selection], "visible": visible},
                     summary=f"Évaluation « {title} » créée ({len(learner_ids)} apprenant(s))")
    return evaluation_id


async def evaluation_from_scenario(user: CurrentUser, scenario_id: int, form: FormData) -> int:
    """An evaluation from a readable scenario: its title and competencies, the learners picked."""
    view = await scenario_view(user, scenario_id)
    learners = await school_learners(school_of(user))
    picked = pick_learners(form, learners)
    title = form.get("titre") or view.row["title"]
    return await create_evaluation(user, title, view.row["framework"], [sel for _n, sel in view.competencies],
                                   picked, scenario_id=scenario_id, visible=str(form.get("visible") or "") == "1")


async def team_evaluations(user: CurrentUser) -> list[dict]:
    """The evaluations of the establishment acted for, own first, with their fill state (one query)."""
    school = school_of(user)
    rows = await query(
        'SELECT e.id, e.title, e.visible, e.author, e.updated_at, e.demo, a.first_name, a.last_name, '
        '(SELECT COUNT(*) FROM cmp_evaluation_learner l WHERE l.evaluation = e.id) AS learners, '
        '(SELECT COUNT(*) FROM cmp_evaluation_competency c WHERE c.evaluation = e.id) AS competencies, '
        + FILLED_SQL + ' AS filled '
        'FROM cmp_evaluation e JOIN account a ON a.id = e.author WHERE e.establishment = {} '
        'ORDER BY e.id DESC', school)
    for row in rows:
        row["own"] = row["author"] == user.account_id
        row["cells"] = int(row["learners"]) * int(row["competencies"])
        row["filled"] = int(row["filled"])
    rows.sort(key=lambda r: not r["own"])
    return rows


# --- settings of an evaluation (author) -------------------------------------------------------------------------


@dataclass
class SettingsView:
    """What the settings page of an evaluation shows."""

    evaluation: dict
    tree: Tree
    selected: dict[int, Selected]
    order: list[GridCompetency]
    learners: list[LearnerChoice]
    picked: set[int]
    classes: list[str]


async def settings_view(user: CurrentUser, evaluation_id: int) -> SettingsView:
    """The settings of an evaluation the person authored."""
    row = await authored_evaluation(user, evaluation_id)
    tree = await framework_tree(row["framework"])
    learners_in, competencies, _cells = await grid_rows(evaluation_id)
    # Only the learners and competencies are needed: the cells read above are few and discarded.
    learners = await school_learners(row["establishment"])
    known = {c.id for c in learners}
    for g in learners_in:  # a learner who left the school still shows (and can be removed)
        if g.id not in known:
            learners.append(LearnerChoice(g.id, g.first_name, g.last_name, ""))
    return SettingsView(evaluation=row, tree=tree,
                        selected={c.node_id: Selected(c.node_id, c.complexities, c.hazards) for c in competencies},
                        order=competencies, learners=learners, picked={g.id for g in learners_in},
                        classes=class_names(learners))


async def update_settings(user: CurrentUser, evaluation_id: int, form: FormData) -> None:
    """Title, visibility, learners and competencies (with complexities and aléas) of an evaluation, author only.

    Competencies kept keep their place; new ones go at the end in tree order. Cells of a learner or competency
    removed are kept: adding them back brings their levels back.
    """
    expected = parse_version(form.get("version"))
    row = await authored_evaluation(user, evaluation_id)
    tree = await framework_tree(row["framework"])
    errors: list[str] = []
    title = clean_text(form.get("titre"), TITLE_MAX, "Titre", errors, required=True)
    selection = parse_selection(form, tree, errors)
    learners = await school_learners(row["establishment"])
    current_learners = {r["learner"] for r in await EvaluationLearner.select(EvaluationLearner.learner).where(
        EvaluationLearner.evaluation == evaluation_id)}
    # learners already in (even if they left the school) may stay
    allowed = learners + [LearnerChoice(i, "", "", "") for i in current_learners if i not in {c.id for c in learners}]
    picked = pick_learners(form, allowed)
    _refuse_if_wrong(errors, selection, picked)
    visible = str(form.get("visible") or "") == "1"
    async with atomic():
        done = await Evaluation.update({Evaluation.title: title, Evaluation.visible: visible,
                                        Evaluation.version: expected + 1, Evaluation.updated_at: now()}).where(
            (Evaluation.id == evaluation_id) & (Evaluation.version == expected)).returning(Evaluation.id)
        if not done:
            raise Stale(STALE_RECORD)
        existing = await EvaluationCompetency.select().where(EvaluationCompetency.evaluation == evaluation_id).order_by(
            EvaluationCompetency.position)
        kept_order = [r["node"] for r in existing]
        wanted = {s.node_id: s for s in selection}
        ordered = [wanted[n] for n in kept_order if n in wanted] + [s for s in selection if s.node_id not in kept_order]
        await write_competencies(EvaluationCompetency, EvaluationCompetency.evaluation, evaluation_id, ordered)
        removed = current_learners - set(picked)
        added = [i for i in picked if i not in current_learners]
        if removed:
            await EvaluationLearner.delete().where((EvaluationLearner.evaluation == evaluation_id)
                                                   & EvaluationLearner.learner.is_in(list(removed)))
        if added:
            await EvaluationLearner.insert(*[EvaluationLearner(evaluation=evaluation_id, learner=i) for i in added])
        await record(user.actor, "cmp_evaluation", evaluation_id, "paramètres",
                     before={"title": row["title"], "visible": row["visible"], "version": expected,
                             "competencies": kept_order, "learners": sorted(current_learners)},
                     after={"title": title, "visible": visible, "version": expected + 1,
                            "competencies": [s.node_id for s in ordered], "learners": sorted(picked)},
                     summary=f"Évaluation « {title} » modifiée")


async def set_visible(user: CurrentUser, evaluation_id: int, visible: bool, version: Any) -> None:
    """Make an evaluation visible to its learners or not (author only)."""
    expected = parse_version(version)
    async with atomic():
        row = await authored_evaluation(user, evaluation_id)
        done = await Evaluation.update({Evaluation.visible: visible, Evaluation.version: expected + 1,
                                        Evaluation.updated_at: now()}).where(
            (Evaluation.id == evaluation_id) & (Evaluation.version == expected)).returning(Evaluation.id)
        if not done:
            raise Stale(STALE_RECORD)
        await record(user.actor, "cmp_evaluation", evaluation_id, "visibilité",
                     before={"visible": row["visible"]}, after={"visible": visible, "version": expected + 1},
                     summary=f"Évaluation « {row['title']} » " + ("rendue visible" if visible else "masquée")
                     + " aux apprenants")


async def move_competency(user: CurrentUser, evaluation_id: int, node_id: int | None, direction: str, version: Any,
                          order: list[int] | None = None) -> None:
    """Move a competency of an evaluation one place up or down (the keyboard and no-JavaScript way to order), or,
    with ``order`` (node ids, from drag and drop), put the competencies in that order."""
    expected = parse_version(version)
    if order is None and direction not in {"up", "down"}:
        raise Invalid(["Sens de déplacement inconnu."])
    async with atomic():
        row = await authored_evaluation(user, evaluation_id)
        rows = await EvaluationCompetency.select(EvaluationCompetency.id, EvaluationCompetency.node).where(
            EvaluationCompetency.evaluation == evaluation_id).order_by(EvaluationCompetency.position).order_by(
            EvaluationCompetency.id)
        if order is not None:
            by_node = {r["node"]: r for r in rows}
            if sorted(order) != sorted(by_node):
                raise Invalid([("L'ordre envoyé ne correspond plus aux compétences de l'évaluation : rechargez "
                                "la page.")])
            ordered = [by_node[n] for n in order]
        else:
            index = next((i for i, r in enumerate(rows) if r["node"] == node_id), None)
            if index is None:
                raise NotFound(node_id)
            ordered = rules.move(rows, index, direction)
        done = await Evaluation.update({Evaluation.version: expected + 1, Evaluation.updated_at: now()}).where(
            (Evaluation.id == evaluation_id) & (Evaluation.version == expected)).returning(Evaluation.id)
        if not done:
            raise Stale(STALE_RECORD)
        for position, r in enumerate(ordered):
            await EvaluationCompetency.update({EvaluationCompetency.position: position}).where(
                EvaluationCompetency.id == r["id"])
        await record(user.actor, "cmp_evaluation", evaluation_id, "ordre",
                     before={"order": [r["node"] for r in rows]}, after={"order": [r["node"] for r in ordered]},
                     summary=f"Évaluation « {row['title']} » : ordre des compétences modifié")


async def delete_evaluation(user: CurrentUser, evaluation_id: int) -> str:
    """Delete an evaluation with its grid (author only); the history keeps what it held."""
    async with atomic():
        row = await authored_evaluation(user, evaluation_id)
        filled = await GridCell.count().where((GridCell.evaluation == evaluation_id) & (GridCell.level != ""))
        await GridCell.delete().where(GridCell.evaluation == evaluation_id)
        await EvaluationLearner.delete().where(EvaluationLearner.evaluation == evaluation_id)
        await EvaluationCompetency.delete().where(EvaluationCompetency.evaluation == evaluation_id)
        await Evaluation.delete().where(Evaluation.id == evaluation_id)
        await record(user.actor, "cmp_evaluation", evaluation_id, "suppression",
                     before={"title": row["title"], "filled_cells": filled},
                     summary=f"Évaluation « {row['title']} » supprimée ({filled} case(s) saisie(s))")
    return row["title"]
