"""The booking-system API: token-authenticated push of bookings and read of decisions."""

from __future__ import annotations

import io
import json

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from retention.accounts import tokens
from retention.db.models import AuditEntry, Image, Record
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import jpeg_bytes

BOOKING = {
    "booking_number": "API-2026-0001",
    "agency": "LAPD",
    "jurisdiction": "US-CA",
    "name": "Jordan Sample",
    "date_of_birth": "1991-07-08",
    "arrest_date": "2020-05-05",
    "offence_class": "nonviolent",
    "outcome": "factually_innocent",
    "outcome_date": "2020-06-01",
    "legal_basis": "arrest",
    "source_system": "CJIS-BOOKING",
    "captured_at": "2020-05-05T10:00:00+00:00",
}


@pytest.fixture
def bearer(services: Services) -> dict[str, str]:
    with services.sessions() as s, s.begin():
        _, secret = tokens.create(
            s, name="booking-system", agencies=["LAPD"], actor="admin:ann", now=FIXED_NOW
        )
    return {"Authorization": f"Bearer {secret}"}


def push(client: FlaskClient, headers: dict[str, str], booking: dict[str, object], images=None):  # type: ignore[no-untyped-def]
    files = images if images is not None else [(io.BytesIO(jpeg_bytes()), "front.jpg")]
    return client.post(
        "/api/v1/records",
        data={"booking": json.dumps(booking), "images": files},
        headers=headers,
        content_type="multipart/form-data",
    )


def test_a_pushed_booking_is_stored_sealed_and_evaluated(
    client: FlaskClient, services: Services, bearer: dict[str, str]
) -> None:
    created = push(client, bearer, BOOKING)
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert body["status"] == "created"
    assert body["decision"]["rule"] == "us-ca/pc851-8-destroy"
    with services.readers() as s:
        rec = s.get(Record, body["id"])
        assert rec is not None
        assert rec.identity_sealed is not None
        assert b"Jordan" not in rec.identity_sealed
        assert s.execute(select(func.count()).select_from(Image)).scalar_one() == 2
        entry = s.execute(
            select(AuditEntry).where(AuditEntry.action == "record.ingested")
        ).scalar_one()
        assert entry.actor == "api:booking-system"
    decision = client.get(f"/api/v1/records/{body['id']}/decision", headers=bearer)
    assert decision.status_code == 200
    assert decision.get_json()["next_action"] == "purge"
    assert decision.get_json()["decision"]["citation"].startswith("us-ca-pc851.8")


def test_pushing_again_is_idempotent_and_a_conflict_is_refused(
    client: FlaskClient, services: Services, bearer: dict[str, str]
) -> None:
    first = push(client, bearer, BOOKING).get_json()
    again = push(client, bearer, BOOKING)
    assert again.status_code == 200
    assert again.get_json() == {"id": first["id"], "status": "already_present"}
    conflict = push(client, bearer, BOOKING | {"name": "Someone Else"})
    assert conflict.status_code == 409
    with services.readers() as s:
        assert s.execute(select(func.count()).select_from(Record)).scalar_one() == 1


@pytest.mark.parametrize(
    ("booking", "images", "field"),
    [
        (BOOKING | {"arrest_date": "2020-02-30"}, None, "arrest_date"),
        (BOOKING | {"jurisdiction": "XX"}, None, "jurisdiction"),
        (BOOKING | {"colour": "red"}, None, "colour"),
        (BOOKING, [(io.BytesIO(b"not an image"), "x.jpg")], "images"),
        (BOOKING, [], "images"),
    ],
    ids=["bad-date", "bad-jurisdiction", "unknown-field", "not-an-image", "no-image"],
)
def test_bad_input_names_the_field_and_stores_nothing(
    client: FlaskClient,
    services: Services,
    bearer: dict[str, str],
    booking: dict[str, object],
    images: object,
    field: str,
) -> None:
    response = push(client, bearer, booking, images)
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    with services.readers() as s:
        assert s.execute(select(Record)).first() is None
    assert list(services.store.keys()) == []


def test_requests_without_a_live_token_are_refused(
    client: FlaskClient, services: Services, bearer: dict[str, str]
) -> None:
    assert push(client, {}, BOOKING).status_code == 401
    assert push(client, {"Authorization": "Bearer mgs_forged"}, BOOKING).status_code == 401
    with services.sessions() as s, s.begin():
        token_id = s.execute(select(tokens.ApiToken.id)).scalar_one()
        tokens.revoke(s, token_id, actor="admin:ann", now=FIXED_NOW)
    refused = push(client, bearer, BOOKING)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_openapi_description_is_served(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.yaml")
    assert spec.status_code == 200
    assert b"/records/{id}/decision" in spec.data
