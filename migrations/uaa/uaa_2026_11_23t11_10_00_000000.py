"""One UAA's attempts of one learner, found by (learner, uaa), numbered without duplicates.

Every save reads the attempts of one learner for one UAA. With separate indexes on ``learner`` and ``uaa`` the
SQLite planner (no statistics) walked the UAA's index — thousands of rows on a large school — where this
composite index finds the handful of rows at once. Being UNIQUE it also enforces, in the database, the rule that
a sequence number is used once per learner and UAA.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T11:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique index uaa_attempt (learner, uaa, sequence)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="uaa", description=DESCRIPTION)
    manager.add_raw(_create_index)
    manager.add_raw_backwards(_drop_index)
    return manager


async def _create_index():
    from piccolo.engine.finder import engine_finder

    await engine_finder().run_ddl(
        "CREATE UNIQUE INDEX IF NOT EXISTS uaa_attempt_sequence ON uaa_attempt (learner, uaa, sequence)")


async def _drop_index():
    from piccolo.engine.finder import engine_finder

    await engine_finder().run_ddl("DROP INDEX IF EXISTS uaa_attempt_sequence")
