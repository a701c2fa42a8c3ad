"""One avenant per convention and effective school year, one signature per avenant and PO — in the database too.

The services check both before inserting (with a French message); these UNIQUE indexes keep the rule when two
requests race. A separate migration: raw statements run before the tables of their own migration are added.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-11-23T12:05:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique avenant (convention, effective_year) and signature (avenant, organising_body)"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="conventions", description=DESCRIPTION)
    manager.add_raw(_create_indexes)
    manager.add_raw_backwards(_drop_indexes)
    return manager


async def _create_indexes():
    from piccolo.engine.finder import engine_finder

    engine = engine_finder()
    await engine.run_ddl("CREATE UNIQUE INDEX IF NOT EXISTS convention_avenant_year "
                         "ON convention_avenant (convention, effective_year)")
    await engine.run_ddl("CREATE UNIQUE INDEX IF NOT EXISTS convention_avenant_signature_po "
                         "ON convention_avenant_signature (avenant, organising_body)")


async def _drop_indexes():
    from piccolo.engine.finder import engine_finder

    engine = engine_finder()
    await engine.run_ddl("DROP INDEX IF EXISTS convention_avenant_signature_po")
    await engine.run_ddl("DROP INDEX IF EXISTS convention_avenant_year")
