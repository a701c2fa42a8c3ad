"""PostgreSQL: ``uaa_stamp``'s trigger functions write their upsert themselves, in PL/pgSQL.

They called ``uaa_stamp_bump(integer[])``, a SQL-language function: PostgreSQL plans a SQL function's statement
again at each call, and its ``unnest``/``DISTINCT`` over an array built by a sub-select cost more still. Measured
on the benchmark's save of an attempt (two trigger calls, an UPDATE and the new pending row): 690 µs of the
database's CPU for the save's statement, 400 with the trigger disabled, 280–310 with these functions. PL/pgSQL
keeps its statements' plans for the session. Same events, same stamps moved: the learner's school for an attempt
(the old learner's and the new one's when an attempt changes learner), the old and the new school for a learner
or an implantation. SQLite's triggers are plain statements already: unchanged.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-24T06:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "uaa_stamp's trigger functions in PL/pgSQL (PostgreSQL)"

_POSTGRES = [
    """CREATE OR REPLACE FUNCTION uaa_stamp_attempt() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.learner IS DISTINCT FROM OLD.learner) THEN
           INSERT INTO uaa_stamp (establishment, version)
           SELECT l.establishment, 1 FROM learner l WHERE l.id = OLD.learner AND l.establishment IS NOT NULL
           ON CONFLICT (establishment) DO UPDATE SET version = uaa_stamp.version + 1;
         END IF;
         IF TG_OP <> 'DELETE' THEN
           INSERT INTO uaa_stamp (establishment, version)
           SELECT l.establishment, 1 FROM learner l WHERE l.id = NEW.learner AND l.establishment IS NOT NULL
           ON CONFLICT (establishment) DO UPDATE SET version = uaa_stamp.version + 1;
         END IF;
         RETURN NULL;
       END $$ LANGUAGE plpgsql""",
    # learners and implantations: both carry the school in ``establishment``
    """CREATE OR REPLACE FUNCTION uaa_stamp_learner() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND NEW.establishment IS DISTINCT FROM OLD.establishment) THEN
           INSERT INTO uaa_stamp (establishment, version)
           SELECT e.id, 1 FROM establishment e WHERE e.id = OLD.establishment
           ON CONFLICT (establishment) DO UPDATE SET version = uaa_stamp.version + 1;
         END IF;
         IF TG_OP <> 'DELETE' THEN
           INSERT INTO uaa_stamp (establishment, version)
           SELECT e.id, 1 FROM establishment e WHERE e.id = NEW.establishment
           ON CONFLICT (establishment) DO UPDATE SET version = uaa_stamp.version + 1;
         END IF;
         RETURN NULL;
       END $$ LANGUAGE plpgsql""",
    "DROP FUNCTION IF EXISTS uaa_stamp_bump(integer[])",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="uaa", description=DESCRIPTION)
    manager.add_raw(_replace_functions)
    return manager


async def _replace_functions():
    from piccolo.engine.finder import engine_finder

    engine = engine_finder()
    if engine.engine_type == "postgres":
        for statement in _POSTGRES:
            await engine.run_ddl(statement)
