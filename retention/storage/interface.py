"""The blob-store interface: what every backend promises, and the errors they share.

Layer: ``retention.storage`` (bottom). Imports only the standard library and
``retention.errors``; the backends (``local``, ``memory``, ``s3``) import this module, never
each other, and ``retention.storage.factory`` chooses one by setting.

Stores only ever see sealed bytes (``retention.keys.crypto``); they know nothing of records or
keys. Every backend passes the same contract suite (``tests/unit/test_blobstore_contract.py``).
Any backend signals an outage with ``BlobStoreUnavailable``.
"""

from __future__ import annotations

import datetime as dt
import errno
import re
from collections.abc import Iterable, Iterator
from typing import Protocol

# One level of 4,096 folders: 20 million blobs is about 5,000 a folder.
SHARD_CHARS = 3
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{3,127}$")


class BlobStoreUnavailable(OSError):
    """The blob store cannot be reached or is failing (a network store's outage).

    An ``OSError``, so callers treat it like a failing disk: the importer rejects the batch's
    rows ("re-run the import"), and a purge's after-commit deletion leaves the (already
    unreadable) blobs for the janitor.
    """


class BlobStoreFull(OSError):
    """The store has no space left (``ENOSPC``, a quota): nothing more can be written until
    space is freed. The importer rejects the batch's rows with this message and removes what
    the failed batch wrote."""


class BlobStoreReadOnly(OSError):
    """The store refuses writes: a read-only file system or a folder this process may not
    write. Reads still work; an import rejects the rows it could not store."""


_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_READ_ONLY = {errno.EROFS: "read-only file system", errno.EACCES: "permission denied"}
_READ_ONLY[errno.EPERM] = "operation not permitted"


def write_fault(exc: OSError, store: str) -> OSError:
    """A failed write to ``store`` (its ``describe()``) as the store error that names it:
    full, read-only, or else unavailable — each with its own message (no path beyond the
    store's, no blob contents)."""
    if isinstance(exc, BlobStoreFull | BlobStoreReadOnly | BlobStoreUnavailable):
        return exc
    if exc.errno in _FULL:
        return BlobStoreFull(exc.errno, f"blob store {store} is full (no space left on device)")
    if exc.errno in _READ_ONLY:
        return BlobStoreReadOnly(
            exc.errno, f"blob store {store} is read-only ({_READ_ONLY[exc.errno]})"
        )
    return BlobStoreUnavailable(
        exc.errno, f"blob store {store} failed to write ({exc.strerror or type(exc).__name__})"
    )


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
