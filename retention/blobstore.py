"""Blob stores: where sealed image bytes live, behind one small interface.

Layer: ``retention``. Stores only ever see sealed bytes (``retention.keys.crypto``); they know
nothing of records or keys. Every backend passes the same contract suite
(``tests/unit/test_blobstore_contract.py``).

The local backend writes atomically (temp file, fsync, rename, fsync of the folder), shards keys
into 4,096 folders (created once, by ``mugshot init``) so no folder grows unwieldy, and deletes
idempotently. Its temp file name is derived from the key: a write interrupted by a crash is
replaced by the next write of the same key instead of lingering as an orphan.

The S3-compatible backend lives in ``retention.blobstore_s3`` (boto3 is imported only when an
``s3://`` store is opened). Any backend signals an outage with ``BlobStoreUnavailable``.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from retention.errors import BlobNotFoundError, ConfigError

# One level of 4,096 folders: 20 million blobs is about 5,000 a folder.
SHARD_CHARS = 3
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{3,127}$")


class BlobStoreUnavailable(OSError):
    """The blob store cannot be reached or is failing (a network store's outage).

    An ``OSError``, so callers treat it like a failing disk: the importer rejects the batch's
    rows ("re-run the import"), and a purge's after-commit deletion leaves the (already
    unreadable) blobs for the janitor.
    """


def check_key(key: str) -> str:
    """Refuse keys that could escape the store (path separators, dots, empty)."""
    if not _KEY.match(key):
        raise ValueError(f"invalid blob key {key!r}")
    return key


class BlobStore(Protocol):
    """Sealed-blob storage. ``put`` is durable when it returns; ``delete`` is idempotent."""

    def put(self, key: str, data: bytes) -> None: ...

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> None:
        """Store several blobs; all are durable when it returns (a group commit)."""
        ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def delete_many(self, keys: Iterable[str]) -> None:
        """Delete several blobs (idempotent), with one durability barrier for all."""
        ...

    def keys(self) -> Iterator[str]: ...

    def modified_at(self, key: str) -> dt.datetime | None:
        """When the blob was last written (UTC), or None if it does not exist."""
        ...

    def describe(self) -> str: ...


class MemoryBlobStore:
    """In-memory store for unit tests."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._written: dict[str, dt.datetime] = {}

    def put(self, key: str, data: bytes) -> None:
        self._blobs[check_key(key)] = bytes(data)
        self._written[key] = dt.datetime.now(dt.UTC)

    def modified_at(self, key: str) -> dt.datetime | None:
        return self._written.get(check_key(key)) if key in self._blobs else None

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> None:
        for key, data in items:
            self.put(key, data)

    def get(self, key: str) -> bytes:
        try:
            return self._blobs[check_key(key)]
        except KeyError:
            raise BlobNotFoundError(f"no blob {key}") from None

    def exists(self, key: str) -> bool:
        return check_key(key) in self._blobs

    def delete(self, key: str) -> None:
        self._blobs.pop(check_key(key), None)
        self._written.pop(key, None)

    def delete_many(self, keys: Iterable[str]) -> None:
        for key in keys:
            self.delete(key)

    def keys(self) -> Iterator[str]:
        yield from sorted(self._blobs)

    def describe(self) -> str:
        return "memory"


def _load_syncfs() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - no C library to ask
        return None
    return getattr(libc, "syncfs", None)


_SYNCFS = _load_syncfs()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore:
    """Sealed blobs as files under ``root/ab/cd/<key>``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:SHARD_CHARS].lower() / key

    def ensure_layout(self) -> None:
        """Create every shard folder up front (``mugshot init``), so writes never mkdir."""
        self.root.mkdir(parents=True, exist_ok=True)
        for n in range(16**SHARD_CHARS):
            (self.root / f"{n:0{SHARD_CHARS}x}").mkdir(exist_ok=True)
        _fsync_dir(self.root)

    def _write(self, key: str, data: bytes, *, sync: bool) -> Path:
        path = self._path(key)
        folder = path.parent
        tmp = folder / f".{key}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        try:
            fd = os.open(tmp, flags, 0o600)
        except FileNotFoundError:
            folder.mkdir(parents=True, exist_ok=True)
            _fsync_dir(folder.parent)
            fd = os.open(tmp, flags, 0o600)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        if sync:
            _fsync_dir(folder)
        return path

    def put(self, key: str, data: bytes) -> None:
        self._write(key, data, sync=True)

    def _sync(self) -> bool:
        """One ``syncfs`` of the store's filesystem; False where the platform has none."""
        if _SYNCFS is None:  # pragma: no cover
            return False
        fd = os.open(self.root, os.O_RDONLY)
        try:
            if _SYNCFS(fd) != 0:
                err = ctypes.get_errno()
                raise OSError(err, os.strerror(err))
        finally:
            os.close(fd)
        return True

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> None:
        """Write every blob, then make them all durable at once.

        One ``syncfs`` of the store's filesystem replaces an fsync per file and per folder
        (a group commit: the journal is committed once for the whole batch). Where
        ``syncfs`` is unavailable, each file and folder is fsynced instead.
        """
        paths = [self._write(key, data, sync=False) for key, data in items]
        if not paths:
            return
        if self._sync():
            return
        for path in paths:  # pragma: no cover - platforms without syncfs
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        for folder in {p.parent for p in paths}:  # pragma: no cover
            _fsync_dir(folder)
            _fsync_dir(folder.parent)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise BlobNotFoundError(f"no blob {key}") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def modified_at(self, key: str) -> dt.datetime | None:
        try:
            mtime = self._path(key).stat().st_mtime
        except FileNotFoundError:
            return None
        return dt.datetime.fromtimestamp(mtime, dt.UTC)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        _fsync_dir(path.parent)

    def delete_many(self, keys: Iterable[str]) -> None:
        removed = False
        for key in keys:
            try:
                self._path(key).unlink()
                removed = True
            except FileNotFoundError:
                continue
        if removed:
            self._sync()

    def keys(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for shard in sorted(self.root.iterdir()):
            if not shard.is_dir() or shard.name.startswith("."):
                continue
            for entry in sorted(shard.iterdir()):
                if not entry.name.startswith("."):
                    yield entry.name

    def stray_temp_files(self) -> Iterator[Path]:
        """Temp files left by interrupted writes (the janitor removes old ones)."""
        if self.root.is_dir():
            yield from self.root.glob("*/.*.tmp")

    def describe(self) -> str:
        return f"local:{self.root}"


def open_blob_store(
    location: str, *, s3_endpoint_url: str | None = None, region: str = "us-east-1"
) -> BlobStore:
    """The store named by ``MUGSHOT_BLOB_STORE``: a folder path, a ``file://`` URL, or
    ``s3://bucket/prefix`` (an S3-compatible service at ``s3_endpoint_url``, default AWS)."""
    if location.startswith("file://"):
        return LocalBlobStore(Path(location.removeprefix("file://")))
    if location.startswith("s3://"):
        from retention.blobstore_s3 import S3BlobStore

        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        return S3BlobStore(bucket, prefix, endpoint_url=s3_endpoint_url, region=region)
    if "://" in location:
        scheme = location.split("://", 1)[0]
        raise ConfigError(
            f"MUGSHOT_BLOB_STORE scheme {scheme!r} is not supported "
            "(use a folder path or s3://bucket/prefix)"
        )
    return LocalBlobStore(Path(location))
