"""Private files: written atomically, readable by this user only, refused when others can read.

Layer: ``retention`` (bottom; imports only ``retention.errors``). One home for the file
handling that the keyring, the KMS key list, audit checkpoints, uploaded rule packs and the demo
accounts file share, so a fix to one (an fsync, a mode) is a fix to all.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from retention.errors import RetentionError

# What identifies one version of a file: a rename gives a new inode, a rewrite a new mtime.
Stamp = tuple[int, int]


def replace_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by this user only (0600), replacing any old copy;
    an existing file's wider mode is narrowed too (``O_CREAT`` keeps an old file's mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(data)


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable (the folder's entry, not the data)."""
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_atomic_private(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` (mode 0600) so that a crash leaves the old file or the new
    one, never a torn one: temp file in the same folder, fsync, rename, fsync of the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def create_private(path: Path, data: bytes) -> bool:
    """Write ``data`` to a new ``path`` (mode 0600, folders 0700), atomically; False — and
    nothing written — when the file already exists (a file once written is kept)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.exists():
        return False
    write_atomic_private(path, data)
    return True


def stamp(path: Path) -> Stamp | None:
    """The file's current version (inode, mtime), or None when it does not exist."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns)


def read_private(path: Path, what: str, error: type[RetentionError], missing: str = "") -> str:
    """The text of a private file; ``error`` names ``what`` when it is missing (with the hint
    ``missing``), readable by group or others, or unreadable."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise error(f"{what} {path} not found{missing}") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise error(
            f"{what} {path} is accessible by group or others (mode "
            f"{stat.S_IMODE(st.st_mode):o}); run `chmod 600 {path}`"
        )
    try:
        return path.read_text()
    except (OSError, ValueError) as exc:
        raise error(f"{what} {path} is unreadable: {type(exc).__name__}") from None
