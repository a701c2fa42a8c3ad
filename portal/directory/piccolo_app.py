"""Piccolo app of the directory."""

from piccolo.conf.apps import AppConfig

from portal.directory.tables import (
    Establishment,
    Implantation,
    OrganisingBody,
    Pole,
    PoleSchool,
    Zone,
)
from portal.settings import ROOT

APP_CONFIG = AppConfig(
    app_name="directory",
    migrations_folder_path=str(ROOT / "migrations" / "directory"),
    table_classes=[Zone, OrganisingBody, Establishment, Implantation, Pole, PoleSchool],
    migration_dependencies=[],
    commands=[],
)
