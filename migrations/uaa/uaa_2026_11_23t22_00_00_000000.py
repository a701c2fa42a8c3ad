"""``uaa_stamp`` also moves when what the learner search's lists show changes outside the learners.

The search's criteria lists (school years, years of study and options of the school's learners, the school's
implantations) are kept per process against the school's ``uaa_stamp``, like the dashboards' UAA blocks. The
learners' triggers already cover the first three; these cover the implantations (a directory import renames,
adds or removes one: its school's stamp moves) and the options' labels (a new reference file: every stamp moves).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T22:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "uaa_stamp follows implantations and option labels"

_SQLITE = [
    """CREATE TRIGGER uaa_stamp_implantation_insert AFTER INSERT ON implantation BEGIN
         INSERT INTO uaa_stamp (establishment, version) VALUES (NEW.establishment, 1)
         ON CONFLICT (establishment) DO UPDATE SET version = version + 1; END""",
    """CREATE TRIGGER uaa_stamp_implantation_update AFTER UPDATE ON implantation BEGIN
         INSERT INTO uaa_stamp (establishment, version) SELECT id, 1 FROM establishment
         WHERE id IN (NEW.establishment, OLD.establishment)
         ON CONFLICT (establishment) DO UPDATE SET version = version + 1; END""",
    """CREATE TRIGGER uaa_stamp_implantation_delete AFTER DELETE ON implantation BEGIN
         INSERT INTO uaa_stamp (establishment, version) SELECT id, 1 FROM establishment WHERE id = OLD.establishment
         ON CONFLICT (establishment) DO UPDATE SET version = version + 1; END""",
    """CREATE TRIGGER uaa_stamp_option_update AFTER UPDATE ON uaa_option BEGIN
         UPDATE uaa_stamp SET version = version + 1; END""",
    """CREATE TRIGGER uaa_stamp_option_delete AFTER DELETE ON uaa_option BEGIN
         UPDATE uaa_stamp SET version = version + 1; END""",
]

_POSTGRES = [
    """CREATE OR REPLACE FUNCTION uaa_stamp_everywhere() RETURNS trigger AS $$
       BEGIN
         UPDATE uaa_stamp SET version = version + 1;
         RETURN NULL;
       END $$ LANGUAGE plpgsql""",
    # the learners' function bumps the stamps of NEW.establishment and OLD.establishment: an implantation has both
    """CREATE TRIGGER uaa_stamp_implantation AFTER INSERT OR UPDATE OR DELETE ON implantation
       FOR EACH ROW EXECUTE FUNCTION uaa_stamp_learner()""",
    """CREATE TRIGGER uaa_stamp_option AFTER UPDATE OR DELETE ON uaa_option
       FOR EACH STATEMENT EXECUTE FUNCTION uaa_stamp_everywhere()""",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="uaa", description=DESCRIPTION)
    manager.add_raw(_create_triggers)
    return manager


async def _create_triggers():
    from piccolo.engine.finder import engine_finder

    engine = engine_finder()
    for statement in _POSTGRES if engine.engine_type == "postgres" else _SQLITE:
        await engine.run_ddl(statement)
