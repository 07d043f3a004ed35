"""The registry of every kind of row that names a blob: what the janitor may and may not collect.

Layer: ``retention.db``; imports only the models and SQLAlchemy. Helpers take a session and
never commit.

Invariant 12 (DESIGN.md): every blob is referenced by exactly one kind of row that the janitor
knows, and nothing referenced is ever collected. The janitor deletes a blob only when no row
named here references it (and it is older than its grace period), or when the row that
references it has lost its key — then the blob is crypto-shredded noise.

**Any new row that names a blob key must be added to ``KINDS`` below**, with a query that says,
for a chunk of keys, which of them it references and whether the referencing row's key still
exists. A kind of blob missing from here is deleted by the janitor as an orphan once it is older
than the grace period, while its row still points at it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeAlias

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session

from retention.db.models import DataKey, Image, RemovalRequest, RequestAttachment

# Given a chunk of blob keys: a statement selecting (blob key, the referencing row's key exists)
# for the keys in the chunk that this kind of row references.
ChunkQuery: TypeAlias = "Callable[[Collection[str]], Select[Any, Any]]"


@dataclass(frozen=True, slots=True)
class BlobKind:
    """One kind of row that names blobs."""

    name: str
    what: str
    query: ChunkQuery


@dataclass(frozen=True, slots=True)
class BlobRef:
    """How a blob is referenced: by which kind of row, and whether that row's key still exists
    (``False``: the key was destroyed, so the blob can never be opened again)."""

    kind: str
    key_alive: bool


def _images(keys: Collection[str]) -> Select[Any, Any]:
    # An image blob is sealed under its record's data key: no DataKey row, no way to open it.
    return (
        select(Image.id, DataKey.id.is_not(None))
        .outerjoin(DataKey, DataKey.record_id == Image.record_id)
        .where(Image.id.in_(keys))
    )


def _request_evidence(keys: Collection[str]) -> Select[Any, Any]:
    # Evidence is sealed under the request's own data key, wrapped in the request row
    # (``retention.requests.filing.request_key`` needs all three columns).
    alive = and_(
        RemovalRequest.wrapped_key.is_not(None),
        RemovalRequest.key_id.is_not(None),
        RemovalRequest.kek_version.is_not(None),
    )
    return select(RemovalRequest.evidence_blob, alive).where(RemovalRequest.evidence_blob.in_(keys))


def _request_attachments(keys: Collection[str]) -> Select[Any, Any]:
    # Files sent with an answer or a reply: sealed under their request's data key.
    alive = and_(
        RemovalRequest.wrapped_key.is_not(None),
        RemovalRequest.key_id.is_not(None),
        RemovalRequest.kek_version.is_not(None),
    )
    return (
        select(RequestAttachment.id, alive)
        .join(RemovalRequest, RemovalRequest.id == RequestAttachment.request_id)
        .where(RequestAttachment.id.in_(keys))
    )


KINDS: tuple[BlobKind, ...] = (
    BlobKind("image", "originals and derivatives (images.id)", _images),
    BlobKind(
        "request_evidence",
        "removal-request evidence uploads (removal_requests.evidence_blob)",
        _request_evidence,
    ),
    BlobKind(
        "request_attachment",
        "files sent with an answer or a reply (request_attachments.id)",
        _request_attachments,
    ),
)


def references(session: Session, keys: Collection[str]) -> dict[str, BlobRef]:
    """The blobs among ``keys`` that some row references, each with how.

    Keys absent from the result are referenced by no row. Should two rows ever name one blob
    (invariant 12 says they must not), the blob counts as alive while any of them can open it:
    the janitor errs on the side of keeping.
    """
    found: dict[str, BlobRef] = {}
    if not keys:
        return found
    for kind in KINDS:
        for blob, alive in session.execute(kind.query(keys)):
            if blob is None:
                continue
            ref = BlobRef(kind.name, bool(alive))
            prior = found.get(blob)
            if prior is None or (ref.key_alive and not prior.key_alive):
                found[blob] = ref
    return found
