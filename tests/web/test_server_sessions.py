"""Staff sessions live on the server: sign-out, deactivation, a new password or TOTP secret and
the time limits end them there, so a copied cookie is dead afterwards; the id is replaced at
sign-in; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from retention.accounts import sessions as staff_sessions
from retention.accounts import users
from retention.db.models import Role, StaffSession, User
from retention.services import Services
from tests.web import audit_rows, html, post_form
from tests.web.conftest import FakeClock, Login, MakeUser, SignIn, fresh_code
from web import create_app
from web.auth import PENDING_EXPIRED, SESSION_EXPIRED

HOME = "/staff/home"
LOGIN = "/staff/login"
TOTP = "/staff/login/totp"
COOKIE = "mugshot_session"


def cookie_of(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None, "no session cookie"
    return cookie.value


def replay(app: Flask, cookie: str) -> FlaskClient:
    """A different browser holding a copy of ``cookie``."""
    other = app.test_client()
    other.set_cookie(COOKIE, cookie)
    return other


def decoded(app: Flask, cookie: str) -> dict[str, Any]:
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    assert serializer is not None
    return dict(serializer.loads(cookie))


def rows(services: Services) -> list[StaffSession]:
    with services.readers() as db:
        found = list(db.execute(select(StaffSession)).scalars())
        db.expunge_all()
        return found


def user_id(services: Services, username: str) -> str:
    with services.readers() as db:
        return db.execute(select(User.id).where(User.username == username)).scalar_one()


def test_a_cookie_copied_before_logout_is_dead_after_it(
    app: Flask, client: FlaskClient, login: Login, services: Services, clock: FakeClock
) -> None:
    login(client, "alice")
    stolen = cookie_of(client)
    thief = replay(app, stolen)
    assert thief.get(HOME).status_code == 200  # before logout a copy works: it is a bearer

    out = post_form(client, HOME, {}, action="/staff/logout")
    assert out.status_code == 302
    assert rows(services) == []  # ended on the server

    for attempt in (replay(app, stolen), thief):
        dead = attempt.get(HOME)
        assert dead.status_code == 302
        assert dead.headers["Location"].endswith(LOGIN)
        # Not renewable either: the next request is still signed out.
        assert attempt.get(HOME).status_code == 302
    assert client.get(HOME).status_code == 302
    # Another worker of the same deployment (its own app object) agrees.
    other_worker = create_app(
        services.settings, services=services, clock=clock, config={"TESTING": True}
    ).test_client()
    other_worker.set_cookie(COOKIE, stolen)
    assert other_worker.get(HOME).status_code == 302


def test_a_logout_on_one_worker_ends_the_session_on_every_worker(
    app: Flask, client: FlaskClient, login: Login, services: Services, clock: FakeClock
) -> None:
    login(client, "alice")
    cookie = cookie_of(client)
    second = create_app(services.settings, services=services, clock=clock, config={"TESTING": True})
    elsewhere = second.test_client()
    elsewhere.set_cookie(COOKIE, cookie)
    assert elsewhere.get(HOME).status_code == 200
    post_form(elsewhere, HOME, {}, action="/staff/logout")
    assert client.get(HOME).status_code == 302


def test_only_the_hash_of_a_random_id_is_stored_and_the_cookie_names_no_account(
    app: Flask, client: FlaskClient, login: Login, services: Services, clock: FakeClock
) -> None:
    login(client, "alice")
    content = decoded(app, cookie_of(client))
    sid = content["sid"]
    assert set(content) <= {"sid", "csrf_token", "_flashes"}
    assert len(sid) >= 43  # 32 random bytes, url-safe base64
    (row,) = rows(services)
    assert row.id_sha256 == hashlib.sha256(sid.encode()).hexdigest()
    assert row.user_id == user_id(services, "alice")
    assert row.state == "active"
    assert row.created_at == clock()
    assert row.last_seen_at == clock()
    assert row.expires_at == clock() + app.config["MUGSHOT_SESSION_MAX_AGE"]
    stored = repr([(r.id_sha256, r.user_id, r.state) for r in rows(services)])
    assert sid not in stored
    assert user_id(services, "alice") not in str(content)


def test_the_session_id_is_replaced_at_sign_in(
    app: Flask,
    client: FlaskClient,
    make_user: MakeUser,
    services: Services,
    clock: FakeClock,
) -> None:
    creds = make_user(Role.CLERK, username="alice")
    client.get(LOGIN)
    anonymous = cookie_of(client)
    post_form(client, LOGIN, {"username": "alice", "password": creds.password})
    half = cookie_of(client)
    pending_id = decoded(app, half)["pending_sid"]
    assert [r.state for r in rows(services)] == ["pending"]
    assert replay(app, half).get(HOME).status_code == 302  # half signed in is not signed in

    done = post_form(client, TOTP, {"code": fresh_code(services, creds, clock())})
    assert done.status_code == 302
    signed_in = decoded(app, cookie_of(client))
    assert signed_in["sid"] != pending_id
    assert "pending_sid" not in signed_in
    (row,) = rows(services)  # the pending session ended; one active session remains
    assert row.state == "active"
    assert row.id_sha256 != staff_sessions.digest(pending_id)
    assert client.get(HOME).status_code == 200
    # Whatever the browser held before signing in opens nothing now.
    for before in (anonymous, half):
        old = replay(app, before)
        assert old.get(HOME).status_code == 302
        assert old.get(TOTP).status_code == 302  # the pending step cannot be finished again


def test_deactivation_and_new_credentials_end_copied_sessions_on_the_server(
    app: Flask, login: Login, services: Services, clock: FakeClock
) -> None:
    copies = {}
    for name in ("carol", "dave", "erin", "fred"):
        c = app.test_client()
        login(c, name, Role.SUPERVISOR)
        copies[name] = cookie_of(c)
    assert len(rows(services)) == 4
    with services.sessions() as db, db.begin():
        users.deactivate(db, username="carol", actor="test:admin", now=clock())
        users.reset_totp(
            db, username="dave", keyring=services.keyring, actor="test:admin", now=clock()
        )
        users.set_password(
            db,
            username="erin",
            password="a new passphrase entirely",
            actor="test:admin",
            now=clock(),
        )
    remaining = {r.user_id for r in rows(services)}
    assert remaining == {user_id(services, "fred")}
    for name in ("carol", "dave", "erin"):
        assert replay(app, copies[name]).get(HOME).status_code == 302, name
    assert replay(app, copies["fred"]).get(HOME).status_code == 200
    ended = {
        e.action: e.details["sessions_ended"]
        for e in audit_rows(services)
        if e.action in {"user.deactivated", "user.totp_reset", "user.password_reset"}
    }
    assert ended == {"user.deactivated": 1, "user.totp_reset": 1, "user.password_reset": 1}


def test_credentials_changed_between_password_and_code_restart_the_sign_in(
    client: FlaskClient, make_user: MakeUser, services: Services, clock: FakeClock
) -> None:
    creds = make_user(Role.CLERK, username="alice")
    post_form(client, LOGIN, {"username": "alice", "password": creds.password})
    with services.sessions() as db, db.begin():
        users.set_password(
            db, username="alice", password="a new passphrase entirely", actor="t", now=clock()
        )
    page = client.get(TOTP)
    assert page.status_code == 302
    assert PENDING_EXPIRED in html(client.get(LOGIN))
    assert rows(services) == []


def test_the_twelve_hour_limit_ends_the_session_on_the_server(
    app: Flask, client: FlaskClient, login: Login, services: Services, clock: FakeClock
) -> None:
    login(client, "alice")
    cookie = cookie_of(client)
    for _ in range(12 * 6):
        clock.advance(minutes=10)
        assert client.get(HOME).status_code == 200
    clock.advance(seconds=1)
    assert replay(app, cookie).get(HOME).status_code == 302
    assert rows(services) == []  # the row was deleted when it was found expired
    assert client.get(HOME).status_code == 302


def test_abandoned_sessions_are_pruned_at_the_next_sign_in(
    app: Flask,
    login: Login,
    make_user: MakeUser,
    sign_in: SignIn,
    clock: FakeClock,
    services: Services,
) -> None:
    login(app.test_client(), "alice")  # never signs out
    clock.advance(minutes=16)  # idle past the limit
    bob = app.test_client()
    login(bob, "bob")
    assert [r.user_id for r in rows(services)] == [user_id(services, "bob")]


def test_idle_writes_are_throttled_but_the_idle_limit_holds(
    client: FlaskClient, login: Login, services: Services, clock: FakeClock
) -> None:
    login(client, "alice")
    signed_in_at = clock()
    clock.advance(seconds=30)
    assert client.get(HOME).status_code == 200
    assert rows(services)[0].last_seen_at == signed_in_at  # within the touch interval: no write
    clock.advance(seconds=31)
    assert client.get(HOME).status_code == 200
    assert rows(services)[0].last_seen_at == clock()
    clock.advance(minutes=15, seconds=1)
    assert client.get(HOME).status_code == 302
    assert SESSION_EXPIRED in html(client.get(LOGIN))
    assert rows(services) == []


def test_a_session_id_that_was_never_issued_opens_nothing(
    app: Flask, client: FlaskClient, login: Login, services: Services
) -> None:
    login(client, "alice")
    content = decoded(app, cookie_of(client))
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    sid = content["sid"]
    altered = sid[:-1] + ("B" if sid.endswith("A") else "A")
    for forged in ("x" * 43, "", "y" * 5000, altered, hashlib.sha256(sid.encode()).hexdigest()):
        cookie = serializer.dumps({**content, "sid": forged})
        assert replay(app, cookie).get(HOME).status_code == 302
    assert len(rows(services)) == 1
