"""Piccolo table of stored documents."""

from piccolo.columns import Bytea, Integer, Text, Timestamptz, Varchar
from piccolo.table import Table


class StoredDocument(Table, tablename="stored_document"):
    """The bytes of an issued document with their SHA-256. Kept in the database so that several application
    processes (PostgreSQL) serve the same bytes; never updated except to record a revocation."""

    kind = Varchar(length=30, index=True)  # attestation / convention / …
    number = Varchar(length=40, unique=True)
    media_type = Varchar(length=60, default="application/pdf")
    filename = Varchar(length=120)
    sha256 = Varchar(length=64)
    size = Integer()
    content = Bytea()
    created_at = Timestamptz()
    revoked_at = Timestamptz(null=True, default=None)
    revoked_reason = Text(default="")
