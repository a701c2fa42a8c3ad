"""Piccolo app of accounts."""

from piccolo.conf.apps import AppConfig

from portal.accounts.tables import (
    AccessRequest,
    Account,
    ActivationToken,
    Affiliation,
    LoginFailure,
    UserSession,
)
from portal.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="accounts",
    migrations_folder_path=str(ROOT / "migrations" / "accounts"),
    table_classes=[Account, Affiliation, UserSession, LoginFailure, ActivationToken, AccessRequest],
    migration_dependencies=["portal.directory.piccolo_app"],
    commands=[],
)
