from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T10:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique keys"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="competencies", description=DESCRIPTION)

    # Composite keys Piccolo cannot declare on columns: one cell per (evaluation, learner, competency), one row
    # per framework code and version, one membership per evaluation and learner. Plain SQL that SQLite and
    # PostgreSQL both accept (raw steps run before table steps, hence a migration of their own).
    async def unique_keys():
        from piccolo.engine import engine_finder

        engine = engine_finder()
        await engine.run_ddl(
            'CREATE UNIQUE INDEX cmp_grid_cell_key ON "cmp_grid_cell" ("evaluation", "learner", "node")')
        await engine.run_ddl('CREATE UNIQUE INDEX cmp_framework_key ON "cmp_framework" ("code", "version")')
        await engine.run_ddl(
            'CREATE UNIQUE INDEX cmp_evaluation_learner_key ON "cmp_evaluation_learner" ("evaluation", "learner")')

    manager.add_raw(unique_keys)
    return manager
