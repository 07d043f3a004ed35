"""The local blob store: sealed blobs as files in the data directory.

Layer: ``retention.storage``. Imports only ``retention.storage.interface`` and
``retention.errors``.

Writes are atomic (temp file, fsync, rename, fsync of the folder), keys are sharded into 4,096
folders (created once, by ``mugshot init``) so no folder grows unwieldy, and deletes are
idempotent. The temp file name is derived from the key: a write interrupted by a crash is
replaced by the next write of the same key instead of lingering as an orphan, and a write that
fails (a full disk, a read-only folder) removes its temp file at once.

A failed write raises the store error that names the fault (``interface.write_fault``): a full
disk is ``BlobStoreFull``, a read-only file system or folder ``BlobStoreReadOnly``.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from retention.errors import BlobNotFoundError
from retention.files import PRIVATE_DIR, fsync_dir, make_private_dir
from retention.storage.interface import SHARD_CHARS, check_key, write_fault


def _load_syncfs() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - no C library to ask
        return None
    return getattr(libc, "syncfs", None)


_SYNCFS = _load_syncfs()


class LocalBlobStore:
    """Sealed blobs as files under ``root/ab/cd/<key>``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:SHARD_CHARS].lower() / key

    def ensure_layout(self) -> None:
        """Create every shard folder up front (``mugshot init``), so writes never mkdir."""
        make_private_dir(self.root)
        for n in range(16**SHARD_CHARS):
            (self.root / f"{n:0{SHARD_CHARS}x}").mkdir(mode=PRIVATE_DIR, exist_ok=True)
        fsync_dir(self.root)

    def _write(self, key: str, data: bytes, *, sync: bool) -> Path:
        path = self._path(key)
        folder = path.parent
        tmp = folder / f".{key}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        try:
            try:
                fd = os.open(tmp, flags, 0o600)
            except FileNotFoundError:
                make_private_dir(folder)
                fsync_dir(folder.parent)
                fd = os.open(tmp, flags, 0o600)
        except OSError as exc:
            raise write_fault(exc, self.describe()) from exc
        try:
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
                fsync_dir(folder)
        except OSError as exc:
            tmp.unlink(missing_ok=True)  # no temp file outlives a failed write
            raise write_fault(exc, self.describe()) from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
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
        try:
            synced = self._sync()
        except OSError as exc:
            raise write_fault(exc, self.describe()) from exc
        if synced:
            return
        for path in paths:  # pragma: no cover - platforms without syncfs
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        for folder in {p.parent for p in paths}:  # pragma: no cover
            fsync_dir(folder)
            fsync_dir(folder.parent)

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
            fsync_dir(path.parent)
        except FileNotFoundError:
            return
        except OSError as exc:  # a read-only store cannot delete either: say so
            raise write_fault(exc, self.describe()) from exc

    def delete_many(self, keys: Iterable[str]) -> None:
        removed = False
        try:
            for key in keys:
                try:
                    self._path(key).unlink()
                    removed = True
                except FileNotFoundError:
                    continue
            if removed:
                self._sync()
        except OSError as exc:
            raise write_fault(exc, self.describe()) from exc

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
