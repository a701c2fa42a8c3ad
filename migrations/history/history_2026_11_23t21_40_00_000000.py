from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import BigInt, Timestamptz

ID = "2026-11-23T21:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "history: no index on at, actor_id, entity_id"

# Every state change of the portal inserts one history row, and each index is one more B-tree to write in the same
# transaction (measured on SQLite: 140 µs of CPU for an update, its history row and the commit with six indexes, 95 with
# three). No page reads the history by date, author or entity id: the history page filters by establishment or
# pole and by entity, newest first (the id's order). Those three indexes stay.


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="history", description=DESCRIPTION)
    for column_name, column_class in (("at", Timestamptz), ("actor_id", BigInt), ("entity_id", BigInt)):
        manager.alter_column(
            table_class_name="HistoryEvent", tablename="history_event", column_name=column_name,
            db_column_name=column_name, params={"index": False}, old_params={"index": True},
            column_class=column_class, old_column_class=column_class, schema=None,
        )
    return manager
