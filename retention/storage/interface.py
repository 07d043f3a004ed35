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
