"""Staff accounts in the core: hashing, sealed TOTP secrets, lockout, audit, and `mugshot user`."""

from __future__ import annotations

import datetime as dt
from typing import Any

import click
import pyotp
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, text

from retention.accounts import users
from retention.cli.users import user as user_group
from retention.db.models import AuditEntry, Role, User
from retention.errors import IntegrityError
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import create_staff

PASSWORD = "a long staff passphrase 42"


def create(services: Services, username: str = "alice", role: Role = Role.CLERK) -> str:
    _, secret = create_staff(
        services, username, role, password=PASSWORD, now=FIXED_NOW, actor="test:admin"
    )
    return secret


def raw_rows(services: Services, table: str) -> list[tuple[Any, ...]]:
    with services.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table}"))]  # noqa: S608


def as_bytes(value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode()


def audit(services: Services) -> list[AuditEntry]:
    with services.readers() as db:
        return list(db.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars())


def password(services: Services, username: str, given: str, now: dt.datetime) -> users.AuthResult:
    with services.sessions() as db, db.begin():
        return users.authenticate_password(db, username=username, password=given, now=now)


def code(services: Services, username: str, given: str, now: dt.datetime) -> users.AuthResult:
    with services.sessions() as db, db.begin():
        account = users.get_user(db, username)
        assert account is not None
        return users.verify_totp(
            db, user_id=account.id, code=given, keyring=services.keyring, now=now
        )


def code_at(secret: str, when: dt.datetime) -> str:
    return str(pyotp.TOTP(secret).at(when))


# -- what is stored ---------------------------------------------------------------------


def test_the_password_is_stored_only_as_a_salted_scrypt_hash(services: Services) -> None:
    create(services, "alice")
    create(services, "bob")
    with services.readers() as db:
        hashes = {u.username: u.password_hash for u in db.execute(select(User)).scalars()}
    assert hashes["alice"].startswith("scrypt$16384$8$1$")
    assert hashes["alice"] != hashes["bob"]  # same password, different salts
    dump = b"".join(as_bytes(v) for row in raw_rows(services, "users") for v in row)
    assert PASSWORD.encode() not in dump
    assert users.verify_password(PASSWORD, hashes["alice"])
    assert not users.verify_password(PASSWORD + "x", hashes["alice"])
    assert not users.verify_password(PASSWORD, "scrypt$99999999999$8$1$AAAA$AAAA")
    assert not users.verify_password(PASSWORD, "bcrypt$whatever")


def test_the_totp_secret_is_sealed_and_bound_to_its_account(services: Services) -> None:
    secret = create(services, "alice")
    create(services, "bob")
    dump = b"".join(as_bytes(v) for row in raw_rows(services, "users") for v in row)
    assert secret.encode() not in dump
    assert secret.lower().encode() not in dump
    with services.sessions() as db, db.begin():
        alice = users.get_user(db, "alice")
        bob = users.get_user(db, "bob")
        assert alice is not None
        assert bob is not None
        assert alice.totp_sealed is not None
        bob.totp_sealed = alice.totp_sealed  # a sealed secret copied onto another account
    with pytest.raises(IntegrityError):
        code(services, "bob", code_at(secret, FIXED_NOW), FIXED_NOW)


def test_the_audit_log_records_every_change_without_passwords_secrets_or_codes(
    services: Services,
) -> None:
    secret = create(services, "alice")
    now = FIXED_NOW
    wrong_code = f"{(int(code_at(secret, now)) + 1) % 1_000_000:06d}"
    password(services, "alice", "a wrong passphrase 99", now)
    password(services, "alice", PASSWORD, now)
    code(services, "alice", wrong_code, now)
    good = code_at(secret, now)
    assert code(services, "alice", good, now).ok
    with services.sessions() as db, db.begin():
        _, new_secret = users.reset_totp(
            db, username="alice", keyring=services.keyring, actor="test:admin", now=now
        )
        users.set_role(db, username="alice", role=Role.SUPERVISOR, actor="test:admin", now=now)
        users.deactivate(db, username="alice", actor="test:admin", now=now)

    actions = [e.action for e in audit(services)]
    assert actions == [
        "user.created",
        "auth.login_failed",
        "auth.login_failed",
        "auth.login",
        "user.totp_reset",
        "user.role_changed",
        "user.deactivated",
    ]
    dump = b"".join(as_bytes(v) for row in raw_rows(services, "audit_entries") for v in row)
    for forbidden in (PASSWORD, "a wrong passphrase 99", secret, new_secret, good, wrong_code):
        assert forbidden.encode() not in dump


# -- policy -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "given", "error"),
    [
        ("alice", "short", users.PasswordPolicyError),
        ("alice", "alice-is-my-password", users.PasswordPolicyError),
        ("alice", "aaaaaaaaaaaaaaaa", users.PasswordPolicyError),
        ("Not Valid!", PASSWORD, users.UsernameError),
        ("a", PASSWORD, users.UsernameError),
    ],
    ids=["too-short", "contains-username", "one-character", "bad-characters", "too-short-name"],
)
def test_the_account_policy_is_enforced(
    services: Services, username: str, given: str, error: type[Exception]
) -> None:
    with services.sessions() as db, db.begin(), pytest.raises(error):
        users.create_user(
            db,
            username=username,
            role=Role.CLERK,
            password=given,
            keyring=services.keyring,
            actor="test:admin",
            now=FIXED_NOW,
        )


