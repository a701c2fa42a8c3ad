"""Competencies part of the benchmark dataset (bench data): a framework of 25 tasks and, for the bench teacher, a
scenario and an evaluation of 30 learners × 25 competencies, about half of the cells filled.

Two ways in: :func:`seed_competencies` is a ``bench.seed`` generator (it runs when ``"bench.seed_competencies"`` is
in ``bench.seed.EXTENSIONS``); :func:`add_bench_grid` adds the same rows to a database already seeded (idempotent).
:func:`bench_targets` gives what benchmark scenarios need: the grid page's path and a cell save's path and body.
"""

from __future__ import annotations

import random
from urllib.parse import urlencode

from bench.scenarios import BENCH_USERNAMES
from bench.seed import SeedContext, register
from portal.accounts.tables import Account, Affiliation
from portal.competencies import frameworks
from portal.competencies.tables import (
    Evaluation,
    EvaluationCompetency,
    EvaluationLearner,
    FrameworkNode,
    GridCell,
    Scenario,
    ScenarioCompetency,
)
from portal.core.clock import now
from portal.core.db import atomic
from portal.permissions import Profile

LEARNERS = 30
ACTIVITIES, TASKS = 5, 5
TITLE = "Grille de mesure (bench)"


def bench_framework() -> frameworks.FrameworkSpec:
    """A framework of 5 activities × 5 tasks (25 leaves), each with two complexities and two aléas."""
    nodes = tuple(frameworks.NodeSpec(
        code=f"BA{a}", label=f"Activité {a} (bench)", depth=0,
        children=tuple(frameworks.NodeSpec(code=f"BT{a}-{t}", label=f"Tâche {a}-{t} (bench)", depth=1,
                                           complexities=("Complexité 1", "Complexité 2"),
                                           hazards=("Aléa 1", "Aléa 2"))
                       for t in range(1, TASKS + 1)))
        for a in range(1, ACTIVITIES + 1))
    return frameworks.FrameworkSpec(code="BENCH-REF", version="1", title="Référentiel de mesure (bench)",
                                    diploma="Bench", levels=("Activité", "Tâche"), nodes=nodes, sha256="bench-v1")


async def add_bench_grid(rng: random.Random | None = None) -> dict[str, int]:
    """Add the bench teacher's grid to a seeded database (nothing when it is there); returns counts."""
    rng = rng or random.Random(20261123)
    teacher = await Account.select(Account.id).where(Account.username == BENCH_USERNAMES[Profile.TEACHER]).first()
    if not teacher:
        raise RuntimeError("compte bench.enseignant absent : lancez d'abord `portal seed`")
    affiliation = await Affiliation.select(Affiliation.establishment).where(
        (Affiliation.account == teacher["id"]) & (Affiliation.profile == Profile.TEACHER.value)).first()
    school = affiliation["establishment"]
    if await Evaluation.exists().where((Evaluation.author == teacher["id"]) & (Evaluation.title == TITLE)):
        return {}
    learners = [r["account"] for r in await Affiliation.select(Affiliation.account).where(
        (Affiliation.establishment == school) & (Affiliation.profile == Profile.LEARNER.value)
        & Affiliation.revoked_at.is_null()).order_by(Affiliation.account).limit(LEARNERS)]
    stamp = now()
    async with atomic():
        report = await frameworks.load_framework(bench_framework())
        leaves = [r["id"] for r in await FrameworkNode.select(FrameworkNode.id).where(
            (FrameworkNode.framework == report.framework_id) & (FrameworkNode.is_leaf == True)).order_by(
            FrameworkNode.position)]
        scenario = (await Scenario.insert(Scenario(
            establishment=school, author=teacher["id"], framework=report.framework_id, title=TITLE,
            class_level="Première Bac Pro", diploma="Bench", created_at=stamp, updated_at=stamp)).returning(
            Scenario.id))[0]["id"]
        await ScenarioCompetency.insert(*[ScenarioCompetency(scenario=scenario, node=n, position=i)
                                          for i, n in enumerate(leaves)])
        evaluation = (await Evaluation.insert(Evaluation(
            establishment=school, author=teacher["id"], scenario=scenario, framework=report.framework_id,
            title=TITLE, visible=True, created_at=stamp, updated_at=stamp)).returning(Evaluation.id))[0]["id"]
        await EvaluationCompetency.insert(*[EvaluationCompetency(evaluation=evaluation, node=n, position=i)
                                            for i, n in enumerate(leaves)])
        await EvaluationLearner.insert(*[EvaluationLearner(evaluation=evaluation, learner=a) for a in learners])
        cells = [GridCell(evaluation=evaluation, learner=a, node=n, level=rng.choice("RPETNA"),
                          updated_by=teacher["id"], updated_at=stamp)
                 for a in learners for n in leaves if rng.random() < 0.5]
        if cells:
            await GridCell.insert(*cells)
    return {"cmp_evaluation_learner": len(learners), "cmp_evaluation_competency": len(leaves),
            "cmp_grid_cell": len(cells)}


@register("competencies")
async def seed_competencies(ctx: SeedContext) -> dict[str, int] | None:
    """The bench generator: the same grid, inside the seed's transaction."""
    return await add_bench_grid(ctx.rng)


async def bench_targets() -> dict[str, str]:
    """Paths and body of the benchmark scenarios (grid page GET, cell save POST, as the bench teacher).

    The cell saved is the last learner × last competency; the body sets it to « Réussite totale » from an empty
    cell of version 0: the first request writes it, the following ones find the value already stored (the full
    path runs — target check, locked read, version rule — but the write is skipped as a no-op).
    """
    teacher = await Account.select(Account.id).where(Account.username == BENCH_USERNAMES[Profile.TEACHER]).first()
    evaluation = await Evaluation.select(Evaluation.id).where(
        (Evaluation.author == teacher["id"]) & (Evaluation.title == TITLE)).first()
    learner = (await EvaluationLearner.select(EvaluationLearner.learner).where(
        EvaluationLearner.evaluation == evaluation["id"]).order_by(EvaluationLearner.learner, ascending=False)
        .first())["learner"]
    node = (await EvaluationCompetency.select(EvaluationCompetency.node).where(
        EvaluationCompetency.evaluation == evaluation["id"]).order_by(EvaluationCompetency.position, ascending=False)
        .first())["node"]
    await GridCell.delete().where((GridCell.evaluation == evaluation["id"]) & (GridCell.learner == learner)
                                  & (GridCell.node == node))
    return {"grid_path": f"/competences/evaluations/{evaluation['id']}",
            "cell_path": f"/competences/evaluations/{evaluation['id']}/cellules/{learner}/{node}",
            "cell_body": urlencode({f"niveau-{node}": "R", f"avant-{node}": ".0"})}
