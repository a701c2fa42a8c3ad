"""Piccolo app of messaging."""

from piccolo.conf.apps import AppConfig

from portal.messaging.tables import Message, OutboxMail
from portal.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="messaging",
    migrations_folder_path=str(ROOT / "migrations" / "messaging"),
    table_classes=[Message, OutboxMail],
    migration_dependencies=["portal.accounts.piccolo_app"],
    commands=[],
)
