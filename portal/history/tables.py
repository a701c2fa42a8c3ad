"""Piccolo table of the history."""

from piccolo.columns import JSON, BigInt, Timestamptz, Varchar
from piccolo.table import Table


class HistoryEvent(Table, tablename="history_event"):
    """One state change: who, acting as which profile for what, when, what, before and after.

    Plain integer references (no foreign keys) on purpose: the history outlives what it describes.
    """

    # indexed for what the history page filters on (establishment, pole, entity); see migrations/history
    at = Timestamptz()
    actor_id = BigInt(null=True)
    actor_username = Varchar(length=20, default="")
    profile = Varchar(length=30, default="")
    establishment_id = BigInt(null=True, index=True)
    pole_id = BigInt(null=True)  # history_event_pole_only, partial (migrations/history)
    entity = Varchar(length=40, index=True)
    entity_id = BigInt(null=True)
    action = Varchar(length=60)
    summary = Varchar(length=255, default="")
    before = JSON(null=True, default=None)
    after = JSON(null=True, default=None)
