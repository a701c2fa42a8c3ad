"""Piccolo tables of accounts and access."""

from piccolo.columns import Boolean, ForeignKey, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.directory.tables import Establishment, OrganisingBody, Pole


class Account(Table, tablename="account"):
    """One person. Credentials are an argon2id hash, or none until the person activates the account."""

    username = Varchar(length=20, unique=True)
    first_name = Varchar(length=100)
    last_name = Varchar(length=100)
    email = Varchar(length=255, default="")
    password_hash = Varchar(length=255, null=True, default=None)
    origin = Varchar(length=10, default="manual")  # manual / import
    is_active = Boolean(default=True)
    hidden = Boolean(default=False)
    help_enabled = Boolean(default=True)
    demo = Boolean(default=False)
    version = Integer(default=1)
    created_at = Timestamptz()


class Affiliation(Table, tablename="affiliation"):
    """A profile held by an account for one establishment, pole or PO (none for the Administration)."""

    account = ForeignKey(references=Account, index=True)
    profile = Varchar(length=30)
    establishment = ForeignKey(references=Establishment, null=True, index=True)
    pole = ForeignKey(references=Pole, null=True, index=True)
    organising_body = ForeignKey(references=OrganisingBody, null=True, index=True)
    granted_at = Timestamptz()
    granted_by = ForeignKey(references=Account, null=True)
    revoked_at = Timestamptz(null=True, default=None)
    revoked_by = ForeignKey(references=Account, null=True)


class UserSession(Table, tablename="user_session"):
    """A server-side session; the cookie carries a random token, the database only its SHA-256."""

    token_hash = Varchar(length=64, unique=True)
    account = ForeignKey(references=Account, index=True)
    affiliation = ForeignKey(references=Affiliation, null=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    user_agent = Varchar(length=255, default="")


class LoginFailure(Table, tablename="login_failure"):
    """A failed login, kept to throttle guessing by account name and by address."""

    username = Varchar(length=255, index=True)
    ip = Varchar(length=64, index=True)
    at = Timestamptz()


class ActivationToken(Table, tablename="activation_token"):
    """A one-time token to set one's password: new account or reset."""

    account = ForeignKey(references=Account, index=True)
    token_hash = Varchar(length=64, unique=True)
    purpose = Varchar(length=20, default="activation")  # activation / reset
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)


class AccessRequest(Table, tablename="access_request"):
    """A request for a profile on an establishment, pole or PO (annexes 1–3 of the circular)."""

    account = ForeignKey(references=Account, null=True, index=True)
    first_name = Varchar(length=100)
    last_name = Varchar(length=100)
    email = Varchar(length=255)
    function = Varchar(length=120, default="")
    profile = Varchar(length=30)
    establishment = ForeignKey(references=Establishment, null=True)
    pole = ForeignKey(references=Pole, null=True)
    organising_body = ForeignKey(references=OrganisingBody, null=True)
    motivation = Text(default="")
    status = Varchar(length=12, default="pending", index=True)  # pending / approved / refused
    decided_by = ForeignKey(references=Account, null=True)
    decided_at = Timestamptz(null=True, default=None)
    decision_note = Text(default="")
    affiliation = ForeignKey(references=Affiliation, null=True)
    created_at = Timestamptz()
