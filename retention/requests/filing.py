"""Filing a removal request: the sealed claims, the reference, evidence and candidates.

Layer: ``retention.requests`` (no Flask; ``web`` drives it). The decisions on a request (match,
ask, answer, extend, deny, approve) are in ``retention.requests.workflow``.

A request's claims — name, date of birth, booking number, contact, free text, evidence — are
sealed under the request's own data key (wrapped like a record's), so they can be shredded on
their own retention schedule; blind indexes of name + date of birth and booking number find
candidate records without decrypting anything. The public reference is a bearer secret shown
once: only its SHA-256 is stored. Nothing a requester sees depends on whether a record matched
(invariant 7): matching is staff work.

States: received → under_review → approved | denied | needs_info (→ under_review when the
requester answers) → completed (every matched record purged or restricted; certificates ready).
The response deadline comes from the rule pack of the jurisdiction (e.g. DPA 2018 s.54 one
month; GDPR Art 12(3) one month, extendable by two with notice); asking for information pauses it
where the law allows (s.54(2): the clock runs from the relevant time). Where no statute sets one
the pack's service target does, and ``deadline_basis`` records which ("statutory" or
"service_target": pages say "respond by" or "we aim to answer by").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from policies import Facts, Request, evaluate
from policies.vocabulary import (
    DeadlineBasis,
    ExtensionStatus,
    Jurisdiction,
    RequestKind,
    RestrictionGround,
)
from retention.audit import chain as audit
from retention.db.models import (
    Record,
    RecordStatus,
    RemovalRequest,
    RequestMatch,
    RequestState,
)
from retention.engine import decisions
from retention.engine.reasons import stated_reason
from retention.errors import NotFoundError, RetentionError
from retention.keys import crypto
from retention.keys.indexes import booking_index, name_dob_index
from retention.keys.keyring import Keyring
from retention.storage.interface import BlobStore

GROUNDS = (
    "not_charged",
    "dismissed",
    "acquitted",
    "conviction_quashed",
    "factually_innocent",
    "sealed",
    "under_18",
    "consent_withdrawn",
    "other",
)
EVIDENCE_TYPES = {
    b"%PDF-": "application/pdf",
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG": "image/png",
}
MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
MAX_TEXT = 4000
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out over the phone


class RequestError(RetentionError):
    """A request cannot be filed or moved as asked (names the field or the state)."""


@dataclass(frozen=True)
class Claims:
    """What a requester says about themselves (sealed at rest)."""

    name: str
    date_of_birth: dt.date
    contact: str
    booking_number: str | None = None
    details: str = ""

    def __repr__(self) -> str:
        return "<Claims (sealed)>"


def new_reference() -> str:
    """An unguessable reference: 20 characters from a 32-letter alphabet (100 bits)."""
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(20))
    return "-".join(raw[i : i + 5] for i in range(0, 20, 5))


def reference_digest(reference: str) -> str:
    """How a reference is stored and looked up (case and separators ignored)."""
    return hashlib.sha256(crypto.normalise_identifier(reference).encode()).hexdigest()


def evidence_type(data: bytes) -> str:
    """The media type of an evidence upload, by its signature; PDF, JPEG or PNG only."""
    for magic, media_type in EVIDENCE_TYPES.items():
        if data.startswith(magic):
            return media_type
    raise RequestError("evidence must be a PDF, JPEG or PNG file")


@dataclass(frozen=True, slots=True)
class ResponseTerms:
    """A request's response date as the law (or the agency's target) sets it on one day.

    ``basis`` says whether ``respond_by`` is statutory or a service target; ``extension``
    whether it can still be, or has been, extended; ``rule`` names the pack rule that set it.
    All None when nothing sets a date (the statutory clock is stopped while information is
    awaited, DPA 2018 s.54(2)).
    """

    respond_by: dt.date | None
    basis: DeadlineBasis | None
    extension: ExtensionStatus | None
    rule: str | None


def response_terms(
    session: Session,
    jurisdiction: str,
    kind: RequestKind,
    received: dt.date,
    *,
    today: dt.date | None = None,
    extension: dt.date | None = None,
    info_requested: dt.date | None = None,
    info_received: dt.date | None = None,
) -> ResponseTerms:
    """The response date, its basis and the extension's status for a request with these dates,
    as they stand on ``today`` (default: the receipt date)."""
    facts = Facts(
        id="request",
        jurisdiction=Jurisdiction(jurisdiction),
        captured_on=received,
        request=Request(
            kind=kind,
            received_on=received,
            extension_notice_on=extension,
            clarification_requested_on=info_requested,
            clarification_received_on=info_received,
        ),
    )
    pack = decisions.PackResolver(session).pack_for(jurisdiction)
    decision = evaluate(pack, facts, today or received)
    return ResponseTerms(
        decision.respond_by, decision.respond_basis, decision.extension, decision.respond_rule
    )


def response_deadline(
    session: Session,
    jurisdiction: str,
    kind: RequestKind,
    received: dt.date,
    *,
    extension: dt.date | None = None,
    info_requested: dt.date | None = None,
    info_received: dt.date | None = None,
) -> dt.date | None:
    """The response date alone (see ``response_terms`` for its basis)."""
    return response_terms(
        session,
        jurisdiction,
        kind,
        received,
        extension=extension,
        info_requested=info_requested,
        info_received=info_received,
    ).respond_by


def file_request(
    session: Session,
    keyring: Keyring,
    store: BlobStore,
    *,
    claims: Claims,
    kind: RequestKind,
    jurisdiction: Jurisdiction,
    grounds: list[str],
    evidence: bytes | None,
    now: dt.datetime,
    restriction_ground: RestrictionGround | None = None,
) -> tuple[RemovalRequest, str]:
    """File a request; returns it and its reference (shown to the requester once).

    ``restriction_ground`` (GDPR Art 18(1), DPA 2018 s.47(3), LED Art 16(3)(a)) is kept with a
    restriction request: it decides whether the restriction prevails over erasure rules."""
    if restriction_ground is not None and kind is not RequestKind.RESTRICTION:
        raise RequestError("restriction_ground: only a restriction request has one")
    bad = [g for g in grounds if g not in GROUNDS]
    if bad or not grounds:
        raise RequestError("grounds: choose at least one of the listed grounds")
    if len(claims.details) > MAX_TEXT:
        raise RequestError(f"details: at most {MAX_TEXT} characters")
    request_id = uuid.uuid4().hex
    key_id = uuid.uuid4().hex
    data_key = crypto.new_data_key()
    kek_version, wrapped = keyring.wrap(data_key, key_id=key_id)
    sealed = crypto.seal_field(
        data_key,
        json.dumps(
            {
                "name": claims.name,
                "date_of_birth": claims.date_of_birth.isoformat(),
                "contact": claims.contact,
                "booking_number": claims.booking_number,
                "details": claims.details,
                "answers": [],
            }
        ).encode(),
        record_id=request_id,
        field="claims",
    )
    evidence_id = media_type = None
    if evidence:
        if len(evidence) > MAX_EVIDENCE_BYTES:
            raise RequestError(f"evidence: larger than {MAX_EVIDENCE_BYTES // (1024 * 1024)} MiB")
        media_type = evidence_type(evidence)
        evidence_id = uuid.uuid4().hex
    reference = new_reference()
    today = now.date()
    terms = response_terms(session, jurisdiction.value, kind, today)
    req = RemovalRequest(
        id=request_id,
        reference_sha256=reference_digest(reference),
        kind=kind.value,
        jurisdiction=jurisdiction.value,
        grounds=sorted(set(grounds)),
        state=RequestState.RECEIVED.value,
        received_on=today,
        respond_by=terms.respond_by,
        deadline_basis=terms.basis.value if terms.basis else None,
        restriction_ground=restriction_ground.value if restriction_ground else None,
        claims_sealed=sealed,
        key_id=key_id,
        kek_version=kek_version,
        wrapped_key=wrapped,
        name_dob_bidx=name_dob_index(keyring, claims.name, claims.date_of_birth),
        booking_bidx=booking_index(keyring, claims.booking_number)
        if claims.booking_number
        else None,
        evidence_blob=evidence_id,
        evidence_media_type=media_type,
        evidence_bytes=len(evidence) if evidence else None,
        created_at=now,
        updated_at=now,
    )
    session.add(req)
    session.flush()
    if evidence_id is not None and evidence is not None:
        store.put(
            evidence_id,
            crypto.seal_blob(data_key, evidence, record_id=request_id, image_id=evidence_id),
        )
    audit.append(
        session,
        now=now,
        actor="public",
        action="request.received",
        object_type="request",
        object_id=request_id,
        details={"kind": kind.value, "jurisdiction": jurisdiction.value, "grounds": len(grounds)},
    )
    return req, reference


def by_reference(session: Session, reference: str) -> RemovalRequest | None:
    """The request a public reference names, if any."""
    return session.execute(
        select(RemovalRequest).where(RemovalRequest.reference_sha256 == reference_digest(reference))
    ).scalar_one_or_none()


def request_key(keyring: Keyring, req: RemovalRequest) -> bytes:
    if req.wrapped_key is None or req.key_id is None or req.kek_version is None:
        raise RequestError(f"request {req.id}: its claims were destroyed")
    return keyring.unwrap(req.wrapped_key, key_id=req.key_id, version=req.kek_version)


def open_claims(
    session: Session,
    keyring: Keyring,
    req: RemovalRequest,
    *,
    actor: str,
    reason: str,
    now: dt.datetime,
) -> dict[str, Any]:
    """Decrypt a request's claims for a clerk, for the reason they state (audited with it)."""
    why = stated_reason(reason)
    key = request_key(keyring, req)
    assert req.claims_sealed is not None
    claims: dict[str, Any] = json.loads(
        crypto.open_field(key, req.claims_sealed, record_id=req.id, field="claims")
    )
    audit.append(
        session,
        now=now,
        actor=actor,
        action="request.claims_viewed",
        object_type="request",
        object_id=req.id,
        details={"reason": why},
    )
    return claims


