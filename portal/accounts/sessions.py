"""Logging in and out, server-side sessions kept in the database, login throttling."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from portal.accounts import rules
from portal.accounts.identity import AffiliationView, CurrentUser, token_digest
from portal.accounts.passwords import hash_password, needs_rehash, verify_password
from portal.accounts.tables import Account, Affiliation, LoginFailure, UserSession
from portal.core.clock import as_aware, now
from portal.core.db import atomic, query
from portal.history.services import Actor, record
from portal.permissions import Profile
from portal.settings import settings


@dataclass
class LoginResult:
    """What a login attempt gives: a session token, or a French message."""

    token: str | None = None
    error: str | None = None
    account_id: int | None = None


GENERIC_FAILURE = "Identifiant ou mot de passe incorrect."


async def _recent_failures(username: str, ip: str):
    since = now() - rules.THROTTLE_WINDOW
    by_name = await LoginFailure.select(LoginFailure.at).where(
        (LoginFailure.username == username) & (LoginFailure.at > since)
    )
    by_ip = await LoginFailure.select(LoginFailure.at).where((LoginFailure.ip == ip) & (LoginFailure.at > since))
    return [as_aware(r["at"]) for r in by_name], [as_aware(r["at"]) for r in by_ip]


def _throttle_message(wait: timedelta) -> str:
    minutes = max(1, int(wait.total_seconds() // 60) + 1)
    return (
        "Trop de tentatives de connexion infructueuses. "
        f"Par sécurité, réessayez dans {minutes} minute{'s' if minutes > 1 else ''}."
    )


async def login(username: str, password: str, ip: str, user_agent: str = "") -> LoginResult:
    """Check the credentials and open a session. Throttled after repeated failures by name or by address."""
    username = (username or "").strip().lower()
    if not username or not password:
        return LoginResult(error="Indiquez votre identifiant et votre mot de passe.")
    if len(username) > 255 or len(password) > rules.PASSWORD_MAX:
        return LoginResult(error=GENERIC_FAILURE)
    current = now()
    by_name, by_ip = await _recent_failures(username, ip)
    # An address gets a wider allowance than one name: a school may share one public address.
    if rules.is_throttled(by_name, current):
        return LoginResult(error=_throttle_message(rules.throttle_retry_after(by_name, current)))
    if len(by_ip) >= rules.THROTTLE_FAILURES * 10:
        return LoginResult(error=_throttle_message(rules.THROTTLE_WINDOW))
    account = await Account.objects().where(Account.username == username).first()
    ok = verify_password(account.password_hash if account else None, password)
    if not ok or account is None or not account.is_active:
        await LoginFailure.insert(LoginFailure(username=username, ip=ip[:64], at=current))
        return LoginResult(error=GENERIC_FAILURE)
    token = secrets.token_urlsafe(32)
    affiliations = await active_affiliations(account.id)
    only = affiliations[0].id if len(affiliations) == 1 else None
    async with atomic():
        if needs_rehash(account.password_hash):
            await Account.update({Account.password_hash: hash_password(password)}).where(Account.id == account.id)
        await UserSession.insert(
            UserSession(
                token_hash=token_digest(token),
                account=account.id,
                affiliation=only,
                created_at=current,
                expires_at=current + timedelta(hours=settings.session_hours),
                user_agent=user_agent[:255],
            )
        )
        await LoginFailure.delete().where(LoginFailure.username == username)
        await record(Actor(account.id, account.username), "account", account.id, "connexion", summary="Connexion")
    return LoginResult(token=token, account_id=account.id)


async def logout(user: CurrentUser) -> None:
    """Close the session of ``user``."""
    async with atomic():
        await UserSession.delete().where(UserSession.id == user.session_id)
        await record(user.actor, "account", user.account_id, "déconnexion", summary="Déconnexion")


def _view(row: dict) -> AffiliationView:
    fase = row.get("establishment.fase")
    uai = row.get("establishment.uai")
    code = f"FASE {fase}" if fase else (f"UAI {uai}" if uai else "")
    return AffiliationView(
        id=row["id"],
        profile=Profile(row["profile"]),
        establishment_id=row["establishment"],
        establishment_name=row.get("establishment.name") or "",
        establishment_code=code,
        pole_id=row["pole"],
        pole_name=row.get("pole.name") or "",
        organising_body_id=row["organising_body"],
        organising_body_name=row.get("organising_body.name") or "",
    )


async def active_affiliations(account_id: int) -> list[AffiliationView]:
    """The affiliations an account holds today, with their names, in a stable order."""
    rows = await (
        Affiliation.select(
            Affiliation.id,
            Affiliation.profile,
            Affiliation.establishment,
            Affiliation.pole,
            Affiliation.organising_body,
            Affiliation.establishment.name,
            Affiliation.establishment.fase,
            Affiliation.establishment.uai,
            Affiliation.pole.name,
            Affiliation.organising_body.name,
        )
        .where((Affiliation.account == account_id) & (Affiliation.revoked_at.is_null()))
        .order_by(Affiliation.id)
    )
    return [_view(r) for r in rows]


# The identity of every signed-in request in one statement, built once: the session, its account and the
# account's active affiliations with the names to show (one row per affiliation; LEFT JOINs keep an account
# without affiliation). Piccolo's query builder costs about 1 ms per joined query; this runs on every request.
# The identity of a request in one statement. It also reads the messages' change counter (``message_stamp``, kept
# by triggers): the dashboards' message boxes are kept per process against it, without a query of their own; and
# the UAA change counter of the establishment acted for (the sum of its ``uaa_stamp`` rows), which the UAA blocks
# of the teacher's and the direction's dashboards are kept against; and ``board_stamp``, the change counter of what
# the other blocks of the dashboards read (access requests, affiliations, outbox, directory, poles, conventions).
_IDENTITY_SQL = """
SELECT s.id AS session_id, s.affiliation AS chosen, s.expires_at AS expires_at,
       a.id AS account_id, a.username AS username, a.first_name AS first_name, a.last_name AS last_name,
       a.email AS email, a.help_enabled AS help_enabled, a.is_active AS is_active, a.version AS version,
       f.id AS id, f.profile AS profile, f.establishment AS establishment, f.pole AS pole,
       f.organising_body AS organising_body,
       e.name AS "establishment.name", e.fase AS "establishment.fase", e.uai AS "establishment.uai",
       p.name AS "pole.name", o.name AS "organising_body.name",
       (SELECT m.version FROM message_stamp m WHERE m.id = 1) AS message_stamp,
       (SELECT sum(u.version) FROM uaa_stamp u
        WHERE u.establishment = (SELECT c.establishment FROM affiliation c WHERE c.id = s.affiliation)) AS uaa_stamp,
       (SELECT b.version FROM board_stamp b WHERE b.id = 1) AS board_stamp
