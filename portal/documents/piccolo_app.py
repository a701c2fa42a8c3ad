"""Piccolo app of stored documents."""

from piccolo.conf.apps import AppConfig

from portal.documents.tables import StoredDocument
from portal.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="documents",
    migrations_folder_path=str(ROOT / "migrations" / "documents"),
    table_classes=[StoredDocument],
    migration_dependencies=[],
    commands=[],
)
