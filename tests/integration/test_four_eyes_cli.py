"""Four eyes on the command line: the second person is a supervisor who signs in, not a name.

``hold approve``, the confirming ``hold release``, ``sweep --confirm-by`` and
``policy enact --approved-by`` each authenticate the second person (password and TOTP code, from
hidden prompts or ``--credentials-stdin``) as a supervisor other than the one who acted first.
Every refusal is checked against the database: nothing changed but the failed sign-in's count and
its audit entry.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, update

from policies import bundled_pack_paths
from retention.cli.main import cli
from retention.db.models import EnactedPack, JobRun, LegalHold, Role, User
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import backend_env
from tests.integration.engine_helpers import (
    ingest,
    purge_due,
    restrict_then_purge_later,
    state,
    stored,
)
from tests.integration.staff_helpers import (
    PASSWORD,
    Staff,
    account,
    add_staff,
    audit_entries,
)


@pytest.fixture
def env(services: Services) -> dict[str, str]:
    return {**backend_env(services.settings), "MUGSHOT_ACTOR": "clerk.ann"}


@pytest.fixture
def bob(services: Services) -> Staff:
    return add_staff(services, "sup.bob")


@pytest.fixture
def hold_id(tmp_path: Path, services: Services, env: dict[str, str]) -> str:
    """A hold on booking CA-1 (due for purge), placed by clerk.ann and pending approval."""
    ingest(services, tmp_path, [purge_due("CA-1")])
    return place(env, "CA-1", actor="clerk.ann")


@pytest.fixture
def carol(services: Services) -> Staff:
    return add_staff(services, "sup.carol")


def run(env: dict[str, str], *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, input=input)


def approve_from_stdin(env: dict[str, str], hold_id: str, approver: str, input: str) -> Result:
    """``hold approve HOLD --approved-by APPROVER --credentials-stdin``."""
    return run(
        env, "hold", "approve", hold_id, "--approved-by", approver, "--credentials-stdin",
        input=input,
    )  # fmt: skip


def confirmed_sweep(
    env: dict[str, str], confirm_by: str, *flags: str, input: str | None = None
) -> Result:
    """``sweep --on 2026-11-20 --confirm-by NAME [FLAGS]``."""
    return run(env, "sweep", "--on", "2026-11-20", "--confirm-by", confirm_by, *flags, input=input)


def enact(
    env: dict[str, str], pack: Path, approved_by: str, *flags: str, input: str | None = None
) -> Result:
    """``policy enact PACK --approved-by NAME [FLAGS]``."""
    return run(env, "policy", "enact", str(pack), "--approved-by", approved_by, *flags, input=input)


def place(env: dict[str, str], booking: str, *, actor: str) -> str:
    placed = run(
        env, "--actor", actor, "hold", "place", booking, "--kind", "litigation", "--reason", "claim"
    )
    assert placed.exit_code == 0, placed.output
    return re.search(r"hold (\w{32})", placed.output).group(1)  # type: ignore[union-attr]


def hold_row(services: Services, hold_id: str) -> LegalHold:
    return stored(services, LegalHold, hold_id)


def actions(services: Services) -> list[str]:
    return [e.action for e in audit_entries(services)]


def refused(result: Result, *phrases: str) -> None:
    assert result.exit_code != 0, result.output
    for phrase in phrases:
        assert phrase in result.output, result.output


def assert_one_failed_sign_in(services: Services, hold_id: str, username: str, reason: str) -> None:
    """The hold is still pending and not approved; the account has one failed sign-in, audited
    with this reason."""
    assert hold_row(services, hold_id).state == "pending"
    assert account(services, username).failed_logins == 1
    [failed] = audit_entries(services, "auth.login_failed")
    assert failed.details == {"username": username, "reason": reason}
    assert "hold.approved" not in actions(services)


# -- holds --------------------------------------------------------------------------------


def test_a_hold_is_approved_by_a_second_supervisor_who_signs_in_at_the_prompts(
    services: Services, env: dict[str, str], hold_id: str, bob: Staff
) -> None:
    code = bob.code()
    done = run(env, "--actor", "sup.bob", "hold", "approve", hold_id, input=bob.with_code(code))
    assert done.exit_code == 0, done.output
    assert "Password for sup.bob" in done.output
    assert "TOTP code for sup.bob" in done.output
    assert PASSWORD not in done.output  # hidden input
    assert code not in done.output
    held = hold_row(services, hold_id)
    assert (held.state, held.approved_by) == ("active", "sup.bob")
    [check] = audit_entries(services, "auth.second_person")
    assert check.actor == "sup.bob"
    assert check.details == {
        "username": "sup.bob",
        "role": "supervisor",
        "purpose": "hold.approve",
        "subject": hold_id,
    }
    assert actions(services)[-2:] == ["auth.second_person", "hold.approved"]
    every_detail = json.dumps([e.details for e in audit_entries(services)])
    assert PASSWORD not in every_detail
    assert bob.secret not in every_detail
    assert account(services, "sup.bob").failed_logins == 0


def test_the_placer_cannot_approve_their_own_hold_even_when_signed_in(
    tmp_path: Path, services: Services, env: dict[str, str], bob: Staff
) -> None:
    ingest(services, tmp_path, [purge_due("CA-1")])
    # Placed under another spelling of the same account: names compare normalised.
    hold_id = place(env, "CA-1", actor="Sup.Bob ")
    before = actions(services)
    out = run(env, "--actor", "sup.bob", "hold", "approve", hold_id, input=bob.credentials())
    refused(out, "same account")
    assert "Password" not in out.output  # refused before any secret was asked for
    held = hold_row(services, hold_id)
    assert (held.state, held.approved_by) == ("pending", None)
    assert actions(services) == before
    assert state(services, held.record_id).status == "active"


def test_naming_an_approver_with_actor_alone_approves_nothing(
    services: Services, env: dict[str, str], hold_id: str, bob: Staff
) -> None:
    before = actions(services)
    out = run(env, "--actor", "sup.bob", "hold", "approve", hold_id)  # no credentials at all
    assert out.exit_code != 0, out.output
    assert hold_row(services, hold_id).state == "pending"
    assert actions(services) == before


def test_a_wrong_totp_code_is_refused_and_counted_as_a_failed_sign_in(
    services: Services, env: dict[str, str], hold_id: str, bob: Staff
) -> None:
    out = run(
        env, "--actor", "sup.bob", "hold", "approve", hold_id, input=bob.with_code(bob.wrong_code())
    )
    refused(out, "code")
    assert_one_failed_sign_in(services, hold_id, "sup.bob", "bad_code")
    assert "auth.second_person" not in actions(services)


def test_a_wrong_password_is_refused_and_counted_as_a_failed_sign_in(
    services: Services, env: dict[str, str], hold_id: str, bob: Staff
) -> None:
    out = approve_from_stdin(
        env, hold_id, "sup.bob", input=f"not the password at all\n{bob.code()}\n"
    )
    refused(out, "password")
    assert_one_failed_sign_in(services, hold_id, "sup.bob", "bad_credentials")


def test_a_clerk_who_signs_in_correctly_still_cannot_approve_a_hold(
    services: Services, env: dict[str, str], hold_id: str
) -> None:
    dan = add_staff(services, "clerk.dan", Role.CLERK)
    out = run(env, "--actor", "clerk.dan", "hold", "approve", hold_id, input=dan.credentials())
    refused(out, "supervisor")
    assert hold_row(services, hold_id).state == "pending"
    [refusal] = audit_entries(services, "auth.second_person_refused")
    assert refusal.details == {
        "username": "clerk.dan",
        "role": "clerk",
        "reason": "wrong_role",
        "purpose": "hold.approve",
        "subject": hold_id,
    }
    assert "hold.approved" not in actions(services)
    assert "auth.second_person" not in actions(services)


@pytest.mark.parametrize("which", ["unknown", "deactivated", "locked"])
def test_an_account_that_cannot_sign_in_cannot_approve(
    services: Services, env: dict[str, str], hold_id: str, bob: Staff, which: str
) -> None:
    name = "sup.nobody" if which == "unknown" else "sup.bob"
    with services.sessions() as s, s.begin():
        if which == "deactivated":
            s.execute(update(User).where(User.username == "sup.bob").values(active=False))
        if which == "locked":
            until = FIXED_NOW.replace(year=2999)
            s.execute(update(User).where(User.username == "sup.bob").values(locked_until=until))
    out = run(env, "--actor", name, "hold", "approve", hold_id, input=bob.credentials())
    refused(out, {"unknown": "no staff account", "deactivated": "deactivated"}.get(which, "locked"))
    assert hold_row(services, hold_id).state == "pending"
    assert "hold.approved" not in actions(services)
    assert "auth.second_person" not in actions(services)


def test_a_totp_code_approves_once_and_is_refused_when_replayed(
    tmp_path: Path, services: Services, env: dict[str, str], bob: Staff
) -> None:
    ingest(services, tmp_path, [purge_due("CA-1"), purge_due("CA-2")])
    first = place(env, "CA-1", actor="clerk.ann")
    second = place(env, "CA-2", actor="clerk.ann")
    code = bob.code()
    ok = run(env, "--actor", "sup.bob", "hold", "approve", first, input=bob.with_code(code))
    assert ok.exit_code == 0, ok.output
    again = run(env, "--actor", "sup.bob", "hold", "approve", second, input=bob.with_code(code))
    refused(again, "already used")
    assert hold_row(services, second).state == "pending"
    assert audit_entries(services, "auth.login_failed")[-1].details["reason"] == "replayed_code"
    assert account(services, "sup.bob").failed_logins == 1


def test_credentials_stdin_reads_password_and_code_as_two_lines(
    services: Services, env: dict[str, str], hold_id: str, bob: Staff
) -> None:
    done = approve_from_stdin(env, hold_id, "sup.bob", input=bob.credentials())
    assert done.exit_code == 0, done.output
    assert "Password" not in done.output
    assert hold_row(services, hold_id).approved_by == "sup.bob"
    short = approve_from_stdin(
        env, place(env, "CA-1", actor="clerk.ann"), "sup.bob", input=f"{bob.password}\n"
    )
    refused(short, "two lines")


def test_a_release_is_confirmed_only_by_a_second_supervisor_who_signs_in(
    services: Services, env: dict[str, str], hold_id: str, bob: Staff, carol: Staff
) -> None:
    approve = run(env, "--actor", "sup.bob", "hold", "approve", hold_id, input=bob.credentials())
    assert approve.exit_code == 0, approve.output
    asked = run(env, "--actor", "SUP.BOB", "hold", "release", hold_id)
    assert asked.exit_code == 0, asked.output
    assert "a second person must confirm it" in asked.output
    before = actions(services)

    same = run(env, "--actor", "sup.bob", "hold", "release", hold_id, input=bob.credentials())
    refused(same, "same account")
    unproven = run(env, "--actor", "sup.carol", "hold", "release", hold_id)
    assert unproven.exit_code != 0, unproven.output
    held = hold_row(services, hold_id)
    assert (held.state, held.released_by) == ("active", None)
    assert actions(services) == before

    done = run(
        env,
        "hold",
        "release",
        hold_id,
        "--confirm-by",
        "sup.carol",
        "--credentials-stdin",
        input=carol.credentials(),
    )
    assert done.exit_code == 0, done.output
    held = hold_row(services, hold_id)
    assert (held.state, held.released_by) == ("released", "sup.carol")
    assert actions(services)[-2:] == ["auth.second_person", "hold.released"]
    assert audit_entries(services, "auth.second_person")[-1].details["purpose"] == "hold.release"


def test_confirm_by_on_a_release_nobody_has_requested_is_a_usage_error(
    services: Services, env: dict[str, str], hold_id: str, bob: Staff
) -> None:
    out = run(env, "hold", "release", hold_id, "--confirm-by", "sup.bob", input=bob.credentials())
    refused(out, "not been requested")
    assert hold_row(services, hold_id).release_requested_by is None


# -- sweep --------------------------------------------------------------------------------


def _belt(env: dict[str, str]) -> dict[str, str]:
    return env | {"MUGSHOT_SWEEP_MAX_PURGE_SHARE": "0.01", "MUGSHOT_SWEEP_MAX_PURGE_COUNT": "1"}


def _sweeps(services: Services) -> list[JobRun]:
    with services.readers() as s:
        return list(s.execute(select(JobRun).where(JobRun.kind == "sweep")).scalars())


def test_a_mass_purge_is_not_confirmed_by_the_account_that_runs_the_sweep(
    tmp_path: Path, services: Services, env: dict[str, str], bob: Staff
) -> None:
    ids = ingest(services, tmp_path, [purge_due("A"), purge_due("B")])
    strict = _belt(env) | {"MUGSHOT_ACTOR": "Sup.Bob"}
    out = confirmed_sweep(strict, "sup.bob", input=bob.credentials())
    refused(out, "same account")
    assert {state(services, i).status for i in ids.values()} == {"active"}
    assert _sweeps(services) == []
    assert "record.purged" not in actions(services)


def test_a_mass_purge_named_but_not_signed_in_purges_nothing(
    tmp_path: Path, services: Services, env: dict[str, str], bob: Staff
) -> None:
    ids = ingest(services, tmp_path, [purge_due("A"), purge_due("B")])
    out = confirmed_sweep(_belt(env), "sup.bob")
    assert out.exit_code != 0, out.output
    assert {state(services, i).status for i in ids.values()} == {"active"}
    assert _sweeps(services) == []


def test_a_clerk_cannot_confirm_a_mass_purge(
    tmp_path: Path, services: Services, env: dict[str, str]
) -> None:
    dan = add_staff(services, "clerk.dan", Role.CLERK)
    ids = ingest(services, tmp_path, [purge_due("A"), purge_due("B")])
    out = confirmed_sweep(_belt(env), "clerk.dan", input=dan.credentials())
    refused(out, "supervisor")
    assert {state(services, i).status for i in ids.values()} == {"active"}
    assert _sweeps(services) == []


def test_a_mass_purge_confirmed_by_a_signed_in_supervisor_goes_ahead(
    tmp_path: Path, services: Services, env: dict[str, str], bob: Staff
) -> None:
    ids = ingest(services, tmp_path, [purge_due("A"), purge_due("B")])
    done = confirmed_sweep(_belt(env), "SUP.BOB", "--credentials-stdin", input=bob.credentials())
    assert done.exit_code == 0, done.output
    assert "did purge 2" in done.output
    assert {state(services, i).status for i in ids.values()} == {"purged"}
    [check] = audit_entries(services, "auth.second_person")
    assert (check.details["username"], check.details["purpose"]) == ("sup.bob", "sweep.confirm")


# -- policy enact ---------------------------------------------------------------------------


def _new_version(tmp_path: Path) -> Path:
    source = bundled_pack_paths()["us-ca"].read_text()
    changed = source.replace('version = "2025.1"', 'version = "2026.1"', 1)
    assert changed != source
    new_pack = tmp_path / "us-ca-2026.toml"
    new_pack.write_text(changed)
    return new_pack


def _enacted(services: Services) -> list[EnactedPack]:
    with services.readers() as s:
        return list(s.execute(select(EnactedPack)).scalars())


def test_a_pack_is_not_approved_by_the_account_that_enacts_it(
    tmp_path: Path, services: Services, env: dict[str, str], bob: Staff
) -> None:
    ids = ingest(services, tmp_path, [restrict_then_purge_later("CA-1")])
    new_pack = _new_version(tmp_path)
    before = actions(services)
    out = enact(
        env | {"MUGSHOT_ACTOR": "SUP.bob"}, new_pack, "sup.bob", "--yes", input=bob.credentials()
    )
    refused(out, "same account")
    assert _enacted(services) == []
    assert state(services, ids["CA-1"]).policy_version == "2025.1"
    assert actions(services) == before


def test_a_pack_approved_by_a_clerk_is_not_enacted(
    tmp_path: Path, services: Services, env: dict[str, str]
) -> None:
    dan = add_staff(services, "clerk.dan", Role.CLERK)
    ingest(services, tmp_path, [restrict_then_purge_later("CA-1")])
    out = enact(env, _new_version(tmp_path), "clerk.dan", "--yes", input=dan.credentials())
    refused(out, "supervisor")
    assert _enacted(services) == []
    assert "policy.enacted" not in actions(services)


def test_a_pack_approved_by_name_only_is_not_enacted(
    tmp_path: Path, services: Services, env: dict[str, str], bob: Staff
) -> None:
    ingest(services, tmp_path, [restrict_then_purge_later("CA-1")])
    out = enact(env, _new_version(tmp_path), "sup.bob", "--yes")
    assert out.exit_code != 0, out.output
    assert _enacted(services) == []
    assert "policy.enacted" not in actions(services)


def test_a_pack_approved_by_a_signed_in_supervisor_is_enacted(
    tmp_path: Path, services: Services, env: dict[str, str], bob: Staff
) -> None:
    ids = ingest(services, tmp_path, [restrict_then_purge_later("CA-1")])
    done = enact(
        env,
        _new_version(tmp_path),
        "sup.bob",
        "--credentials-stdin",
        "--yes",
        input=bob.credentials(),
    )
    assert done.exit_code == 0, done.output
    [enacted] = _enacted(services)
    assert (enacted.enacted_by, enacted.approved_by) == ("clerk.ann", "sup.bob")
    assert state(services, ids["CA-1"]).policy_version == "2026.1"
    assert actions(services)[-1] == "policy.enacted"
    [check] = audit_entries(services, "auth.second_person")
    assert check.details["purpose"] == "policy.enact"
    assert check.details["subject"] == "us-ca@2026.1"
