"""``board_stamp``: a change counter of what the dashboards' blocks read, kept current by triggers (both engines)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-24T00:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "board_stamp and its triggers"

#: Every table a dashboard block reads, outside the UAA data (``uaa_stamp``), the messages (``message_stamp``) and a
#: person's own evaluations: access requests, affiliations, the outbox, the directory, poles and conventions.
#: ``tests/integration/test_dashboard_board.py`` checks that every table named in the blocks' SQL is listed here.
WATCHED = (
    "access_request", "affiliation", "outbox_mail",
    "zone", "organising_body", "establishment", "pole", "pole_school",
    "convention", "convention_school", "convention_article", "convention_signature", "convention_acknowledgment",
    "convention_change_request", "convention_holiday", "convention_campaign", "convention_avenant",
)

# Processes keep the blocks against this counter, which the identity query reads with the session: any insert,
# update or delete in a watched table moves it, whoever writes, and the new value is seen with the data it
# follows (the same transaction: a sequence would be seen before the commit, and a block read in between kept).
_TABLE = "CREATE TABLE board_stamp (id INTEGER PRIMARY KEY, version INTEGER NOT NULL)"
_ROW = "INSERT INTO board_stamp (id, version) VALUES (1, 1)"
_SQLITE = [
    f"CREATE TRIGGER board_stamp_{table}_{event.lower()} AFTER {event} ON {table} BEGIN "
    "UPDATE board_stamp SET version = version + 1 WHERE id = 1; END"
    for table in WATCHED for event in ("INSERT", "UPDATE", "DELETE")
]
# On PostgreSQL the bump waits for the commit (a deferred trigger): the counter's row is then locked for the
# commit alone, not for the rest of a transaction that wrote to a watched table early. TRUNCATE (tests) cannot be
# deferred and moves it at once.
_POSTGRES = [
    """CREATE OR REPLACE FUNCTION board_stamp_bump() RETURNS trigger AS $$
       BEGIN
         UPDATE board_stamp SET version = version + 1 WHERE id = 1;
         RETURN NULL;
       END $$ LANGUAGE plpgsql""",
    *(f"""CREATE CONSTRAINT TRIGGER board_stamp AFTER INSERT OR UPDATE OR DELETE ON {table}
          DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION board_stamp_bump()""" for table in WATCHED),
    *(f"""CREATE TRIGGER board_stamp_truncate AFTER TRUNCATE ON {table}
          FOR EACH STATEMENT EXECUTE FUNCTION board_stamp_bump()""" for table in WATCHED),
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="dashboards", description=DESCRIPTION)

    async def create():
        from piccolo.engine.finder import engine_finder

        engine = engine_finder()
        for statement in [_TABLE, _ROW, *(_POSTGRES if engine.engine_type == "postgres" else _SQLITE)]:
            await engine.run_ddl(statement)

    manager.add_raw(create)
    return manager
