"""Piccolo tables of UAA validation."""

from piccolo.columns import (
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from portal.accounts.tables import Account
from portal.directory.tables import Establishment, Implantation
from portal.documents.tables import StoredDocument


class Option(Table, tablename="uaa_option"):
    """An option de base groupée (OBG), e.g. 2115 Installateur électricien…"""

    code = Varchar(length=10, unique=True)
    label = Varchar(length=255)
    demo = Boolean(default=False)


class TrainingProfile(Table, tablename="training_profile"):
    """A profil de formation of an option: the reference that lists its UAA."""

    option = ForeignKey(references=Option, index=True)
    code = Varchar(length=20)
    label = Varchar(length=255)
    short_label = Varchar(length=60)


class Uaa(Table, tablename="uaa"):
    """An unité d'acquis d'apprentissage: code, label, duration in weeks, year of study (4, 5, 6), order."""

    profile = ForeignKey(references=TrainingProfile, index=True)
    code = Varchar(length=10, index=True)
    label = Varchar(length=255)
    weeks = Integer(default=0)
    year = Integer(default=4)
    position = Integer(default=0)
    invented = Boolean(default=False)


class Learner(Table, tablename="learner"):
    """A learner of an establishment (from the school's records), possibly with a portal account."""

    establishment = ForeignKey(references=Establishment, index=True)
    implantation = ForeignKey(references=Implantation, null=True)
    option = ForeignKey(references=Option, null=True, index=True)
    account = ForeignKey(references=Account, null=True, index=True)
    cf_number = Varchar(length=20, unique=True)
    last_name = Varchar(length=100, index=True)
    first_name = Varchar(length=100)
    sex = Varchar(length=1, default="")
    birth_date = Date(null=True, default=None)
    study_year = Varchar(length=20, default="")  # as the school writes it: "1 D2 4 P"
    year = Integer(default=4)  # the degree year, 4 to 7
    school_year = Varchar(length=9, index=True)  # "2026-2027"
    active = Boolean(default=True)
    demo = Boolean(default=False)
    version = Integer(default=1)


class Attempt(Table, tablename="uaa_attempt"):
    """One presentation of a UAA by a learner: A encoder, Réussite or Echec, with its date.

    ``establishment`` is where it was encoded: after a change of school the old one keeps read access to it.
    """

    # found by the unique index (learner, uaa, sequence): migrations/uaa, 2026-11-23T11:10, 2026-11-24T10:00 and
    # 2026-12-07T13:00 (no index on uaa alone: no query looks attempts up by UAA)
    learner = ForeignKey(references=Learner)
    uaa = ForeignKey(references=Uaa)
    sequence = Integer(default=1)
    status = Varchar(length=12, default="a_encoder")
    presented_on = Date(null=True, default=None)
    establishment = ForeignKey(references=Establishment, null=True, index=True)
    updated_by = ForeignKey(references=Account, null=True)
    updated_at = Timestamptz(null=True, default=None)
    version = Integer(default=1)


class Attestation(Table, tablename="attestation"):
    """An attestation de validation issued for a successful attempt; revoked if the success is corrected."""

    number = Varchar(length=40, unique=True)
    attempt = ForeignKey(references=Attempt, index=True)
    learner = ForeignKey(references=Learner, index=True)
    uaa = ForeignKey(references=Uaa)
    establishment = ForeignKey(references=Establishment)
    document = ForeignKey(references=StoredDocument, null=True)
    issued_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    revoked_reason = Text(default="")


class UaaStamp(Table, tablename="uaa_stamp"):
    """A counter per establishment that database triggers bump whenever its learners or their attempts change.

    The dashboards' UAA aggregates (grouped counts over thousands of attempts) are cached against it: a cached
    figure is served only while the stamp it was computed at is still the current one, so it is never stale.

    A school's stamp is the sum of its rows. SQLite keeps one (``shard`` 0, ``establishment`` unique); PostgreSQL
    one per connection that wrote (``shard``: its backend's pid modulo 16, unique with ``establishment``; the
    migration of 2026-12-07T01:40), so that saves committing together from several connections do not queue on one
    row.
    """

    establishment = ForeignKey(references=Establishment, unique=True)  # PostgreSQL: unique with shard instead
    shard = Integer(default=0)
    version = Integer(default=0)
