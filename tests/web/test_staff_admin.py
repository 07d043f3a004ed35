"""Rule-pack and staff-account pages: dry run, two-person enactment, account administration."""

from __future__ import annotations

import io
import re
import stat
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from policies import bundled_pack_paths
from retention.db.models import AuditEntry, EnactedPack, JobRun, LegalHold, Record, Role
from retention.services import Services
from tests.integration.engine_helpers import ingest, purge_due, restrict_then_purge_later
from tests.web import csrf_token, html, post_form
from tests.web.conftest import (
    STAFF_PASSWORD,
    FakeClock,
    Login,
    SignIn,
    StaffCredentials,
    fresh_code,
)


def snapshot(services: Services) -> dict[str, Any]:
    """Everything a sweep could change: records, holds, the audit chain."""
    with services.readers() as db:
        return {
            "records": sorted(
                db.execute(
                    select(
                        Record.id,
                        Record.status,
                        Record.next_action,
                        Record.next_action_due,
                        Record.review_queued_at,
                        Record.purged_at,
                    )
                ).all()
            ),
            "holds": db.execute(select(func.count()).select_from(LegalHold)).scalar_one(),
            "audit": db.execute(select(func.max(AuditEntry.seq))).scalar_one(),
        }


# -- policy -----------------------------------------------------------------------------


def test_a_dry_run_lists_the_planned_actions_and_changes_nothing(
    signed_in: Any, services: Services, tmp_path: Path
) -> None:
    ids = ingest(services, tmp_path, [purge_due("CA-1"), restrict_then_purge_later("CA-2")])
    clerk = signed_in(Role.CLERK)
    before = snapshot(services)
    response = post_form(clerk, "/staff/policy/", {}, action="/staff/policy/dry-run")
    assert response.status_code == 200
    page = html(response)
    assert "dry run: nothing was changed" in page
    assert ids["CA-1"] in page
    assert re.search(r'data-count="purged">1<', page)
    assert snapshot(services) == before
    with services.readers() as db:
        runs = list(db.execute(select(JobRun.dry_run)).scalars())
    assert runs == [True]


def _new_version(tmp_path: Path, version: str) -> bytes:
    source = bundled_pack_paths()["us-ca"].read_text()
    changed = source.replace('version = "2025.1"', f'version = "{version}"', 1)
    assert changed != source
    return changed.encode()


