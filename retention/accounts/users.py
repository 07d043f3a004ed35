"""Staff accounts: passwords (scrypt), TOTP second factor (sealed), lockout, roles.

Layer: ``retention.accounts``. No Flask: the web sign-in pages and ``mugshot user ...`` both drive
these functions. Like every helper here they take the caller's session and never commit; a failed
sign-in *returns* its outcome instead of raising, so the caller's transaction keeps the failure
count and the audit entry.

- Passwords are hashed with ``hashlib.scrypt`` (n=2**14, r=8, p=1, 16-byte salt) into a
  self-describing string ``scrypt$n$r$p$salt$hash`` so the cost can be raised later.
- TOTP secrets are sealed with AES-256-GCM under a key derived (HKDF, info ``mugshot totp``)
  from the keyring's session key, bound to the user id: a sealed secret copied onto another
  account does not open. Caveat: replacing the session key makes every TOTP enrolment
  unreadable (reset them with ``mugshot user reset-totp``).
- Codes are checked with a window of one step either side, and a step once used is never
  accepted again (``last_totp_step``), so an observed code cannot be replayed.
- ``MAX_FAILED_LOGINS`` consecutive failures (password or code) lock the account for
  ``LOCKOUT_DURATION``. A wrong password and an unknown username cost the same scrypt work and
  produce the same outcome, so the answer never reveals whether an account exists.

Deactivating an account, and replacing its password (``set_password``) or TOTP secret, ends
its open sessions on the server (``retention.accounts.sessions``) in the same transaction.

Four eyes: where a step needs a second person (approving a hold, confirming its release, a
mass purge, enacting a pack), ``authenticate_second_person`` signs that person in with password
and code at once — through the same checks, failure counts, lockout and audit entries as the
web sign-in — then requires the role and refuses the account that acted first.

Audit entries name staff usernames (staff identity, not a data subject's personal data) and
user ids; they never carry passwords, secrets or codes. An unknown username typed at sign-in is
not recorded at all: it may be someone's password typed into the wrong field.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

# TOTP_INTERVAL, hash_password, provisioning_uri and verify_password are part of this module's
# API (the CLI, the sign-in pages and tests use them from here).
from retention.accounts import sessions as staff_sessions
from retention.accounts.credentials import (
    MAX_PASSWORD_LENGTH,
    dummy_verify,
    open_secret,
    seal_secret,
    totp_step,
)
from retention.accounts.credentials import (
    TOTP_INTERVAL as TOTP_INTERVAL,
)
from retention.accounts.credentials import (
    hash_password as hash_password,
)
from retention.accounts.credentials import (
    provisioning_uri as provisioning_uri,
)
from retention.accounts.credentials import (
    verify_password as verify_password,
)
from retention.audit import chain as audit
from retention.db.models import Role, User
from retention.engine.authority import same_person as same_person
from retention.errors import RetentionError
from retention.keys.keyring import Keyring

MIN_PASSWORD_LENGTH = 12
# scrypt's cost grows with the input only slightly, but an unbounded field is still a lever.
MAX_FAILED_LOGINS = 5
LOCKOUT_DURATION = dt.timedelta(minutes=15)

# Refuse stored parameters beyond this (a tampered row must not make one login cost gigabytes).

ANONYMOUS = "anonymous"

_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


class UserError(RetentionError):
    """A staff-account operation was refused; names the username, never a password."""


class PasswordPolicyError(UserError):
    """The proposed password does not meet the policy (length, not containing the username)."""


class UsernameError(UserError):
    """The username is malformed or already taken."""


class UserNotFoundError(UserError):
    """No staff account has the given username."""


@dataclass(frozen=True)
class LockoutPolicy:
    """How many consecutive failures lock an account, and for how long."""

    max_failures: int = MAX_FAILED_LOGINS
    duration: dt.timedelta = LOCKOUT_DURATION


DEFAULT_LOCKOUT = LockoutPolicy()


class Outcome(enum.StrEnum):
    """Why a sign-in step succeeded or failed (kept for the audit; never shown as is)."""

    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    UNKNOWN_USER = "unknown_user"
    INACTIVE = "inactive"
    LOCKED = "locked"
    BAD_CODE = "bad_code"
    REPLAYED_CODE = "replayed_code"
    NO_TOTP = "no_totp"
    WRONG_ROLE = "wrong_role"
    SAME_PERSON = "same_person"


@dataclass(frozen=True)
class AuthResult:
    """The outcome of a sign-in step; ``user`` is set only when ``ok``."""

    outcome: Outcome
    user: User | None = None

    @property
    def ok(self) -> bool:
        """True when this step succeeded."""
        return self.outcome is Outcome.OK


# -- passwords --------------------------------------------------------------------------


def check_password_policy(password: str, *, username: str) -> None:
    """Raise ``PasswordPolicyError`` unless the password is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters long"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError(f"password must be at most {MAX_PASSWORD_LENGTH} characters")
    if username and username.lower() in password.lower():
        raise PasswordPolicyError("password must not contain the username")
    if len(set(password)) < 4:
        raise PasswordPolicyError("password must not be one or a few characters repeated")


