"""SQLite: an update bumps the ``uaa_stamp`` of its row's school, and of the old school only when it changed.

The update triggers of ``uaa_attempt``, ``learner`` and ``implantation`` bumped the schools of ``NEW`` and ``OLD``
in one upsert, ``WHERE id IN (NEW.…, OLD.…)``. SQLite runs such an ``IN`` list by building a temporary index of
its values on every row it fires for: measured on the large bench dataset, the update of a UAA save took 94 µs
with it, 39 µs with the two triggers below, 35 µs with no trigger at all; a save's statements, from the read to
the commit, went from 240 to 185 µs, all but the read while the only write lock is held (``bench/README.md``,
session 18).

Each update trigger now bumps the school of the row as it stands (``NEW``); a second trigger, ``… _move``, fires
only when the update sets the column that names the school (``AFTER UPDATE OF``) to another value (``WHEN``),
and bumps the old one. What moves is unchanged: ``tests/integration/test_uaa_stamps.py``. PostgreSQL's trigger
functions are not concerned.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T23:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "uaa_stamp's update triggers without an IN list (SQLite)"

# (trigger's name, table, the column naming the row's school, the SELECT of that school from the column's value)
_TABLES = [
    ("attempt", "uaa_attempt", "learner", "SELECT establishment, 1 FROM learner WHERE id = {}"),
    ("learner", "learner", "establishment", "SELECT id, 1 FROM establishment WHERE id = {}"),
    ("implantation", "implantation", "establishment", "SELECT id, 1 FROM establishment WHERE id = {}"),
]


def _statements(name: str, table: str, column: str, school: str) -> list[str]:
    """Drop the update trigger of ``table``, create it again on ``NEW``'s school and its ``_move`` on ``OLD``'s."""
    bump = ("INSERT INTO uaa_stamp (establishment, version) {} "
            "ON CONFLICT (establishment) DO UPDATE SET version = version + 1")
    return [
        f"DROP TRIGGER uaa_stamp_{name}_update",
        f"CREATE TRIGGER uaa_stamp_{name}_update AFTER UPDATE ON {table} BEGIN "
        f"{bump.format(school.format(f'NEW.{column}'))}; END",
        f"CREATE TRIGGER uaa_stamp_{name}_move AFTER UPDATE OF {column} ON {table} "
        f"WHEN OLD.{column} IS NOT NEW.{column} BEGIN {bump.format(school.format(f'OLD.{column}'))}; END",
    ]


_SQLITE = [statement for table in _TABLES for statement in _statements(*table)]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="uaa", description=DESCRIPTION)
    manager.add_raw(_replace_triggers)
    return manager


async def _replace_triggers():
    from piccolo.engine.finder import engine_finder

    engine = engine_finder()
    if engine.engine_type == "sqlite":
        for statement in _SQLITE:
            await engine.run_ddl(statement)
