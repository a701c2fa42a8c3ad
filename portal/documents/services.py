"""Stored documents (SPEC §9): the bytes of an issued document, kept once with their SHA-256 and served as stored.

A stored document is never rewritten: :func:`store` inserts it, :func:`fetch` reads it back byte for byte,
:func:`revoke` records a revocation (time and reason) and leaves the bytes alone. Short-lived documents (a batch of
attestations, kind ``lot``) may be purged with :func:`purge`. No Litestar here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from portal.core.clock import as_aware, now
from portal.documents.tables import StoredDocument

PDF = "application/pdf"
#: Kinds that may be purged: derived documents that are made again on demand, never issued documents.
TRANSIENT_KINDS = frozenset({"lot"})


def sha256_hex(content: bytes) -> str:
    """The SHA-256 of ``content``, as 64 lowercase hexadecimal characters."""
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True)
class Document:
    """A stored document read back: what a download needs."""

    id: int
    kind: str
    number: str
    media_type: str
    filename: str
    sha256: str
    size: int
    content: bytes
    created_at: datetime
    revoked_at: datetime | None
    revoked_reason: str

    @property
    def etag(self) -> str:
        """A strong HTTP entity tag: the SHA-256 of the bytes, quoted."""
        return f'"{self.sha256}"'

    @property
    def revoked(self) -> bool:
        """True once the document has been revoked."""
        return self.revoked_at is not None


def _document(row: dict) -> Document:
    content = row["content"]
    if isinstance(content, memoryview):  # asyncpg may hand back a memoryview
        content = content.tobytes()
    return Document(
        id=row["id"], kind=row["kind"], number=row["number"], media_type=row["media_type"],
        filename=row["filename"], sha256=row["sha256"], size=row["size"], content=bytes(content),
        created_at=as_aware(row["created_at"]),
        revoked_at=as_aware(row["revoked_at"]) if row["revoked_at"] else None,
        revoked_reason=row["revoked_reason"] or "",
    )


async def store(kind: str, number: str, filename: str, content: bytes, *, media_type: str = PDF,
                created_at: datetime | None = None) -> int:
    """Insert a document once (``number`` is unique) with its SHA-256 and size; returns its id."""
    row = StoredDocument(
        kind=kind, number=number, media_type=media_type, filename=filename[:120], sha256=sha256_hex(content),
        size=len(content), content=content, created_at=created_at or now(),
    )
    result = await StoredDocument.insert(row).returning(StoredDocument.id)
    return result[0]["id"]


async def fetch(document_id: int) -> Document | None:
    """The stored document ``document_id`` with its bytes, or None."""
    row = await StoredDocument.select().where(StoredDocument.id == document_id).first()
    return _document(row) if row else None


async def fetch_many(document_ids: list[int]) -> list[Document]:
    """The stored documents of ``document_ids`` (any order; unknown ids are absent), in one query."""
    if not document_ids:
        return []
    rows = await StoredDocument.select().where(StoredDocument.id.is_in(list(document_ids)))
    return [_document(row) for row in rows]


async def fetch_by_number(number: str) -> Document | None:
    """The stored document carrying ``number``, or None."""
    row = await StoredDocument.select().where(StoredDocument.number == number).first()
    return _document(row) if row else None


def verify(document: Document) -> bool:
    """True when the bytes still match the SHA-256 recorded when they were stored."""
    return sha256_hex(document.content) == document.sha256 and len(document.content) == document.size


async def revoke(document_id: int, reason: str, at: datetime | None = None) -> None:
    """Record that a document is revoked (the bytes stay as stored); a second revocation changes nothing."""
    await StoredDocument.update(
        {StoredDocument.revoked_at: at or now(), StoredDocument.revoked_reason: reason}
    ).where((StoredDocument.id == document_id) & StoredDocument.revoked_at.is_null())


async def purge(kind: str, older_than: datetime) -> int:
    """Delete the documents of a transient ``kind`` (e.g. ``lot``) created before ``older_than``."""
    if kind not in TRANSIENT_KINDS:
        raise ValueError(f"issued documents are never deleted (kind {kind!r})")
    stale = await StoredDocument.select(StoredDocument.id).where(
        (StoredDocument.kind == kind) & (StoredDocument.created_at < older_than)
    )
    if stale:
        await StoredDocument.delete().where(StoredDocument.id.is_in([row["id"] for row in stale]))
    return len(stale)
