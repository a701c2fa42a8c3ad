"""Piccolo tables of messaging."""

from piccolo.columns import Boolean, ForeignKey, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.accounts.tables import Account
from portal.directory.tables import Establishment, Pole


class Message(Table, tablename="message"):
    """A message shown on dashboards: to everyone (applicatif) or to one establishment or pole."""

    kind = Varchar(length=12, index=True)  # applicatif / cible
    subject = Varchar(length=200)
    body = Text()
    author = ForeignKey(references=Account, null=True)
    establishment = ForeignKey(references=Establishment, null=True, index=True)
    pole = ForeignKey(references=Pole, null=True, index=True)
    created_at = Timestamptz(index=True)
    demo = Boolean(default=False)


class OutboxMail(Table, tablename="outbox_mail"):
    """Every e-mail the portal sends; delivered by SMTP when configured, else kept here for administrators."""

    recipient = Varchar(length=255)
    subject = Varchar(length=255)
    body = Text()
    establishment = ForeignKey(references=Establishment, null=True, index=True)
    created_at = Timestamptz(index=True)
    sent_at = Timestamptz(null=True, default=None)
    error = Text(default="")
