"""Staff sign-in (password, then TOTP code), sign-out, session timeout and role checks.

Layer: ``web.auth``. The blueprint ``bp`` (name ``auth``) serves ``/staff/login``,
``/staff/login/totp``, ``/staff/logout`` and a minimal ``/staff/home``. Other blueprints use:

- ``@login_required(Role.CLERK, Role.SUPERVISOR)`` — anonymous visitors are sent to the sign-in
  page (and back afterwards); a signed-in user whose role is not listed gets 403. With no roles,
  any signed-in staff member passes. There is no implicit hierarchy: an admin is admitted only
  where ``Role.ADMIN`` is listed.
- ``current_user()`` — the signed-in ``StaffUser`` (id, username, role) or ``None``; its
  ``actor`` is the string to pass to the core as the acting person;
- ``signed_in_user()`` — the same inside a ``login_required`` view, never ``None`` (it aborts
  with 401 where no one is signed in, which ``login_required`` already prevents).

The session cookie is signed, not encrypted, so it holds only ids, timestamps and a keyed
fingerprint of the account's credentials. The role is read from the database on every request:
a role change, deactivation or TOTP reset takes effect on the user's next click.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from retention.accounts import users
from retention.accounts.users import LockoutPolicy
from retention.audit import chain as audit
from retention.db.models import Role, User
from retention.engine.authority import Person
from web.security import rate_limited
from web.services import get_services, now

F = TypeVar("F", bound=Callable[..., Any])

bp = Blueprint("auth", __name__, url_prefix="/staff")

# One message for every failed first step: unknown user, wrong password, locked, inactive.
LOGIN_FAILED = (
    "Sign-in failed: the username or password is not right, or the account is locked. "
    "After 5 failed attempts an account is locked for 15 minutes."
)
CODE_FAILED = (
    "That code was not accepted. Enter the current 6-digit code from your authenticator app; "
    "each code works only once."
)
PENDING_EXPIRED = "The sign-in took too long. Enter your username and password again."
SESSION_EXPIRED = "Your session ended after a period of inactivity. Please sign in again."

# Outcomes of the code step that send the user back to the password step.
_RESTART = frozenset(
    {users.Outcome.OK, users.Outcome.LOCKED, users.Outcome.INACTIVE, users.Outcome.UNKNOWN_USER}
)
_PENDING = "pending"
_NEXT = "next"


@dataclass(frozen=True)
class StaffUser:
    """The signed-in staff member, as the current request sees them."""

    id: str
    username: str
    role: Role

    @property
    def actor(self) -> str:
        """The acting person for audit entries and four-eyes checks."""
        return self.username

    @property
    def person(self) -> Person:
        """The signed-in member as the core's second-person checks see them."""
        return Person(self.username, self.role.value)


# -- session helpers ----------------------------------------------------------------------


def _ts(value: dt.datetime) -> float:
    return value.timestamp()


def _fingerprint(user: User) -> str:
    """A keyed digest of the credentials: a TOTP reset or a new password ends old sessions."""
    key = current_app.config["SECRET_KEY"]
    msg = f"{user.id}|{user.password_hash}|{(user.totp_sealed or b'').hex()}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:32]