def test_a_username_is_taken_only_once_whatever_its_case(services: Services) -> None:
    create(services, "alice")
    with pytest.raises(users.UsernameError):
        create(services, "ALICE")


# -- codes and lockout ------------------------------------------------------------------


def test_codes_from_the_adjacent_steps_are_accepted_and_none_twice(services: Services) -> None:
    secret = create(services, "alice")
    now = FIXED_NOW
    assert not code(services, "alice", code_at(secret, now - dt.timedelta(seconds=60)), now).ok
    assert code(services, "alice", code_at(secret, now - dt.timedelta(seconds=30)), now).ok
    replay = code(services, "alice", code_at(secret, now - dt.timedelta(seconds=30)), now)
    assert replay.outcome is users.Outcome.REPLAYED_CODE
    assert code(services, "alice", code_at(secret, now), now).ok
    # An older step than the last one used is a replay too, even if still in the window.
    later = now + dt.timedelta(seconds=30)
    assert code(services, "alice", code_at(secret, later), later).ok
    assert not code(services, "alice", code_at(secret, now), later).ok


def test_five_failures_lock_the_account_for_fifteen_minutes(services: Services) -> None:
    create(services, "alice")
    now = FIXED_NOW
    results = [password(services, "alice", "wrong passphrase !!", now) for _ in range(5)]
    assert {r.outcome for r in results} == {users.Outcome.BAD_CREDENTIALS}
    with services.readers() as db:
        account = users.get_user(db, "alice")
        assert account is not None
        assert account.failed_logins == 5
        assert account.locked_until == now + users.LOCKOUT_DURATION
    locks = [e for e in audit(services) if e.action == "auth.locked"]
    assert len(locks) == 1
    assert locks[0].details["failures"] == 5

    almost = now + users.LOCKOUT_DURATION - dt.timedelta(seconds=1)
    assert password(services, "alice", PASSWORD, almost).outcome is users.Outcome.LOCKED
    after = now + users.LOCKOUT_DURATION
    assert password(services, "alice", PASSWORD, after).ok


def test_a_custom_lockout_policy_is_honoured(services: Services) -> None:
    create(services, "alice")
    policy = users.LockoutPolicy(max_failures=2, duration=dt.timedelta(minutes=1))
    for _ in range(2):
        with services.sessions() as db, db.begin():
            users.authenticate_password(
                db, username="alice", password="wrong passphrase !!", now=FIXED_NOW, policy=policy
            )
    later = FIXED_NOW + dt.timedelta(seconds=59)
    assert password(services, "alice", PASSWORD, later).outcome is users.Outcome.LOCKED
    assert password(services, "alice", PASSWORD, FIXED_NOW + dt.timedelta(minutes=1)).ok


