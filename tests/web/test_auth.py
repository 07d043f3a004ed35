"""Staff sign-in, sign-out, lockout, session timeout, CSRF, rate limits, headers and roles."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from retention.db.models import Role, User
from retention.services import Services
from tests.web import audit_rows, csrf_token, html, post_form
from tests.web.conftest import FakeClock, Login, MakeUser, SignIn, StaffCredentials, fresh_code
from web import create_app
from web.auth import CODE_FAILED, LOGIN_FAILED, SESSION_EXPIRED, _safe_next, login_required
from web.security import CONTENT_SECURITY_POLICY

HOME = "/staff/home"
LOGIN = "/staff/login"
TOTP = "/staff/login/totp"


def password_step(client: FlaskClient, username: str, password: str) -> Any:
    return post_form(client, LOGIN, {"username": username, "password": password})


def code_step(client: FlaskClient, code: str) -> Any:
    return post_form(client, TOTP, {"code": code})


def account(services: Services, username: str) -> User:
    with services.readers() as db:
        user = db.execute(select(User).where(User.username == username)).scalar_one()
        db.expunge(user)
        return user


# -- signing in -------------------------------------------------------------------------


def test_a_clerk_signs_in_with_password_then_totp_and_lands_on_the_staff_home(
    client: FlaskClient, make_user: MakeUser, services: Services, clock: FakeClock
) -> None:
    creds = make_user(Role.CLERK, username="alice")
    first = password_step(client, "alice", creds.password)
    assert first.status_code == 302
    assert first.headers["Location"].endswith(TOTP)
    # Half signed in: staff pages still refuse.
    assert client.get(HOME).status_code == 302

    done = code_step(client, pyotp.TOTP(creds.totp_secret).at(clock()))
    assert done.status_code == 302
    assert done.headers["Location"].endswith(HOME)
    page = client.get(HOME)
    assert page.status_code == 200
    assert "alice" in html(page)
    assert "clerk" in html(page)

    user = account(services, "alice")
    assert user.last_login_at == clock()
    assert user.failed_logins == 0
    logins = [e for e in audit_rows(services) if e.action == "auth.login"]
    assert [(e.actor, e.object_id) for e in logins] == [("alice", user.id)]


def test_usernames_are_case_insensitive(
    client: FlaskClient, make_user: MakeUser, sign_in: SignIn
) -> None:
    creds = make_user(Role.AUDITOR, username="bob")
    sign_in(client, StaffCredentials("  BOB ", creds.password, creds.totp_secret))
    assert client.get(HOME).status_code == 200


def test_a_wrong_password_is_refused_counted_and_audited_without_the_password(
    client: FlaskClient, make_user: MakeUser, services: Services
) -> None:
    make_user(username="alice")
    response = password_step(client, "alice", "not the right password")
    assert response.status_code == 401
    assert LOGIN_FAILED in html(response)
    assert account(services, "alice").failed_logins == 1
    failures = [e for e in audit_rows(services) if e.action == "auth.login_failed"]
    assert len(failures) == 1
    assert failures[0].details == {"username": "alice", "reason": "bad_credentials"}
    assert "not the right password" not in repr([e.details for e in audit_rows(services)])


def test_a_wrong_code_is_refused_and_counted(
    client: FlaskClient, make_user: MakeUser, services: Services, clock: FakeClock
) -> None:
    creds = make_user(username="alice")
    password_step(client, "alice", creds.password)
    right = pyotp.TOTP(creds.totp_secret).at(clock())
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = code_step(client, wrong)
    assert response.status_code == 401
    assert CODE_FAILED in html(response)
    assert client.get(HOME).status_code == 302
    assert account(services, "alice").failed_logins == 1
    assert wrong not in repr([e.details for e in audit_rows(services)])


def test_a_malformed_code_is_explained_next_to_the_field(
    client: FlaskClient, make_user: MakeUser
) -> None:
    creds = make_user(username="alice")
    password_step(client, "alice", creds.password)
    response = code_step(client, "12ab")
    assert response.status_code == 401
    body = html(response)
    assert 'id="code-error"' in body
    assert 'aria-describedby="code-hint code-error"' in body


def test_a_code_once_used_cannot_be_replayed(
    client: FlaskClient, make_user: MakeUser, services: Services, clock: FakeClock
) -> None:
    creds = make_user(username="alice")
    code = pyotp.TOTP(creds.totp_secret).at(clock())
    password_step(client, "alice", creds.password)
    assert code_step(client, code).status_code == 302
    post_form(client, HOME, {}, action="/staff/logout")

    password_step(client, "alice", creds.password)
    replay = code_step(client, code)
    assert replay.status_code == 401
    assert CODE_FAILED in html(replay)
    reasons = [e.details.get("reason") for e in audit_rows(services)]
    assert "replayed_code" in reasons


def test_the_code_step_expires_after_five_minutes(
    client: FlaskClient, make_user: MakeUser, clock: FakeClock
) -> None:
    creds = make_user(username="alice")
    password_step(client, "alice", creds.password)
    clock.advance(minutes=5, seconds=1)
    page = client.get(TOTP)
    assert page.status_code == 302
    assert page.headers["Location"].endswith(LOGIN)
    assert "took too long" in html(client.get(LOGIN))


# -- lockout ----------------------------------------------------------------------------


def test_five_failures_lock_the_account_for_fifteen_minutes(
    client: FlaskClient,
    make_user: MakeUser,
    sign_in: SignIn,
    services: Services,
    clock: FakeClock,
) -> None:
    creds = make_user(username="alice")
    for _ in range(5):
        assert password_step(client, "alice", "wrong password!!").status_code == 401
    user = account(services, "alice")
    assert user.locked_until == clock() + dt.timedelta(minutes=15)
    locked = [e for e in audit_rows(services) if e.action == "auth.locked"]
    assert len(locked) == 1
    assert locked[0].object_id == user.id

    # The right password is refused with the very same message while locked.
    refused = password_step(client, "alice", creds.password)
    assert refused.status_code == 401
    assert LOGIN_FAILED in html(refused)

    clock.advance(minutes=14, seconds=59)
    assert password_step(client, "alice", creds.password).status_code == 401
    clock.advance(seconds=2)
    sign_in(client, creds)
    assert client.get(HOME).status_code == 200
    assert account(services, "alice").failed_logins == 0


def test_wrong_codes_count_towards_the_lockout(
    client: FlaskClient, make_user: MakeUser, services: Services, clock: FakeClock
) -> None:
    creds = make_user(username="alice")
    password_step(client, "alice", creds.password)
    for _ in range(5):
        assert code_step(client, "000000").status_code == 401
    assert account(services, "alice").locked_until == clock() + dt.timedelta(minutes=15)
    # Even the right code is refused now, and the user is sent back to the first step.
    blocked = code_step(client, fresh_code(services, creds, clock()))
    assert blocked.status_code == 302
    assert blocked.headers["Location"].endswith(LOGIN)
    assert password_step(client, "alice", creds.password).status_code == 401


def test_an_unknown_username_looks_exactly_like_a_wrong_password(
    app: Flask, make_user: MakeUser, services: Services
) -> None:
    make_user(username="alice")

    def attempt(username: str) -> tuple[int, str]:
        client = app.test_client()
        response = password_step(client, username, "wrong password!!")
        body = html(response).replace(csrf_token(response.data), "TOKEN")
        return response.status_code, body.replace(f'value="{username}"', 'value="NAME"')

    assert attempt("alice") == attempt("nobody")
    unknown = [e for e in audit_rows(services) if e.details.get("reason") == "unknown_user"]
    assert len(unknown) == 1
    assert "nobody" not in repr(unknown[0].details)
    assert unknown[0].object_id is None


def test_empty_fields_are_reported_next_to_each_field(client: FlaskClient) -> None:
    response = password_step(client, "", "")
    assert response.status_code == 400
    body = html(response)
    assert 'id="username-error"' in body
    assert 'id="password-error"' in body
    assert 'aria-invalid="true"' in body


# -- sessions ---------------------------------------------------------------------------


def test_an_idle_session_ends_after_fifteen_minutes(
    client: FlaskClient, login: Login, clock: FakeClock
) -> None:
    login(client)
    clock.advance(minutes=14)
    assert client.get(HOME).status_code == 200  # activity refreshes the idle clock
    clock.advance(minutes=14)
    assert client.get(HOME).status_code == 200
    clock.advance(minutes=15, seconds=1)
    expired = client.get(HOME)
    assert expired.status_code == 302
    assert expired.headers["Location"].endswith(LOGIN)
    assert SESSION_EXPIRED in html(client.get(LOGIN))


def test_a_session_ends_after_twelve_hours_however_active(
    client: FlaskClient, login: Login, clock: FakeClock
) -> None:
    login(client)
    for _ in range(12 * 6):
        clock.advance(minutes=10)
        assert client.get(HOME).status_code == 200
    clock.advance(minutes=1)
    assert client.get(HOME).status_code == 302


def test_logout_needs_a_post_with_a_csrf_token(
    client: FlaskClient, login: Login, services: Services
) -> None:
    login(client, "alice")
    assert client.get("/staff/logout").status_code == 405
    refused = client.post("/staff/logout")
    assert refused.status_code == 400
    assert client.get(HOME).status_code == 200  # still signed in

    out = post_form(client, HOME, {}, action="/staff/logout")
    assert out.status_code == 302
    assert client.get(HOME).status_code == 302
    assert [e.actor for e in audit_rows(services) if e.action == "auth.logout"] == ["alice"]


def test_deactivation_role_change_and_totp_reset_apply_to_open_sessions(
    app: Flask, login: Login, services: Services, clock: FakeClock
) -> None:
    from retention.accounts import users

    supervisors_only = login_required(Role.SUPERVISOR)(lambda: "ok")
    app.add_url_rule("/staff/test/supervisors", "supervisors_only", supervisors_only)
    clients = {name: app.test_client() for name in ("carol", "dave", "erin")}
    for name, c in clients.items():
        login(c, name, Role.SUPERVISOR)
        assert c.get("/staff/test/supervisors").status_code == 200

    with services.sessions() as db, db.begin():
        users.deactivate(db, username="carol", actor="test:admin", now=clock())
        users.set_role(db, username="dave", role=Role.CLERK, actor="test:admin", now=clock())
        users.reset_totp(
            db, username="erin", keyring=services.keyring, actor="test:admin", now=clock()
        )
    assert clients["carol"].get("/staff/test/supervisors").status_code == 302
    assert clients["dave"].get("/staff/test/supervisors").status_code == 403
    assert clients["erin"].get("/staff/test/supervisors").status_code == 302


# -- CSRF, rate limits, headers, errors ---------------------------------------------------


def test_the_login_form_refuses_a_post_without_a_valid_csrf_token(
    client: FlaskClient, make_user: MakeUser, services: Services
) -> None:
    creds = make_user(username="alice")
    before = len(audit_rows(services))
    missing = client.post(LOGIN, data={"username": "alice", "password": creds.password})
    assert missing.status_code == 400
    forged = client.post(
        LOGIN, data={"username": "alice", "password": creds.password, "csrf_token": "x" * 40}
    )
    assert forged.status_code == 400
    assert "expired" in html(forged)
    assert len(audit_rows(services)) == before  # never reached the password check


def test_the_login_form_is_rate_limited_per_address(client: FlaskClient) -> None:
    token = csrf_token(client.get(LOGIN).data)
    statuses = [
        client.post(
            LOGIN, data={"username": f"user{i}", "password": "x" * 12, "csrf_token": token}
        ).status_code
        for i in range(11)
    ]
    assert statuses == [401] * 10 + [429]
    limited = client.post(LOGIN, data={"username": "u", "password": "p", "csrf_token": token})
    assert limited.status_code == 429
    assert "Too many attempts" in html(limited)
    assert client.get(LOGIN).status_code == 200  # only POSTs count
    other = client.post(LOGIN, environ_base={"REMOTE_ADDR": "10.0.0.9"}, data={})
    assert other.status_code == 400  # another address has its own budget (then CSRF refuses)


@pytest.mark.parametrize(
    "path", [LOGIN, "/static/style.css", "/nowhere", HOME, TOTP, "/staff/logout"]
)
def test_every_response_carries_the_security_headers(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    response.close()  # the static file is streamed
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "camera=()" in response.headers["Permissions-Policy"]
    if path != "/static/style.css":
        assert response.headers["Cache-Control"] == "no-store"


def test_signed_in_pages_are_not_cached_and_have_no_inline_script_or_style(
    signed_in: Any,
) -> None:
    client = signed_in(Role.ADMIN)
    page = client.get(HOME)
    assert page.headers["Cache-Control"] == "no-store"
    body = html(page)
    assert "<script" not in body
    assert "<style" not in body
    assert " style=" not in body
    assert re.search(r'<form method="post" action="/staff/logout"', body)


def test_the_session_cookie_is_httponly_and_samesite(
    client: FlaskClient, make_user: MakeUser
) -> None:
    creds = make_user(username="alice")
    response = password_step(client, "alice", creds.password)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("mugshot_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_secure_cookies_when_configured(services: Services, clock: FakeClock) -> None:
    app = create_app(
        services.settings,
        services=services,
        clock=clock,
        config={"TESTING": True, "MUGSHOT_COOKIE_SECURE": True},
    )
    client = app.test_client()
    page = client.get(LOGIN, base_url="https://localhost")
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-mugshot_session=")
    assert "Secure" in cookie
    assert "max-age" in page.headers["Strict-Transport-Security"]


def test_an_internal_error_shows_a_plain_page_without_details(
    services: Services, clock: FakeClock
) -> None:
    app = create_app(services.settings, services=services, clock=clock)

    def boom() -> str:
        raise RuntimeError("detail that must not leak: Jane Doe 1990-01-01")

    app.add_url_rule("/boom", "boom", boom)
    app.logger.disabled = True
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    body = html(response)
    assert "Something went wrong" in body
    assert "Jane Doe" not in body
    assert "Traceback" not in body
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY


def test_an_oversized_post_is_refused_with_413(app: Flask, client: FlaskClient) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post(LOGIN, data={"username": "x" * 4096})
    assert response.status_code == 413
    assert "Upload too large" in html(response)


# -- roles ------------------------------------------------------------------------------


def test_the_role_decorator_refuses_a_wrong_role_and_sends_anonymous_to_sign_in(
    app: Flask, make_user: MakeUser, sign_in: SignIn
) -> None:
    view = login_required(Role.SUPERVISOR, Role.ADMIN)(lambda: "approvals")
    app.add_url_rule("/staff/test/approvals", "approvals", view)

    anonymous = app.test_client()
    bounced = anonymous.get("/staff/test/approvals?page=2")
    assert bounced.status_code == 302
    assert bounced.headers["Location"].endswith(LOGIN)
    # After signing in, the user is taken back where they were going.
    back = sign_in(anonymous, make_user(Role.SUPERVISOR))
    assert back.headers["Location"].endswith("/staff/test/approvals?page=2")
    assert anonymous.get("/staff/test/approvals").get_data(as_text=True) == "approvals"

    clerk = app.test_client()
    sign_in(clerk, make_user(Role.CLERK))
    refused = clerk.get("/staff/test/approvals")
    assert refused.status_code == 403
    assert "Not allowed" in html(refused)

    admin = app.test_client()
    sign_in(admin, make_user(Role.ADMIN))
    assert admin.get("/staff/test/approvals").status_code == 200


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/staff/records?id=3", True),
        ("//evil.example/x", False),
        ("https://evil.example/", False),
        ("/\\evil.example", False),
        ("staff/home", False),
        ("", False),
    ],
)
def test_only_local_paths_are_followed_after_sign_in(target: str, safe: bool) -> None:
    assert (_safe_next(target) == target) is safe


# -- the factory ------------------------------------------------------------------------


def test_create_app_reads_settings_from_the_environment_when_given_none(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = services.settings
    monkeypatch.setenv("MUGSHOT_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("MUGSHOT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MUGSHOT_RATELIMIT_STORAGE", "memory://")
    monkeypatch.setenv("MUGSHOT_SESSION_IDLE_MINUTES", "5")
    app = create_app()
    try:
        assert app.config["MUGSHOT_SESSION_IDLE"].total_seconds() == 300
        assert app.config["SECRET_KEY"] != services.keyring.session_key
        assert len(app.config["SECRET_KEY"]) == 32
        assert app.test_client().get(LOGIN).status_code == 200
    finally:
        app.extensions["mugshot"].services.close()