def _upload(client: FlaskClient, data: bytes, name: str = "us-ca.toml") -> Any:
    token = csrf_token(client.get("/staff/policy/").data)
    return client.post(
        "/staff/policy/enact",
        data={"csrf_token": token, "pack": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_enacting_needs_an_uploader_and_a_different_approving_supervisor(
    app: Flask, login: Login, services: Services, tmp_path: Path
) -> None:
    ingest(services, tmp_path, [purge_due("CA-1"), restrict_then_purge_later("CA-2")])
    clerk, sup1, sup2 = app.test_client(), app.test_client(), app.test_client()
    clerk_name = login(clerk, role=Role.CLERK).username
    sup1_name = login(sup1, role=Role.SUPERVISOR).username
    login(sup2, role=Role.SUPERVISOR)

    uploaded = _upload(clerk, _new_version(tmp_path, "2026.1"))
    assert uploaded.status_code == 302
    pending_url = uploaded.headers["Location"]
    sha = pending_url.rstrip("/").rsplit("/", 1)[-1]
    stored = services.settings.data_dir / "pending-packs" / f"{sha}.toml"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    shown = html(clerk.get(pending_url))
    assert re.search(r"<strong>2</strong> records evaluated; <strong>0</strong> change", shown)
    assert "Approve and enact" not in shown
    with services.readers() as db:
        assert db.execute(select(EnactedPack)).first() is None

    # Only a supervisor approves.
    token = csrf_token(clerk.get(pending_url).data)
    assert clerk.post(f"{pending_url}/approve", data={"csrf_token": token}).status_code == 403

    done = post_form(sup1, pending_url, {}, action=f"{pending_url}/approve")
    assert done.status_code == 302
    with services.readers() as db:
        row = db.execute(select(EnactedPack)).scalar_one()
        versions = set(db.execute(select(Record.policy_version)).scalars())
    assert (row.pack_id, row.version, row.enacted_by, row.approved_by) == (
        "us-ca",
        "2026.1",
        clerk_name,
        sup1_name,
    )
    assert row.sha256 == sha
    assert versions == {"2026.1"}
    assert not stored.exists()
    listing = html(sup1.get("/staff/policy/"))
    assert "2026.1" in listing
    assert sha in listing

    # The uploader cannot also approve.
    own = _upload(sup2, _new_version(tmp_path, "2026.2"))
    assert own.status_code == 302
    own_url = own.headers["Location"]
    refused = post_form(sup2, own_url, {}, action=f"{own_url}/approve")
    assert refused.status_code == 409
    assert "cannot also approve" in html(refused)
    with services.readers() as db:
        assert db.execute(select(func.count()).select_from(EnactedPack)).scalar_one() == 1


def test_an_invalid_pack_is_refused_with_its_problems_and_nothing_is_kept(
    signed_in: Any, services: Services, tmp_path: Path
) -> None:
    supervisor = signed_in(Role.SUPERVISOR)
    broken = _new_version(tmp_path, "2026.3").replace(b"[pack]\n", b"[pack]\nbogus = 1\n", 1)
    response = _upload(supervisor, broken, "broken.toml")
    assert response.status_code == 400
    page = html(response)
    assert "bogus" in page
    assert str(services.settings.data_dir) not in page
    assert list((services.settings.data_dir / "pending-packs").glob("*.toml")) == []


# -- users ------------------------------------------------------------------------------


def _secret(page: str) -> str:
    match = re.search(r"<code class=\"secret\" data-secret>([A-Z2-7]+)</code>", page)
    assert match is not None, "no secret shown"
    return match.group(1)


def _code_step(
    app: Flask, services: Services, clock: FakeClock, creds: StaffCredentials
) -> tuple[int, int]:
    client = app.test_client()
    first = post_form(
        client, "/staff/login", {"username": creds.username, "password": creds.password}
    )
    if first.status_code != 302:
        return first.status_code, 0
    second = post_form(client, "/staff/login/totp", {"code": fresh_code(services, creds, clock())})
    return first.status_code, second.status_code


def test_an_admin_creates_resets_and_deactivates_accounts(
    app: Flask,
    signed_in: Any,
    sign_in: SignIn,
    services: Services,
    clock: FakeClock,
) -> None:
    admin = signed_in(Role.ADMIN)
    created = post_form(
        admin,
        "/staff/users/",
        {"username": "nina", "role": "supervisor", "password": STAFF_PASSWORD},
    )
    assert created.status_code == 201
    page = html(created)
    secret = _secret(page)
    assert "otpauth://totp/" in page
    assert "This is shown once" in page
    assert secret not in html(admin.get("/staff/users/"))

    nina = StaffCredentials("nina", STAFF_PASSWORD, secret)
    client = app.test_client()
    sign_in(client, nina)
    assert "Signed in as <strong>nina</strong>" in html(client.get("/staff/"))

    weak = post_form(admin, "/staff/users/", {"username": "x1", "role": "clerk", "password": "a"})
    assert weak.status_code == 400
    assert 'id="password-error"' in html(weak)

    # Role change takes effect on nina's next click.
    changed = post_form(
        admin, "/staff/users/", {"role": "auditor"}, action="/staff/users/nina/role"
    )
    assert changed.status_code == 302
    assert client.get("/staff/users/").status_code == 403
    assert client.get("/staff/audit/").status_code == 200

    reset = post_form(admin, "/staff/users/", {}, action="/staff/users/nina/reset-totp")
    assert reset.status_code == 200
    new_secret = _secret(html(reset))
    assert new_secret != secret
    clock.advance(seconds=60)
    # The old secret no longer works; the new one does.
    assert _code_step(app, services, clock, nina) == (302, 401)
    clock.advance(seconds=60)
    assert _code_step(app, services, clock, nina._replace(totp_secret=new_secret)) == (302, 302)

    gone = post_form(admin, "/staff/users/", {}, action="/staff/users/nina/deactivate")
    assert gone.status_code == 302
    clock.advance(seconds=60)
    assert _code_step(app, services, clock, nina._replace(totp_secret=new_secret))[0] == 401

    with services.readers() as db:
        actions = [
            a
            for (a,) in db.execute(
                select(AuditEntry.action)
                .where(AuditEntry.action.like("user.%"))
                .order_by(AuditEntry.seq)
            )
        ]
    assert actions[-4:] == [
        "user.created",
        "user.role_changed",
        "user.totp_reset",
        "user.deactivated",
    ]
