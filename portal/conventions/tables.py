"""Piccolo tables of the conventions domain (SPEC §6).

A pole's instruments (conventions and ressorts) are derived from its schools by :mod:`portal.conventions.rules`;
each one walks the steps écoles → articles → signatures → validation_administration → prise_de_connaissance →
terminee. Directory tables are reused as they are; everything the conventions add lives here.
"""

from __future__ import annotations

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
from portal.directory.tables import Establishment, OrganisingBody, Pole
from portal.documents.tables import StoredDocument


class Convention(Table, tablename="convention"):
    """One instrument of a pole: a convention (partenariat, coopération, partenariat spécifique) or a ressort.

    ``instrument_key`` identifies the instrument the decision produced (kind, other PO, specific school), so that
    re-deciding finds the same row. ``active`` is False once the decision no longer produces it (e.g. a ressort de
    partenariat replaced by a convention de partenariat); such a row is kept for the history, never deleted.
    """

    pole = ForeignKey(references=Pole, index=True)
    kind = Varchar(length=30)
    instrument_key = Varchar(length=60)
    other_po = ForeignKey(references=OrganisingBody, null=True)
    specific_school = ForeignKey(references=Establishment, null=True)
    step = Varchar(length=30, default="ecoles")
    active = Boolean(default=True)
    care_starts_on = Date(null=True, default=None)
    list_validated_at = Timestamptz(null=True, default=None)
    articles_validated_at = Timestamptz(null=True, default=None)
    admin_validated_at = Timestamptz(null=True, default=None)
    admin_validated_by = ForeignKey(references=Account, null=True)
    document = ForeignKey(references=StoredDocument, null=True)
    version = Integer(default=1)
    demo = Boolean(default=False)
    created_at = Timestamptz()


class ConventionSchool(Table, tablename="convention_school"):
    """A school covered by a convention, with its dérogation when it lies outside the seat's zone."""

    convention = ForeignKey(references=Convention, index=True)
    establishment = ForeignKey(references=Establishment, index=True)
    derogation = ForeignKey(references=StoredDocument, null=True)
    added_at = Timestamptz()


class ArticleText(Table, tablename="convention_article"):
    """The text written for one article of a convention (``data``: JSON of the article 8 tables)."""

    convention = ForeignKey(references=Convention, index=True)
    key = Varchar(length=20)
    text = Text(default="")
    data = Text(default="")
    version = Integer(default=1)
    saved_by = ForeignKey(references=Account, null=True)
    saved_at = Timestamptz(null=True, default=None)


class Signature(Table, tablename="convention_signature"):
    """The signature of a convention by the délégué of one organising body."""

    convention = ForeignKey(references=Convention, index=True)
    organising_body = ForeignKey(references=OrganisingBody)
    account = ForeignKey(references=Account)
    signed_at = Timestamptz()


class Acknowledgment(Table, tablename="convention_acknowledgment"):
    """The prise de connaissance of a validated convention by the direction of one school."""

    convention = ForeignKey(references=Convention, index=True)
    establishment = ForeignKey(references=Establishment)
    account = ForeignKey(references=Account)
    at = Timestamptz()


class ChangeRequest(Table, tablename="convention_change_request"):
    """A request to the Administration to change a validated convention (status en_attente/accordee/refusee)."""

    convention = ForeignKey(references=Convention, index=True)
    reason = Text()
    status = Varchar(length=20, default="en_attente")
    requested_by = ForeignKey(references=Account)
    requested_at = Timestamptz()
    decided_by = ForeignKey(references=Account, null=True)
    decided_at = Timestamptz(null=True, default=None)
    decision_note = Text(default="")


class StaffFunction(Table, tablename="convention_function"):
    """Reference data kept by the Administration: a function (logopède…) and its points for a full time (5/5)."""

    name = Varchar(length=120, unique=True)
    points = Integer()
    demo = Boolean(default=False)


class SchoolHoliday(Table, tablename="convention_holiday"):
    """Reference data: a school holiday (inclusive dates), not counted as a school working day."""

    starts_on = Date()
    ends_on = Date()
    label = Varchar(length=120)
    demo = Boolean(default=False)


class Campaign(Table, tablename="convention_campaign"):
    """Reference data: the date by which a school year's conventions are due (15 October in 2022)."""

    school_year = Varchar(length=9, unique=True)
    due_on = Date()
    demo = Boolean(default=False)


class Avenant(Table, tablename="convention_avenant"):
    """An annual avenant to the split (partenariat, ressort de partenariat) or to the transfer of points
    (partenariat spécifique) of a validated convention, for one effective school year (one per year).

    ``data``: JSON of the new article 8 table, with the structure the convention's article 8 stores. ``status``:
    brouillon → signatures → communique → pris_en_compte (by the Administration).
    """

    convention = ForeignKey(references=Convention, index=True)
    effective_year = Varchar(length=9)
    data = Text(default="")
    motivation = Text(default="")
    status = Varchar(length=20, default="brouillon")
    version = Integer(default=1)
    created_by = ForeignKey(references=Account, null=True)
    created_at = Timestamptz()
    communicated_at = Timestamptz(null=True, default=None)
    taken_at = Timestamptz(null=True, default=None)
    taken_by = ForeignKey(references=Account, null=True)
    document = ForeignKey(references=StoredDocument, null=True)
    demo = Boolean(default=False)


class AvenantSignature(Table, tablename="convention_avenant_signature"):
    """The signature of an avenant by the délégué of one organising body concerned."""

    avenant = ForeignKey(references=Avenant, index=True)
    organising_body = ForeignKey(references=OrganisingBody)
    account = ForeignKey(references=Account)
    signed_at = Timestamptz()
