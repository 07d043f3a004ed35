"""Web fixtures: an app over a fresh migrated database, a controllable clock, staff accounts.

Reusable by every blueprint's tests:

- ``clock`` — a ``FakeClock`` the app reads (``clock.advance(minutes=16)``);
- ``app_config`` — override in a test module to change Flask config (rate limits, timeouts);
- ``app`` / ``client`` — the app (``TESTING``, CSRF on) and a test client;
- ``make_user(role, username=None, password=None) -> StaffCredentials`` (unpacks as
  ``username, password, totp_secret``);
- ``sign_in(client, creds)`` — password then a fresh TOTP code; returns the final response;
- ``login(client, username=None, role=Role.CLERK) -> StaffCredentials`` — both of the above;
- ``signed_in(role) -> FlaskClient`` — a new client already signed in with that role.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from retention.accounts import users
from retention.db.models import Role
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import create_staff
from tests.web import post_form
from web import create_app

STAFF_PASSWORD = "correct horse battery staple"


class FakeClock:
    """The app's clock in tests: fixed until advanced."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> dt.datetime:
        """Move time forward (``minutes=16``, ``seconds=30`` ...); returns the new time."""
        self.now += dt.timedelta(**delta)
        return self.now


class StaffCredentials(NamedTuple):
    """What a staff member knows: username, password and the TOTP secret."""

    username: str
    password: str
    totp_secret: str


SignIn = Callable[[FlaskClient, "StaffCredentials"], TestResponse]
# What the ``signed_in`` fixture is: role -> a new client signed in with it.
SignedIn = Callable[[Role | str], FlaskClient]


class MakeUser(Protocol):
    def __call__(
        self, role: Role | str = ..., *, username: str | None = ..., password: str = ...
    ) -> StaffCredentials: ...


class Login(Protocol):
    def __call__(
        self, client: FlaskClient, username: str | None = ..., role: Role | str = ...
    ) -> StaffCredentials: ...


@pytest.fixture
def clock() -> FakeClock:
    """A fixed clock, starting at ``tests.conftest.FIXED_NOW``."""
    return FakeClock(FIXED_NOW)


@pytest.fixture
def app_config() -> dict[str, Any]:
    """Extra Flask config for the ``app`` fixture; override in a module to change it."""
    return {}


@pytest.fixture
def app(services: Services, clock: FakeClock, app_config: dict[str, Any]) -> Flask:
    """The web app over the test's migrated database, reading ``clock``."""
    return create_app(
        services.settings,
        services=services,
        clock=clock,
        config={"TESTING": True, **app_config},
    )


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client (keeps cookies between requests)."""
    return app.test_client()


@pytest.fixture
def make_user(services: Services, clock: FakeClock) -> MakeUser:
    """Create staff accounts through ``retention.accounts.users`` (as ``mugshot user add`` does)."""
    counter = itertools.count(1)

    def make(
        role: Role | str = Role.CLERK,
        *,
        username: str | None = None,
        password: str = STAFF_PASSWORD,
    ) -> StaffCredentials:
        name = username or f"{Role(role).value}{next(counter)}"
        name, secret = create_staff(
            services, name, role, password=password, now=clock(), actor="test:admin"
        )
        return StaffCredentials(name, password, secret)

    return make


def fresh_code(services: Services, creds: StaffCredentials, at: dt.datetime) -> str:
    """A code the server will accept now: the current step, or the next one if it was used."""
    with services.readers() as db:
        user = users.get_user(db, creds.username)
        assert user is not None
        last = user.last_totp_step
    step = int(at.timestamp()) // users.TOTP_INTERVAL
    if last is not None and last >= step:
        step = last + 1
    assert step <= int(at.timestamp()) // users.TOTP_INTERVAL + 1, (
        "both usable TOTP steps are spent: advance the clock by 30 seconds"
    )
    return str(pyotp.TOTP(creds.totp_secret).generate_otp(step))


@pytest.fixture
def sign_in(services: Services, clock: FakeClock) -> SignIn:
    """Sign ``creds`` in on ``client``: password step, then a fresh TOTP code."""

    def run(client: FlaskClient, creds: StaffCredentials) -> TestResponse:
        first = post_form(
            client,
            "/staff/login",
            {"username": creds.username, "password": creds.password},
        )
        assert first.status_code == 302, f"password step failed ({first.status_code})"
        second = post_form(
            client, "/staff/login/totp", {"code": fresh_code(services, creds, clock())}
        )
        assert second.status_code == 302, f"code step failed ({second.status_code})"
        return second

    return run


@pytest.fixture
def login(make_user: MakeUser, sign_in: SignIn) -> Login:
    """Create a staff account with ``role`` and sign it in on ``client``."""

    def run(
        client: FlaskClient, username: str | None = None, role: Role | str = Role.CLERK
    ) -> StaffCredentials:
        creds = make_user(role, username=username)
        sign_in(client, creds)
        return creds

    return run


@pytest.fixture
def signed_in(app: Flask, login: Login) -> SignedIn:
    """A fresh client already signed in as a new user with ``role``."""

    def run(role: Role | str = Role.CLERK) -> FlaskClient:
        client = app.test_client()
        login(client, role=role)
        return client

    return run
