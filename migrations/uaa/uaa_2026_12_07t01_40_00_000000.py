"""PostgreSQL: a school's ``uaa_stamp`` is spread over rows, so that concurrent saves do not queue on one row.

Every save of a school's attempts bumped the same ``uaa_stamp`` row at its commit (the deferred trigger of the
2026-11-24T00:45 migration), and held that row's lock until the commit was on disk: the saves of a school, from
every connection, went through that one row one at a time. Measured with the large bench dataset, 16 connections,
two workers (one run each, 2026-12-07): 815 saves/s, p95 31.7 ms with the bump; 941 saves/s, p95 24.0 ms with it
switched off.

Now each connection bumps a row of its own: ``(establishment, shard)`` with ``shard = pg_backend_pid() % 16``,
and a school's stamp is the sum of its rows. Each bump adds one to that sum, in the same transaction as the change
(a reader still never sees the new stamp without the new data, nor the data without the stamp). Two saves
committing at the same moment from two connections lock two rows.

SQLite keeps one row per school (``shard`` 0, unique on ``establishment``): it serialises its writers anyway.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-07T01:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "uaa_stamp spread over one row per connection and school (PostgreSQL)"

SHARDS = 16

_POSTGRES = [
    "ALTER TABLE uaa_stamp ADD COLUMN shard integer NOT NULL DEFAULT 0",
    # the column's UNIQUE, whatever PostgreSQL named it
    """DO $$
       DECLARE name text;
       BEGIN
         FOR name IN SELECT conname FROM pg_constraint WHERE conrelid = 'uaa_stamp'::regclass AND contype = 'u'
         LOOP
           EXECUTE format('ALTER TABLE uaa_stamp DROP CONSTRAINT %I', name);
         END LOOP;
       END $$""",
    "CREATE UNIQUE INDEX uaa_stamp_establishment_shard ON uaa_stamp (establishment, shard)",
    f"""CREATE OR REPLACE FUNCTION uaa_stamp_bump_once(school bigint) RETURNS void AS $$
       BEGIN
         IF school IS NULL OR current_setting('portal.uaa_stamp_' || school, true) = '1' THEN
           RETURN;
         END IF;
         INSERT INTO uaa_stamp (establishment, shard, version) VALUES (school, pg_backend_pid() % {SHARDS}, 1)
         ON CONFLICT (establishment, shard) DO UPDATE SET version = uaa_stamp.version + 1;
         PERFORM set_config('portal.uaa_stamp_' || school, '1', true);
       END $$ LANGUAGE plpgsql""",
]

_SQLITE = ["ALTER TABLE uaa_stamp ADD COLUMN shard INTEGER NOT NULL DEFAULT 0"]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="uaa", description=DESCRIPTION)
    manager.add_raw(_spread)
    return manager


async def _spread():
    from piccolo.engine.finder import engine_finder

    engine = engine_finder()
    for statement in _POSTGRES if engine.engine_type == "postgres" else _SQLITE:
        await engine.run_ddl(statement)
