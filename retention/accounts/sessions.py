"""Staff sessions held on the server: a random id in the cookie, only its SHA-256 in the database.

Layer: ``retention.accounts``. No Flask: ``web.auth`` keeps the id in the (signed) session cookie
and calls these functions; ``retention.accounts.users`` ends an account's sessions when it is
deactivated or its password or TOTP secret is replaced. Like every helper here they take the
caller's session and never commit.

A session is a ``staff_sessions`` row keyed by ``sha256(id)``, where ``id`` is 32 random bytes
(``secrets.token_urlsafe``): a copy of the table (a backup, a replica) holds nothing that opens a
session. It is ``pending`` from a correct password until the code step (at most
``SessionPolicy.pending``), then ``active``. The code step never upgrades the pending row: it
deletes it and starts an active one under a *new* id (``promote``), so an id known before the
sign-in — planted in the browser, or read from it — never becomes a signed-in session
(fixation). An active session ends after ``idle`` without a request and ``max_age`` after the
sign-in however active it is. Ending a session deletes its row, so a copy of the cookie taken
before sign-out, deactivation or a credential reset no longer opens anything, anywhere: every
web worker reads the same table.

The idle clock is written at most once per ``TOUCH_INTERVAL`` (not on every click), so that
browsing is not a database write per request; the idle limit is therefore exact to within that
interval, and never longer than configured.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from retention.db.models import Role, StaffSession, User

TOUCH_INTERVAL = dt.timedelta(seconds=60)
# Longer than any id we issue is not ours; refuse it before hashing.
MAX_ID_LENGTH = 128


class State(enum.StrEnum):
    """Between the password and the code, then signed in."""

    PENDING = "pending"
    ACTIVE = "active"


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions last (the web app's settings)."""

    idle: dt.timedelta = dt.timedelta(minutes=15)
    max_age: dt.timedelta = dt.timedelta(hours=12)
    pending: dt.timedelta = dt.timedelta(minutes=5)

    def lifetime(self, state: State) -> dt.timedelta:
        """The absolute limit of a session in ``state``."""
        return self.max_age if state is State.ACTIVE else self.pending


class Check(enum.StrEnum):
    """What a presented session id turned out to be."""

    OK = "ok"
    EXPIRED = "expired"  # idle or past its absolute limit: the row is to be deleted
    UNKNOWN = "unknown"  # no such row (ended, never issued), wrong state, or account inactive


@dataclass(frozen=True)
class Account:
    """The account behind a live session, as read on this request."""

    id: str
    username: str
    role: Role


@dataclass(frozen=True)
class Found:
    """The outcome of ``check``: the account behind a live session (None unless ``OK``), and
    whether its idle clock is due to be written."""

    check: Check
    account: Account | None = None
    needs_touch: bool = False


def digest(session_id: str) -> str:
    """The stored form of a session id."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def _plausible(session_id: object) -> bool:
    return isinstance(session_id, str) and 0 < len(session_id) <= MAX_ID_LENGTH


def start(
    session: Session, *, user_id: str, state: State, now: dt.datetime, policy: SessionPolicy
) -> str:
    """A new session for the account; returns the id to put in the cookie (stored only hashed)."""
    session_id = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            id_sha256=digest(session_id),
            user_id=user_id,
            state=state.value,
            created_at=now,
            last_seen_at=now,
            expires_at=now + policy.lifetime(state),
        )
    )
    session.flush()
    return session_id


def _row(session: Session, session_id: object, *, for_update: bool = False) -> StaffSession | None:
    if not _plausible(session_id):
        return None
    assert isinstance(session_id, str)
    stmt = select(StaffSession).where(StaffSession.id_sha256 == digest(session_id))
    if for_update:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def _expired(row: StaffSession, now: dt.datetime, policy: SessionPolicy) -> bool:
    if now > row.expires_at:
        return True
    return row.state == State.ACTIVE.value and now - row.last_seen_at > policy.idle


def check(
    session: Session,
    session_id: object,
    *,
    state: State,
    now: dt.datetime,
    policy: SessionPolicy,
) -> Found:
    """Who the session ``session_id`` (in ``state``) belongs to, if it is live. Read-only: the
    caller deletes an expired row (``end``) and writes the idle clock (``touch``) when told."""
    row = _row(session, session_id)
    if row is None or row.state != state.value:
        return Found(Check.UNKNOWN)
    if _expired(row, now, policy):
        return Found(Check.EXPIRED)
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return Found(Check.UNKNOWN)
    return Found(
        Check.OK,
        Account(id=user.id, username=user.username, role=Role(user.role)),
        needs_touch=now - row.last_seen_at >= TOUCH_INTERVAL,
    )


def touch(session: Session, session_id: str, *, now: dt.datetime) -> None:
    """Record activity on a live session (restarts its idle clock, never its absolute limit)."""
    row = _row(session, session_id, for_update=True)
    if row is not None and row.last_seen_at < now:
        row.last_seen_at = now


def promote(
    session: Session, pending_id: object, *, now: dt.datetime, policy: SessionPolicy
) -> str | None:
    """End the pending session and start an active one for its account under a new id (the
    code step succeeded); None when the pending session is gone or expired."""
    row = _row(session, pending_id, for_update=True)
    if row is None or row.state != State.PENDING.value:
        return None
    user_id = row.user_id
    expired = _expired(row, now, policy)
    session.delete(row)
    session.flush()
    if expired:
        return None
    return start(session, user_id=user_id, state=State.ACTIVE, now=now, policy=policy)


def pending_user(
    session: Session, pending_id: object, *, now: dt.datetime, policy: SessionPolicy
) -> str | None:
    """The account id of a live pending session (between the password and the code), or None."""
    row = _row(session, pending_id)
    if row is None or row.state != State.PENDING.value or _expired(row, now, policy):
        return None
    return row.user_id


def end(session: Session, session_id: object) -> bool:
    """End one session (sign-out, timeout); True if it existed."""
    if not _plausible(session_id):
        return False
    assert isinstance(session_id, str)
    result = session.execute(
        delete(StaffSession).where(StaffSession.id_sha256 == digest(session_id))
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def end_all(session: Session, user_id: str) -> int:
    """End every session of the account (deactivation, new password or TOTP secret); returns
    how many there were."""
    result = session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def prune(session: Session, *, now: dt.datetime, policy: SessionPolicy) -> int:
    """Delete every session past its absolute limit or idle too long (run at each sign-in, so
    the table holds only live sessions plus those abandoned since); returns how many."""
    result = session.execute(
        delete(StaffSession).where(
            or_(
                StaffSession.expires_at < now,
                (StaffSession.state == State.ACTIVE.value)
                & (StaffSession.last_seen_at < now - policy.idle),
            )
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def count(session: Session, user_id: str) -> int:
    """How many sessions (pending or active) the account has."""
    rows = session.execute(select(StaffSession.id_sha256).where(StaffSession.user_id == user_id))
    return len(rows.all())
