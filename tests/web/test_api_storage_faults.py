"""A storage fault during an API push is a 503 that names it, stores nothing and leaves no
blob: the store full halfway through the booking's blobs, or the database full at commit."""

from __future__ import annotations

import errno
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, func, select

from retention.accounts import tokens
from retention.db.models import Image, Record
from retention.services import Services
from retention.storage.interface import BlobStore, BlobStoreFull
from tests.conftest import FIXED_NOW
from tests.helpers import jpeg_bytes

BOOKING = {
    "booking_number": "API-FAULT-1",
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


class FullAfterOne:
    """The configured store, with room for one more blob."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> None:
        def one() -> Iterator[tuple[str, bytes]]:
            for n, item in enumerate(items):
                if n == 1:
                    raise BlobStoreFull(
                        errno.ENOSPC, "blob store test is full (no space left on device)"
                    )
                yield item

        self.inner.put_many(one())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _push(client: FlaskClient, bearer: dict[str, str]) -> Any:
    return client.post(
        "/api/v1/records",
        data={"booking": json.dumps(BOOKING), "images": [(io.BytesIO(jpeg_bytes()), "f.jpg")]},
        headers=bearer,
        content_type="multipart/form-data",
    )


def _nothing_stored(services: Services, real: BlobStore) -> bool:
    with services.readers() as s:
        records = s.execute(select(func.count()).select_from(Record)).scalar_one()
        images = s.execute(select(func.count()).select_from(Image)).scalar_one()
    return (records, images, list(real.keys())) == (0, 0, [])


def test_a_full_store_is_a_503_naming_it_and_the_blob_already_written_is_removed(
    client: FlaskClient, services: Services, bearer: dict[str, str]
) -> None:
    real = services.store
    services.store = FullAfterOne(real)  # type: ignore[assignment]
    try:
        response = _push(client, bearer)
    finally:
        services.store = real

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert response.get_json() == {
        "error": "blob store test is full (no space left on device); nothing was stored — "
        "push again once it is fixed"
    }
    assert _nothing_stored(services, real)
    assert _push(client, bearer).status_code == 201  # once there is room, it goes through


def test_a_full_database_is_a_503_naming_it_and_leaves_no_blob(
    client: FlaskClient, services: Services, bearer: dict[str, str], is_postgres: bool
) -> None:
    import sqlite3

    def refuse(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO IMAGES"):
            if is_postgres:
                import psycopg

                raise psycopg.errors.DiskFull("could not extend file: No space left on device")
            error = sqlite3.OperationalError("database or disk is full")
            error.sqlite_errorcode = 13  # type: ignore[attr-defined]
            raise error

    event.listen(Engine, "before_cursor_execute", refuse)
    try:
        response = _push(client, bearer)
    finally:
        event.remove(Engine, "before_cursor_execute", refuse)

    assert response.status_code == 503
    assert response.get_json()["error"].startswith("database is full")
    assert _nothing_stored(services, services.store)
