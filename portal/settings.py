"""Settings read once from the environment.

Every knob of the portal is an environment variable prefixed ``PORTAL_``; nothing else reads ``os.environ``.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _optional_int(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return max(0, int(value)) if value else None


def _secret(data_dir: Path) -> str:
    """Return the signing secret: from the environment, else one generated once and kept in the data folder."""
    if os.environ.get("PORTAL_SECRET_KEY"):
        return os.environ["PORTAL_SECRET_KEY"]
    path = data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


@dataclass(frozen=True)
class Settings:
    """What the environment says, with the defaults of a single-machine install."""

    data_dir: Path
    database_url: str | None
    secret_key: str
    host: str = "127.0.0.1"
    port: int = 8000
    debug: bool = False
    secure_cookies: bool = False
    session_hours: int = 8
    argon2_profile: str = "default"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    mail_from: str = "portail@localhost"
    contact_address: str = "support@portail.localhost"
    base_url: str = "http://127.0.0.1:8000"
    db_pool_max: int = 20
    db_pool: bool = True
    bench_endpoints: bool = False
    settle_heap: bool = False  # set by `portal serve` for its processes (portal.core.heap)
    workers: int = 1
    pdf_processes: int | None = None  # None: one per core (at most 4)
    extra: dict = field(default_factory=dict)

    @property
    def is_postgres(self) -> bool:
        """True when a PostgreSQL URL is configured."""
        return bool(self.database_url) and self.database_url.startswith(("postgres://", "postgresql://"))

    @property
    def sqlite_path(self) -> Path:
        """Where the embedded SQLite database lives."""
        return self.data_dir / "portal.sqlite3"


def load() -> Settings:
    """Read the environment into a :class:`Settings`."""
    data_dir = Path(os.environ.get("PORTAL_DATA_DIR", ROOT / "data")).resolve()
    port = int(os.environ.get("PORTAL_PORT", "8000"))
    host = os.environ.get("PORTAL_HOST", "127.0.0.1")
    return Settings(
        data_dir=data_dir,
        database_url=os.environ.get("PORTAL_DATABASE_URL") or None,
        secret_key=_secret(data_dir),
        host=host,
        port=port,
        debug=_bool("PORTAL_DEBUG", False),
        secure_cookies=_bool("PORTAL_SECURE_COOKIES", False),
        session_hours=int(os.environ.get("PORTAL_SESSION_HOURS", "8")),
        argon2_profile=os.environ.get("PORTAL_ARGON2_PROFILE", "default"),
        smtp_host=os.environ.get("PORTAL_SMTP_HOST") or None,
        smtp_port=int(os.environ.get("PORTAL_SMTP_PORT", "25")),
        smtp_user=os.environ.get("PORTAL_SMTP_USER") or None,
        smtp_password=os.environ.get("PORTAL_SMTP_PASSWORD") or None,
        smtp_starttls=_bool("PORTAL_SMTP_STARTTLS", False),
        mail_from=os.environ.get("PORTAL_MAIL_FROM", "portail@localhost"),
        contact_address=os.environ.get("PORTAL_CONTACT_ADDRESS", "support@portail.localhost"),
        base_url=os.environ.get("PORTAL_BASE_URL", f"http://{host}:{port}"),
        db_pool_max=int(os.environ.get("PORTAL_DB_POOL_MAX", "20")),
        db_pool=_bool("PORTAL_DB_POOL", True),
        bench_endpoints=_bool("PORTAL_BENCH_ENDPOINTS", False),
        settle_heap=_bool("PORTAL_SETTLE_HEAP", False),
        workers=max(1, int(os.environ.get("PORTAL_WORKERS", "1"))),
        pdf_processes=_optional_int("PORTAL_PDF_PROCESSES"),
    )


settings = load()
