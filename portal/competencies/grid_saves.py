"""Saving the evaluation grid: a cell in place, a learner's row without JavaScript, a learner's comment (SPEC §7;
CERISE PRO guide §3.6, CPRO guide §4).

A cell save is one short write: the cell still as the page showed it is changed in one statement, anything else
is read, checked by :func:`portal.competencies.rules.plan_cell` and written in one transaction. A save based on a
version that is no longer the current one is refused (:class:`~portal.competencies.services.Stale`) and changes
nothing; every change is recorded in the history. No Litestar here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portal.accounts.identity import CurrentUser
from portal.competencies import rules
from portal.competencies.grids import Cell, GridCompetency, GridLearner, grid_rows, team_evaluation
from portal.competencies.services import (
    COMMENT_MAX, ID_MAX, STALE_CELL, STALE_COMMENT, FormData, Invalid, NotFound, Stale, clean_text, parse_version,
    school_of,
)
from portal.competencies.tables import EvaluationLearner
from portal.core.clock import now
from portal.core.db import atomic, is_sqlite, query
from portal.history.services import record, recorded_with


@dataclass
class CellSaved:
    """The outcome of a cell save."""

    cell: Cell
    changed: bool
    message: str


# The statements of a cell save, written once: Piccolo rebuilt these joined selects on every save (two fifths of
# the request's CPU). ``{}`` are parameters.
_CELL_TARGET_SQL = """
SELECT n.code AS "node.code", e.title AS "evaluation.title"
FROM cmp_evaluation_competency c
JOIN cmp_evaluation e ON e.id = c.evaluation
JOIN cmp_node n ON n.id = c.node
WHERE c.evaluation = {} AND c.node = {} AND e.establishment = {}
  AND EXISTS (SELECT 1 FROM cmp_evaluation_learner l WHERE l.evaluation = c.evaluation AND l.learner = {})
