"""Blob stores: where sealed image bytes live, behind one small interface.

Layer: ``retention``. Stores only ever see sealed bytes (``retention.crypto``); they know
nothing of records or keys. Every backend passes the same contract suite
(``tests/unit/test_blobstore_contract.py``).

The local backend writes atomically (temp file, fsync, rename, fsync of the folder), shards keys
into two levels of folders so no folder grows past a few thousand entries, and deletes
idempotently. Its temp file name is derived from the key: a write interrupted by a crash is
replaced by the next write of the same key instead of lingering as an orphan.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from retention.errors import BlobNotFoundError, ConfigError

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{3,127}$")


def check_key(key: str) -> str:
    """Refuse keys that could escape the store (path separators, dots, empty)."""
    if not _KEY.match(key):
        raise ValueError(f"invalid blob key {key!r}")
    return key


class BlobStore(Protocol):
    """Sealed-blob storage. ``put`` is durable when it returns; ``delete`` is idempotent."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def keys(self) -> Iterator[str]: ...

    def describe(self) -> str: ...


class MemoryBlobStore:
    """In-memory store for unit tests."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    def put(self, key: str, data: bytes) -> None:
        self._blobs[check_key(key)] = bytes(data)

    def get(self, key: str) -> bytes:
        try:
            return self._blobs[check_key(key)]
        except KeyError:
            raise BlobNotFoundError(f"no blob {key}") from None

    def exists(self, key: str) -> bool:
        return check_key(key) in self._blobs

    def delete(self, key: str) -> None:
        self._blobs.pop(check_key(key), None)

    def keys(self) -> Iterator[str]:
        yield from sorted(self._blobs)

    def describe(self) -> str:
        return "memory"


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
        return self.root / key[:2] / key[2:4] / key

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        folder = path.parent
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
            _fsync_dir(folder.parent)
        tmp = folder / f".{key}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _fsync_dir(folder)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise BlobNotFoundError(f"no blob {key}") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        _fsync_dir(path.parent)

    def keys(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for first in sorted(self.root.iterdir()):
            if not first.is_dir() or first.name.startswith("."):
                continue
            for second in sorted(first.iterdir()):
                if not second.is_dir():
                    continue
                for entry in sorted(second.iterdir()):
                    if not entry.name.startswith("."):
                        yield entry.name

    def stray_temp_files(self) -> Iterator[Path]:
        """Temp files left by interrupted writes (the janitor removes old ones)."""
        if self.root.is_dir():
            yield from self.root.glob("*/*/.*.tmp")

    def describe(self) -> str:
        return f"local:{self.root}"


def open_blob_store(location: str) -> BlobStore:
    """The store named by ``MUGSHOT_BLOB_STORE``: a folder path or ``file://`` URL."""
    if location.startswith("file://"):
        return LocalBlobStore(Path(location.removeprefix("file://")))
    if "://" in location:
        scheme = location.split("://", 1)[0]
        raise ConfigError(
            f"MUGSHOT_BLOB_STORE scheme {scheme!r} is not supported (use a folder path)"
        )
    return LocalBlobStore(Path(location))
