"""Who may destroy what: the second-person rule and the safety belt, one place for every path.

Layer: ``retention.engine``. Imports the models, ``policies`` and ``sealing`` (reasons are
sealed). DESIGN.md invariant 9: no record is destroyed except by its rule or by two different
people, on every path (sweep, request, review, API, CLI), and every purge path passes the same
safety belt.

- A purge the rules already require (the record's decision today is *purge*, due today or
  earlier) needs one person — or none, for the scheduled sweep.
- Any other destruction — a removal request or a review that purges a record whose rule says
  retain or review, or a review that keeps a record past its limit for an exceptional reason —
  needs a second person: a supervisor who has not already acted on it.
- Whatever the path, a purge of more records than ``max_count`` and than ``max_share`` of the
  live (not yet purged) records stops and needs a supervisor's confirmation. Tombstones do not
  count, so a database that is mostly purged still trips the belt on a large share of what is
  left.

The core sees people as ``Person`` (username and role) — a signed-in web user or a CLI user who
authenticated with password and TOTP (``retention.cli.context``); a free-text name never passes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from policies import Decision
from policies.vocabulary import Action
from retention.db.models import ApprovalState, Record, RecordStatus, Role, SecondApproval
from retention.engine import sealing
from retention.engine.reasons import stated_reason
from retention.errors import AuthorityError
from retention.settings import Settings


@dataclass(frozen=True)
class Person:
    """A staff member whose identity was checked (web sign-in or CLI password + TOTP)."""

    username: str
    role: str

    @property
    def is_supervisor(self) -> bool:
        return self.role == Role.SUPERVISOR.value


@dataclass(frozen=True)
class Limits:
    """How much one act may destroy before a supervisor must confirm (the safety belt), and how
    many records one removal request may match before a supervisor must confirm the matches."""

    max_share: float = 0.05
    max_count: int = 50
    request_matches: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            max_share=settings.sweep_max_purge_share,
            max_count=settings.sweep_max_purge_count,
            request_matches=settings.request_match_limit,
        )


# The defaults of ``Settings`` (callers with settings pass ``Limits.from_settings``).
DEFAULT_LIMITS = Limits()


def same_person(a: str, b: str | None) -> bool:
    """True when both name the same account: usernames compare case-insensitively and without
    surrounding spaces (as ``accounts.users.normalise_username`` stores them)."""
    return b is not None and a.strip().lower() == b.strip().lower()


def require_second_person(second: Person, *, already: Iterable[str | None], what: str) -> None:
    """Raise unless ``second`` is a supervisor who is none of the people in ``already``."""
    if not second.is_supervisor:
        raise AuthorityError(f"{what} needs a supervisor's confirmation")
    if any(same_person(second.username, name) for name in already):
        raise AuthorityError(
            f"{what} needs a second person: {second.username} has already acted on it"
        )


def rule_says_purge(decision: Decision, today: dt.date) -> bool:
    """True when the record's own rule says purge *now*: due today or earlier. A purge due later
    ("keep until 2028, then destroy") is not yet the rule's, so acting early needs two people."""
    return decision.action is Action.PURGE and decision.due_on <= today


def purge_limit(session: Session, limits: Limits) -> tuple[int, int]:
    """(records one act may purge without a supervisor, live records) — tombstones excluded."""
    live = session.execute(
        select(func.count()).select_from(Record).where(Record.status != RecordStatus.PURGED.value)
    ).scalar_one()
    return max(math.ceil(limits.max_share * live), limits.max_count), int(live)


def settle(
    approval: SecondApproval,
    *,
    confirmed: bool,
    supervisor: Person,
    reason: str,
    key: bytes,
    now: dt.datetime,
) -> None:
    """Record the second person's answer on a pending approval (the caller checked who); the
    reason is sealed under ``key``, the data key of the approval's subject."""
    text = stated_reason(reason, "reason for confirming" if confirmed else "reason for refusing")
    approval.state = (ApprovalState.CONFIRMED if confirmed else ApprovalState.REFUSED).value
    approval.decided_by = supervisor.username
    approval.decided_at = now
    approval.decision_reason_sealed = sealing.seal(
        key,
        approval.subject_id,
        sealing.row_field("second_approvals", approval.id, "decision_reason"),
        text,
    )