def _lockout() -> LockoutPolicy:
    policy = current_app.config["MUGSHOT_LOCKOUT"]
    assert isinstance(policy, LockoutPolicy)
    return policy


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site (never ``//host`` or a scheme) is a place to return to."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return None
    return target


def _end_session() -> None:
    g.pop("staff_user", None)
    session.clear()


def current_user() -> StaffUser | None:
    """The signed-in staff member, or None (loaded once per request, role from the database)."""
    if "staff_user" in g:
        return cast(StaffUser | None, g.staff_user)
    found: StaffUser | None = None
    uid = session.get("uid")
    if isinstance(uid, str):
        with get_services().readers() as db:
            user = db.get(User, uid)
            if (
                user is not None
                and user.active
                and hmac.compare_digest(str(session.get("fp", "")), _fingerprint(user))
            ):
                found = StaffUser(id=user.id, username=user.username, role=Role(user.role))
        if found is None:
            session.clear()
    g.staff_user = found
    return found


def signed_in_user() -> StaffUser:
    """The signed-in staff member, for views behind ``login_required`` (aborts 401 if none)."""
    user = current_user()
    if user is None:
        abort(401)
    return user


def login_required(*roles: Role) -> Callable[[F], F]:
    """Admit signed-in staff whose role is in ``roles`` (any role when none are given)."""
    allowed = frozenset(roles)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                if request.method == "GET":
                    session[_NEXT] = request.full_path.rstrip("?")
                return redirect(url_for("auth.login"))
            if allowed and user.role not in allowed:
                _audit_refusal(user)
                abort(403)
            return view(*args, **kwargs)

        return cast(F, wrapped)

    return decorate


def _audit_refusal(user: StaffUser) -> None:
    """Put a refused page on the audit chain: who, which page (the route, never its query
    string or form, which can carry names), with what role. An auditor sees who probes for
    pages their role does not open."""
    audit.record(
        get_services().sessions,
        now=now(),
        actor=user.actor,
        action="access.refused",
        object_type="route",
        object_id=(request.endpoint or "unknown")[:64],
        details={"method": request.method, "role": user.role},
    )


@bp.before_app_request
def _enforce_timeouts() -> None:
    """End idle or over-long staff sessions; refresh the idle clock on every request."""
    if request.endpoint == "static" or "uid" not in session:
        return
    moment = _ts(now())
    idle: dt.timedelta = current_app.config["MUGSHOT_SESSION_IDLE"]
    max_age: dt.timedelta = current_app.config["MUGSHOT_SESSION_MAX_AGE"]
    seen = float(session.get("seen", 0))
    started = float(session.get("auth_at", 0))
    if moment - seen > idle.total_seconds() or moment - started > max_age.total_seconds():
        _end_session()
        flash(SESSION_EXPIRED, "info")
        return
    session["seen"] = moment


@bp.app_context_processor
def _inject_user() -> dict[str, Any]:
    return {"current_user": current_user()}


# -- views ----------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@rate_limited("login")
def login() -> ResponseReturnValue:
    """First step: username and password. Every failure shows the same message."""
    if request.method == "GET" and current_user() is not None:
        return redirect(url_for(current_app.config["MUGSHOT_STAFF_HOME"]))
    errors: dict[str, str] = {}
    username = ""
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:64]
        password = request.form.get("password", "")
        if not username:
            errors["username"] = "Enter your username."
        if not password:
            errors["password"] = "Enter your password."  # noqa: S105 (a message, not a secret)
        if not errors:
            moment = now()
            with get_services().sessions() as db, db.begin():
                result = users.authenticate_password(
                    db, username=username, password=password, now=moment, policy=_lockout()
                )
            if result.user is not None:
                user = result.user
                pending = {"uid": user.id, "at": _ts(moment), "fp": _fingerprint(user)}
                next_target = _safe_next(session.get(_NEXT))
                _end_session()  # a fresh session (and CSRF token) for the new state
                session[_PENDING] = pending
                if next_target:
                    session[_NEXT] = next_target
                return redirect(url_for("auth.totp"))
            errors["form"] = LOGIN_FAILED
    status = 401 if "form" in errors else 400 if errors else 200
    return render_template("auth/login.html", errors=errors, username=username), status


@bp.route("/login/totp", methods=["GET", "POST"])
@rate_limited("totp")
def totp() -> ResponseReturnValue:
    """Second step: the 6-digit code from the authenticator app (within 5 minutes)."""
    pending = session.get(_PENDING)
    window: dt.timedelta = current_app.config["MUGSHOT_LOGIN_PENDING"]
    if not isinstance(pending, dict) or (
        _ts(now()) - float(pending.get("at", 0)) > window.total_seconds()
    ):
        session.pop(_PENDING, None)
        if pending is not None:
            flash(PENDING_EXPIRED, "error")
        return redirect(url_for("auth.login"))
    errors: dict[str, str] = {}
    if request.method == "POST":
        code = request.form.get("code", "").strip().replace(" ", "")
        if not code:
            errors["code"] = "Enter the 6-digit code."
        elif not (len(code) == 6 and code.isdigit()):
            errors["code"] = "The code is 6 digits, for example 123456."
        else:
            moment = now()
            with get_services().sessions() as db, db.begin():
                result = users.verify_totp(
                    db,
                    user_id=str(pending["uid"]),
                    code=code,
                    keyring=get_services().keyring,
                    now=moment,
                    policy=_lockout(),
                )
            fingerprint = _fingerprint(result.user) if result.user is not None else ""
            if result.ok and hmac.compare_digest(fingerprint, str(pending.get("fp", ""))):
                next_target = _safe_next(session.get(_NEXT))
                _end_session()
                session.update(uid=str(pending["uid"]), fp=fingerprint)
                session.update(auth_at=_ts(moment), seen=_ts(moment))
                return redirect(next_target or url_for(current_app.config["MUGSHOT_STAFF_HOME"]))
            if result.outcome in _RESTART:
                # Locked meanwhile, deactivated, or credentials changed: start from the password.
                _end_session()
                flash(LOGIN_FAILED, "error")
                return redirect(url_for("auth.login"))
            errors["code"] = CODE_FAILED
    return render_template("auth/totp.html", errors=errors), 401 if errors else 200


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """Sign out (POST with a CSRF token, so no other site can sign a clerk out)."""
    user = current_user()
    if user is not None:
        with get_services().sessions() as db, db.begin():
            users.record_logout(db, user_id=user.id, username=user.username, now=now())
    _end_session()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/home")
@login_required()
def landing() -> str:
    """Minimal staff landing page (replaced by the dashboard via ``MUGSHOT_STAFF_HOME``)."""
    return render_template("auth/landing.html")
