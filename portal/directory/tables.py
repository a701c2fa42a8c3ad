"""Piccolo tables of the directory."""

from piccolo.columns import Boolean, ForeignKey, Integer, Varchar
from piccolo.table import Table


class Zone(Table, tablename="zone"):
    """A zone d'enseignement (FWB: a *bassin*) or, in France, an académie."""

    name = Varchar(length=120, unique=True)
    country = Varchar(length=2, default="BE")


class OrganisingBody(Table, tablename="organising_body"):
    """A pouvoir organisateur (PO), identified in FWB by its FASE number."""

    fase = Varchar(length=20, null=True, unique=True, default=None)
    name = Varchar(length=255)
    network = Varchar(length=120, default="")


class Establishment(Table, tablename="establishment"):
    """A school: Belgian (FASE number, implantations) or French (UAI)."""

    country = Varchar(length=2, default="BE", index=True)
    fase = Varchar(length=20, null=True, unique=True, default=None)
    uai = Varchar(length=10, null=True, unique=True, default=None)
    name = Varchar(length=255)
    kind = Varchar(length=40, default="ordinaire")  # ordinaire / spécialisé / lycée professionnel…
    city = Varchar(length=120, default="")
    organising_body = ForeignKey(references=OrganisingBody, null=True)
    zone = ForeignKey(references=Zone, null=True)
    demo = Boolean(default=False)


class Implantation(Table, tablename="implantation"):
    """A site of a Belgian establishment."""

    establishment = ForeignKey(references=Establishment, index=True)
    fase = Varchar(length=20, null=True, unique=True, default=None)
    name = Varchar(length=255)
    address = Varchar(length=255, default="")
    postcode = Varchar(length=10, default="")
    city = Varchar(length=120, default="")


class Pole(Table, tablename="pole"):
    """A pôle territorial, run by its seat school (école siège)."""

    name = Varchar(length=255)
    seat = ForeignKey(references=Establishment, index=True)
    demo = Boolean(default=False)


class PoleSchool(Table, tablename="pole_school"):
    """A school linked to a pole, with its role there: partenaire, partenaire spécifique, coopérante."""

    pole = ForeignKey(references=Pole, index=True)
    establishment = ForeignKey(references=Establishment, index=True)
    role = Varchar(length=30)
    position = Integer(default=0)
