"""Piccolo app of the history."""

from piccolo.conf.apps import AppConfig

from portal.history.tables import HistoryEvent
from portal.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="history",
    migrations_folder_path=str(ROOT / "migrations" / "history"),
    table_classes=[HistoryEvent],
    migration_dependencies=[],
    commands=[],
)
