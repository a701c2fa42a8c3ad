"""The triggers that keep ``uaa_stamp`` current (after the table exists: Piccolo runs raw SQL before tables)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T10:45:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "triggers of uaa_stamp"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="uaa", description=DESCRIPTION)
    manager.add_raw(_create_triggers)
    return manager


# Triggers keep uaa_stamp current whatever writes the rows (encoding, imports, transfers, demo, seed): the
# dashboards cache their UAA aggregates against it. One per-row upsert per change, in the writer's transaction.
_SQLITE_TRIGGERS = [
    """CREATE TRIGGER uaa_stamp_attempt_insert AFTER INSERT ON uaa_attempt BEGIN
         INSERT INTO uaa_stamp (establishment, version) SELECT establishment, 1 FROM learner WHERE id = NEW.learner
         ON CONFLICT (establishment) DO UPDATE SET version = version + 1; END""",
    """CREATE TRIGGER uaa_stamp_attempt_update AFTER UPDATE ON uaa_attempt BEGIN
         INSERT INTO uaa_stamp (establishment, version) SELECT establishment, 1 FROM learner
         WHERE id IN (NEW.learner, OLD.learner)
         ON CONFLICT (establishment) DO UPDATE SET version = version + 1; END""",
    """CREATE TRIGGER uaa_stamp_attempt_delete AFTER DELETE ON uaa_attempt BEGIN
         INSERT INTO uaa_stamp (establishment, version) SELECT establishment, 1 FROM learner WHERE id = OLD.learner
         ON CONFLICT (establishment) DO UPDATE SET version = version + 1; END""",
    """CREATE TRIGGER uaa_stamp_learner_insert AFTER INSERT ON learner BEGIN
         INSERT INTO uaa_stamp (establishment, version) VALUES (NEW.establishment, 1)
         ON CONFLICT (establishment) DO UPDATE SET version = version + 1; END""",
    """CREATE TRIGGER uaa_stamp_learner_update AFTER UPDATE ON learner BEGIN
         INSERT INTO uaa_stamp (establishment, version) SELECT id, 1 FROM establishment
         WHERE id IN (NEW.establishment, OLD.establishment)
         ON CONFLICT (establishment) DO UPDATE SET version = version + 1; END""",
    """CREATE TRIGGER uaa_stamp_learner_delete AFTER DELETE ON learner BEGIN
         INSERT INTO uaa_stamp (establishment, version) VALUES (OLD.establishment, 1)
         ON CONFLICT (establishment) DO UPDATE SET version = version + 1; END""",
]

_POSTGRES_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION uaa_stamp_bump(establishments integer[]) RETURNS void AS $$
         INSERT INTO uaa_stamp (establishment, version) SELECT DISTINCT e, 1 FROM unnest(establishments) AS e
         WHERE e IS NOT NULL
         ON CONFLICT (establishment) DO UPDATE SET version = uaa_stamp.version + 1
       $$ LANGUAGE sql""",
    """CREATE OR REPLACE FUNCTION uaa_stamp_attempt() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN
           PERFORM uaa_stamp_bump(ARRAY(SELECT establishment FROM learner WHERE id = OLD.learner));
         ELSIF TG_OP = 'UPDATE' THEN
           PERFORM uaa_stamp_bump(ARRAY(SELECT establishment FROM learner WHERE id IN (NEW.learner, OLD.learner)));
         ELSE
           PERFORM uaa_stamp_bump(ARRAY(SELECT establishment FROM learner WHERE id = NEW.learner));
         END IF;
         RETURN NULL;
       END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE FUNCTION uaa_stamp_learner() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'DELETE' THEN
           PERFORM uaa_stamp_bump(ARRAY[OLD.establishment]);
         ELSIF TG_OP = 'UPDATE' THEN
           PERFORM uaa_stamp_bump(ARRAY[NEW.establishment, OLD.establishment]);
         ELSE
           PERFORM uaa_stamp_bump(ARRAY[NEW.establishment]);
         END IF;
         RETURN NULL;
       END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER uaa_stamp_attempt AFTER INSERT OR UPDATE OR DELETE ON uaa_attempt
       FOR EACH ROW EXECUTE FUNCTION uaa_stamp_attempt()""",
    """CREATE TRIGGER uaa_stamp_learner AFTER INSERT OR UPDATE OR DELETE ON learner
       FOR EACH ROW EXECUTE FUNCTION uaa_stamp_learner()""",
]


async def _create_triggers():
    from piccolo.engine.finder import engine_finder

    engine = engine_finder()
    statements = _POSTGRES_TRIGGERS if engine.engine_type == "postgres" else _SQLITE_TRIGGERS
    for statement in statements:
        await engine.run_ddl(statement)
