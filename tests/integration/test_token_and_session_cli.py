"""``mugshot token add NAME --agency A`` / ``token list`` and ``mugshot user reset-password``:
what they store, print and end."""

from __future__ import annotations

import hashlib
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from retention.accounts import sessions as staff_sessions
from retention.accounts import tokens, users
from retention.cli.tokens import token as token_group
from retention.cli.users import user as user_group
from retention.db.models import ApiToken, ApiTokenAgency, AuditEntry, Role, StaffSession
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import create_staff

NEW_PASSWORD = "another long passphrase 7"


@pytest.fixture
def run(services: Services) -> Any:
    settings = services.settings.with_overrides(actor="test:cli")

    @click.group()
    @click.pass_context
    def root(ctx: click.Context) -> None:
        ctx.obj = settings

    root.add_command(token_group)
    root.add_command(user_group)

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(root, list(args), input=stdin)

    return invoke


def test_token_add_needs_an_agency_and_stores_only_the_hash_and_the_agencies(
    run: Any, services: Services
) -> None:
    missing = run("token", "add", "cad-system")
    assert missing.exit_code == 2
    assert "--agency" in missing.output
    with services.readers() as s:
        assert s.execute(select(func.count()).select_from(ApiToken)).scalar_one() == 0

    made = run("token", "add", "cad-system", "--agency", "SFPD", "--agency", "LAPD")
    assert made.exit_code == 0, made.output
    secret = made.stdout.splitlines()[1]
    assert secret.startswith("mgs_")
    assert "agencies LAPD, SFPD" in made.stdout.splitlines()[0]
    with services.readers() as s:
        row = s.execute(select(ApiToken)).scalar_one()
        assert row.token_sha256 == hashlib.sha256(secret.encode()).hexdigest()
        scope = sorted(s.execute(select(ApiTokenAgency.agency)).scalars())
        grant = tokens.authenticate(s, secret)
    assert scope == ["LAPD", "SFPD"]
    assert grant is not None
    assert grant.agencies == frozenset({"LAPD", "SFPD"})

    listing = run("token", "list")
    assert listing.exit_code == 0
    assert "agencies LAPD,SFPD" in listing.stdout
    assert secret not in listing.stdout


def test_token_list_marks_a_token_without_agencies_and_a_bad_agency_is_refused(
    run: Any, services: Services
) -> None:
    with services.sessions() as s, s.begin():
        s.add(
            ApiToken(
                id="a" * 32,
                name="old-system",
                token_sha256="b" * 64,
                created_by="admin",
                created_at=FIXED_NOW,
            )
        )
    assert "no agency (re-issue with --agency)" in run("token", "list").stdout
    bad = run("token", "add", "x", "--agency", " ")
    assert bad.exit_code != 0
    assert "an agency is 1 to 64 characters" in str(bad.exception)
    with services.readers() as s:
        assert s.execute(select(func.count()).select_from(ApiToken)).scalar_one() == 1


def test_user_reset_password_replaces_it_and_ends_the_accounts_sessions(
    run: Any, services: Services
) -> None:
    for name in ("alice", "bob"):
        create_staff(
            services, name, Role.CLERK, password=NEW_PASSWORD[::-1], now=FIXED_NOW, actor="t"
        )
    policy = staff_sessions.SessionPolicy()
    with services.sessions() as s, s.begin():
        for name in ("alice", "alice", "bob"):
            account = users.get_user(s, name)
            assert account is not None
            staff_sessions.start(
                s,
                user_id=account.id,
                state=staff_sessions.State.ACTIVE,
                now=FIXED_NOW,
                policy=policy,
            )
    weak = run("user", "reset-password", "alice", "--password-stdin", stdin="short\n")
    assert isinstance(weak.exception, users.PasswordPolicyError)
    done = run("user", "reset-password", "alice", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert done.exit_code == 0, done.output
    assert "its open sessions have ended" in done.stdout
    with services.sessions() as s, s.begin():
        assert users.authenticate_password(
            s, username="alice", password=NEW_PASSWORD, now=FIXED_NOW
        ).ok
        left = s.execute(select(StaffSession.user_id)).scalars().all()
        bob = users.get_user(s, "bob")
        entry = s.execute(
            select(AuditEntry).where(AuditEntry.action == "user.password_reset")
        ).scalar_one()
    assert bob is not None
    assert left == [bob.id]
    assert entry.actor == "test:cli"
    assert entry.details == {"username": "alice", "sessions_ended": 2}
    assert NEW_PASSWORD not in repr(entry.details)
