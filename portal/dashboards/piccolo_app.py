"""Piccolo app of the dashboards: no table classes, only the ``board_stamp`` counter and its triggers."""

from piccolo.conf.apps import AppConfig

from portal.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="dashboards",
    migrations_folder_path=str(ROOT / "migrations" / "dashboards"),
    table_classes=[],
    # the triggers sit on tables of these apps: their migrations come first
    migration_dependencies=["portal.directory.piccolo_app", "portal.accounts.piccolo_app",
                            "portal.messaging.piccolo_app", "portal.conventions.piccolo_app"],
    commands=[],
)
