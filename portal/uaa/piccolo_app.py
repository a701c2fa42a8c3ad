"""Piccolo app of UAA validation."""

from piccolo.conf.apps import AppConfig

from portal.settings import ROOT
from portal.uaa.tables import (
    Attempt,
    Attestation,
    Learner,
    Option,
    TrainingProfile,
    Uaa,
    UaaStamp,
)

APP_CONFIG = AppConfig(
    app_name="uaa",
    migrations_folder_path=str(ROOT / "migrations" / "uaa"),
    table_classes=[Option, TrainingProfile, Uaa, Learner, Attempt, Attestation, UaaStamp],
    migration_dependencies=["portal.accounts.piccolo_app", "portal.documents.piccolo_app"],
    commands=[],
)
