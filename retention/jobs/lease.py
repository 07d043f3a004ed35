"""The scheduler lease: one database row that says which scheduler process may run jobs.

Layer: ``retention.jobs``. Imports only the models and services; never Flask, never APScheduler.

Exactly one scheduler process runs jobs at a time. Every process calls ``acquire`` every third
of the lease time; the holder's call extends its lease, everyone else's call fails until the
holder's lease has expired (it died, hung or lost the database), and then exactly one of them
takes it. Each call is a single conditional ``UPDATE`` of row 1 (seeded by migration 0002): on
PostgreSQL the row lock serialises concurrent updates and the loser re-checks the ``WHERE``
against the winner's row (so it matches nothing); on SQLite the write transaction
(``BEGIN IMMEDIATE``) serialises them. No read-then-write window exists on either.

Times are the callers' clocks (passed in, UTC): hosts that share a lease need synchronised
clocks (NTP), and the lease time must be much longer than their skew.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, case, literal, or_, select, update

from retention.db.models import SchedulerLease
from retention.errors import RetentionError
from retention.services import Services

LEASE_ID = 1
HOLDER_MAX = 128  # the column's length


class LeaseError(RetentionError):
    """The lease row is missing: the schema is not at head (run ``mugshot init``/migrate)."""


class LeaseState(NamedTuple):
    """Who holds the lease and until when (``None, None`` when nobody ever took it or it was
    released). An ``expires_at`` in the past means the holder is gone."""

    holder: str | None
    expires_at: dt.datetime | None


def make_holder_id() -> str:
    """A holder id unique to this process: ``hostname:pid:random``.

    The random part keeps a restarted process that reuses a pid (containers often run as pid 1)
    from mistaking its predecessor's lease for its own.
    """
    host = socket.gethostname() or "unknown-host"
    suffix = f":{os.getpid()}:{secrets.token_hex(4)}"
    return host[: HOLDER_MAX - len(suffix)] + suffix


def _check_holder(holder: str) -> None:
    if not holder or len(holder) > HOLDER_MAX:
        raise ValueError(f"holder id must be 1 to {HOLDER_MAX} characters")


def _ttl(ttl: dt.timedelta | float) -> dt.timedelta:
    value = ttl if isinstance(ttl, dt.timedelta) else dt.timedelta(seconds=ttl)
    if value <= dt.timedelta(0):
        raise ValueError("lease time must be positive")
    return value


def _updated(services: Services, stmt: Any) -> bool:
    with services.sessions() as session, session.begin():
        result = cast(
            "CursorResult[Any]",
            session.execute(stmt.execution_options(synchronize_session=False)),
        )
        if result.rowcount == 1:
            return True
        if session.get(SchedulerLease, LEASE_ID) is None:
            raise LeaseError("the scheduler lease row is missing: run the migrations")
        return False


def acquire(services: Services, holder: str, now: dt.datetime, ttl: dt.timedelta | float) -> bool:
    """Take the lease if it is free, expired or already ours, until ``now + ttl``.

    Returns whether ``holder`` holds the lease now. ``acquired_at`` is kept when the holder
    already had it (it says since when this process has led).
    """
    _check_holder(holder)
    expires = now + _ttl(ttl)
    when = literal(now, type_=SchedulerLease.acquired_at.type)
    stmt = (
        update(SchedulerLease)
        .where(
            SchedulerLease.id == LEASE_ID,
            or_(
                SchedulerLease.holder.is_(None),
                SchedulerLease.expires_at.is_(None),
                SchedulerLease.expires_at <= now,
                SchedulerLease.holder == holder,
            ),
        )
        .values(
            holder=holder,
            acquired_at=case(
                (
                    (SchedulerLease.holder == holder) & SchedulerLease.acquired_at.is_not(None),
                    SchedulerLease.acquired_at,
                ),
                else_=when,
            ),
            expires_at=expires,
        )
    )
    return _updated(services, stmt)


def renew(services: Services, holder: str, now: dt.datetime, ttl: dt.timedelta | float) -> bool:
    """Extend our lease to ``now + ttl``; False if someone else holds it (or nobody does).

    A lease that expired but that nobody took is still ours to renew: nobody else can have run
    a job in between, because taking the lease is the only way to start running them.
    """
    _check_holder(holder)
    stmt = (
        update(SchedulerLease)
        .where(SchedulerLease.id == LEASE_ID, SchedulerLease.holder == holder)
        .values(expires_at=now + _ttl(ttl))
    )
    return _updated(services, stmt)


def release(services: Services, holder: str) -> bool:
    """Give the lease up (on shutdown) so a standby takes over at once; False if not ours."""
    _check_holder(holder)
    stmt = (
        update(SchedulerLease)
        .where(SchedulerLease.id == LEASE_ID, SchedulerLease.holder == holder)
        .values(holder=None, acquired_at=None, expires_at=None)
    )
    return _updated(services, stmt)


def current(services: Services) -> LeaseState:
    """The lease as stored: ``(holder, expires_at)``."""
    with services.readers() as session:
        row = session.execute(
            select(SchedulerLease.holder, SchedulerLease.expires_at).where(
                SchedulerLease.id == LEASE_ID
            )
        ).one_or_none()
    if row is None:
        raise LeaseError("the scheduler lease row is missing: run the migrations")
    return LeaseState(row.holder, row.expires_at)


def acquired_at(services: Services) -> dt.datetime | None:
    """Since when the current holder has held the lease (None when free)."""
    with services.readers() as session:
        return session.execute(
            select(SchedulerLease.acquired_at).where(SchedulerLease.id == LEASE_ID)
        ).scalar_one_or_none()
