"""The competencies part of the benchmark dataset: a 30 × 25 grid for the bench teacher, and the requests the
benchmark repeats (grid page, cell save) answering as expected."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from bench import seed as bench_seed
from portal.competencies.tables import EvaluationCompetency, EvaluationLearner
from tests import dbsetup
from tests.integration.conftest import csrf_token, login, queries_for

pytestmark = pytest.mark.anyio


async def test_bench_grid_and_its_requests():
    from bench import seed_competencies
    from portal.app import create_app
    from portal.dashboards.services import clear_caches
    from portal.permissions import Profile

    await dbsetup.reset_tables()
    clear_caches()
    seeded = await bench_seed.generate("small")  # bench.seed.EXTENSIONS brings the grid generator in
    counts = seeded.counts
    assert counts["cmp_evaluation_competency"] == 25 and counts["cmp_evaluation_learner"] > 0
    assert await seed_competencies.add_bench_grid() == {}  # idempotent
    targets = await seed_competencies.bench_targets()
    assert await EvaluationCompetency.count() == 25 and await EvaluationLearner.count() == counts[
        "cmp_evaluation_learner"]
    async with AsyncTestClient(app=create_app(), base_url="http://testserver.local") as client:
        client.follow_redirects = False
        await login(client, seed_competencies.BENCH_USERNAMES[Profile.TEACHER], bench_seed.BENCH_PASSWORD)
        assert await queries_for(client, targets["grid_path"]) <= 10
        token = await csrf_token(client)
        headers = {"content-type": "application/x-www-form-urlencoded", "HX-Request": "true", "x-csrftoken": token}
        first = await client.post(targets["cell_path"], content=targets["cell_body"], headers=headers)
        again = await client.post(targets["cell_path"], content=targets["cell_body"], headers=headers)
        assert first.status_code == 200 and again.status_code == 200 and "lvl-r" in again.text
