"""Time in one place, so that rules and tests agree on what "now" is."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

BRUSSELS = ZoneInfo("Europe/Brussels")


def now() -> datetime:
    """The current instant, timezone-aware (UTC)."""
    return datetime.now(UTC)


def as_aware(value: datetime) -> datetime:
    """A datetime read back from SQLite may be naive UTC; make it aware."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def local(value: datetime) -> datetime:
    """The instant in Brussels time, for display."""
    return as_aware(value).astimezone(BRUSSELS)


def day_text(value: date) -> str:
    """``dd/mm/yyyy``, the French way (written by hand: ``strftime`` costs three times as much, and rows of lists
    and messages of every save write dates)."""
    return f"{value.day:02d}/{value.month:02d}/{value.year}"


def today() -> date:
    """Today in Brussels: the day the portal's rules and deadlines count in."""
    return local(now()).date()
