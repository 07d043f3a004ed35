"""What the requester sends after filing: answers' and replies' text and files, sealed with the
request's claims; the reply to a refusal.

Layer: ``retention.requests`` (no Flask; ``web.public`` drives it; ``workflow.answer`` uses
``add_to_claims``). Text joins the sealed claims' ``answers`` list (the clerk's page lists them,
a reply marked ``"kind": "reply"``); a file becomes a ``RequestAttachment`` whose blob is sealed
under the request's data key (the blob registry knows the kind). A reply to a refusal leaves the
request refused and sets ``replied_on`` so the clerk's queue shows a reply is waiting. Nothing
here commits: the caller's transaction holds the step.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from retention.audit import chain as audit
from retention.db.models import RemovalRequest, RequestAttachment, RequestState
from retention.db.rows import locked
from retention.engine.reasons import stated_reason
from retention.errors import NotFoundError
from retention.keys import crypto
from retention.keys.keyring import Keyring
from retention.requests.filing import (
    MAX_EVIDENCE_BYTES,
    MAX_TEXT,
    RequestError,
    by_reference,
    evidence_type,
    request_key,
)
from retention.storage.interface import BlobStore


def add_to_claims(
    session: Session,
    keyring: Keyring,
    store: BlobStore | None,
    req: RemovalRequest,
    *,
    text: str,
    evidence: bytes | None,
    sent_with: str,
    now: dt.datetime,
) -> None:
    """Seal the requester's text (and file) into the request: the text joins the claims'
    ``answers`` (the clerk's page lists them), the file becomes a ``RequestAttachment``."""
    if not text.strip():
        raise RequestError(f"text: write your {sent_with}")
    if len(text) > MAX_TEXT:
        raise RequestError(f"text: at most {MAX_TEXT} characters")
    media_type = None
    if evidence:
        if len(evidence) > MAX_EVIDENCE_BYTES:
            raise RequestError(f"evidence: larger than {MAX_EVIDENCE_BYTES // (1024 * 1024)} MiB")
        media_type = evidence_type(evidence)
        if store is None:
            raise RequestError("evidence: files cannot be received here")
    key = request_key(keyring, req)
    assert req.claims_sealed is not None
    claims = json.loads(crypto.open_field(key, req.claims_sealed, record_id=req.id, field="claims"))
    entry: dict[str, Any] = {"on": now.date().isoformat(), "text": text.strip()}
    if sent_with != "answer":
        entry["kind"] = sent_with
    if evidence and media_type is not None and store is not None:
        blob_id = uuid.uuid4().hex
        session.add(
            RequestAttachment(
                id=blob_id,
                request_id=req.id,
                media_type=media_type,
                size_bytes=len(evidence),
                sent_with=sent_with,
                created_at=now,
            )
        )
        session.flush()
        store.put(blob_id, crypto.seal_blob(key, evidence, record_id=req.id, image_id=blob_id))
        entry["attachment"] = blob_id
    claims.setdefault("answers", []).append(entry)
    req.claims_sealed = crypto.seal_field(
        key, json.dumps(claims).encode(), record_id=req.id, field="claims"
    )


def reply(
    session: Session,
    keyring: Keyring,
    reference: str,
    *,
    text: str,
    now: dt.datetime,
    store: BlobStore | None = None,
    evidence: bytes | None = None,
) -> RemovalRequest:
    """The requester's reply to a refusal, with an optional file: sealed with the claims and
    audited; the request stays refused and ``replied_on`` shows the clerk a reply is waiting."""
    if not text.strip() or len(text) > MAX_TEXT:
        raise RequestError(f"text: between 1 and {MAX_TEXT} characters")
    found = by_reference(session, reference)
    if found is None or found.state != RequestState.DENIED.value:
        raise RequestError("this request has not been refused")
    req = locked(session, RemovalRequest, found.id, "request")
    add_to_claims(
        session, keyring, store, req, text=text, evidence=evidence, sent_with="reply", now=now
    )
    req.replied_on = now.date()
    req.updated_at = now
    audit.append(
        session,
        now=now,
        actor="public",
        action="request.replied",
        object_type="request",
        object_id=req.id,
        details={"attachment": bool(evidence)},
    )
    return req


def attachments(session: Session, req: RemovalRequest) -> list[RequestAttachment]:
    """Files the requester sent after filing, oldest first."""
    return list(
        session.execute(
            select(RequestAttachment)
            .where(RequestAttachment.request_id == req.id)
            .order_by(RequestAttachment.created_at, RequestAttachment.id)
        ).scalars()
    )


def open_attachment(
    session: Session,
    keyring: Keyring,
    store: BlobStore,
    req: RemovalRequest,
    attachment_id: str,
    *,
    actor: str,
    reason: str,
    now: dt.datetime,
) -> tuple[str, bytes]:
    """Decrypt a file the requester sent, for the reason stated (audited with it):
    (media type, bytes)."""
    why = stated_reason(reason)
    row = session.get(RequestAttachment, attachment_id)
    if row is None or row.request_id != req.id:
        raise NotFoundError(f"request {req.id} has no attachment {attachment_id}")
    data = crypto.open_blob(
        request_key(keyring, req), store.get(row.id), record_id=req.id, image_id=row.id
    )
    audit.append(
        session,
        now=now,
        actor=actor,
        action="request.attachment_viewed",
        object_type="request",
        object_id=req.id,
        details={"attachment": row.id, "reason": why},
    )
    return row.media_type, data
