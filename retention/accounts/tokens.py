"""API tokens for booking systems (``mugshot token add NAME --agency A``), and what they may see.

Layer: ``retention.accounts``. A token is shown once; only its SHA-256 is stored, so a database leak
reveals no usable token. Tokens are revocable and every use names the token (never the secret)
as the actor in provenance and audit entries.

A token belongs to one or more agencies (``api_token_agencies``): it may create records of
those agencies only (``may_write``) and read only their records that are not purged
(``visible_record``). Everything else — a record of another agency, no such record, a purged
one — is one and the same "no such record" to the caller, so a token learns nothing about
other agencies or about what was destroyed. A token issued before tokens had agencies has none:
it still authenticates (its booking system gets a clear refusal rather than a mystery 401) but
may create and read nothing until it is re-issued with ``--agency``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from retention.audit import chain as audit
from retention.db.models import ApiToken, ApiTokenAgency, Record, RecordStatus
from retention.errors import NotFoundError, RetentionError

PREFIX = "mgs_"
MAX_AGENCY_LENGTH = 64
# Longer than any token we issue is not ours; refuse it before hashing.
MAX_SECRET_LENGTH = 128
RECORD_ID_LENGTH = 32


@dataclass(frozen=True)
class TokenGrant:
    """An authenticated token: who it is (for audit) and the agencies it may act for."""

    id: str
    name: str
    agencies: frozenset[str]

    def may_write(self, agency: str) -> bool:
        """May this token create records of ``agency``?"""
        return agency in self.agencies


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_agencies(agencies: Iterable[str]) -> list[str]:
    """The agencies of a new token, stripped, deduplicated and sorted; raises ``RetentionError``
    naming the bad one (empty, too long, control characters) or when there is none."""
    cleaned: set[str] = set()
    for raw in agencies:
        agency = raw.strip()
        if not agency or len(agency) > MAX_AGENCY_LENGTH:
            raise RetentionError(
                f"--agency {raw!r}: an agency is 1 to {MAX_AGENCY_LENGTH} characters"
            )
        if any(not ch.isprintable() for ch in agency):
            raise RetentionError(f"--agency {raw!r}: control characters are not allowed")
        cleaned.add(agency)
    if not cleaned:
        raise RetentionError("a token needs at least one agency (--agency A [--agency B ...])")
    return sorted(cleaned)


def create(
    session: Session, *, name: str, agencies: Iterable[str], actor: str, now: dt.datetime
) -> tuple[ApiToken, str]:
    """A new token for ``name`` (a booking system) acting for ``agencies``; returns the row and
    the secret, once."""
    if not name.strip() or len(name.strip()) > 64:
        raise RetentionError("token name: 1 to 64 characters")
    scope = normalise_agencies(agencies)
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        id=uuid.uuid4().hex,
        name=name.strip(),
        token_sha256=_digest(secret),
        created_by=actor,
        created_at=now,
    )
    session.add(row)
    session.flush()
    session.add_all(ApiTokenAgency(token_id=row.id, agency=agency) for agency in scope)
    session.flush()
    audit.append(
        session,
        now=now,
        actor=actor,
        action="token.created",
        object_type="token",
        object_id=row.id,
        details={"token": row.name, "agencies": scope},
    )
    return row, secret


def agencies_of(session: Session, token_ids: Sequence[str]) -> Mapping[str, list[str]]:
    """The agencies of each token (sorted; a token without any maps to an empty list)."""
    found: dict[str, list[str]] = {token_id: [] for token_id in token_ids}
    if not token_ids:
        return found
    rows = session.execute(
        select(ApiTokenAgency.token_id, ApiTokenAgency.agency)
        .where(ApiTokenAgency.token_id.in_(list(token_ids)))
        .order_by(ApiTokenAgency.agency)
    )
    for token_id, agency in rows:
        found[token_id].append(agency)
    return found


def authenticate(session: Session, secret: str) -> TokenGrant | None:
    """The live token matching ``secret`` with its agencies, or None."""
    if not secret.startswith(PREFIX) or len(secret) > MAX_SECRET_LENGTH:
        return None
    row = session.execute(
        select(ApiToken).where(ApiToken.token_sha256 == _digest(secret))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    return TokenGrant(
        id=row.id, name=row.name, agencies=frozenset(agencies_of(session, [row.id])[row.id])
    )


def visible_record(session: Session, grant: TokenGrant, record_id: str) -> Record | None:
    """The record ``record_id`` if ``grant`` may read it — it exists, is not purged and belongs
    to one of the token's agencies — else None, the same None for every other case."""
    if len(record_id) != RECORD_ID_LENGTH or not grant.agencies:
        return None
    return session.execute(
        select(Record).where(
            Record.id == record_id,
            Record.agency.in_(sorted(grant.agencies)),
            Record.status != RecordStatus.PURGED.value,
        )
    ).scalar_one_or_none()


def revoke(session: Session, token_id: str, *, actor: str, now: dt.datetime) -> None:
    """Revoke a token at once."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFoundError(f"no token {token_id}")
    row.revoked_at = now
    audit.append(
        session,
        now=now,
        actor=actor,
        action="token.revoked",
        object_type="token",
        object_id=row.id,
        details={"token": row.name},
    )
