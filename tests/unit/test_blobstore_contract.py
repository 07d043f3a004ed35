"""One contract, every blob-store backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from retention.blobstore import BlobStore, LocalBlobStore, MemoryBlobStore, open_blob_store
from retention.errors import BlobNotFoundError, ConfigError


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "local":
        yield LocalBlobStore(tmp_path / "blobs")
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
