"""Account rules that touch the database: activation, password and e-mail changes, the help switch."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

from portal.accounts import rules
from portal.accounts.identity import CurrentUser, token_digest
from portal.accounts.passwords import hash_password, verify_password
from portal.accounts.tables import Account, ActivationToken, UserSession
from portal.core.clock import as_aware, now
from portal.core.db import atomic
from portal.history.services import Actor, record
from portal.messaging.outbox import send_mail
from portal.settings import settings

ACTIVATION_DAYS = 7
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,}$")


class AccountError(Exception):
    """A refused change, with the French message to show."""

    def __init__(self, messages: list[str] | str):
        self.messages = [messages] if isinstance(messages, str) else messages
        super().__init__("; ".join(self.messages))


def email_problem(email: str) -> str | None:
    """A French message when ``email`` is not a plausible address."""
    if not email:
        return "Indiquez une adresse e-mail."
    if len(email) > 255 or not EMAIL_RE.match(email):
        return "L'adresse e-mail n'a pas une forme valide (exemple : prenom.nom@ecole.be)."
    return None


async def issue_activation(account_id: int, actor: Actor, purpose: str = "activation",
                           establishment_id: int | None = None) -> str:
    """Create a one-time token (older unused ones die), mail the link, and return the token.

    The caller runs inside a transaction when it creates the account in the same step. ``establishment_id``
    files the mail under that establishment, so that its administrator sees it in the outbox.
    """
    account = await Account.objects().get(Account.id == account_id)
    token = secrets.token_urlsafe(32)
    current = now()
    async with atomic():
        await ActivationToken.update({ActivationToken.used_at: current}).where(
            (ActivationToken.account == account_id) & (ActivationToken.used_at.is_null())
        )
        await ActivationToken.insert(
            ActivationToken(
                account=account_id,
                token_hash=token_digest(token),
                purpose=purpose,
                created_at=current,
                expires_at=current + timedelta(days=ACTIVATION_DAYS),
            )
        )
        if purpose == "reset":
            # A reset withdraws the old password and closes every open session of the person.
            await Account.update({Account.password_hash: None, Account.version: Account.version + 1}).where(
                Account.id == account_id
            )
            await UserSession.delete().where(UserSession.account == account_id)
        link = f"{settings.base_url}/activation/{token}"
        what = "la réinitialisation de votre mot de passe" if purpose == "reset" else "l'activation de votre compte"
        await send_mail(
            account.email or f"{account.username}@sans-adresse.invalid",
            "Portail : " + what,
            (
                f"Bonjour {account.first_name} {account.last_name},\n\n"
                f"Votre identifiant est : {account.username}\n"
                f"Pour {what}, ouvrez ce lien et choisissez votre mot de passe (valable {ACTIVATION_DAYS} jours, "
                f"une seule fois) :\n{link}\n\n"
                "Si vous n'êtes pas à l'origine de cette demande, ignorez ce message."
            ),
            establishment_id=establishment_id,
        )
        await record(actor, "account", account_id, "réinitialisation" if purpose == "reset" else "activation envoyée",
                     summary=f"Lien d'activation envoyé à {account.username}")
    return token


async def account_for_activation(token: str) -> Account | None:
    """The account a valid, unused, unexpired token opens, else None."""
    if not token or len(token) > 100:
        return None
    row = await ActivationToken.objects().where(ActivationToken.token_hash == token_digest(token)).first()
    if row is None or row.used_at is not None or as_aware(row.expires_at) <= now():
        return None
    return await Account.objects().get(Account.id == row.account)


async def activate(token: str, password: str, confirmation: str) -> Account:
    """Set the password through a one-time token. Raises :class:`AccountError` with French messages."""
    account = await account_for_activation(token)
    if account is None:
        raise AccountError("Ce lien d'activation n'est plus valable. Demandez-en un nouveau à votre administrateur.")
    problems = rules.password_problems(password, account.first_name, account.last_name, account.username)
    if password != confirmation:
        problems.append("Les deux mots de passe ne sont pas identiques.")
    if problems:
        raise AccountError(problems)
    async with atomic():
        await ActivationToken.update({ActivationToken.used_at: now()}).where(
            ActivationToken.token_hash == token_digest(token)
        )
        await Account.update(
            {Account.password_hash: hash_password(password), Account.version: Account.version + 1}
        ).where(Account.id == account.id)
        await record(Actor(account.id, account.username), "account", account.id, "mot de passe défini",
                     summary="Compte activé : mot de passe choisi")
    return account


async def change_password(user: CurrentUser, current: str, new: str, confirmation: str) -> None:
    """Change one's password: the current one must be right, the new one must follow the policy."""
    account = await Account.objects().get(Account.id == user.account_id)
    if not verify_password(account.password_hash, current or ""):
        raise AccountError("Le mot de passe actuel est incorrect.")
    problems = rules.password_problems(new or "", account.first_name, account.last_name, account.username)
    if new != confirmation:
        problems.append("Les deux mots de passe ne sont pas identiques.")
    if current and new == current:
        problems.append("Le nouveau mot de passe doit différer de l'actuel.")
    if problems:
        raise AccountError(problems)
    async with atomic():
        await Account.update(
            {Account.password_hash: hash_password(new), Account.version: Account.version + 1}
        ).where(Account.id == account.id)
        # Other sessions of the person are closed: a changed password must lock out whoever knew the old one.
        await UserSession.delete().where((UserSession.account == account.id) & (UserSession.id != user.session_id))
        await record(user.actor, "account", account.id, "mot de passe changé", summary="Mot de passe changé")


async def change_email(user: CurrentUser, password: str, email: str) -> None:
    """Change one's e-mail address, confirmed by the password."""
    email = (email or "").strip()
    account = await Account.objects().get(Account.id == user.account_id)
    if not verify_password(account.password_hash, password or ""):
        raise AccountError("Le mot de passe est incorrect.")
    problem = email_problem(email)
    if problem:
        raise AccountError(problem)
    async with atomic():
        await Account.update({Account.email: email, Account.version: Account.version + 1}).where(
            Account.id == account.id
        )
        await record(user.actor, "account", account.id, "e-mail changé",
                     before={"email": account.email}, after={"email": email}, summary="Adresse e-mail changée")


async def set_help(user: CurrentUser, enabled: bool) -> None:
    """Switch the contextual help on or off for the person."""
    async with atomic():
        await Account.update({Account.help_enabled: enabled}).where(Account.id == user.account_id)
        await record(user.actor, "account", user.account_id, "aide contextuelle",
                     before={"help": user.help_enabled}, after={"help": enabled},
                     summary="Aide contextuelle " + ("activée" if enabled else "désactivée"))
    user.help_enabled = enabled


async def allocate_username(first_name: str, last_name: str) -> str:
    """A free login name by the ``prenom.nom`` rule (initials, truncation at 20, numeric suffix)."""
    base = rules.base_username(first_name, last_name)
    stem = base[: rules.USERNAME_MAX - 3].rstrip(".")
    rows = await Account.select(Account.username).where(Account.username.like(f"{stem}%"))
    return rules.unique_username(first_name, last_name, {r["username"] for r in rows})
