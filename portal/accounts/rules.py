"""Pure rules of accounts: login names, the password policy, throttling. No I/O here."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta

USERNAME_MAX = 20
PASSWORD_MIN = 8
PASSWORD_MAX = 128
THROTTLE_FAILURES = 5
THROTTLE_WINDOW = timedelta(minutes=15)


def ascii_fold(text: str) -> str:
    """Strip accents and keep ASCII: ``"Élodie"`` → ``"Elodie"``."""
    normalized = unicodedata.normalize("NFKD", text)
    return normalized.encode("ascii", "ignore").decode("ascii")


def _slug(part: str) -> str:
    """Lower-case ASCII letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", ascii_fold(part).lower())


def base_username(first_name: str, last_name: str) -> str:
    """The login name before de-duplication: ``prenom.nom``, at most 20 characters.

    A compound first name that makes the name too long is replaced by the initials of its parts
    (Jean-François BERNARD → ``jf.bernard``); what is still too long is truncated.
    """
    first_parts = [p for p in re.split(r"[\s\-']+", first_name.strip()) if _slug(p)]
    last = "".join(_slug(p) for p in re.split(r"[\s\-']+", last_name.strip()))
    first = "".join(_slug(p) for p in first_parts)
    if not first and not last:
        raise ValueError("Le prénom et le nom sont vides.")
    if not first or not last:
        return (first or last)[:USERNAME_MAX]
    candidate = f"{first}.{last}"
    if len(candidate) > USERNAME_MAX and len(first_parts) > 1:
        initials = "".join(_slug(p)[0] for p in first_parts)
        candidate = f"{initials}.{last}"
    return candidate[:USERNAME_MAX].rstrip(".")


def unique_username(first_name: str, last_name: str, taken: Iterable[str]) -> str:
    """The login name with a numeric suffix when the base is already taken, still within 20 characters."""
    taken_set = set(taken)
    base = base_username(first_name, last_name)
    if base not in taken_set:
        return base
    n = 2
    while True:
        suffix = str(n)
        candidate = base[: USERNAME_MAX - len(suffix)].rstrip(".") + suffix
        if candidate not in taken_set:
            return candidate
        n += 1


def password_problems(password: str, first_name: str = "", last_name: str = "", username: str = "") -> list[str]:
    """Every way a password breaks the policy, in French; an empty list means it is acceptable."""
    problems: list[str] = []
    if len(password) < PASSWORD_MIN:
        problems.append(f"Le mot de passe doit compter au moins {PASSWORD_MIN} caractères.")
    if len(password) > PASSWORD_MAX:
        problems.append(f"Le mot de passe ne peut dépasser {PASSWORD_MAX} caractères.")
    if not re.search(r"[a-z]", password):
        problems.append("Le mot de passe doit contenir une lettre minuscule.")
    if not re.search(r"[A-Z]", password):
        problems.append("Le mot de passe doit contenir une lettre majuscule.")
    if not re.search(r"[0-9]", password):
        problems.append("Le mot de passe doit contenir un chiffre.")
    folded = ascii_fold(password).lower()
    names = [first_name, last_name, *username.split(".")]
    parts = {_slug(p) for name in names for p in re.split(r"[\s\-'.]+", name or "")}
    if any(len(part) >= 3 and part in folded for part in parts):
        problems.append("Le mot de passe ne peut pas contenir votre nom ou votre prénom.")
    return problems


def is_throttled(failure_times: Iterable[datetime], now: datetime) -> bool:
    """True when enough recent failures were recorded that further tries must wait."""
    recent = [t for t in failure_times if now - t < THROTTLE_WINDOW]
    return len(recent) >= THROTTLE_FAILURES


def throttle_retry_after(failure_times: Iterable[datetime], now: datetime) -> timedelta:
    """How long until the oldest of the counted failures leaves the window."""
    recent = sorted(t for t in failure_times if now - t < THROTTLE_WINDOW)
    if len(recent) < THROTTLE_FAILURES:
        return timedelta(0)
    return THROTTLE_WINDOW - (now - recent[-THROTTLE_FAILURES])