def test_an_unknown_user_and_an_inactive_one_cannot_sign_in(services: Services) -> None:
    create(services, "alice")
    unknown = password(services, "nobody", PASSWORD, FIXED_NOW)
    assert unknown.outcome is users.Outcome.UNKNOWN_USER
    assert unknown.user is None
    with services.sessions() as db, db.begin():
        users.deactivate(db, username="alice", actor="test:admin", now=FIXED_NOW)
    assert password(services, "alice", PASSWORD, FIXED_NOW).outcome is users.Outcome.INACTIVE
    entries = audit(services)
    assert all("nobody" not in repr(e.details) for e in entries)


# -- the second person of a four-eyes step ---------------------------------------------------


def second(
    services: Services,
    username: str,
    given: str,
    code_given: str,
    now: dt.datetime,
    *,
    not_same_as: str | None = "clerk.first",
) -> users.AuthResult:
    with services.sessions() as db, db.begin():
        return users.authenticate_second_person(
            db,
            services.keyring,
            username,
            given,
            code_given,
            role=Role.SUPERVISOR,
            not_same_as=not_same_as,
            purpose="hold.approve",
            subject="h1",
            now=now,
        )


def test_a_second_person_signs_in_with_password_and_code_and_is_audited_as_such(
    services: Services,
) -> None:
    secret = create(services, "sup.bob", Role.SUPERVISOR)
    result = second(services, " Sup.Bob", PASSWORD, code_at(secret, FIXED_NOW), FIXED_NOW)
    assert result.ok
    assert result.user is not None
    last = audit(services)[-1]
    assert (last.action, last.actor) == ("auth.second_person", "sup.bob")
    assert last.details == {
        "username": "sup.bob",
        "role": "supervisor",
        "purpose": "hold.approve",
        "subject": "h1",
    }
    assert "auth.login" not in [e.action for e in audit(services)]
    replay = second(services, "sup.bob", PASSWORD, code_at(secret, FIXED_NOW), FIXED_NOW)
    assert replay.outcome is users.Outcome.REPLAYED_CODE


def test_the_account_that_acted_first_is_refused_before_any_secret_is_checked(
    services: Services,
) -> None:
    secret = create(services, "sup.bob", Role.SUPERVISOR)
    before = [e.seq for e in audit(services)]
    refused = second(
        services, "sup.bob", "wrong", code_at(secret, FIXED_NOW), FIXED_NOW, not_same_as="SUP.BOB "
    )
    assert refused.outcome is users.Outcome.SAME_PERSON
    assert [e.seq for e in audit(services)] == before
    with services.readers() as db:
        account = users.get_user(db, "sup.bob")
        assert account is not None
        assert (account.failed_logins, account.last_totp_step) == (0, None)


def test_a_second_person_of_another_role_is_refused_after_signing_in(
    services: Services,
) -> None:
    secret = create(services, "admin.eve", Role.ADMIN)
    refused = second(services, "admin.eve", PASSWORD, code_at(secret, FIXED_NOW), FIXED_NOW)
    assert refused.outcome is users.Outcome.WRONG_ROLE
    assert refused.user is None
    last = audit(services)[-1]
    assert last.action == "auth.second_person_refused"
    assert last.details["reason"] == "wrong_role"


def test_failed_second_person_checks_count_towards_the_same_lockout_as_the_web(
    services: Services,
) -> None:
    secret = create(services, "sup.bob", Role.SUPERVISOR)
    wrong = f"{(int(code_at(secret, FIXED_NOW)) + 1) % 1_000_000:06d}"
    outcomes = [second(services, "sup.bob", PASSWORD, wrong, FIXED_NOW).outcome for _ in range(5)]
    assert set(outcomes) == {users.Outcome.BAD_CODE}
    locked = second(services, "sup.bob", PASSWORD, code_at(secret, FIXED_NOW), FIXED_NOW)
    assert locked.outcome is users.Outcome.LOCKED
    assert password(services, "sup.bob", PASSWORD, FIXED_NOW).outcome is users.Outcome.LOCKED
    reasons = [e.details.get("reason") for e in audit(services) if e.action == "auth.login_failed"]
    assert reasons == ["bad_code"] * 5
    assert [e.action for e in audit(services)].count("auth.locked") == 1


