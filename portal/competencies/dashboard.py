"""The competencies blocks of the dashboards (merged by `portal.dashboards.services.blocks_for`).

Teacher: own scenarios and own evaluations with how much of each grid is filled (incomplete grids first), in two
queries. Learner: the evaluations made visible to them, in one query. Keys are prefixed ``competencies_``.
"""

from __future__ import annotations

from portal.accounts.identity import CurrentUser
from portal.competencies.grids import FILLED_SQL, own_evaluations
from portal.core.db import query
from portal.permissions import Profile

SHOWN = 8
# Written once (Piccolo rebuilt the select on every dashboard view).
_SCENARIOS_SQL = (f"SELECT id, title, class_level FROM cmp_scenario WHERE author = {{}} AND establishment = {{}} "
                  f"ORDER BY updated_at DESC LIMIT {SHOWN}")


async def blocks(user: CurrentUser) -> dict:
    """Blocks this domain adds to the dashboard of the profile acted for."""
    active = user.active
    if active is None:
        return {}
    if active.profile == Profile.TEACHER and active.establishment_id:
        scenarios = await query(_SCENARIOS_SQL, user.account_id, active.establishment_id)
        evaluations = await query(
            "SELECT e.id, e.title, e.visible, "
            "(SELECT COUNT(*) FROM cmp_evaluation_learner l WHERE l.evaluation = e.id) AS learners, "
            "(SELECT COUNT(*) FROM cmp_evaluation_competency c WHERE c.evaluation = e.id) AS competencies, "
            + FILLED_SQL + " AS filled FROM cmp_evaluation e "
            "WHERE e.author = {} AND e.establishment = {} ORDER BY e.updated_at DESC LIMIT 50",
            user.account_id, active.establishment_id)
        for row in evaluations:
            row["cells"] = int(row["learners"]) * int(row["competencies"])
            row["filled"] = int(row["filled"])
            row["incomplete"] = row["filled"] < row["cells"]
        evaluations.sort(key=lambda r: not r["incomplete"])
        return {"competencies_scenarios": scenarios, "competencies_evaluations": evaluations[:SHOWN],
                "competencies_incomplete": sum(1 for r in evaluations if r["incomplete"])}
    if active.profile == Profile.LEARNER:
        return {"competencies_visible": (await own_evaluations(user))[:SHOWN]}
    return {}
