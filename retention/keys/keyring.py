"""The keyring: versioned key-encryption keys plus the index, signing and session keys.

Layer: ``retention.keys``. The embedded deployment keeps the keyring in a 0600 JSON file beside the
data; an external KMS replaces the KEK part where deployed (``KeyProvider``). Keys never appear
in ``repr``, logs, errors or the audit log.

Separate keys serve separate jobs (DESIGN.md): wrapping data keys (KEK versions), blind
indexes and keyed hashes (index key), deletion-certificate signatures (Ed25519 signing key) and
session cookies (session key). Rotation adds a KEK version and rewraps data keys only; a version
is *retired* — its material erased from the file — once no data key references it, which is
also the moment backups taken before a purge stop being able to open that record.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from retention import files
from retention.errors import KeyringError
from retention.keys import crypto

KEYRING_FORMAT = "mugshot-keyring/1"
KEY_BYTES = 32


class KeyProvider(Protocol):
    """Wraps and unwraps data keys under versioned key-encryption keys."""

    @property
    def active_version(self) -> int: ...

    def wrap(self, data_key: bytes, *, key_id: str) -> tuple[int, bytes]: ...

    def unwrap(self, wrapped: bytes, *, key_id: str, version: int) -> bytes: ...


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: Any, where: str) -> bytes:
    if not isinstance(text, str):
        raise KeyringError(f"keyring entry {where} is missing or not a string")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise KeyringError(f"keyring entry {where} is not valid base64") from None
    if len(raw) != KEY_BYTES:
        raise KeyringError(f"keyring entry {where} must be {KEY_BYTES} bytes, got {len(raw)}")
    return raw


@dataclass
class KekVersion:
    """One key-encryption-key version; ``key`` is ``None`` once retired."""

    version: int
    key: bytes | None
    created_at: str
    retired_at: str | None = None

    def __repr__(self) -> str:
        state = "retired" if self.key is None else "live"
        return f"<KekVersion v{self.version} {state}>"


class Keyring:
    """The local keyring file. Implements ``KeyProvider``."""

    def __init__(
        self,
        path: Path,
        versions: dict[int, KekVersion],
        active: int,
        index_key: bytes,
        signing_seed: bytes,
        session_key: bytes,
    ) -> None:
        self.path = path
        self._versions = versions
        self._active = active
        self._index_key = index_key
        self._signing_seed = signing_seed
        self._session_key = session_key
        self._stamp = files.stamp(self.path)
        self._signer: Ed25519PrivateKey | None = None

    def _refresh(self) -> None:
        """Pick up a rotation or retirement saved by another process since we loaded."""
        current = files.stamp(self.path)
        if current is None or current == self._stamp:
            return
        fresh = Keyring.load(self.path)
        self._versions, self._active = fresh._versions, fresh._active
        self._stamp = current

    def __repr__(self) -> str:
        return f"<Keyring {self.path} active=v{self._active} versions={sorted(self._versions)}>"

    # -- creation and persistence -------------------------------------------------------

    @classmethod
    def create(cls, path: Path, now: dt.datetime) -> Keyring:
        """Create a new keyring file (mode 0600); refuses to overwrite an existing one."""
        if path.exists():
            raise KeyringError(f"keyring {path} already exists; refusing to overwrite it")
        ring = cls(
            path=path,
            versions={1: KekVersion(1, os.urandom(KEY_BYTES), now.isoformat())},
            active=1,
            index_key=os.urandom(KEY_BYTES),
            signing_seed=os.urandom(KEY_BYTES),
            session_key=os.urandom(KEY_BYTES),
        )
        ring.save()
        return ring

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """Load and validate a keyring file; refuses one readable by group or others."""
        text = files.read_private(
            path, "keyring", KeyringError, ": run `mugshot init` or set MUGSHOT_KEYRING"
        )
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise KeyringError(f"keyring {path} is unreadable: {type(exc).__name__}") from None
        if not isinstance(doc, dict) or doc.get("format") != KEYRING_FORMAT:
            raise KeyringError(f"keyring {path} is not a {KEYRING_FORMAT} file")
        kek = doc.get("kek")
        if not isinstance(kek, dict) or not isinstance(kek.get("versions"), dict):
            raise KeyringError(f"keyring {path}: 'kek.versions' is missing")
        versions: dict[int, KekVersion] = {}
        for raw_version, entry in kek["versions"].items():
            if not raw_version.isdigit() or not isinstance(entry, dict):
                raise KeyringError(f"keyring {path}: bad KEK version entry {raw_version!r}")
            version = int(raw_version)
            key = entry.get("key")
            versions[version] = KekVersion(
                version=version,
                key=None if key is None else _unb64(key, f"kek.versions.{version}.key"),
                created_at=str(entry.get("created_at", "")),
                retired_at=entry.get("retired_at"),
            )
        active = kek.get("active")
        # The active version may be retired when the KEKs moved to an external KMS
        # (``retention.keys.kms``); a plain keyring then refuses to wrap under it.
        if not isinstance(active, int) or active not in versions:
            raise KeyringError(f"keyring {path}: active KEK version {active!r} is not available")
        return cls(
            path=path,
            versions=versions,
            active=active,
            index_key=_unb64(doc.get("index_key"), "index_key"),
            signing_seed=_unb64(doc.get("signing_key"), "signing_key"),
            session_key=_unb64(doc.get("session_key"), "session_key"),
        )

    def save(self) -> None:
        """Write the keyring atomically with mode 0600 (temp file, fsync, rename)."""
        doc = {
            "format": KEYRING_FORMAT,
            "warning": (
                "Development keyring. Production deployments should supply their own keys "
                "(an external KMS or a keyring kept off the data volume); see README."
            ),
            "kek": {
                "active": self._active,
                "versions": {
                    str(v.version): {
                        "key": None if v.key is None else _b64(v.key),
                        "created_at": v.created_at,
                        "retired_at": v.retired_at,
                    }
                    for v in sorted(self._versions.values(), key=lambda v: v.version)
                },
            },
            "index_key": _b64(self._index_key),
            "signing_key": _b64(self._signing_seed),
            "session_key": _b64(self._session_key),
        }
        files.write_atomic_private(self.path, json.dumps(doc, indent=2).encode())
        self._stamp = files.stamp(self.path)

    # -- key-encryption keys -------------------------------------------------------------

    @property
    def active_version(self) -> int:
        """The KEK version new data keys are wrapped under."""
        return self._active

    def versions(self) -> list[KekVersion]:
        """All KEK versions, oldest first."""
        return [self._versions[v] for v in sorted(self._versions)]

    def _kek(self, version: int) -> bytes:
        entry = self._versions.get(version)
        if entry is None:
            self._refresh()
            entry = self._versions.get(version)
        if entry is None:
            raise KeyringError(f"key-encryption key v{version} is not in the keyring")
        if entry.key is None:
            raise KeyringError(f"key-encryption key v{version} was retired on {entry.retired_at}")
        return entry.key

    def wrap(self, data_key: bytes, *, key_id: str) -> tuple[int, bytes]:
        """Wrap a data key under the active version; returns (version, wrapped)."""
        self._refresh()
        version = self._active
        return version, crypto.wrap_data_key(
            self._kek(version), data_key, key_id=key_id, kek_version=version
        )

    def unwrap(self, wrapped: bytes, *, key_id: str, version: int) -> bytes:
        """Unwrap a data key wrapped under ``version``."""
        return crypto.unwrap_data_key(
            self._kek(version), wrapped, key_id=key_id, kek_version=version
        )

    def rewrap_many(self, items: Sequence[tuple[bytes, str, int]]) -> list[tuple[int, bytes]]:
        """Rewrap data keys given as ``(wrapped, key_id, version)`` under the active version;
        returns ``(version, wrapped)`` for each, in order (key rotation)."""
        return [self.wrap(self.unwrap(w, key_id=k, version=v), key_id=k) for w, k, v in items]

    def add_version(self, now: dt.datetime) -> int:
        """Add a new KEK version, make it active and save the file (before any rewrap)."""
        version = max(self._versions) + 1
        self._versions[version] = KekVersion(version, os.urandom(KEY_BYTES), now.isoformat())
        self._active = version
        self.save()
        return version

    def retire(self, version: int, now: dt.datetime) -> None:
        """Erase a version's key material. The caller checks nothing references it."""
        if version == self.active_version:
            raise KeyringError(f"key-encryption key v{version} is active and cannot be retired")
        entry = self._versions.get(version)
        if entry is None:
            raise KeyringError(f"key-encryption key v{version} is not in the keyring")
        if entry.key is None:
            raise KeyringError(f"key-encryption key v{version} is already retired")
        entry.key = None
        entry.retired_at = now.isoformat()
        self.save()

    def fully_gone_by(self, version: int) -> dt.datetime | None:
        """When a version's key material was erased (None while it is live): from then on no
        backup can open a record purged before it."""
        for entry in self._versions.values():
            if entry.version == version and entry.retired_at:
                return dt.datetime.fromisoformat(entry.retired_at)
        return None

    # -- the other keys ------------------------------------------------------------------

    @property
    def index_key(self) -> bytes:
        """Key for blind indexes and keyed content hashes."""
        return self._index_key

    @property
    def session_key(self) -> bytes:
        """Key for signing web session cookies."""
        return self._session_key

    def signing_key(self) -> Ed25519PrivateKey:
        """Ed25519 key that signs deletion certificates."""
        if self._signer is None:
            self._signer = Ed25519PrivateKey.from_private_bytes(self._signing_seed)
        return self._signer

    def signing_public_key_pem(self) -> bytes:
        """The certificate-verification public key (PEM, SubjectPublicKeyInfo)."""
        return (
            self.signing_key()
            .public_key()
            .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        )
