"""The evaluation grid: reading it (for the team, and a learner's own row) and saving its cells, rows and comments
(SPEC §7; CERISE PRO guide §3.6, CPRO guide §4).

An evaluation is read and its grid filled by the teachers of its establishment; a learner reads the visible
evaluations they are in, their own row only. A cell save is one short write transaction (read the cell, write it,
record it); a save based on a version that is no longer the current one is refused (:class:`~portal.competencies.
services.Stale`) and changes nothing. No Litestar here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portal.accounts.identity import CurrentUser
from portal.competencies import rules
from portal.competencies.services import (
    COMMENT_MAX, ID_MAX, NOT_AUTHOR, STALE_CELL, STALE_COMMENT, FormData, Invalid, NotAuthor, NotFound, Stale,
    clean_text, parse_version, school_of,
)
from portal.competencies.tables import Evaluation, EvaluationCompetency, EvaluationLearner, GridCell
from portal.core.clock import now
from portal.core.db import atomic, is_sqlite
from portal.history.services import record, recorded_with

#: Cells with a level whose learner and competency are still in the evaluation ``e``.
FILLED_SQL = (
    "(SELECT COUNT(*) FROM cmp_grid_cell g "
    "JOIN cmp_evaluation_learner l ON l.evaluation = g.evaluation AND l.learner = g.learner "
    "JOIN cmp_evaluation_competency c ON c.evaluation = g.evaluation AND c.node = g.node "
    "WHERE g.evaluation = e.id AND g.level <> '')"
)


# The reads of a grid page, written once: Piccolo rebuilt these joined selects on every page (a third of the
# page's CPU, most of it resolving the joined columns). ``{}`` are parameters; the keys are Piccolo's, so the rows
# are the ones its selects gave (``tests/integration/test_competencies_read_sql.py`` compares them).
_EVALUATION_SQL = """
SELECT e.id, e.establishment, e.author, e.scenario, e.framework, e.title, e.visible, e.version, e.created_at,
       e.updated_at, e.demo, a.first_name AS "author.first_name", a.last_name AS "author.last_name",
       f.title AS "framework.title", f.version AS "framework.version", s.title AS "scenario.title"
FROM cmp_evaluation e
JOIN account a ON a.id = e.author
JOIN cmp_framework f ON f.id = e.framework
LEFT JOIN cmp_scenario s ON s.id = e.scenario
WHERE e.id = {} AND e.establishment = {}
"""
_GRID_LEARNERS_SQL = """
SELECT l.learner, a.first_name AS "learner.first_name", a.last_name AS "learner.last_name", l.comment,
       l.comment_version
