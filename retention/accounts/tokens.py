"""API tokens for booking systems (``mugshot token add``).

Layer: ``retention.accounts``. A token is shown once; only its SHA-256 is stored, so a database leak
reveals no usable token. Tokens are revocable and every use names the token (never the secret)
as the actor in provenance and audit entries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from retention.audit import chain as audit
from retention.db.models import ApiToken
from retention.errors import NotFoundError, RetentionError

PREFIX = "mgs_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(session: Session, *, name: str, actor: str, now: dt.datetime) -> tuple[ApiToken, str]:
    """A new token for ``name`` (a booking system); returns the row and the secret, once."""
    if not name.strip() or len(name) > 64:
        raise RetentionError("token name: 1 to 64 characters")
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
    audit.append(
        session,
        now=now,
        actor=actor,
        action="token.created",
        object_type="token",
        object_id=row.id,
        details={"token": row.name},
    )
    return row, secret


def authenticate(session: Session, secret: str) -> ApiToken | None:
    """The live token matching ``secret``, or None."""
    if not secret.startswith(PREFIX):
        return None
    row = session.execute(
        select(ApiToken).where(ApiToken.token_sha256 == _digest(secret))
    ).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return None
    return row


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
