from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T15:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "index of an evaluation's competencies by node"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="competencies", description=DESCRIPTION)

    # Counting the filled cells of a grid joins each cell to its competency on (evaluation, node): with only the
    # index on evaluation, SQLite read every competency of the evaluation for each cell (30 × 25 cells × 25
    # competencies: 2.2 ms of the teacher's dashboard, every time). Plain SQL both engines accept.
    async def competency_key():
        from piccolo.engine import engine_finder

        await engine_finder().run_ddl(
            'CREATE INDEX cmp_evaluation_competency_key ON "cmp_evaluation_competency" ("evaluation", "node")')

    manager.add_raw(competency_key)
    return manager
