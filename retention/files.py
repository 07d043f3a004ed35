"""Small file helpers shared by the CLI and the web app.

Layer: ``retention``.
"""

from __future__ import annotations

import os
from pathlib import Path


def replace_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by this user only (0600), replacing any old copy;
    an existing file's wider mode is narrowed too (``O_CREAT`` keeps an old file's mode)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        os.fchmod(out.fileno(), 0o600)
        out.write(data)
