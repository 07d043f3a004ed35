"""The local store names a failed write and removes its temp file at once: a full disk is
``BlobStoreFull``, a read-only one ``BlobStoreReadOnly``, anything else ``BlobStoreUnavailable``
(all ``OSError``), and neither a temp file nor a half-written blob is left."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from retention.storage.interface import (
    BlobStoreFull,
    BlobStoreReadOnly,
    BlobStoreUnavailable,
    write_fault,
)
from retention.storage.local import LocalBlobStore

KEY = "abcdef0123456789"


@pytest.mark.parametrize(
    ("code", "error", "message"),
    [
        (errno.ENOSPC, BlobStoreFull, "is full (no space left on device)"),
        (errno.EDQUOT, BlobStoreFull, "is full (no space left on device)"),
        (errno.EROFS, BlobStoreReadOnly, "is read-only (read-only file system)"),
        (errno.EACCES, BlobStoreReadOnly, "is read-only (permission denied)"),
        (errno.EIO, BlobStoreUnavailable, "failed to write (Input/output error)"),
    ],
)
def test_a_failed_fsync_is_named_and_leaves_no_temp_file(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
    error: type[OSError],
    message: str,
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.ensure_layout()

    def failing_fsync(_fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(error) as caught:
        store.put(KEY, b"sealed bytes")
    monkeypatch.undo()

    assert str(caught.value.strerror) == f"blob store local:{tmp_path / 'blobs'} {message}"
    assert caught.value.errno == code
    assert list((tmp_path / "blobs").rglob(".*.tmp")) == []
    assert not store.exists(KEY)


def test_a_write_that_fails_midway_through_put_many_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.ensure_layout()
    real_write = os.write
    calls = {"n": 0}

    def fills_up(fd: int, data: bytes | memoryview) -> int:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", fills_up)
    with pytest.raises(BlobStoreFull):
        store.put_many([(f"{KEY}{n}", b"x" * 10) for n in range(5)])
    monkeypatch.undo()

    assert list((tmp_path / "blobs").rglob(".*.tmp")) == []
    assert sorted(store.keys()) == [f"{KEY}0", f"{KEY}1"]  # the importer removes these


def test_write_fault_keeps_store_errors_as_they_are() -> None:
    already = BlobStoreUnavailable("object store s3://b unreachable during put")
    assert write_fault(already, "s3://b") is already


def test_deleting_from_a_read_only_store_is_named_and_the_blob_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.ensure_layout()
    store.put(KEY, b"sealed bytes")

    def read_only(_path: object, *_args: object, **_kwargs: object) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(os, "unlink", read_only)
    with pytest.raises(BlobStoreReadOnly, match="read-only file system"):
        store.delete(KEY)
    with pytest.raises(BlobStoreReadOnly, match="read-only file system"):
        store.delete_many([KEY])
    monkeypatch.undo()
    assert store.get(KEY) == b"sealed bytes"