LIMIT 1
"""
_CELL_SQL = "SELECT id, level, version FROM cmp_grid_cell WHERE evaluation = {} AND learner = {} AND node = {}"
_CELL_UPDATE_SQL = """
UPDATE cmp_grid_cell SET level = {}, version = {}, updated_by = {}, updated_at = {}
WHERE id = {} AND version = {} RETURNING id
"""
# The cell as the form showed it (level and version in the WHERE), changed without being read first.
_CELL_SHOWN_UPDATE_SQL = """
UPDATE cmp_grid_cell SET level = {}, version = {}, updated_by = {}, updated_at = {}
WHERE evaluation = {} AND learner = {} AND node = {} AND version = {} AND level = {} RETURNING id"""
_CELL_INSERT_SQL = """
INSERT INTO cmp_grid_cell (evaluation, learner, node, level, version, updated_by, updated_at)
VALUES ({}, {}, {}, {}, 1, {}, {}) ON CONFLICT DO NOTHING RETURNING id
"""


async def _cell_target(school: int, evaluation_id: int, learner_id: int, node_id: int) -> dict:
    """Check in one query that the competency and the learner are in an evaluation of ``school``."""
    if not all(0 < v <= ID_MAX for v in (evaluation_id, learner_id, node_id)):
        raise NotFound(evaluation_id)
    rows = await query(_CELL_TARGET_SQL, evaluation_id, node_id, school, learner_id)
    if not rows:
        raise NotFound(evaluation_id)
    return rows[0]


async def _write_cell(user: CurrentUser, school: int, evaluation_id: int, learner_id: int, node_id: int,
                      wanted: str, before: str, expected: int, code: str) -> CellSaved:
    """Inside a transaction: read the cell, apply the version rule, write it and record the change."""
    # PostgreSQL: two saves of one cell wait for each other (SQLite's IMMEDIATE transaction already does)
    found = await query(_CELL_SQL + ("" if is_sqlite() else " FOR UPDATE"), evaluation_id, learner_id,
                        node_id)
    current = found[0] if found else None
    level, version = (current["level"], current["version"]) if current else ("", 0)
    plan = rules.plan_cell(level, version, wanted, before, expected)
    cell = Cell(learner_id, node_id, level, version)
    if plan.stale:
        raise Stale(STALE_CELL.format(current=rules.level_label(level)), cell)
    if not plan.write:
        return CellSaved(cell, False, "")
    stamp = now()
    if current:
        done = await query(_CELL_UPDATE_SQL, wanted, version + 1, user.account_id, stamp, current["id"],
                           version)
    else:
        done = await query(_CELL_INSERT_SQL, evaluation_id, learner_id, node_id, wanted, user.account_id,
                           stamp)
    if not done:
        # Someone created the cell between our read and our write (two first saves at once on PostgreSQL: the
        # insert waited for theirs to commit). A new statement sees their row: refuse with its value.
        again = await query(_CELL_SQL, evaluation_id, learner_id, node_id)
        if again:
            cell = Cell(learner_id, node_id, again[0]["level"], again[0]["version"])
        raise Stale(STALE_CELL.format(current=rules.level_label(cell.level)), cell)
    await record(user.actor, "cmp_grid_cell", done[0]["id"], "saisie",
                 **_cell_event(school, evaluation_id, learner_id, node_id, code, level, version, wanted))
    return _cell_saved(learner_id, node_id, code, wanted, version + 1)


def _cell_event(school: int, evaluation_id: int, learner_id: int, node_id: int, code: str, level: str,
                version: int, wanted: str) -> dict:
    """What the history records of a cell changed from ``level`` (at ``version``) to ``wanted``."""
    return {"before": {"level": level, "version": version},
            "after": {"level": wanted, "version": version + 1, "evaluation": evaluation_id, "learner": learner_id,
                      "node": node_id},
            "summary": f"Grille {evaluation_id}, {code}, apprenant {learner_id} : "
                       f"{rules.level_label(level)} → {rules.level_label(wanted)}",
            "establishment_id": school}


def _cell_saved(learner_id: int, node_id: int, code: str, level: str, version: int) -> CellSaved:
    return CellSaved(Cell(learner_id, node_id, level, version), True,
                     f"{code} : {rules.level_label(level)} enregistré.")


async def _write_shown_cell(user: CurrentUser, school: int, evaluation_id: int, learner_id: int, node_id: int,
                            wanted: str, before: str, expected: int, code: str) -> CellSaved | None:
    """The common case in one statement: the cell is still as the form showed it (level ``before``, version
    ``expected``), so the rules say write, and it is changed and recorded without being read first. On
    PostgreSQL one statement does both, without a transaction around it (:func:`recorded_with`); on SQLite a
    write transaction, which costs no round trip. None when the cell is not as shown (changed meanwhile, or
    never saved): nothing was changed and the caller reads it and applies the rules."""
    args = [wanted, expected + 1, user.account_id, now(), evaluation_id, learner_id, node_id, expected, before]
    event = _cell_event(school, evaluation_id, learner_id, node_id, code, before, expected, wanted)
    if is_sqlite():
        async with atomic():
            done = await query(_CELL_SHOWN_UPDATE_SQL, *args)
            if done:
                await record(user.actor, "cmp_grid_cell", done[0]["id"], "saisie", **event)
    else:
        sql, values = recorded_with(_CELL_SHOWN_UPDATE_SQL, args, user.actor, "cmp_grid_cell", "saisie", **event)
        done = await query(sql, *values)
    return _cell_saved(learner_id, node_id, code, wanted, expected + 1) if done else None


async def save_cell(user: CurrentUser, evaluation_id: int, learner_id: int, node_id: int, level: Any,
                    shown: Any) -> CellSaved:
    """Save one cell in one short transaction (a few queries), refusing a stale version with the current value.
    ``shown`` is what the form showed, ``LEVEL.VERSION`` (:func:`rules.parse_shown`)."""
    school = school_of(user)
    try:
        wanted = rules.parse_level(level)
        previous, expected = rules.parse_shown(shown)
    except rules.GridRuleError as error:
        raise Invalid([str(error)]) from None
    target = await _cell_target(school, evaluation_id, learner_id, node_id)
    if wanted != previous and expected > 0:
        saved = await _write_shown_cell(user, school, evaluation_id, learner_id, node_id, wanted, previous,
                                        expected, target["node.code"])
        if saved is not None:
            return saved
    async with atomic():
        return await _write_cell(user, school, evaluation_id, learner_id, node_id, wanted, previous, expected,
                                 target["node.code"])


@dataclass
class RowSaved:
    """The outcome of a row save (one learner): cells and comment as they now stand, what changed, refusals."""

    learner: GridLearner
    cells: dict[int, Cell]
    changed: int
    stale: list[str]


async def save_row(user: CurrentUser, evaluation_id: int, learner_id: int, form: FormData) -> RowSaved:
    """Save every cell and the comment of one learner (the grid without JavaScript), all or nothing.

    Fields: ``niveau-NODE`` (level), ``avant-NODE`` (level and version shown, ``LEVEL.VERSION``), ``commentaire``,
    ``commentaire_avant``, ``commentaire_version``. A stale cell or comment refuses the whole row (:class:`Stale`).
    """
    row = await team_evaluation(user, evaluation_id)
    school = row["establishment"]
    learners, competencies, _cells = await grid_rows(evaluation_id, learner_id)
    if not learners:
        raise NotFound(learner_id)
    learner = learners[0]
    wanted: list[tuple[GridCompetency, str, str, int]] = []
    try:
        for comp in competencies:
            if form.get(f"niveau-{comp.node_id}") is None:
                continue
            wanted.append((comp, rules.parse_level(form.get(f"niveau-{comp.node_id}")),
                           *rules.parse_shown(form.get(f"avant-{comp.node_id}"))))
    except rules.GridRuleError as error:
        raise Invalid([str(error)]) from None
    comment_wanted = form.get("commentaire")
    changed = 0
    stale: list[str] = []
    async with atomic():
        results: dict[int, Cell] = {}
        for comp, level, before, expected in wanted:
            try:
                saved = await _write_cell(user, school, evaluation_id, learner_id, comp.node_id, level, before,
                                          expected, comp.code)
            except Stale as error:
                stale.append(f"{comp.code} : {error.message}")
                continue
            results[comp.node_id] = saved.cell
            changed += saved.changed
        if comment_wanted is not None:
            try:
                if await _write_comment(user, school, row, learner, comment_wanted, form.get("commentaire_avant"),
                                        form.get("commentaire_version")):
                    changed += 1
            except Stale as error:
                stale.append(error.message)
        if stale:
            # All or nothing: undo what this row wrote by failing the transaction.
            raise _RowStale(stale)
    fresh_learners, _c, fresh_cells = await grid_rows(evaluation_id, learner_id)
    return RowSaved(fresh_learners[0], {n: c for (_l, n), c in fresh_cells.items()}, changed, [])


class _RowStale(Stale):
    def __init__(self, messages: list[str]):
        super().__init__(" ".join(messages))
        self.messages = messages


async def _write_comment(user: CurrentUser, school: int, evaluation: dict, learner: GridLearner, wanted: Any,
                         before: Any, version: Any) -> bool:
    errors: list[str] = []
    text = clean_text(wanted, COMMENT_MAX, "Commentaire", errors, one_line=False)
    previous = str(before if before is not None else learner.comment).replace("\r\n", "\n").strip()
    if errors:
        raise Invalid(errors)
    expected = parse_version(version)
    if text == previous or text == learner.comment:
        return False
    if expected != learner.comment_version:
        raise Stale(STALE_COMMENT.format(current=learner.comment[:200]))
    done = await EvaluationLearner.update({EvaluationLearner.comment: text,
                                           EvaluationLearner.comment_version: expected + 1}).where(
        (EvaluationLearner.evaluation == evaluation["id"]) & (EvaluationLearner.learner == learner.id)
        & (EvaluationLearner.comment_version == expected)).returning(EvaluationLearner.id)
    if not done:
        raise Stale(STALE_COMMENT.format(current=learner.comment[:200]))
    await record(user.actor, "cmp_evaluation_comment", done[0]["id"], "commentaire",
                 before={"comment": learner.comment, "version": expected},
                 after={"comment": text, "version": expected + 1, "evaluation": evaluation["id"],
                        "learner": learner.id},
                 summary=f"Commentaire de l'évaluation « {evaluation['title']} » pour {learner.name}",
                 establishment_id=school)
    learner.comment, learner.comment_version = text, expected + 1
    return True


async def save_comment(user: CurrentUser, evaluation_id: int, learner_id: int, comment: Any, before: Any,
                       version: Any) -> GridLearner:
    """Save the comment on one learner of an evaluation (version checked); returns the learner row as it stands."""
    async with atomic():
        row = await team_evaluation(user, evaluation_id)
        learners, _c, _cells = await grid_rows(evaluation_id, learner_id)
        if not learners:
            raise NotFound(learner_id)
        await _write_comment(user, row["establishment"], row, learners[0], comment, before, version)
    return learners[0]
