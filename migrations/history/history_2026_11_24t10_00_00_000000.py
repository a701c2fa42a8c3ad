"""history: the pole index holds only the events of a pole.

Most events belong to a school (a UAA save, an import, an account) and have no pole; each still wrote an entry
for NULL into ``history_event_pole_id``, one more B-tree page in its transaction. A partial index
(``WHERE pole_id IS NOT NULL``) serves the pole history's filter ``pole_id = …`` the same way on SQLite and
PostgreSQL, and is not written by the events without a pole. Piccolo runs a migration's raw statements before its
column changes: the partial index has a name of its own (``history_event_pole_only``), made before the full one
is dropped. Measured with the migration of the same day that
drops ``uaa_attempt_learner``: see migrations/uaa, 2026-11-24T10:00.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt

ID = "2026-11-24T10:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "history: the pole index holds only the events of a pole"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="history", description=DESCRIPTION)
    manager.alter_column(
        table_class_name="HistoryEvent", tablename="history_event", column_name="pole_id",
        db_column_name="pole_id", params={"index": False}, old_params={"index": True},
        column_class=BigInt, old_column_class=BigInt, schema=None,
    )
    manager.add_raw(_create_partial_index)
    manager.add_raw_backwards(_drop_partial_index)
    return manager


async def _create_partial_index():
    from piccolo.engine.finder import engine_finder

    await engine_finder().run_ddl(
        "CREATE INDEX IF NOT EXISTS history_event_pole_only ON history_event (pole_id) WHERE pole_id IS NOT NULL")


async def _drop_partial_index():
    from piccolo.engine.finder import engine_finder

    await engine_finder().run_ddl("DROP INDEX IF EXISTS history_event_pole_only")
