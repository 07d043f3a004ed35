"""The notification outbox: the hook that records a message; how a sender claims and settles it.

Layer: ``retention.notify``. ``state_changed`` is the one call a request's state change makes
(``retention.requests.workflow``): inside the step's own transaction it adds an outbox row, so
the e-mail exists exactly when the change commits — never for a change that rolled back, never
lost for one that committed. Nothing is sent here: the scheduler's ``notify`` job sends
(``retention.jobs.notify``).

Claiming: a sender takes due rows with one conditional ``UPDATE`` (``pending`` and due, or
``sending`` with an expired claim) that writes its own claim token; on PostgreSQL the row locks
make a concurrent sender's ``UPDATE`` re-check the condition and skip what was taken, on SQLite
the write lock serialises them. A row is only ever settled by the holder of its token.

Delivery is at least once, and once except in one window: the server accepted the message (250
after DATA) and the sender died before committing ``sent``. The claim then expires and the
message goes again, with the same Message-ID. Marking ``sent`` before sending would close that
window by losing the message instead whenever the send fails after the mark; a requester is
better served by a rare duplicate than by a silent loss.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, and_, func, or_, select, update
from sqlalchemy.orm import Session

from retention.audit import chain as audit
from retention.db.models import Notification, NotificationState, RemovalRequest
from retention.notify.messages import EVENTS

# After the n-th failed attempt the message waits BACKOFF_BASE * 2**(n-1), at most BACKOFF_MAX.
BACKOFF_BASE = dt.timedelta(minutes=1)
BACKOFF_MAX = dt.timedelta(hours=1)
# A message not accepted within this long is given up (the clerk is told by ``mugshot status``).
GIVE_UP_AFTER = dt.timedelta(days=7)
# How long a sender holds its claim: longer than any one SMTP conversation can take.
CLAIM_FOR = dt.timedelta(minutes=10)

_STEP = "retention.notify.step"  # session.info: (transaction, rows it added)
WAITING = (NotificationState.PENDING.value, NotificationState.SENDING.value)


def state_changed(session: Session, req: RemovalRequest, event: str, *, now: dt.datetime) -> None:
    """Record the e-mail about ``req`` having become ``event`` (a state, or ``extended``).

    Events ``EVENTS`` does not name are not told. A row added earlier in the same transaction
    (approved, then completed at once) is superseded: one e-mail per step, saying where the
    request ended up. Without an e-mail address the row is ``manual``: the clerk tells the
    requester another way.
    """
    if event not in EVENTS:
        return
    txn = session.get_transaction()
    step: tuple[object, list[Notification]] | None = session.info.get(_STEP)
    if step is not None and step[0] is txn:
        for earlier in step[1]:
            if earlier.request_id == req.id and earlier.state == NotificationState.PENDING.value:
                earlier.state = NotificationState.SUPERSEDED.value
                earlier.recipient_sealed = None
    else:
        step = (txn, [])
        session.info[_STEP] = step
    sealed = req.contact_sealed
    row = Notification(
        id=uuid.uuid4().hex,
        request_id=req.id,
        event=event,
        state=(NotificationState.PENDING if sealed else NotificationState.MANUAL).value,
        recipient_sealed=sealed,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    step[1].append(row)


def backoff(attempts: int) -> dt.timedelta:
    """How long a message waits after its ``attempts``-th failed attempt."""
    return min(BACKOFF_BASE * (1 << max(0, min(attempts - 1, 20))), BACKOFF_MAX)


def _due(now: dt.datetime) -> Any:
    return or_(
        and_(
            Notification.state == NotificationState.PENDING.value,
            Notification.next_attempt_at <= now,
        ),
        and_(
            Notification.state == NotificationState.SENDING.value,
            Notification.claimed_until < now,
        ),
    )


def claim(session: Session, *, now: dt.datetime, limit: int) -> tuple[str, list[Notification]]:
    """Claim up to ``limit`` due messages for this sender; returns its token and the rows.

    Call in a transaction of its own and commit before sending (the claim must be visible to
    other senders while this one talks to the mail server).
    """
    token = uuid.uuid4().hex
    ids = list(
        session.execute(
            select(Notification.id)
            .where(_due(now))
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
        ).scalars()
    )
    if not ids:
        return token, []
    session.execute(
        update(Notification)
        .where(Notification.id.in_(ids), _due(now))
        .values(
            state=NotificationState.SENDING.value, claim_token=token, claimed_until=now + CLAIM_FOR
        )
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(
        select(Notification)
        .where(Notification.claim_token == token)
        .order_by(Notification.next_attempt_at, Notification.id)
        .execution_options(populate_existing=True)
    ).scalars()
    return token, list(rows)


def _settle(session: Session, notification_id: str, token: str, **values: Any) -> bool:
    result = cast(
        "CursorResult[Any]",
        session.execute(
            update(Notification)
            .where(
                Notification.id == notification_id,
                Notification.claim_token == token,
                Notification.state == NotificationState.SENDING.value,
            )
            .values(claim_token=None, claimed_until=None, **values)
            .execution_options(synchronize_session=False)
        ),
    )
    return result.rowcount == 1


def _told(
    session: Session, row: Notification, action: str, now: dt.datetime, actor: str, **extra: Any
) -> None:
    audit.append(
        session,
        now=now,
        actor=actor,
        action=action,
        object_type="request",
        object_id=row.request_id,
        details={"notification_id": row.id, "event": row.event, **extra},
    )


def mark_sent(
    session: Session, row: Notification, token: str, *, now: dt.datetime, actor: str
) -> bool:
    """The server accepted the message: ``sent``, the recipient cleared (audited). False when
    this sender no longer held the claim."""
    done = _settle(
        session,
        row.id,
        token,
        state=NotificationState.SENT.value,
        recipient_sealed=None,
        sent_at=now,
        attempts=row.attempts + 1,
        last_error=None,
    )
    if done:
        _told(session, row, "request.notified", now, actor)
    return done


def mark_failed(
    session: Session,
    row: Notification,
    token: str,
    *,
    error: str,
    now: dt.datetime,
    actor: str,
    attempted: bool = True,
) -> bool:
    """Give the message up: ``failed``, the recipient cleared (audited, with the SMTP code)."""
    done = _settle(
        session,
        row.id,
        token,
        state=NotificationState.FAILED.value,
        recipient_sealed=None,
        attempts=row.attempts + (1 if attempted else 0),
        last_error=error[:300],
    )
    if done:
        _told(session, row, "request.notification_failed", now, actor, error=error[:200])
    return done


def mark_retry(
    session: Session,
    row: Notification,
    token: str,
    *,
    error: str,
    now: dt.datetime,
    actor: str,
    attempted: bool = True,
    at: dt.datetime | None = None,
) -> bool:
    """Not accepted this time: back to ``pending`` with backoff, or ``failed`` once it has
    waited longer than ``GIVE_UP_AFTER``. ``attempted=False`` releases a row that this run did
    not get to (the server went away first) without counting an attempt."""
    attempts = row.attempts + (1 if attempted else 0)
    if now - row.created_at > GIVE_UP_AFTER:
        return mark_failed(
            session,
            row,
            token,
            error=f"gave up after 7 days: {error}",
            now=now,
            actor=actor,
            attempted=attempted,
        )
    return _settle(
        session,
        row.id,
        token,
        state=NotificationState.PENDING.value,
        attempts=attempts,
        next_attempt_at=at or now + backoff(attempts),
        last_error=error[:300],
    )


def mark_not_sent(session: Session, *, now: dt.datetime) -> int:
    """No mail server is configured: every waiting message becomes ``not_sent`` and its
    recipient is cleared (nobody would ever send it). Returns how many."""
    result = cast(
        "CursorResult[Any]",
        session.execute(
            update(Notification)
            .where(Notification.state == NotificationState.PENDING.value)
            .values(
                state=NotificationState.NOT_SENT.value,
                recipient_sealed=None,
                last_error="no mail server configured (MUGSHOT_SMTP_URL)",
            )
            .execution_options(synchronize_session=False)
        ),
    )
    return int(result.rowcount)


def any_due(session: Session, now: dt.datetime) -> bool:
    """Whether some message is due (cheap: the sender starts a recorded run only then)."""
    return session.execute(select(Notification.id).where(_due(now)).limit(1)).first() is not None


@dataclass(frozen=True)
class Backlog:
    """The outbox at a glance (counts by state, and how long the oldest waiting one waits)."""

    by_state: dict[str, int]
    oldest_waiting: dt.datetime | None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "by_state": self.by_state,
            "oldest_waiting": self.oldest_waiting.isoformat() if self.oldest_waiting else None,
        }


def backlog(session: Session) -> Backlog:
    """Counts of outbox rows by state, and the creation time of the oldest still waiting."""
    counts = dict.fromkeys((s.value for s in NotificationState), 0)
    for value, count in session.execute(
        select(Notification.state, func.count()).group_by(Notification.state)
    ).all():
        counts[str(value)] = int(count)
    oldest = session.execute(
        select(Notification.created_at)
        .where(Notification.state.in_(WAITING))
        .order_by(Notification.created_at)
        .limit(1)
    ).scalar_one_or_none()
    return Backlog(counts, oldest)
