"""The in-memory blob store, for unit tests and benchmarks of everything above storage.

Layer: ``retention.storage``. Imports only ``retention.storage.interface`` and
``retention.errors``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from retention.errors import BlobNotFoundError
from retention.storage.interface import check_key


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
