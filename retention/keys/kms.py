"""Key-encryption keys held by an AWS-KMS-compatible service (issue 6).

Layer: ``retention.keys``. Selected by ``MUGSHOT_KMS_KEY_ID`` (a key id, ARN or ``alias/...``), with
``MUGSHOT_KMS_ENDPOINT_URL`` and ``MUGSHOT_AWS_REGION``; credentials come from the usual AWS
variables, read by boto3 itself (imported lazily, so the embedded deployment needs none).

``KmsKeyProvider`` keeps the ``Keyring``'s KEK contract (``active_version``, ``wrap``,
``unwrap``, ``versions``, ``add_version``, ``retire``) so rotation and retirement work
unchanged. A KEK *version* is one KMS key: wrapping is KMS ``Encrypt`` of the 32-byte data key
with the encryption context ``{"purpose": "mugshot-data-key", "key_id": <data key id>,
"version": "vN"}`` — the same binding the local keyring puts in its AAD — and unwrapping is
``Decrypt`` with the same context, so a wrapped key moved to another data key or version fails
as an :class:`~retention.errors.IntegrityError`. The key material never leaves the service.

Which KMS key is version N lives in ``kms-keys.json`` beside the keyring (mode 0600, written
atomically); ``keyring.json`` is not touched. The first KMS version is numbered after the
keyring's own versions, and versions the file does not know are still opened by the local
keyring: switching an existing installation to KMS keeps every record readable, and one
``mugshot keys rotate`` moves all data keys under KMS. Rotation creates a new KMS key
(``CreateKey``); retirement schedules the old key's deletion (``ScheduleKeyDeletion`` after
``MUGSHOT_KMS_DELETION_WINDOW_DAYS``, 7 to 30, default 30) and the scheduled deletion date is
the version's "fully gone by" date for backups.

An unreachable service raises :class:`~retention.errors.KeyringError` naming the endpoint
within seconds (short timeouts, few retries); credentials never appear in any message.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from retention import aws, files
from retention.errors import ConfigError, IntegrityError, KeyringError
from retention.keys.keyring import KEY_BYTES, KekVersion, Keyring
from retention.settings import Settings

T = TypeVar("T")

KMS_KEYS_FORMAT = "mugshot-kms-keys/1"
KMS_KEYS_FILE = "kms-keys.json"
PURPOSE = "mugshot-data-key"
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 5.0
MAX_ATTEMPTS = 2
DEFAULT_PENDING_DAYS = 30
# KMS calls in flight at once while rotating (boto3 clients are thread-safe).
REWRAP_THREADS = 8


@dataclass
class KmsVersion(KekVersion):
    """One KEK version held by KMS: ``key`` is always ``None`` (the material never leaves the
    service); ``kms_key_id`` is the key's ARN, ``deletion_date`` set once retired."""

    kms_key_id: str = ""
    deletion_date: str | None = None

    def __repr__(self) -> str:
        state = "retired" if self.retired_at else "live"
        return f"<KmsVersion v{self.version} {state} {self.kms_key_id}>"


def _make_client(endpoint_url: str | None, region: str) -> Any:
    return aws.make_client(
        "kms",
        endpoint_url=endpoint_url,
        region=region,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        max_attempts=MAX_ATTEMPTS,
    )


