"""API tokens belong to agencies: a token creates and reads its agencies' records only, and
"another agency's", "no such record" and "purged" are one answer, byte for byte."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from retention.accounts import tokens
from retention.db.models import ApiToken, AuditEntry, Image, Record, RecordStatus
from retention.engine.purge import purge_record
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import jpeg_bytes
from web.api import NO_AGENCY, NO_SUCH_RECORD, NOT_STORABLE

BOOKING: dict[str, object] = {
    "booking_number": "AG-2026-0001",
    "agency": "LAPD",
    "jurisdiction": "US-CA",
    "name": "Jordan Sample",
    "date_of_birth": "1991-07-08",
    "arrest_date": "2020-05-05",
    "offence_class": "nonviolent",
    "outcome": "pending",
    "legal_basis": "arrest",
    "source_system": "CJIS-BOOKING",
    "captured_at": "2020-05-05T10:00:00+00:00",
}


def bearer(services: Services, name: str, *agencies: str) -> dict[str, str]:
    with services.sessions() as s, s.begin():
        _, secret = tokens.create(
            s, name=name, agencies=list(agencies), actor="admin:ann", now=FIXED_NOW
        )
    return {"Authorization": f"Bearer {secret}"}


def push(client: FlaskClient, headers: dict[str, str], booking: dict[str, object]) -> TestResponse:
    return client.post(
        "/api/v1/records",
        data={"booking": json.dumps(booking), "images": [(io.BytesIO(jpeg_bytes()), "f.jpg")]},
        headers=headers,
        content_type="multipart/form-data",
    )


def decision(client: FlaskClient, headers: dict[str, str], record_id: str) -> TestResponse:
    return client.get(f"/api/v1/records/{record_id}/decision", headers=headers)


def wire(response: TestResponse) -> tuple[int, list[tuple[str, str]], bytes]:
    """Everything a client sees: status, every header in order, the body bytes."""
    return response.status_code, list(response.headers.items()), response.get_data()


def counts(services: Services) -> tuple[int, int, int, int]:
    with services.readers() as s:
        return (
            s.execute(select(func.count()).select_from(Record)).scalar_one(),
            s.execute(select(func.count()).select_from(Image)).scalar_one(),
            s.execute(select(func.count()).select_from(AuditEntry)).scalar_one(),
            len(list(services.store.keys())),
        )


def purge(services: Services, record_id: str) -> None:
    with services.sessions() as s, s.begin():
        rec = s.get(Record, record_id)
        assert rec is not None
        purge_record(s, services.keyring, rec, now=FIXED_NOW, actor="test", reason={"rule": "t"})


@pytest.fixture
def lapd(services: Services) -> dict[str, str]:
    return bearer(services, "lapd-booking", "LAPD")


@pytest.fixture
def sfpd(services: Services) -> dict[str, str]:
    return bearer(services, "sfpd-booking", "SFPD")


def test_a_token_cannot_read_another_agencys_record_and_the_answer_is_not_found_byte_for_byte(
    client: FlaskClient, services: Services, lapd: dict[str, str], sfpd: dict[str, str]
) -> None:
    theirs = push(client, lapd, BOOKING).get_json()["id"]
    assert decision(client, lapd, theirs).status_code == 200  # the owner reads it

    own = push(client, sfpd, BOOKING | {"agency": "SFPD", "booking_number": "SF-1"})
    assert own.status_code == 201
    purged_own = own.get_json()["id"]
    purge(services, purged_own)

    answers = {
        "another agency's": wire(decision(client, sfpd, theirs)),
        "unknown id": wire(decision(client, sfpd, uuid.uuid4().hex)),
        "purged (own agency)": wire(decision(client, sfpd, purged_own)),
        "malformed id": wire(decision(client, sfpd, "not-an-id")),
    }
    first = answers["another agency's"]
    assert first[0] == 404
    assert json.loads(first[2]) == {"error": NO_SUCH_RECORD}
    assert all(a == first for a in answers.values()), answers
    # No cookie, no caching hint and no id or agency anywhere in the answer.
    headers = dict(first[1])
    assert "Set-Cookie" not in headers
    assert theirs.encode() not in first[2]
    assert b"LAPD" not in first[2]
    # The purged record's decision is gone for its owner too: tombstones are not readable.
    with services.readers() as s:
        assert s.get(Record, purged_own).status == RecordStatus.PURGED.value  # type: ignore[union-attr]


def test_a_token_cannot_write_another_agencys_records(
    client: FlaskClient, services: Services, lapd: dict[str, str], sfpd: dict[str, str]
) -> None:
    before = counts(services)
    refused = push(client, sfpd, BOOKING)  # agency LAPD, token of SFPD
    assert refused.status_code == 403
    assert refused.get_json()["field"] == "agency"
    assert counts(services) == before  # no record, image, blob or audit entry
    # Whether or not the booking exists there, the refusal is the same.
    push(client, lapd, BOOKING)
    again = push(client, sfpd, BOOKING)
    assert wire(again) == wire(refused)
    other = push(client, sfpd, BOOKING | {"booking_number": "NEVER-STORED"})
    assert wire(other) == wire(refused)


def test_a_conflicting_and_a_purged_booking_get_one_answer(
    client: FlaskClient, services: Services, lapd: dict[str, str]
) -> None:
    first = push(client, lapd, BOOKING).get_json()["id"]
    conflict = push(client, lapd, BOOKING | {"name": "Someone Else"})
    gone = push(client, lapd, BOOKING | {"booking_number": "AG-2026-0002"}).get_json()["id"]
    purge(services, gone)
    before = counts(services)
    purged = push(client, lapd, BOOKING | {"booking_number": "AG-2026-0002"})
    assert conflict.status_code == 409
    assert conflict.get_json() == {"error": NOT_STORABLE}
    assert wire(purged) == wire(conflict)
    assert counts(services) == before
    assert push(client, lapd, BOOKING).get_json() == {"id": first, "status": "already_present"}


def test_a_token_of_several_agencies_writes_and_reads_each(
    client: FlaskClient, services: Services
) -> None:
    both = bearer(services, "regional-hub", "LAPD", "SFPD")
    ids = []
    for agency in ("LAPD", "SFPD"):
        created = push(client, both, BOOKING | {"agency": agency})
        assert created.status_code == 201, created.get_data(as_text=True)
        ids.append(created.get_json()["id"])
    for record_id in ids:
        assert decision(client, both, record_id).get_json()["id"] == record_id
    with services.readers() as s:
        agencies = sorted(s.execute(select(Record.agency)).scalars())
    assert agencies == ["LAPD", "SFPD"]


def test_a_token_from_before_agencies_may_neither_write_nor_read(
    client: FlaskClient, services: Services, lapd: dict[str, str]
) -> None:
    # A row as revision 0008 leaves an existing token: no agency.
    secret = "mgs_" + "legacy" * 8
    with services.sessions() as s, s.begin():
        s.add(
            ApiToken(
                id=uuid.uuid4().hex,
                name="old-system",
                token_sha256=tokens._digest(secret),
                created_by="admin:ann",
                created_at=FIXED_NOW,
            )
        )
    legacy = {"Authorization": f"Bearer {secret}"}
    stored = push(client, lapd, BOOKING).get_json()["id"]
    before = counts(services)
    refused = push(client, legacy, BOOKING | {"booking_number": "AG-LEGACY"})
    assert refused.status_code == 403
    assert refused.get_json() == {"error": NO_AGENCY, "field": "agency"}
    assert counts(services) == before
    assert wire(decision(client, legacy, stored)) == wire(
        decision(client, legacy, uuid.uuid4().hex)
    )
    assert decision(client, legacy, stored).status_code == 404


@pytest.mark.parametrize(
    ("agencies", "message"),
    [
        ([], "at least one agency"),
        (["  "], "1 to 64"),
        (["A" * 65], "1 to 64"),
        (["A\nB"], "control"),
    ],
)
def test_a_token_needs_valid_agencies(
    services: Services, agencies: list[str], message: str
) -> None:
    with services.sessions() as s, s.begin():
        with pytest.raises(tokens.RetentionError, match=message):
            tokens.create(s, name="x", agencies=agencies, actor="admin:ann", now=FIXED_NOW)
        assert s.execute(select(func.count()).select_from(ApiToken)).scalar_one() == 0


def test_token_creation_is_audited_with_its_agencies(services: Services) -> None:
    bearer(services, "hub", "SFPD", " LAPD ", "SFPD")
    with services.readers() as s:
        entry = s.execute(
            select(AuditEntry).where(AuditEntry.action == "token.created")
        ).scalar_one()
        token_id = s.execute(select(ApiToken.id)).scalar_one()
        scope: Any = tokens.agencies_of(s, [token_id])
    assert entry.details["agencies"] == ["LAPD", "SFPD"]
    assert scope == {token_id: ["LAPD", "SFPD"]}