FROM user_session s
JOIN account a ON a.id = s.account
LEFT JOIN affiliation f ON f.account = a.id AND f.revoked_at IS NULL
LEFT JOIN establishment e ON e.id = f.establishment
LEFT JOIN pole p ON p.id = f.pole
LEFT JOIN organising_body o ON o.id = f.organising_body
WHERE s.token_hash = {}
ORDER BY f.id
"""


async def user_for_token(token: str) -> CurrentUser | None:
    """The person behind a session cookie, or None when it is unknown or expired (one query)."""
    if not token or len(token) > 100:
        return None
    rows = await query(_IDENTITY_SQL, token_digest(token))
    if not rows:
        return None
    row = rows[0]
    expires_at = row["expires_at"]
    if isinstance(expires_at, str):  # SQLite hands raw SQL timestamps back as text
        expires_at = datetime.fromisoformat(expires_at)
    if as_aware(expires_at) <= now() or not row["is_active"]:
        return None
    affiliations = [_view(r) for r in rows if r["id"] is not None]
    active = next((a for a in affiliations if a.id == row["chosen"]), None)
    return CurrentUser(
        account_id=row["account_id"],
        session_id=row["session_id"],
        username=row["username"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        email=row["email"],
        help_enabled=bool(row["help_enabled"]),
        version=row["version"],
        affiliations=affiliations,
        active=active,
        message_stamp=row["message_stamp"],
        uaa_stamp=row["uaa_stamp"] or 0,
        board_stamp=row["board_stamp"],
    )


async def choose_affiliation(user: CurrentUser, affiliation_id: int) -> bool:
    """Act for another of one's affiliations. False when it is not one of the person's own."""
    chosen = next((a for a in user.affiliations if a.id == affiliation_id), None)
    if chosen is None:
        return False
    async with atomic():
        await UserSession.update({UserSession.affiliation: chosen.id}).where(UserSession.id == user.session_id)
        before = {"affiliation": user.active.label if user.active else None}
        user.active = chosen
        await record(user.actor, "account", user.account_id, "choix du profil", before=before,
                     after={"affiliation": chosen.label}, summary=f"Agit pour : {chosen.label}")
    return True


async def housekeeping() -> None:
    """Forget expired sessions and failures too old to count (run at start-up)."""
    current = now()
    await UserSession.delete().where(UserSession.expires_at < current)
    await LoginFailure.delete().where(LoginFailure.at < current - rules.THROTTLE_WINDOW)