def _iso(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    return None


class KmsKeyProvider(Keyring):
    """The keyring with its key-encryption keys in KMS: a drop-in ``Keyring`` (and so a
    ``KeyProvider``) for every caller. The index, session and signing keys stay in the keyring
    file; versions not in ``kms-keys.json`` (the keyring's own) are opened and retired there.
    """

    def __init__(
        self,
        keyring: Keyring,
        *,
        kms_path: Path,
        kms_versions: dict[int, KmsVersion],
        active: int,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        client: Any = None,
        pending_window_days: int = DEFAULT_PENDING_DAYS,
    ) -> None:
        if not 7 <= pending_window_days <= 30:
            raise ConfigError(
                f"KMS key deletion window must be 7 to 30 days, got {pending_window_days}"
            )
        super().__init__(
            keyring.path,
            keyring._versions,
            keyring._active,
            keyring._index_key,
            keyring._signing_seed,
            keyring._session_key,
        )
        self.kms_path = kms_path
        self.endpoint_url = endpoint_url
        self.region = region
        self.pending_window_days = pending_window_days
        self._kms_versions = kms_versions
        self._kms_active = active
        self._client = client if client is not None else _make_client(endpoint_url, region)
        self._kms_stamp = files.stamp(self.kms_path)

    def __repr__(self) -> str:
        return f"<KmsKeyProvider {self.describe()} active=v{self._kms_active}>"

    def describe(self) -> str:
        """The service as named in messages: endpoint (or region), never credentials."""
        return f"KMS at {self.endpoint_url}" if self.endpoint_url else f"KMS in {self.region}"

    # -- calls to the service ------------------------------------------------------------

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        from botocore import exceptions as bce

        try:
            return fn()
        except (bce.ConnectionError, bce.HTTPClientError) as exc:
            raise KeyringError(
                f"{self.describe()} unreachable during {what} ({type(exc).__name__})"
            ) from None
        except bce.NoCredentialsError:
            raise KeyringError(
                f"no AWS credentials for {self.describe()} "
                "(set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
            ) from None
        except bce.ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            if code in {"InvalidCiphertextException", "IncorrectKeyException"}:
                raise IntegrityError(f"{what}: {self.describe()} refused the ciphertext") from None
            if code in {"KMSInvalidStateException", "DisabledException"}:
                raise KeyringError(
                    f"{what}: the KMS key is disabled or pending deletion ({code})"
                ) from None
            if code == "NotFoundException":
                raise KeyringError(f"{what}: {self.describe()} has no such key") from None
            raise KeyringError(f"{what}: {self.describe()} failed ({code or 'error'})") from None

    def _resolve(self, key_id: str) -> str:
        """A key id, ARN or alias → the key's ARN (aliases are pinned when a version is made)."""
        meta = self._call(
            f"describe key {key_id}", lambda: self._client.describe_key(KeyId=key_id)
        )["KeyMetadata"]
        return str(meta.get("Arn") or meta["KeyId"])

    def _create_key(self, version: int) -> str:
        meta = self._call(
            "create key",
            lambda: self._client.create_key(
                Description=f"mugshot key-encryption key v{version}",
                KeyUsage="ENCRYPT_DECRYPT",
                Tags=[{"TagKey": "mugshot-kek-version", "TagValue": f"v{version}"}],
            ),
        )["KeyMetadata"]
        return str(meta.get("Arn") or meta["KeyId"])

    @staticmethod
    def _context(key_id: str, version: int) -> dict[str, str]:
        return {"purpose": PURPOSE, "key_id": key_id, "version": f"v{version}"}

    # -- creation and persistence ---------------------------------------------------------

    @classmethod
    def create_kms(
        cls,
        kms_path: Path,
        keyring: Keyring,
        kms_key_id: str,
        now: dt.datetime,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        client: Any = None,
        pending_window_days: int = DEFAULT_PENDING_DAYS,
    ) -> KmsKeyProvider:
        """Start ``kms-keys.json`` with ``kms_key_id`` (an alias is pinned to its key) as the
        active version, numbered after the keyring's own; refuses to overwrite the file."""
        if kms_path.exists():
            raise KeyringError(f"{kms_path} already exists; refusing to overwrite it")
        version = max((v.version for v in keyring.versions()), default=0) + 1
        provider = cls(
            keyring,
            kms_path=kms_path,
            kms_versions={},
            active=version,
            endpoint_url=endpoint_url,
            region=region,
            client=client,
            pending_window_days=pending_window_days,
        )
        arn = provider._resolve(kms_key_id)
        first = KmsVersion(version, None, now.isoformat(), kms_key_id=arn)
        provider._kms_versions = {version: first}
        provider.save_kms()
        return provider

    @classmethod
    def open_kms(
        cls,
        kms_path: Path,
        keyring: Keyring,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        client: Any = None,
        pending_window_days: int = DEFAULT_PENDING_DAYS,
    ) -> KmsKeyProvider:
        """Load ``kms-keys.json``; refuses a malformed file or one readable by others."""
        versions, active = _read(kms_path)
        return cls(
            keyring,
            kms_path=kms_path,
            kms_versions=versions,
            active=active,
            endpoint_url=endpoint_url,
            region=region,
            client=client,
            pending_window_days=pending_window_days,
        )

    def save_kms(self) -> None:
        """Write ``kms-keys.json`` atomically with mode 0600 (temp file, fsync, rename)."""
        doc = {
            "format": KMS_KEYS_FORMAT,
            "active": self._kms_active,
            "versions": {
                str(v.version): {
                    "kms_key_id": v.kms_key_id,
                    "created_at": v.created_at,
                    "retired_at": v.retired_at,
                    "deletion_date": v.deletion_date,
                }
                for v in sorted(self._kms_versions.values(), key=lambda v: v.version)
            },
        }
        files.write_atomic_private(self.kms_path, json.dumps(doc, indent=2).encode())
        self._kms_stamp = files.stamp(self.kms_path)

    def _kms_refresh(self) -> None:
        """Pick up a rotation or retirement saved by another process since we loaded."""
        current = files.stamp(self.kms_path)
        if current is None or current == self._kms_stamp:
            return
        self._kms_versions, self._kms_active = _read(self.kms_path)
        self._kms_stamp = current

    # -- the KeyProvider contract, over KMS ------------------------------------------------

    @property
    def active_version(self) -> int:
        """The KEK version (KMS key) new data keys are wrapped under."""
        self._kms_refresh()
        return self._kms_active

    def versions(self) -> list[KekVersion]:
        """The keyring's own versions, then the KMS versions, oldest first."""
        self._kms_refresh()
        mine = [self._kms_versions[v] for v in sorted(self._kms_versions)]
        older = [v for v in super().versions() if v.version not in self._kms_versions]
        return [*older, *mine]

    def _entry(self, version: int) -> KmsVersion | None:
        entry = self._kms_versions.get(version)
        if entry is None:
            self._kms_refresh()
            entry = self._kms_versions.get(version)
        return entry

    def _live_entry(self, version: int) -> KmsVersion | None:
        """The KMS version a data key was wrapped under (``None`` for the keyring's own); a
        retired KMS version is refused."""
        entry = self._entry(version)
        if entry is not None and entry.retired_at is not None:
            raise KeyringError(f"key-encryption key v{version} was retired on {entry.retired_at}")
        return entry

    def wrap(self, data_key: bytes, *, key_id: str) -> tuple[int, bytes]:
        """Wrap a data key under the active KMS key; returns (version, wrapped)."""
        self._kms_refresh()
        version = self._kms_active
        return version, self._encrypt(data_key, key_id, version, self._kms_versions[version])

    def _encrypt(self, data_key: bytes, key_id: str, version: int, entry: KmsVersion) -> bytes:
        if len(data_key) != KEY_BYTES:
            raise KeyringError(f"data key {key_id} must be {KEY_BYTES} bytes")
        out = self._call(
            f"wrap of data key {key_id} (v{version})",
            lambda: self._client.encrypt(
                KeyId=entry.kms_key_id,
                Plaintext=data_key,
                EncryptionContext=self._context(key_id, version),
            ),
        )
        return bytes(out["CiphertextBlob"])

    def rewrap_many(self, items: Sequence[tuple[bytes, str, int]]) -> list[tuple[int, bytes]]:
        """Rewrap data keys under the active KMS key, up to ``REWRAP_THREADS`` calls at once.

        A key wrapped by an older KMS version is moved with one ``ReEncrypt`` call — KMS
        decrypts and encrypts inside the service, so the plaintext data key never reaches this
        process — with the source checked against the old version's key and context. A key
        wrapped by one of the keyring's own versions is unwrapped here and encrypted by KMS.
        """
        self._kms_refresh()
        version = self._kms_active
        target = self._kms_versions[version]
        # Resolved once here, so the worker threads only make KMS calls.
        sources = {old: self._live_entry(old) for old in {v for _, _, v in items}}

        def one(item: tuple[bytes, str, int]) -> tuple[int, bytes]:
            wrapped, key_id, old = item
            entry = sources[old]
            what = f"data key {key_id} (key-encryption key v{old})"
            if entry is None:  # the keyring's own version: unwrap locally, encrypt in KMS
                plain = Keyring.unwrap(self, wrapped, key_id=key_id, version=old)
                return version, self._encrypt(plain, key_id, version, target)
            out = self._call(
                f"rewrap of {what}",
                lambda: self._client.re_encrypt(
                    CiphertextBlob=wrapped,
                    SourceKeyId=entry.kms_key_id,
                    SourceEncryptionContext=self._context(key_id, old),
                    DestinationKeyId=target.kms_key_id,
                    DestinationEncryptionContext=self._context(key_id, version),
                ),
            )
            if not _same_key(str(out.get("SourceKeyId", "")), entry.kms_key_id):
                raise IntegrityError(f"{what} was wrapped under another KMS key")
            return version, bytes(out["CiphertextBlob"])

        if len(items) <= 1:
            return [one(item) for item in items]
        with ThreadPoolExecutor(
            max_workers=min(REWRAP_THREADS, len(items)), thread_name_prefix="kms-rewrap"
        ) as pool:
            return list(pool.map(one, items))

    def unwrap(self, wrapped: bytes, *, key_id: str, version: int) -> bytes:
        """Unwrap a data key wrapped under ``version`` (KMS, or the keyring for its own)."""
        entry = self._live_entry(version)
        if entry is None:
            return super().unwrap(wrapped, key_id=key_id, version=version)
        what = f"data key {key_id} (key-encryption key v{version})"
        out = self._call(
            f"unwrap of {what}",
            lambda: self._client.decrypt(
                KeyId=entry.kms_key_id,
                CiphertextBlob=wrapped,
                EncryptionContext=self._context(key_id, version),
            ),
        )
        if not _same_key(str(out.get("KeyId", "")), entry.kms_key_id):
            raise IntegrityError(f"{what} was wrapped under another KMS key")
        plain = bytes(out["Plaintext"])
        if len(plain) != KEY_BYTES:
            raise IntegrityError(f"{what} does not unwrap to a {KEY_BYTES}-byte key")
        return plain

    def add_version(self, now: dt.datetime) -> int:
        """Create a new KMS key as the next version, make it active and save (before any
        rewrap, like the keyring)."""
        self._kms_refresh()
        known = [*self._kms_versions, *(v.version for v in super().versions())]
        version = max(known) + 1
        arn = self._create_key(version)
        self._kms_versions[version] = KmsVersion(version, None, now.isoformat(), kms_key_id=arn)
        self._kms_active = version
        self.save_kms()
        return version

    def retire(self, version: int, now: dt.datetime) -> None:
        """Schedule the version's KMS key for deletion (the caller checks nothing references
        it); the keyring's own versions are erased from the keyring file."""
        self._kms_refresh()
        if version == self._kms_active:
            raise KeyringError(f"key-encryption key v{version} is active and cannot be retired")
        entry = self._kms_versions.get(version)
        if entry is None:
            super().retire(version, now)
            return
        if entry.retired_at is not None:
            raise KeyringError(f"key-encryption key v{version} is already retired")
        out = self._call(
            f"retirement of key-encryption key v{version}",
            lambda: self._client.schedule_key_deletion(
                KeyId=_bare_key_id(entry.kms_key_id),
                PendingWindowInDays=self.pending_window_days,
            ),
        )
        entry.retired_at = now.isoformat()
        entry.deletion_date = (
            _iso(out.get("DeletionDate"))
            or (now + dt.timedelta(days=self.pending_window_days)).isoformat()
        )
        self.save_kms()

    def fully_gone_by(self, version: int) -> dt.datetime | None:
        """When the version's key material is gone for good: the deletion date KMS gave when
        the version was retired (saved in ``kms-keys.json``, so no KMS call is needed), the
        retirement time for the keyring's own versions, ``None`` while the version is live."""
        entry = self._entry(version)
        if entry is None:
            return super().fully_gone_by(version)
        if entry.retired_at is None or not entry.deletion_date:
            return None
        return dt.datetime.fromisoformat(entry.deletion_date).astimezone(dt.UTC)


def _bare_key_id(arn: str) -> str:
    """``arn:...:key/<id>`` → ``<id>``. KMS takes either; some compatible servers (moto) take
    only the bare id for ``ScheduleKeyDeletion``."""
    return arn.rsplit(":key/", 1)[-1]


def _same_key(returned: str, expected: str) -> bool:
    """KMS returns the key's ARN; a saved id may be the bare key id."""
    return returned == expected or returned.endswith(f"/{expected}") or not returned


def _read(path: Path) -> tuple[dict[int, KmsVersion], int]:
    text = files.read_private(path, "KMS key list", KeyringError)
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise KeyringError(f"KMS key list {path} is unreadable: {type(exc).__name__}") from None
    if not isinstance(doc, dict) or doc.get("format") != KMS_KEYS_FORMAT:
        raise KeyringError(f"{path} is not a {KMS_KEYS_FORMAT} file")
    raw = doc.get("versions")
    if not isinstance(raw, dict):
        raise KeyringError(f"KMS key list {path}: 'versions' is missing")
    versions: dict[int, KmsVersion] = {}
    for raw_version, entry in raw.items():
        if (
            not raw_version.isdigit()
            or not isinstance(entry, dict)
            or not isinstance(entry.get("kms_key_id"), str)
        ):
            raise KeyringError(f"KMS key list {path}: bad version entry {raw_version!r}")
        version = int(raw_version)
        versions[version] = KmsVersion(
            version=version,
            key=None,
            kms_key_id=entry["kms_key_id"],
            created_at=str(entry.get("created_at", "")),
            retired_at=entry.get("retired_at"),
            deletion_date=entry.get("deletion_date"),
        )
    active = doc.get("active")
    if not isinstance(active, int) or active not in versions or versions[active].retired_at:
        raise KeyringError(f"KMS key list {path}: active version {active!r} is not available")
    return versions, active


def kms_keys_path(settings: Settings) -> Path:
    """``kms-keys.json`` beside the keyring."""
    return settings.keyring_file.with_name(KMS_KEYS_FILE)


def key_provider(
    settings: Settings, keyring: Keyring, *, now: dt.datetime | None = None, client: Any = None
) -> Keyring:
    """The keyring itself unless ``settings.kms_key_id`` is set; else the keyring with its
    KEKs in KMS, starting ``kms-keys.json`` with that key as the next version on first use."""
    if settings.kms_key_id is None:
        return keyring
    path = kms_keys_path(settings)
    options: dict[str, Any] = {
        "endpoint_url": settings.kms_endpoint_url,
        "region": settings.aws_region,
        "client": client,
        "pending_window_days": settings.kms_deletion_window_days,
    }
    if path.exists():
        return KmsKeyProvider.open_kms(path, keyring, **options)
    return KmsKeyProvider.create_kms(
        path, keyring, settings.kms_key_id, now or dt.datetime.now(dt.UTC), **options
    )
