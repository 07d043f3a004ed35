"""Staff pages: staff accounts (admin only) — create, change role, reset TOTP, deactivate.

Layer: ``web.staff``; the rules (username format, password policy, audit entries) are
``retention.accounts.users``'. A new account's TOTP secret, and a reset one, is shown exactly
once: in the response to the POST that made it, never stored in the session or a redirect, and the
page is ``Cache-Control: no-store`` like every staff page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from retention.accounts import users
from retention.db.models import Role
from retention.errors import RetentionError
from web.auth import login_required, signed_in_user
from web.services import get_services, now
from web.staff.forms import run_action

bp = Blueprint("staff_users", __name__, template_folder="templates", url_prefix="/staff/users")

ROLES = [r.value for r in Role]


def _page(code: int = 200, **extra: Any) -> ResponseReturnValue:
    with get_services().readers() as db:
        accounts = list(users.list_users(db))
        db.expunge_all()
    context: dict[str, Any] = {
        "accounts": accounts,
        "roles": ROLES,
        "errors": {},
        "form": {},
        "secret": None,
    }
    context.update(extra)
    return render_template("staff/users/index.html", **context), code


def _refused(message: str) -> ResponseReturnValue:
    """A refused action on an account (unknown username ...): the page with the message."""
    return _page(404, errors={"action": message})


def _secret(username: str, secret: str, what: str) -> dict[str, str]:
    return {
        "username": username,
        "secret": secret,
        "uri": users.provisioning_uri(secret, username),
        "what": what,
    }


@bp.get("/")
@login_required(Role.ADMIN)
def index() -> ResponseReturnValue:
    """Every staff account, and the form to create one."""
    return _page()


@bp.post("/")
@login_required(Role.ADMIN)
def create() -> ResponseReturnValue:
    """Create an account; the page shows its TOTP secret and otpauth URI this once."""
    form = {
        "username": request.form.get("username", "").strip()[:64],
        "role": request.form.get("role", ""),
    }
    password = request.form.get("password", "")
    errors: dict[str, str] = {}
    if not form["username"]:
        errors["username"] = "Enter a username."
    if form["role"] not in ROLES:
        errors["role"] = "Choose a role."
    if not password:
        errors["password"] = "Enter an initial password."  # noqa: S105 (a message)
    if errors:
        return _page(400, errors=errors, form=form)
    services = get_services()
    try:
        with services.sessions() as db, db.begin():
            user, secret = users.create_user(
                db,
                username=form["username"],
                role=form["role"],
                password=password,
                keyring=services.keyring,
                actor=signed_in_user().actor,
                now=now(),
            )
            username = user.username
    except users.PasswordPolicyError as exc:
        return _page(400, errors={"password": str(exc)}, form=form)
    except users.UserError as exc:
        return _page(400, errors={"username": str(exc)}, form=form)
    return _page(201, secret=_secret(username, secret, f"Account {username} created"))


@bp.post("/<username>/role")
@login_required(Role.ADMIN)
def change_role(username: str) -> ResponseReturnValue:
    """Change an account's role (it takes effect on that person's next click)."""
    role = request.form.get("role", "")
    if role not in ROLES:
        return _page(400, errors={"action": "Choose a role."})
    actor = signed_in_user().actor

    def run(db: Session) -> str:
        users.set_role(db, username=username, role=role, actor=actor, now=now())
        return f"{username} is now {role}."

    return run_action(run, _refused)


@bp.post("/<username>/reset-totp")
@login_required(Role.ADMIN)
def reset_totp(username: str) -> ResponseReturnValue:
    """Give the account a new TOTP secret (shown once); the old one stops working."""
    services = get_services()
    try:
        with services.sessions() as db, db.begin():
            user, secret = users.reset_totp(
                db,
                username=username,
                keyring=services.keyring,
                actor=signed_in_user().actor,
                now=now(),
            )
            name = user.username
    except RetentionError as exc:
        return _refused(str(exc))
    return _page(secret=_secret(name, secret, f"New authenticator secret for {name}"))


@bp.post("/<username>/deactivate")
@login_required(Role.ADMIN)
def deactivate(username: str) -> ResponseReturnValue:
    """Disable the account: it can no longer sign in, and its open sessions end."""
    actor = signed_in_user().actor

    def run(db: Session) -> str:
        users.deactivate(db, username=username, actor=actor, now=now())
        return f"{username} is deactivated."

    return run_action(run, _refused)