def normalise_username(username: str) -> str:
    """Usernames compare case-insensitively and without surrounding spaces."""
    return username.strip().lower()


# -- queries ----------------------------------------------------------------------------


def get_user(session: Session, username: str, *, for_update: bool = False) -> User | None:
    """The account with this username (normalised), or None."""
    stmt = select(User).where(User.username == normalise_username(username))
    if for_update:
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def _require(session: Session, username: str) -> User:
    user = get_user(session, username, for_update=True)
    if user is None:
        raise UserNotFoundError(f"no staff account named {normalise_username(username)!r}")
    return user


def list_users(session: Session) -> Sequence[User]:
    """Every staff account, by username."""
    return session.execute(select(User).order_by(User.username)).scalars().all()


# -- changes ----------------------------------------------------------------------------


def _audit(
    session: Session,
    action: str,
    user_id: str | None,
    *,
    actor: str,
    now: dt.datetime,
    details: Mapping[str, Any],
) -> None:
    """One audit entry about a staff account (never a password, code or secret in ``details``)."""
    audit.append(
        session,
        now=now,
        actor=actor,
        action=action,
        object_type="user",
        object_id=user_id,
        details=details,
    )


def create_user(
    session: Session,
    *,
    username: str,
    role: Role | str,
    password: str,
    keyring: Keyring,
    actor: str,
    now: dt.datetime,
) -> tuple[User, str]:
    """Create an account; returns it and its new TOTP secret (show it once, store it nowhere)."""
    name = normalise_username(username)
    if not _USERNAME.fullmatch(name):
        raise UsernameError(
            "username must be 2-64 characters: lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    role = Role(role)
    check_password_policy(password, username=name)
    if get_user(session, name) is not None:
        raise UsernameError(f"a staff account named {name!r} already exists")
    secret = pyotp.random_base32()
    user_id = uuid.uuid4().hex
    user = User(
        id=user_id,
        username=name,
        role=role.value,
        password_hash=hash_password(password),
        totp_sealed=seal_secret(keyring, user_id, secret),
        active=True,
        failed_logins=0,
        locked_until=None,
        last_login_at=None,
        last_totp_step=None,
        created_at=now,
        created_by=actor[:64],
    )
    session.add(user)
    session.flush()
    _audit(
        session,
        "user.created",
        user.id,
        actor=actor,
        now=now,
        details={"username": name, "role": role.value},
    )
    return user, secret


def reset_totp(
    session: Session, *, username: str, keyring: Keyring, actor: str, now: dt.datetime
) -> tuple[User, str]:
    """Give the account a new TOTP secret (the old one stops working, and so do the account's
    open sessions); returns the secret."""
    user = _require(session, username)
    secret = pyotp.random_base32()
    user.totp_sealed = seal_secret(keyring, user.id, secret)
    user.last_totp_step = None
    ended = staff_sessions.end_all(session, user.id)
    _audit(
        session,
        "user.totp_reset",
        user.id,
        actor=actor,
        now=now,
        details={"username": user.username, "sessions_ended": ended},
    )
    return user, secret


def set_password(
    session: Session, *, username: str, password: str, actor: str, now: dt.datetime
) -> User:
    """Replace the account's password (the policy applies) and end its open sessions. The
    failure count and any lock are left as they are: a new password is no way around a
    lockout."""
    user = _require(session, username)
    check_password_policy(password, username=user.username)
    user.password_hash = hash_password(password)
    ended = staff_sessions.end_all(session, user.id)
    _audit(
        session,
        "user.password_reset",
        user.id,
        actor=actor,
        now=now,
        details={"username": user.username, "sessions_ended": ended},
    )
    return user


def set_role(
    session: Session, *, username: str, role: Role | str, actor: str, now: dt.datetime
) -> User:
    """Change the account's role (effective on its next request)."""
    user = _require(session, username)
    new = Role(role)
    old = user.role
    if old == new.value:
        return user
    user.role = new.value
    _audit(
        session,
        "user.role_changed",
        user.id,
        actor=actor,
        now=now,
        details={"username": user.username, "from": old, "to": new.value},
    )
    return user


def deactivate(session: Session, *, username: str, actor: str, now: dt.datetime) -> User:
    """Disable the account: it can no longer sign in and its open sessions end (their rows are
    deleted in the same transaction)."""
    user = _require(session, username)
    if not user.active:
        staff_sessions.end_all(session, user.id)
        return user
    user.active = False
    ended = staff_sessions.end_all(session, user.id)
    _audit(
        session,
        "user.deactivated",
        user.id,
        actor=actor,
        now=now,
        details={"username": user.username, "sessions_ended": ended},
    )
    return user


# -- signing in -------------------------------------------------------------------------


def _is_locked(user: User, now: dt.datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def _sign_in_event(
    session: Session, user: User, action: str, outcome: Outcome, *, now: dt.datetime
) -> None:
    """An audited sign-in attempt on a known account that did not succeed, with its reason
    (by ``anonymous``: nobody is signed in yet)."""
    _audit(
        session,
        action,
        user.id,
        actor=ANONYMOUS,
        now=now,
        details={"username": user.username, "reason": outcome.value},
    )


def _record_failure(
    session: Session,
    user: User,
    outcome: Outcome,
    *,
    now: dt.datetime,
    policy: LockoutPolicy,
) -> AuthResult:
    if user.locked_until is not None and user.locked_until <= now:
        # The previous lock ran out: this failure starts a fresh count.
        user.locked_until = None
        user.failed_logins = 0
    user.failed_logins += 1
    _sign_in_event(session, user, "auth.login_failed", outcome, now=now)
    if user.failed_logins >= policy.max_failures and not _is_locked(user, now):
        user.locked_until = now + policy.duration
        _audit(
            session,
            "auth.locked",
            user.id,
            actor=ANONYMOUS,
            now=now,
            details={
                "username": user.username,
                "failures": user.failed_logins,
                "until": user.locked_until.isoformat(),
            },
        )
    return AuthResult(outcome)


def _refuse_sign_in(
    session: Session, user: User, outcome: Outcome, *, now: dt.datetime
) -> AuthResult:
    """Refuse an account that may not sign in now (locked or deactivated), audited
    ``auth.login_refused``."""
    _sign_in_event(session, user, "auth.login_refused", outcome, now=now)
    return AuthResult(outcome)


def authenticate_password(
    session: Session,
    *,
    username: str,
    password: str,
    now: dt.datetime,
    policy: LockoutPolicy = DEFAULT_LOCKOUT,
) -> AuthResult:
    """First sign-in step. Every failure costs one scrypt and looks alike to the caller.

    Success does *not* reset the failure count: only a correct code does, so someone holding
    the password cannot guess codes without the lockout counting them.
    """
    user = get_user(session, username, for_update=True)
    if user is None:
        dummy_verify(password)
        _audit(
            session,
            "auth.login_failed",
            None,
            actor=ANONYMOUS,
            now=now,
            details={"reason": Outcome.UNKNOWN_USER.value},
        )
        return AuthResult(Outcome.UNKNOWN_USER)
    matches = verify_password(password, user.password_hash)
    if _is_locked(user, now):
        # Refused whether or not the password was right; counted, but the lock is not extended.
        return _refuse_sign_in(session, user, Outcome.LOCKED, now=now)
    if not matches:
        return _record_failure(session, user, Outcome.BAD_CREDENTIALS, now=now, policy=policy)
    if not user.active:
        return _refuse_sign_in(session, user, Outcome.INACTIVE, now=now)
    return AuthResult(Outcome.OK, user)


def _check_code(
    session: Session,
    user: User,
    code: str,
    *,
    keyring: Keyring,
    now: dt.datetime,
    policy: LockoutPolicy,
) -> AuthResult:
    """The code step on a locked row: a fresh code resets the failure count, any other counts."""
    if _is_locked(user, now):
        return AuthResult(Outcome.LOCKED)
    if not user.active:
        return AuthResult(Outcome.INACTIVE)
    secret = open_secret(keyring, user)
    if secret is None:
        return _record_failure(session, user, Outcome.NO_TOTP, now=now, policy=policy)
    step = totp_step(secret, code, now, after=user.last_totp_step)
    if step is None:
        replayed = totp_step(secret, code, now, after=None) is not None
        outcome = Outcome.REPLAYED_CODE if replayed else Outcome.BAD_CODE
        return _record_failure(session, user, outcome, now=now, policy=policy)
    user.last_totp_step = step
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    return AuthResult(Outcome.OK, user)


def verify_totp(
    session: Session,
    *,
    user_id: str,
    code: str,
    keyring: Keyring,
    now: dt.datetime,
    policy: LockoutPolicy = DEFAULT_LOCKOUT,
) -> AuthResult:
    """Second sign-in step: a fresh code completes the sign-in (audited ``auth.login``)."""
    user = session.execute(
        select(User).where(User.id == user_id).with_for_update()
    ).scalar_one_or_none()
    if user is None:
        return AuthResult(Outcome.UNKNOWN_USER)
    result = _check_code(session, user, code, keyring=keyring, now=now, policy=policy)
    if result.ok:
        _audit(
            session,
            "auth.login",
            user.id,
            actor=user.username,
            now=now,
            details={"username": user.username, "role": user.role},
        )
    return result


def authenticate_second_person(
    session: Session,
    keyring: Keyring,
    username: str,
    password: str,
    code: str,
    *,
    role: Role,
    not_same_as: str | None,
    purpose: str,
    subject: str | None = None,
    now: dt.datetime,
    policy: LockoutPolicy = DEFAULT_LOCKOUT,
) -> AuthResult:
    """Sign in the second person of a four-eyes step (``purpose``, on ``subject``) in one go.

    Refused, in this order:

    - ``SAME_PERSON`` when ``username`` is ``not_same_as`` (the account that acted first),
      before any secret is checked; nothing is written.
    - every outcome of ``authenticate_password`` and of the code step, with their failure
      counts, lockout and ``auth.login_failed``/``auth.login_refused`` entries — the same as a
      web sign-in; a code once used (here or on the web) is never accepted again.
    - ``WRONG_ROLE`` when the account signed in but its role is not ``role`` (no implicit
      hierarchy: an admin is not a supervisor); audited ``auth.second_person_refused``.

    Success is audited ``auth.second_person`` (account, role, purpose, subject — never a
    secret). Like every sign-in step here it returns its outcome instead of raising: the caller
    commits either way, so that a failure is counted.
    """
    if same_person(username, not_same_as):
        return AuthResult(Outcome.SAME_PERSON)
    first = authenticate_password(
        session, username=username, password=password, now=now, policy=policy
    )
    if first.user is None:
        return first
    result = _check_code(session, first.user, code, keyring=keyring, now=now, policy=policy)
    user = result.user
    if user is None:
        return result
    details: dict[str, str | None] = {"username": user.username, "role": user.role}
    if user.role != role.value:
        _audit(
            session,
            "auth.second_person_refused",
            user.id,
            actor=user.username,
            now=now,
            details={
                **details,
                "reason": Outcome.WRONG_ROLE.value,
                "purpose": purpose,
                "subject": subject,
            },
        )
        return AuthResult(Outcome.WRONG_ROLE)
    _audit(
        session,
        "auth.second_person",
        user.id,
        actor=user.username,
        now=now,
        details={**details, "purpose": purpose, "subject": subject},
    )
    return result


def record_logout(session: Session, *, user_id: str, username: str, now: dt.datetime) -> None:
    """Audit a sign-out."""
    _audit(session, "auth.logout", user_id, actor=username, now=now, details={"username": username})
