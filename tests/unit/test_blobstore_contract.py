"""One contract, every blob-store backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from retention.errors import BlobNotFoundError, ConfigError
from retention.storage.factory import open_blob_store
from retention.storage.interface import BlobStore, BlobStoreUnavailable
from retention.storage.local import LocalBlobStore
from retention.storage.memory import MemoryBlobStore
from retention.storage.s3 import S3BlobStore


def fresh_s3_store(url: str, prefix: str = "blobs") -> S3BlobStore:
    """An S3 store over a new, empty bucket on the test server."""
    store = S3BlobStore(f"mugshot-test-{uuid.uuid4().hex[:16]}", prefix, endpoint_url=url)
    store.ensure_bucket()
    return store


@pytest.fixture(params=["local", "memory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
    elif request.param == "s3":
        yield fresh_s3_store(request.getfixturevalue("moto_s3_url"))
    else:
        yield MemoryBlobStore()


KEY = "0123456789abcdef0123456789abcdef"
KEY2 = "fedcba9876543210fedcba9876543210"


def test_put_many_stores_every_blob(store: BlobStore) -> None:
    store.put_many([(KEY, b"one"), (KEY2, b"two")])
    assert (store.get(KEY), store.get(KEY2)) == (b"one", b"two")
    store.put_many([])
    assert sorted(store.keys()) == sorted([KEY, KEY2])


def test_put_then_get_returns_the_same_bytes(store: BlobStore) -> None:
    store.put(KEY, b"sealed-bytes")
    assert store.get(KEY) == b"sealed-bytes"
    assert store.exists(KEY)


def test_put_replaces_an_existing_blob(store: BlobStore) -> None:
    store.put(KEY, b"first")
    store.put(KEY, b"second")
    assert store.get(KEY) == b"second"
    assert list(store.keys()) == [KEY]


def test_get_of_a_missing_key_raises(store: BlobStore) -> None:
    with pytest.raises(BlobNotFoundError):
        store.get(KEY)
    assert not store.exists(KEY)


def test_delete_is_idempotent(store: BlobStore) -> None:
    store.put(KEY, b"x")
    store.put(KEY2, b"y")
    store.delete(KEY)
    store.delete(KEY)
    assert not store.exists(KEY)
    assert list(store.keys()) == [KEY2]


def test_keys_lists_every_blob(store: BlobStore) -> None:
    for k in (KEY2, KEY):
        store.put(k, k.encode())
    assert sorted(store.keys()) == sorted([KEY, KEY2])


@pytest.mark.parametrize("bad", ["", "../etc/passwd", "a/b/c/d", ".hidden", "x" * 200, "ab"])
def test_keys_that_could_escape_the_store_are_refused(store: BlobStore, bad: str) -> None:
    with pytest.raises(ValueError, match="invalid blob key"):
        store.put(bad, b"x")


def test_an_empty_blob_round_trips(store: BlobStore) -> None:
    store.put(KEY, b"")
    assert store.get(KEY) == b""


def test_local_store_shards_and_leaves_no_temp_files(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put(KEY, b"x")
    assert (tmp_path / "blobs" / "012" / KEY).read_bytes() == b"x"
    assert list(store.stray_temp_files()) == []
    assert (tmp_path / "blobs" / "012" / KEY).stat().st_mode & 0o077 == 0


def test_local_store_layout_is_created_once_and_writes_need_no_mkdir(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.ensure_layout()
    assert len([p for p in (tmp_path / "blobs").iterdir() if p.is_dir()]) == 4096
    store.put_many([(KEY, b"a"), (KEY2, b"b")])
    assert (store.get(KEY), store.get(KEY2)) == (b"a", b"b")
    assert list(store.stray_temp_files()) == []


def test_a_write_interrupted_by_a_crash_is_replaced_by_the_next_write(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    folder = tmp_path / "blobs" / "012"
    folder.mkdir(parents=True)
    (folder / f".{KEY}.tmp").write_bytes(b"half-writ")  # what a crash mid-write leaves
    assert list(store.keys()) == []
    store.put(KEY, b"whole")
    assert store.get(KEY) == b"whole"
    assert list(store.stray_temp_files()) == []


def test_open_blob_store_takes_a_folder_or_file_url_and_refuses_unknown_schemes(
    tmp_path: Path,
) -> None:
    assert isinstance(open_blob_store(str(tmp_path)), LocalBlobStore)
    assert isinstance(open_blob_store(f"file://{tmp_path}"), LocalBlobStore)
    with pytest.raises(ConfigError, match="'ftp'"):
        open_blob_store("ftp://example.invalid/bucket")


def test_modified_at_is_recent_for_a_blob_and_none_for_a_missing_one(store: BlobStore) -> None:
    import datetime as dt

    assert store.modified_at(KEY) is None
    store.put(KEY, b"x")
    written = store.modified_at(KEY)
    assert written is not None
    assert written.tzinfo is not None
    assert abs(dt.datetime.now(dt.UTC) - written) < dt.timedelta(minutes=5)


def test_delete_many_removes_some_and_ignores_missing_keys(store: BlobStore) -> None:
    store.put_many([(KEY, b"a"), (KEY2, b"b")])
    store.delete_many([KEY, "1" * 32])
    store.delete_many([])
    assert list(store.keys()) == [KEY2]


def test_open_blob_store_takes_an_s3_url(moto_s3_url: str) -> None:
    store = open_blob_store("s3://evidence/county/blobs", s3_endpoint_url=moto_s3_url)
    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix) == ("evidence", "county/blobs")
    assert store.describe() == "s3://evidence/county/blobs"
    assert "test" not in store.describe()  # never the credentials


def test_s3_store_lays_objects_out_by_shard_under_its_prefix(moto_s3_url: str) -> None:
    store = fresh_s3_store(moto_s3_url, "county/blobs")
    store.put(KEY, b"x")
    listed = store._client.list_objects_v2(Bucket=store.bucket)["Contents"]
    assert [o["Key"] for o in listed] == [f"county/blobs/012/{KEY}"]
    other = S3BlobStore(store.bucket, "other", endpoint_url=moto_s3_url)
    assert list(other.keys()) == []  # prefixes keep stores apart in one bucket


def test_s3_store_deletes_more_than_one_request_holds(moto_s3_url: str) -> None:
    store = fresh_s3_store(moto_s3_url)
    keys = [f"{n:032x}" for n in range(1005)]
    store.put_many((k, b"") for k in keys)
    assert sorted(store.keys()) == keys  # listing pages past 1,000 too
    store.delete_many(keys)
    assert list(store.keys()) == []


def test_s3_store_names_a_missing_bucket(moto_s3_url: str) -> None:
    store = S3BlobStore("no-such-bucket-here", "p", endpoint_url=moto_s3_url)
    with pytest.raises(ConfigError, match="'no-such-bucket-here' does not exist"):
        store.put(KEY, b"x")
    # A read names the bucket too: a missing bucket is not a missing blob.
    with pytest.raises(ConfigError, match="'no-such-bucket-here' does not exist"):
        store.get(KEY)


def test_s3_store_reports_a_dead_endpoint_as_unavailable_within_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    from tests.conftest import free_port

    # Credentials of its own: without any, boto3 stops before connecting (a ConfigError), and
    # whether another test already set them depends on the order tests run in.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")

    store = S3BlobStore("b", "p", endpoint_url=f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    for call in (lambda: store.put(KEY, b"x"), lambda: store.get(KEY), lambda: list(store.keys())):
        with pytest.raises(BlobStoreUnavailable) as caught:
            call()
        assert isinstance(caught.value, OSError)
    assert time.monotonic() - started < 15
