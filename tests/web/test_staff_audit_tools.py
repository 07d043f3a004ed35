"""The audit page for auditors: refused access is on the chain, the CSV export is the filtered
view, object ids link to their pages, and a saved checkpoint can be checked from the web."""

from __future__ import annotations

import csv
import io
import json

from flask import Flask
from sqlalchemy import select

from retention.audit import chain
from retention.db.models import AuditEntry, Role
from retention.services import Services
from tests.web import csrf_token, html
from tests.web.conftest import FakeClock, SignedIn


def _entries(services: Services, action: str) -> list[AuditEntry]:
    with services.readers() as db:
        rows = list(db.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())
        db.expunge_all()
    return rows


def test_refused_access_is_an_audit_entry_without_the_query(
    signed_in: SignedIn, services: Services
) -> None:
    auditor = signed_in(Role.AUDITOR)
    refused = auditor.get("/staff/users/?name=Alice+Marker&dob=1990-01-01")
    assert refused.status_code == 403
    entries = _entries(services, "access.refused")
    assert len(entries) == 1
    entry = entries[0]
    assert entry.object_type == "route"
    assert entry.object_id == "staff_users.index"
    assert entry.details == {"method": "GET", "role": "auditor"}
    # The query string (which can carry a name) is not on the chain.
    assert "Marker" not in json.dumps([entry.actor, entry.object_id, entry.details])
    with services.readers() as db:
        assert chain.verify(db).ok
    # The auditor finds it on the audit page.
    page = html(auditor.get("/staff/audit/?action=access.refused"))
    assert "staff_users.index" in page


def test_csv_export_matches_the_filtered_view(signed_in: SignedIn, services: Services) -> None:
    auditor = signed_in(Role.AUDITOR)
    clerk = signed_in(Role.CLERK)
    for _ in range(3):
        assert clerk.get("/staff/audit/").status_code == 403
    view = html(auditor.get("/staff/audit/?action=access.refused"))
    # The export form carries the view's filters.
    assert '<input type="hidden" name="action" value="access.refused">' in view
    exported = auditor.post(
        "/staff/audit/export.csv",
        data={"csrf_token": csrf_token(view), "action": "access.refused"},
    )
    assert exported.status_code == 200
    assert exported.headers["Content-Type"].startswith("text/csv")
    assert exported.headers["Cache-Control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    with services.readers() as db:
        expected = list(
            db.execute(
                select(AuditEntry.seq)
                .where(AuditEntry.action == "access.refused")
                .order_by(AuditEntry.seq.desc())
            ).scalars()
        )
    assert [int(r["seq"]) for r in rows] == expected
    assert len(expected) == 3
    for seq in expected:
        assert f'data-seq="{seq}"' in view
    assert {r["action"] for r in rows} == {"access.refused"}
    # The chain columns let the export be re-checked outside the system.
    with services.readers() as db:
        for r in rows:
            stored = db.get(AuditEntry, int(r["seq"]))
            assert stored is not None
            assert r["hash"] == stored.hash == chain.stored_entry_hash(stored)
            assert json.loads(r["details"]) == stored.details
    # The export itself is audited.
    assert len(_entries(services, "audit.exported")) == 1


def test_csv_export_neutralises_formula_cells(
    signed_in: SignedIn, services: Services, clock: FakeClock
) -> None:
    chain.record(
        services.sessions,
        now=clock(),
        actor='=HYPERLINK("http://x")',
        action="test.event",
        object_type="record",
        object_id="@abc",
    )
    auditor = signed_in(Role.AUDITOR)
    token = csrf_token(html(auditor.get("/staff/audit/")))
    text = auditor.post(
        "/staff/audit/export.csv", data={"csrf_token": token, "action": "test.event"}
    ).get_data(as_text=True)
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["actor"] == '\'=HYPERLINK("http://x")'
    assert row["object_id"] == "'@abc"


def test_object_ids_link_to_pages_the_role_may_open(
    signed_in: SignedIn, services: Services, clock: FakeClock
) -> None:
    chain.record(
        services.sessions,
        now=clock(),
        actor="x",
        action="t.rec",
        object_type="record",
        object_id="a" * 32,
    )
    chain.record(
        services.sessions,
        now=clock(),
        actor="x",
        action="t.req",
        object_type="request",
        object_id="b" * 32,
    )
    auditor_page = html(signed_in(Role.AUDITOR).get("/staff/audit/"))
    assert f'href="/staff/records/{"a" * 32}"' in auditor_page
    # An auditor may not open requests: the id is shown, not linked.
    assert f'href="/staff/requests/{"b" * 32}"' not in auditor_page
    assert f"<code>{'b' * 32}</code>" in auditor_page
    supervisor_page = html(signed_in(Role.SUPERVISOR).get("/staff/audit/"))
    assert f'href="/staff/requests/{"b" * 32}"' in supervisor_page


def _upload(client, page: str, body: bytes, name: str = "cp.json"):  # type: ignore[no-untyped-def]
    return client.post(
        "/staff/audit/checkpoint/check",
        data={"csrf_token": csrf_token(page), "checkpoint": (io.BytesIO(body), name)},
        content_type="multipart/form-data",
    )


def test_checkpoint_upload_checks_it_against_the_chain(
    app: Flask, signed_in: SignedIn, services: Services, clock: FakeClock
) -> None:
    auditor = signed_in(Role.AUDITOR)
    page = html(auditor.get("/staff/audit/"))
    saved = auditor.post("/staff/audit/checkpoint", data={"csrf_token": csrf_token(page)})
    assert saved.status_code == 200
    checkpoint = saved.get_data()

    good = _upload(auditor, page, checkpoint)
    assert good.status_code == 200
    assert "Checkpoint cp.json holds" in html(good)

    doc = json.loads(checkpoint)
    doc["hash"] = "0" * 64
    forged = _upload(auditor, page, json.dumps(doc).encode())
    assert forged.status_code == 409
    assert "signature does not verify" in html(forged)

    garbage = _upload(auditor, page, b"[" * 5000)
    assert garbage.status_code == 409
    assert "too large" in html(garbage)
    not_json = _upload(auditor, page, b"hello")
    assert not_json.status_code == 409
    assert "not a checkpoint" in html(not_json)

    # Rewrite the entry the checkpoint names: the saved checkpoint no longer holds.
    with services.sessions() as db, db.begin():
        entry = db.get(AuditEntry, doc["seq"])
        assert entry is not None
        entry.hash = "f" * 64
    tampered = _upload(auditor, page, checkpoint)
    assert tampered.status_code == 409
    assert "no longer has the hash" in html(tampered)
    results = [e.details["ok"] for e in _entries(services, "audit.checkpoint_checked")]
    assert results == [True, False, False, False, False]