FROM cmp_evaluation_learner l JOIN account a ON a.id = l.learner
WHERE l.evaluation = {}"""
_GRID_COMPETENCIES_SQL = """
SELECT c.id, c.node, n.code AS "node.code", n.label AS "node.label", c.position, c.complexities, c.hazards
FROM cmp_evaluation_competency c JOIN cmp_node n ON n.id = c.node
WHERE c.evaluation = {}
ORDER BY c.position, c.id"""
_GRID_CELLS_SQL = "SELECT learner, node, level, version FROM cmp_grid_cell WHERE evaluation = {}"


async def team_evaluation(user: CurrentUser, evaluation_id: int) -> dict:
    if not 0 < evaluation_id <= ID_MAX:
        raise NotFound(evaluation_id)
    rows = await Evaluation.raw(_EVALUATION_SQL, evaluation_id, school_of(user))
    if not rows:
        raise NotFound(evaluation_id)
    return rows[0]


async def authored_evaluation(user: CurrentUser, evaluation_id: int) -> dict:
    row = await team_evaluation(user, evaluation_id)
    if row["author"] != user.account_id:
        raise NotAuthor(NOT_AUTHOR)
    return row


@dataclass(slots=True)
class Cell:
    """A grid cell: a level (or empty) and its version (0 for a cell never saved)."""

    learner_id: int
    node_id: int
    level: str = ""
    version: int = 0

    @property
    def label(self) -> str:
        """The words of the level."""
        return rules.level_label(self.level)

    @property
    def css(self) -> str:
        """The colour class (always shown with the letter and words)."""
        level = rules.BY_CODE.get(self.level)
        return level.css if level else "lvl-empty"


@dataclass
class GridLearner:
    """A learner row of a grid."""

    id: int
    first_name: str
    last_name: str
    comment: str
    comment_version: int

    @property
    def name(self) -> str:
        """Name then first name."""
        return f"{self.last_name} {self.first_name}"


@dataclass
class GridCompetency:
    """A competency column of a grid."""

    id: int  # the EvaluationCompetency row
    node_id: int
    code: str
    label: str
    position: int
    complexities: list[str]
    hazards: list[str]


@dataclass
class Grid:
    """What a grid page shows, read in a constant number of queries."""

    evaluation: dict
    learners: list[GridLearner]
    competencies: list[GridCompetency]
    cells: dict[tuple[int, int], Cell]
    own: bool

    def cell(self, learner_id: int, node_id: int) -> Cell:
        """The cell of a learner and a competency (an empty one when never saved)."""
        return self.cells.get((learner_id, node_id)) or Cell(learner_id, node_id)

    @property
    def filled(self) -> int:
        """Cells with a level."""
        learners, nodes = {g.id for g in self.learners}, {c.node_id for c in self.competencies}
        return sum(1 for (learner, node), cell in self.cells.items()
                   if cell.level and learner in learners and node in nodes)

    @property
    def total(self) -> int:
        """Cells of the grid."""
        return len(self.learners) * len(self.competencies)

    def counts(self, node_id: int) -> dict[str, int]:
        """Levels given for one competency (view by competency)."""
        result: dict[str, int] = {}
        for learner in self.learners:
            level = self.cell(learner.id, node_id).level
            if level:
                result[level] = result.get(level, 0) + 1
        return result


async def grid_rows(evaluation_id: int, learner_id: int | None = None) -> tuple[list, list, dict]:
    learners_sql, cells_sql, args = _GRID_LEARNERS_SQL, _GRID_CELLS_SQL, (evaluation_id,)
    if learner_id is not None:  # one learner's row (a row saved without JavaScript)
        learners_sql, cells_sql = learners_sql + " AND l.learner = {}", cells_sql + " AND learner = {}"
        args = (evaluation_id, learner_id)
    learner_rows = await EvaluationLearner.raw(learners_sql, *args)
    competency_rows = await EvaluationCompetency.raw(_GRID_COMPETENCIES_SQL, evaluation_id)
    cells = {(r["learner"], r["node"]): Cell(r["learner"], r["node"], r["level"], r["version"])
             for r in await GridCell.raw(cells_sql, *args)}
    learners = sorted((GridLearner(r["learner"], r["learner.first_name"], r["learner.last_name"], r["comment"],
                                   r["comment_version"]) for r in learner_rows),
                      key=lambda g: (g.last_name.lower(), g.first_name.lower(), g.id))
    competencies = [GridCompetency(r["id"], r["node"], r["node.code"], r["node.label"], r["position"],
                                   rules.options(r["complexities"]), rules.options(r["hazards"]))
                    for r in competency_rows]
    return learners, competencies, cells


async def grid(user: CurrentUser, evaluation_id: int) -> Grid:
    """The grid of an evaluation of the establishment: four queries whatever its size."""
    row = await team_evaluation(user, evaluation_id)
    learners, competencies, cells = await grid_rows(evaluation_id)
    return Grid(evaluation=row, learners=learners, competencies=competencies, cells=cells,
                own=row["author"] == user.account_id)


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
    rows = await EvaluationCompetency.raw(_CELL_TARGET_SQL, evaluation_id, node_id, school, learner_id)
    if not rows:
        raise NotFound(evaluation_id)
    return rows[0]


async def _write_cell(user: CurrentUser, school: int, evaluation_id: int, learner_id: int, node_id: int,
                      wanted: str, before: str, expected: int, code: str) -> CellSaved:
    """Inside a transaction: read the cell, apply the version rule, write it and record the change."""
    # PostgreSQL: two saves of one cell wait for each other (SQLite's IMMEDIATE transaction already does)
    found = await GridCell.raw(_CELL_SQL + ("" if is_sqlite() else " FOR UPDATE"), evaluation_id, learner_id,
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
        done = await GridCell.raw(_CELL_UPDATE_SQL, wanted, version + 1, user.account_id, stamp, current["id"],
                                  version)
    else:
        done = await GridCell.raw(_CELL_INSERT_SQL, evaluation_id, learner_id, node_id, wanted, user.account_id,
                                  stamp)
    if not done:
        # Someone created the cell between our read and our write (two first saves at once on PostgreSQL: the
        # insert waited for theirs to commit). A new statement sees their row: refuse with its value.
        again = await GridCell.raw(_CELL_SQL, evaluation_id, learner_id, node_id)
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
            done = await GridCell.raw(_CELL_SHOWN_UPDATE_SQL, *args)
            if done:
                await record(user.actor, "cmp_grid_cell", done[0]["id"], "saisie", **event)
    else:
        sql, values = recorded_with(_CELL_SHOWN_UPDATE_SQL, args, user.actor, "cmp_grid_cell", "saisie", **event)
        done = await GridCell.raw(sql, *values)
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


# --- the learner's side --------------------------------------------------------------------------------------


async def own_evaluations(user: CurrentUser) -> list[dict]:
    """The visible evaluations the learner is in (one query)."""
    # prebuilt: it runs on every learner's dashboard
    return await Evaluation.raw(
        'SELECT e.id AS id, e.title AS title, e.updated_at AS updated_at, a.first_name AS "author.first_name", '
        'a.last_name AS "author.last_name" FROM cmp_evaluation_learner el '
        "JOIN cmp_evaluation e ON e.id = el.evaluation LEFT JOIN account a ON a.id = e.author "
        "WHERE el.learner = {} AND e.visible = {} ORDER BY e.id DESC", user.account_id, True)


async def own_evaluation(user: CurrentUser, evaluation_id: int) -> Grid:
    """One visible evaluation of the learner: their own row only (levels and comment)."""
    if not 0 < evaluation_id <= ID_MAX:
        raise NotFound(evaluation_id)
    row = await Evaluation.select(Evaluation.id, Evaluation.title, Evaluation.updated_at,
                                  Evaluation.author.first_name, Evaluation.author.last_name).where(
        (Evaluation.id == evaluation_id) & (Evaluation.visible == True)).first()
    if not row:
        raise NotFound(evaluation_id)
    learners, competencies, cells = await grid_rows(evaluation_id, user.account_id)
    if not learners:
        raise NotFound(evaluation_id)
    return Grid(evaluation=row, learners=learners, competencies=competencies, cells=cells, own=False)
