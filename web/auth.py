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

Sessions are held on the server (``retention.accounts.sessions``): the signed session cookie
carries only a random session id — never a user id, role or timestamp the server would trust —
and the database holds that id's SHA-256 with the account, the sign-in time and the last
activity. Sign-out, deactivation, a new password or TOTP secret, the idle timeout and the
12-hour limit delete the row, so a copy of the cookie is dead from then on. The id is replaced
at the code step (the one issued after the password never becomes the signed-in one). The
account and its role are read from the database on every request: a role change takes effect
on the user's next click.
"""

from __future__ import annotations

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

from retention.accounts import sessions as staff_sessions
from retention.accounts import users
from retention.accounts.sessions import SessionPolicy
from retention.accounts.users import LockoutPolicy
from retention.audit import chain as audit
from retention.db.models import Role
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
# Keys of the signed session cookie: the id of a signed-in session, of a sign-in waiting for
# its code, and the staff page to return to after signing in.
_SID = "sid"
_PENDING = "pending_sid"
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


def session_policy() -> SessionPolicy:
    """The app's session lifetimes (idle, absolute, between password and code)."""
    return SessionPolicy(
        idle=current_app.config["MUGSHOT_SESSION_IDLE"],
        max_age=current_app.config["MUGSHOT_SESSION_MAX_AGE"],
        pending=current_app.config["MUGSHOT_LOGIN_PENDING"],
    )


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
    """Forget the browser's session: a fresh cookie (and CSRF token) for what comes next. The
    server-side rows are ended by the caller."""
    g.pop("staff_user", None)
    session.clear()


def _load_user() -> StaffUser | None:
    """The account behind the cookie's session id, if that session is live on the server."""
    sid = session.get(_SID)
    if sid is None:
        return None
    moment = now()
    services = get_services()
    with services.readers() as db:
        found = staff_sessions.check(
            db, sid, state=staff_sessions.State.ACTIVE, now=moment, policy=session_policy()
        )
    account = found.account
    if account is None:
        if found.check is staff_sessions.Check.EXPIRED:
            with services.sessions() as db, db.begin():
                staff_sessions.end(db, sid)
        _end_session()
        if found.check is staff_sessions.Check.EXPIRED:
            flash(SESSION_EXPIRED, "info")
        return None
    if found.needs_touch:
        with services.sessions() as db, db.begin():
            staff_sessions.touch(db, str(sid), now=moment)
    return StaffUser(id=account.id, username=account.username, role=account.role)


def current_user() -> StaffUser | None:
    """The signed-in staff member, or None (loaded once per request, role from the database)."""
    if "staff_user" not in g:
        g.staff_user = _load_user()
    return cast(StaffUser | None, g.staff_user)


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
    """Check the staff session on every request (an idle or over-long one ends on the server,
    activity restarts the idle clock). The booking-system API reads no cookie."""
    if request.endpoint == "static" or request.blueprint == "api" or _SID not in session:
        return
    current_user()


@bp.app_context_processor
def _inject_user() -> dict[str, Any]:
    return {"current_user": current_user()}


# -- views ----------------------------------------------------------------------------------


def _start_over(*, expired: bool) -> Response:
    """Back to the password step, ending a pending sign-in on the server."""
    pending = session.get(_PENDING)
    if pending is not None:
        with get_services().sessions() as db, db.begin():
            staff_sessions.end(db, pending)
    next_target = _safe_next(session.get(_NEXT))
    _end_session()
    if next_target:
        session[_NEXT] = next_target
    flash(PENDING_EXPIRED if expired else LOGIN_FAILED, "error")
    return redirect(url_for("auth.login"))


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
            policy = session_policy()
            with get_services().sessions() as db, db.begin():
                result = users.authenticate_password(
                    db, username=username, password=password, now=moment, policy=_lockout()
                )
                pending_id = None
                if result.user is not None:
                    # Whatever this browser held before ends here, on the server too.
                    for old in (session.get(_SID), session.get(_PENDING)):
                        staff_sessions.end(db, old)
                    staff_sessions.prune(db, now=moment, policy=policy)
                    pending_id = staff_sessions.start(
                        db,
                        user_id=result.user.id,
                        state=staff_sessions.State.PENDING,
                        now=moment,
                        policy=policy,
                    )
            if pending_id is not None:
                next_target = _safe_next(session.get(_NEXT))
                _end_session()  # a fresh session (and CSRF token) for the new state
                session[_PENDING] = pending_id
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
    if pending is None:
        return redirect(url_for("auth.login"))
    services = get_services()
    with services.readers() as db:
        user_id = staff_sessions.pending_user(db, pending, now=now(), policy=session_policy())
    if user_id is None:
        # Too slow, or the account was deactivated or given new credentials meanwhile.
        return _start_over(expired=True)
    errors: dict[str, str] = {}
    if request.method == "POST":
        code = request.form.get("code", "").strip().replace(" ", "")
        if not code:
            errors["code"] = "Enter the 6-digit code."
        elif not (len(code) == 6 and code.isdigit()):
            errors["code"] = "The code is 6 digits, for example 123456."
        else:
            moment = now()
            signed_in: str | None = None
            with services.sessions() as db, db.begin():
                result = users.verify_totp(
                    db,
                    user_id=user_id,
                    code=code,
                    keyring=services.keyring,
                    now=moment,
                    policy=_lockout(),
                )
                if result.ok:
                    # The pending id ends; the signed-in session gets a new one (fixation).
                    signed_in = staff_sessions.promote(
                        db, pending, now=moment, policy=session_policy()
                    )
            if signed_in is not None:
                next_target = _safe_next(session.get(_NEXT))
                _end_session()
                session[_SID] = signed_in
                return redirect(next_target or url_for(current_app.config["MUGSHOT_STAFF_HOME"]))
            if result.ok or result.outcome in _RESTART:
                # Locked meanwhile, deactivated, or the sign-in timed out: from the password.
                return _start_over(expired=result.ok)
            errors["code"] = CODE_FAILED
    return render_template("auth/totp.html", errors=errors), 401 if errors else 200


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """Sign out (POST with a CSRF token, so no other site can sign a clerk out). The session
    ends on the server: a copy of the cookie no longer opens anything."""
    user = current_user()
    sid, pending = session.get(_SID), session.get(_PENDING)
    if user is not None or sid is not None or pending is not None:
        with get_services().sessions() as db, db.begin():
            staff_sessions.end(db, sid)
            staff_sessions.end(db, pending)
            if user is not None:
                users.record_logout(db, user_id=user.id, username=user.username, now=now())
    _end_session()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/home")
@login_required()
def landing() -> str:
    """Minimal staff landing page (replaced by the dashboard via ``MUGSHOT_STAFF_HOME``)."""
    return render_template("auth/landing.html")
