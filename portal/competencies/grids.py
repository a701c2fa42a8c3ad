"""The evaluation grid as it is read: for the team (every learner × competency, with the evaluation) and for a
learner (their own row of a visible evaluation) (SPEC §7; CERISE PRO guide §3.6, CPRO guide §4). Saving cells,
rows and comments is :mod:`portal.competencies.grid_saves`.

An evaluation is read and its grid filled by the teachers of its establishment; a learner reads the visible
evaluations they are in, their own row only. No Litestar here.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.core.db import query
from portal.accounts.identity import CurrentUser
from portal.competencies import rules
from portal.competencies.services import ID_MAX, NOT_AUTHOR, NotAuthor, NotFound, school_of
from portal.competencies.tables import Evaluation

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
    rows = await query(_EVALUATION_SQL, evaluation_id, school_of(user))
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
    learner_rows = await query(learners_sql, *args)
    competency_rows = await query(_GRID_COMPETENCIES_SQL, evaluation_id)
    cells = {(r["learner"], r["node"]): Cell(r["learner"], r["node"], r["level"], r["version"])
             for r in await query(cells_sql, *args)}
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


# --- the learner's side --------------------------------------------------------------------------------------


async def own_evaluations(user: CurrentUser) -> list[dict]:
    """The visible evaluations the learner is in (one query)."""
    # prebuilt: it runs on every learner's dashboard
    return await query(
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
