"""A new attempt writes one B-tree less: ``uaa_attempt_uaa`` goes.

No query of the portal looks attempts up by UAA alone: a learner's list, a save, the dashboards, the batches and
the transfers all go by learner (the unique index ``uaa_attempt_sequence`` on learner, uaa, sequence) or by the
school that encoded them (``uaa_attempt_establishment``). Checked on SQLite: every statement the integration suite
runs on ``uaa_attempt``, explained against the large bench dataset (``EXPLAIN QUERY PLAN``), and none used this
index. What it served was the foreign key's cascade when a UAA is deleted, which the portal never does (the UAA
are reference data, loaded and updated in place); such a deletion would now read the attempts in full.

Every save that adds a pending row (an Echec) inserted into it, one more page into the write-ahead log at each
commit. Measured on SQLite, large bench dataset, 16 connections, two workers, saves alone (``--scenario
uaa-save``), old and new alternated: see bench/README.md, session 15.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import ForeignKey

ID = "2026-12-07T13:00:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "uaa_attempt without the index on uaa"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="uaa", description=DESCRIPTION)
    manager.alter_column(
        table_class_name="Attempt", tablename="uaa_attempt", column_name="uaa", db_column_name="uaa",
        params={"index": False}, old_params={"index": True}, column_class=ForeignKey, old_column_class=ForeignKey,
        schema=None,
    )
    return manager
