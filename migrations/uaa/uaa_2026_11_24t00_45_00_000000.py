"""PostgreSQL: a school's ``uaa_stamp`` moves when a save of its attempts commits, not when it starts writing.

Each save of an attempt bumped its school's ``uaa_stamp`` row from its UPDATE on, and held that row's lock for the
rest of its transaction: the history row, the commit, and whatever else the process's event loop served in
between. Every save of the school waited in line behind it. Deferred to the commit, the bump holds the lock for
the commit alone, and it still lands in the same transaction as the attempt it follows (a reader never sees the
new stamp without the new data). SQLite serialises its writers anyway: its triggers are unchanged.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-24T00:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "uaa_stamp bumped at commit for attempts (PostgreSQL)"

_POSTGRES = [
    "DROP TRIGGER uaa_stamp_attempt ON uaa_attempt",
    """CREATE CONSTRAINT TRIGGER uaa_stamp_attempt AFTER INSERT OR UPDATE OR DELETE ON uaa_attempt
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION uaa_stamp_attempt()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="uaa", description=DESCRIPTION)
    manager.add_raw(_defer_trigger)
    return manager


async def _defer_trigger():
    from piccolo.engine.finder import engine_finder

    engine = engine_finder()
    if engine.engine_type == "postgres":
        for statement in _POSTGRES:
            await engine.run_ddl(statement)
