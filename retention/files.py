"""Private files: written atomically, readable by this user only, refused when others can read.

Layer: ``retention`` (bottom; imports only ``retention.errors``). One home for the file
handling that the keyring, the KMS key list, audit checkpoints, uploaded rule packs, the demo
accounts file, the SQLite database and the blob folders share, so a fix to one (an fsync, a
mode) is a fix to all.

Everything mugshot creates in its data directory is this user's alone: folders 0700, files
0600 (the SQLite database included — SQLite gives its ``-wal`` and ``-shm`` files the
database's own mode). A data directory (or blob folder) that group or others can read, write or
enter is refused at start with the ``chmod`` that fixes it, as the keyring already is.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from retention.errors import RetentionError

# What identifies one version of a file: a rename gives a new inode, a rewrite a new mtime.
Stamp = tuple[int, int]

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
_OPEN_TO_OTHERS = stat.S_IRWXG | stat.S_IRWXO


def make_private_dir(path: Path) -> Path:
    """Create ``path`` and any missing parents as 0700 folders (whatever the umask); an existing
    folder is left as it is (``check_private_dir`` judges it)."""
    path = Path(path)
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:  # another process made it meanwhile
            continue
        os.chmod(folder, PRIVATE_DIR)  # the umask may have taken bits mkdir's mode asked for
    return path


def check_private_dir(path: Path, what: str, error: type[RetentionError]) -> None:
    """Refuse (``error``) a folder that group or others may read, write or enter; a missing
    folder passes (it will be created private)."""
    try:
        st = Path(path).stat()
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        raise error(f"{what} {path} is not a folder")
    if st.st_mode & _OPEN_TO_OTHERS:
        raise error(
            f"{what} {path} is accessible by group or others (mode "
            f"{stat.S_IMODE(st.st_mode):o}); run `chmod -R go-rwx {path}` "
            "(folders 0700, files 0600) and start again"
        )


def ensure_private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist, or narrow this user's existing
    file to 0600 (a file another user owns is left alone)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), PRIVATE_FILE)
    try:
        st = os.fstat(fd)
        if st.st_mode & _OPEN_TO_OTHERS and st.st_uid == os.geteuid():
            os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)


def narrow_if_exists(path: Path) -> None:
    """Narrow this user's existing file to 0600; nothing when it does not exist."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if st.st_mode & _OPEN_TO_OTHERS and st.st_uid == os.geteuid():
        os.chmod(path, PRIVATE_FILE)


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
    make_private_dir(path.parent)
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
    make_private_dir(path.parent)
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
    if st.st_mode & _OPEN_TO_OTHERS:
        raise error(
            f"{what} {path} is accessible by group or others (mode "
            f"{stat.S_IMODE(st.st_mode):o}); run `chmod 600 {path}`"
        )
    try:
        return path.read_text()
    except (OSError, ValueError) as exc:
        raise error(f"{what} {path} is unreadable: {type(exc).__name__}") from None


# A CSV cell a spreadsheet would run as a formula starts with one of these.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """A CSV cell a spreadsheet shows as text: one starting like a formula gets a ``'`` (the
    import's reject report and the audit export both write cells that people open in a
    spreadsheet)."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell
