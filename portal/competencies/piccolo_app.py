"""Piccolo app of competency tracking."""

from piccolo.conf.apps import AppConfig, table_finder

from portal.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="competencies",
    migrations_folder_path=str(ROOT / "migrations" / "competencies"),
    table_classes=table_finder(modules=["portal.competencies.tables"], exclude_imported=True),
    migration_dependencies=["portal.directory.piccolo_app", "portal.accounts.piccolo_app", "portal.documents.piccolo_app"],
    commands=[],
)
