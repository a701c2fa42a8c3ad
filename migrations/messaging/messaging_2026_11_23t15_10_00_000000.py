"""``message_stamp``: a change counter of the messages that triggers keep current (SQLite and PostgreSQL)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T15:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "message_stamp and its triggers"

# Every dashboard shows the two message boxes. Processes keep them against this counter, which the identity query
# reads with the session (no query of its own); any insert, update or delete of a message moves it, whoever writes.
_TABLE = "CREATE TABLE message_stamp (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)"
_ROW = "INSERT INTO message_stamp (id, version) VALUES (1, 1)"
_SQLITE = [
    f"CREATE TRIGGER message_stamp_{event.lower()} AFTER {event} ON message BEGIN "
    "UPDATE message_stamp SET version = version + 1 WHERE id = 1; END"
    for event in ("INSERT", "UPDATE", "DELETE")
]
_POSTGRES = [
    """CREATE OR REPLACE FUNCTION message_stamp_bump() RETURNS trigger AS $$
       BEGIN
         UPDATE message_stamp SET version = version + 1 WHERE id = 1;
         RETURN NULL;
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER message_stamp AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON message
       FOR EACH STATEMENT EXECUTE FUNCTION message_stamp_bump()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="messaging", description=DESCRIPTION)

    async def create():
        from piccolo.engine.finder import engine_finder

        engine = engine_finder()
        for statement in [_TABLE, _ROW, *(_POSTGRES if engine.engine_type == "postgres" else _SQLITE)]:
            await engine.run_ddl(statement)

    manager.add_raw(create)
    return manager
