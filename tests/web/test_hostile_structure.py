"""Hostile structure is a 400, not a 500: deeply nested or oversized JSON to the API and TOML to
the policy upload are refused with a clear message, log next to nothing (no RecursionError
traceback) and leave no file behind."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from policies import bundled_pack_paths
from retention.accounts import tokens
from retention.db.models import Image, Record, Role
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import jpeg_bytes
from tests.web import csrf_token, html

# Log volume a refused request may produce (a RecursionError traceback was ~3,000 lines).
MAX_LOG_LINES = 5

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


def _log_lines(caplog: pytest.LogCaptureFixture) -> int:
    return sum(
        1 + (r.exc_text or "").count("\n") + r.getMessage().count("\n") for r in caplog.records
    )


def _push_raw(client: FlaskClient, headers: dict[str, str], raw: str) -> Any:
    return client.post(
        "/api/v1/records",
        data={"booking": raw, "images": [(io.BytesIO(jpeg_bytes()), "front.jpg")]},
        headers=headers,
        content_type="multipart/form-data",
    )


def _stored(services: Services) -> tuple[int, int, list[str]]:
    with services.readers() as s:
        records = s.execute(select(func.count()).select_from(Record)).scalar_one()
        images = s.execute(select(func.count()).select_from(Image)).scalar_one()
    return records, images, list(services.store.keys())


HOSTILE_JSON = {
    "deep arrays": "[" * 100_000 + "]" * 100_000,
    "deep objects": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "deep value in a booking": json.dumps({**BOOKING, "offence": "x"})[:-1]
    + ', "offence_class": '
    + "[" * 5_000
    + "]" * 5_000
    + "}",
    "unbalanced depth": "[" * 200_000,
    "oversized": json.dumps({**BOOKING, "offence": "x" * 70_000}),
}


@pytest.mark.parametrize("raw", list(HOSTILE_JSON.values()), ids=list(HOSTILE_JSON))
def test_hostile_json_to_the_api_is_a_400_that_stores_and_logs_nothing(
    client: FlaskClient,
    services: Services,
    bearer: dict[str, str],
    caplog: pytest.LogCaptureFixture,
    raw: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.clear()

    response = _push_raw(client, bearer, raw)
    # What the request logged, counted before the test itself reads the store (listing an S3
    # bucket logs at DEBUG in the scale-out run).
    logged, text = _log_lines(caplog), caplog.text

    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert body["field"] == "booking"
    assert "nested deeper than" in body["error"] or "bytes; at most" in body["error"]
    assert _stored(services) == (0, 0, [])
    assert logged <= MAX_LOG_LINES
    assert "RecursionError" not in text


def test_a_nested_value_in_a_booking_names_its_field(
    client: FlaskClient, services: Services, bearer: dict[str, str]
) -> None:
    response = _push_raw(client, bearer, json.dumps({**BOOKING, "name": ["Jordan", "Sample"]}))
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "field name must be a string, number or null",
        "field": "name",
    }
    assert _stored(services) == (0, 0, [])


def test_a_form_field_over_the_form_limit_is_a_json_413(
    client: FlaskClient, services: Services, bearer: dict[str, str]
) -> None:
    boundary = "hostile-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="booking"\r\n\r\n'
        + "[" * 2_000_000
        + f"\r\n--{boundary}--\r\n"
    ).encode()
    response = client.post(  # built by hand: the test client would spool it to a temp file
        "/api/v1/records",
        data=body,
        headers=bearer,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 413
    assert "too large" in response.get_json()["error"]
    assert _stored(services) == (0, 0, [])


def test_an_ordinary_booking_still_goes_through(
    client: FlaskClient, services: Services, bearer: dict[str, str]
) -> None:
    response = _push_raw(client, bearer, json.dumps(BOOKING))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert _stored(services)[0] == 1


# -- TOML: the policy upload ---------------------------------------------------------------


def _upload(client: FlaskClient, data: bytes, name: str = "pack.toml") -> Any:
    token = csrf_token(client.get("/staff/policy/").data)
    return client.post(
        "/staff/policy/enact",
        data={"csrf_token": token, "pack": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _pack_with(extra: str) -> bytes:
    source = bundled_pack_paths()["us-ca"].read_text()
    return source.replace("[pack]\n", "[pack]\n" + extra + "\n", 1).encode()


HOSTILE_TOML = {
    "deep arrays": "x = " + "[" * 50_000 + "]" * 50_000,
    "deep inline tables": "x = " + "{a = " * 20_000 + "1" + "}" * 20_000,
    "deep dotted key": "x" + ".x" * 20_000 + " = 1",
    "deep table header": "[" + ".".join(["t"] * 20_000) + "]\ny = 1",
    "deep arrays in a rule pack": None,
}


@pytest.mark.parametrize("document", list(HOSTILE_TOML), ids=list(HOSTILE_TOML))
def test_hostile_toml_upload_is_a_400_that_leaves_no_file_and_logs_nothing(
    signed_in: Any, services: Services, caplog: pytest.LogCaptureFixture, document: str
) -> None:
    supervisor = signed_in(Role.SUPERVISOR)
    text = HOSTILE_TOML[document]
    data = _pack_with("bogus = " + "[" * 3_000 + "]" * 3_000) if text is None else text.encode()
    caplog.clear()
    caplog.set_level(logging.DEBUG)

    response = _upload(supervisor, data, "hostile.toml")

    assert response.status_code == 400
    page = html(response)
    assert "nested deeper than 24 levels" in page
    assert "hostile.toml" in page
    assert _log_lines(caplog) <= MAX_LOG_LINES
    assert "RecursionError" not in caplog.text
    pending = services.settings.data_dir / "pending-packs"
    assert not pending.exists() or list(pending.iterdir()) == []


def test_an_oversized_pack_is_refused_before_anything_is_written(
    signed_in: Any, services: Services
) -> None:
    supervisor = signed_in(Role.SUPERVISOR)
    response = _upload(supervisor, _pack_with("# " + "x" * 300_000))
    assert response.status_code == 400
    assert "at most 262144 bytes" in html(response)
    pending = services.settings.data_dir / "pending-packs"
    assert not pending.exists() or list(pending.iterdir()) == []


def test_a_preview_that_fails_unexpectedly_leaves_no_file(
    signed_in: Any, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from web.staff import policy as policy_views

    def broken_preview(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(policy_views, "preview", broken_preview)
    supervisor = signed_in(Role.SUPERVISOR)
    source = bundled_pack_paths()["us-ca"].read_text().replace("2025.1", "2026.9", 1).encode()
    with pytest.raises(RuntimeError):
        _upload(supervisor, source)
    pending = services.settings.data_dir / "pending-packs"
    assert list(pending.iterdir()) == []