def test_the_provisioning_uri_names_the_issuer_and_the_account(services: Services) -> None:
    secret = create(services, "alice")
    uri = users.provisioning_uri(secret, "alice")
    assert uri.startswith("otpauth://totp/")
    assert f"secret={secret}" in uri
    assert "alice" in uri
    assert "issuer=Mugshot" in uri


# -- the CLI group ----------------------------------------------------------------------


@pytest.fixture
def run(services: Services) -> Any:
    settings = services.settings.with_overrides(actor="test:cli")

    @click.group()
    @click.pass_context
    def root(ctx: click.Context) -> None:
        ctx.obj = settings

    root.add_command(user_group)

    def invoke(*args: str, stdin: str | None = None) -> Result:
        return CliRunner().invoke(root, list(args), input=stdin)

    return invoke


def secret_from(output: str) -> str:
    for line in output.splitlines():
        if line.startswith("TOTP secret for "):
            return line.rsplit(": ", 1)[1]
    raise AssertionError(f"no secret in {output!r}")


def test_user_add_with_password_stdin_prints_the_secret_and_uri_once(
    run: Any, services: Services
) -> None:
    result = run(
        "user", "add", "Alice", "--role", "supervisor", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert result.exit_code == 0, result.output
    assert "created alice (supervisor)" in result.stdout
    secret = secret_from(result.stdout)
    assert f"otpauth://totp/Mugshot%20retention:alice?secret={secret}" in result.stdout
    assert "shown only this once" in result.stderr
    assert password(services, "alice", PASSWORD, FIXED_NOW).ok
    assert code(services, "alice", code_at(secret, FIXED_NOW), FIXED_NOW).ok
    created = [e for e in audit(services) if e.action == "user.created"]
    assert [e.actor for e in created] == ["test:cli"]

    listing = run("user", "list")
    assert listing.exit_code == 0
    assert listing.stdout.startswith("alice\tsupervisor\tactive\t")


def test_user_add_prompts_twice_for_the_password(run: Any, services: Services) -> None:
    result = run("user", "add", "bob", "--role", "auditor", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert password(services, "bob", PASSWORD, FIXED_NOW).ok
    mismatch = run("user", "add", "carol", "--role", "clerk", stdin=f"{PASSWORD}\nother\n")
    assert mismatch.exit_code != 0


def test_user_add_refuses_a_weak_password_before_touching_the_database(
    run: Any, services: Services
) -> None:
    result = run("user", "add", "bob", "--role", "clerk", "--password-stdin", stdin="short\n")
    assert result.exit_code != 0
    assert isinstance(result.exception, users.PasswordPolicyError)
    assert raw_rows(services, "users") == []


def test_user_role_reset_totp_and_deactivate(run: Any, services: Services) -> None:
    old = create(services, "alice")
    assert run("user", "role", "alice", "admin").stdout == "alice is now admin\n"

    reset = run("user", "reset-totp", "alice")
    assert reset.exit_code == 0
    new = secret_from(reset.stdout)
    assert new != old
    assert not code(services, "alice", code_at(old, FIXED_NOW), FIXED_NOW).ok
    assert code(services, "alice", code_at(new, FIXED_NOW), FIXED_NOW).ok

    assert run("user", "deactivate", "alice").stdout == "deactivated alice\n"
    listing = run("user", "list").stdout
    assert listing.startswith("alice\tadmin\tinactive\t")
    actions = [e.action for e in audit(services) if e.actor == "test:cli"]
    assert actions == ["user.role_changed", "user.totp_reset", "user.deactivated"]

    missing = run("user", "deactivate", "nobody")
    assert isinstance(missing.exception, users.UserNotFoundError)