def evidence(
    session: Session,
    keyring: Keyring,
    store: BlobStore,
    req: RemovalRequest,
    *,
    actor: str,
    reason: str,
    now: dt.datetime,
) -> tuple[str, bytes]:
    """Decrypt the evidence upload for the reason stated (audited with it): (media type,
    bytes)."""
    why = stated_reason(reason)
    if req.evidence_blob is None or req.evidence_media_type is None:
        raise NotFoundError(f"request {req.id} has no evidence")
    data = crypto.open_blob(
        request_key(keyring, req),
        store.get(req.evidence_blob),
        record_id=req.id,
        image_id=req.evidence_blob,
    )
    audit.append(
        session,
        now=now,
        actor=actor,
        action="request.evidence_viewed",
        object_type="request",
        object_id=req.id,
        details={"reason": why},
    )
    return req.evidence_media_type, data


def candidates(session: Session, req: RemovalRequest) -> list[Record]:
    """Records whose booking number, or name and date of birth, match the claims exactly."""
    conditions = []
    if req.booking_bidx:
        conditions.append(Record.booking_bidx == req.booking_bidx)
    if req.name_dob_bidx:
        conditions.append(Record.name_dob_bidx == req.name_dob_bidx)
    if not conditions:
        return []
    return list(
        session.execute(
            select(Record)
            .where(or_(*conditions), Record.status != RecordStatus.PURGED.value)
            .order_by(Record.created_at, Record.id)
        ).scalars()
    )


def matched(session: Session, req: RemovalRequest) -> list[Record]:
    """Records a clerk matched to the request."""
    return list(
        session.execute(
            select(Record)
            .join(RequestMatch, RequestMatch.record_id == Record.id)
            .where(RequestMatch.request_id == req.id)
            .order_by(Record.id)
        ).scalars()
    )
