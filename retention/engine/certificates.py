"""Deletion certificates: signed proof of what was destroyed, when, why.

Layer: ``retention.engine``. A certificate is canonical JSON (RFC 8785) signed with the keyring's
Ed25519 key. It names opaque ids and hashes only — never a name or an image — so it can be given
to the person in the photo, to an auditor or to a court, and verified by anyone holding the
public key (``mugshot cert pubkey``), with no access to this system.

A certificate issued for a removal request carries ``requester_reference_sha256``: the SHA-256
(hex) of the requester's private reference, written in capitals without dashes or spaces — the
person can recognise it as theirs (``/verify`` with the reference typed in, or any SHA-256 tool)
while the certificate itself reveals nothing that leads back to them. ``summary`` reads a body
into the plain facts the public pages put in words.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from sqlalchemy.orm import Session

from retention.db.models import Certificate
from retention.keys.keyring import Keyring

CERT_FORMAT = "mugshot-deletion-certificate/1"


@dataclass(frozen=True, slots=True)
class DestroyedImage:
    """One destroyed image as the certificate names it."""

    id: str
    kind: str
    sealed_sha256: str


def issue(
    session: Session,
    keyring: Keyring,
    *,
    record_id: str,
    images: list[DestroyedImage],
    data_key_id: str,
    kek_version: int,
    reason: Mapping[str, Any],
    destroyed_at: dt.datetime,
    audit_seq: int,
    audit_hash: str,
    request_reference: str | None = None,
    requester_reference_sha256: str | None = None,
) -> Certificate:
    """Sign a certificate for a purge and add it to the caller's transaction."""
    cert_id = uuid.uuid4().hex
    body: dict[str, Any] = {
        "format": CERT_FORMAT,
        "certificate_id": cert_id,
        "record_id": record_id,
        "request_reference": request_reference,
        "requester_reference_sha256": requester_reference_sha256,
        "destroyed": {
            "images": [
                {"id": i.id, "kind": i.kind, "sealed_sha256": i.sealed_sha256} for i in images
            ],
            "data_key": {"id": data_key_id, "kek_version": kek_version},
            "identity_fields": True,
            "method": "crypto-shred: data key deleted, sealed fields cleared, blobs deleted",
        },
        "reason": dict(reason),
        "destroyed_at": destroyed_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "audit": {"seq": audit_seq, "hash": audit_hash},
    }
    body = json.loads(json.dumps(body))
    signature = keyring.signing_key().sign(rfc8785.dumps(body)).hex()
    cert = Certificate(
        id=cert_id,
        record_id=record_id,
        request_reference=request_reference,
        body=body,
        signature=signature,
        audit_seq=audit_seq,
        created_at=destroyed_at,
    )
    session.add(cert)
    return cert


def document(cert: Certificate, public_key_pem: bytes) -> dict[str, Any]:
    """The file handed out: body, signature and the key to check it with."""
    return {
        "certificate": cert.body,
        "signature": cert.signature,
        "algorithm": "Ed25519 over RFC 8785 canonical JSON of 'certificate'",
        "public_key": public_key_pem.decode(),
    }


def verify(doc: Mapping[str, Any], public_key_pem: bytes) -> str | None:
    """None when ``doc`` is a genuine certificate signed by ``public_key_pem``; else why not.

    The key embedded in the document is ignored: a forger could embed their own. Only the key the
    verifier trusts counts.
    """
    try:
        body = doc["certificate"]
        signature = bytes.fromhex(str(doc["signature"]))
    except (KeyError, TypeError, ValueError):
        return "not a certificate file (missing 'certificate' or 'signature')"
    if not isinstance(body, dict) or body.get("format") != CERT_FORMAT:
        return f"not a {CERT_FORMAT} certificate"
    try:
        key = load_pem_public_key(public_key_pem)
    except ValueError:
        return "the public key is not a PEM public key"
    if not isinstance(key, Ed25519PublicKey):
        return "the public key is not an Ed25519 key"
    try:
        key.verify(signature, rfc8785.dumps(body))
    except rfc8785.CanonicalizationError:
        return "not a certificate file (its content cannot be put in canonical form)"
    except InvalidSignature:
        return "signature does not verify: the certificate was altered or not issued by this key"
    return None


@dataclass(frozen=True, slots=True)
class Summary:
    """What a certificate says, as facts for a page to put in words (no wording here)."""

    certificate_id: str
    images: int
    originals: int
    identity_fields: bool
    data_key_deleted: bool
    destroyed_at: dt.datetime | None
    decision: str | None
    rule: str | None
    citation: str | None
    decided_by: str | None
    confirmed_by: str | None
    for_request: bool
    requester_reference_sha256: str | None


def summary(body: Mapping[str, Any]) -> Summary:
    """The facts of a certificate body (call after ``verify``: an unsigned body proves nothing).
    Tolerates missing fields (older certificates lack ``requester_reference_sha256``)."""
    raw_destroyed = body.get("destroyed")
    destroyed: Mapping[str, Any] = raw_destroyed if isinstance(raw_destroyed, dict) else {}
    raw_images = destroyed.get("images")
    images: list[Any] = raw_images if isinstance(raw_images, list) else []
    raw_reason = body.get("reason")
    reason: Mapping[str, Any] = raw_reason if isinstance(raw_reason, dict) else {}
    when = None
    raw_when = body.get("destroyed_at")
    if isinstance(raw_when, str):
        try:
            when = dt.datetime.fromisoformat(raw_when)
        except ValueError:
            when = None

    def text(value: Any) -> str | None:
        return str(value) if value not in (None, "") else None

    digest = body.get("requester_reference_sha256")
    return Summary(
        certificate_id=str(body.get("certificate_id", "")),
        images=len(images),
        originals=sum(1 for i in images if isinstance(i, dict) and i.get("kind") == "original"),
        identity_fields=bool(destroyed.get("identity_fields")),
        data_key_deleted=isinstance(destroyed.get("data_key"), dict),
        destroyed_at=when,
        decision=text(reason.get("decision")),
        rule=text(reason.get("rule")),
        citation=text(reason.get("citation")),
        decided_by=text(reason.get("decided_by")),
        confirmed_by=text(reason.get("confirmed_by")),
        for_request=body.get("request_reference") is not None,
        requester_reference_sha256=digest if isinstance(digest, str) else None,
    )
