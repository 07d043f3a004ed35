"""Typed settings, read once from the environment at the outermost edge.

Layer: ``retention``. This is the only module that reads ``os.environ``; everything else gets a
``Settings`` passed in. Tests build ``Settings(...)`` directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from retention.errors import ConfigError

DEFAULT_DATA_DIR = "./mugshot-data"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number that may be zero (a threshold)."""
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must be zero or more, got {value}")
    return value


MIN_METRICS_TOKEN = 32


def _token(env: Mapping[str, str], name: str) -> str | None:
    """A bearer secret: unset means the feature is off; a short one is refused."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    if len(raw) < MIN_METRICS_TOKEN:
        raise ConfigError(
            f"{name} must be at least {MIN_METRICS_TOKEN} characters "
            "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
        )
    return raw


REVIEW_OUTCOMES = ("keep", "keep_exceptional", "restrict", "purge")


def _review_outcomes(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    parts = [p.strip() for p in env.get(name, "").split(",") if p.strip()]
    unknown = [p for p in parts if p not in REVIEW_OUTCOMES]
    if unknown:
        f"{name}: {', '.join(map(repr, unknown))} not a review outcome "
        f"(one of {', '.join(REVIEW_OUTCOMES)})"
    return tuple(dict.fromkeys(parts))


def _share(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a fraction such as 0.05, got {raw!r}") from None
    if not 0 < value <= 1:
        raise ConfigError(f"{name} must be between 0 and 1, got {value}")
    return value


def _days(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if not 7 <= value <= 30:
        raise ConfigError(f"{name} must be 7 to 30 days (what KMS allows), got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything the core needs to run; immutable once built.

    ``database_url``, ``blob_store`` and ``keyring_path`` default to locations inside
    ``data_dir`` (the embedded deployment: one folder holds the SQLite database, the sealed
    blobs and the keyring).
    """

    data_dir: Path = field(default_factory=lambda: Path(DEFAULT_DATA_DIR))
    database_url: str = ""
    blob_store: str = ""
    keyring_path: Path | None = None
    max_image_bytes: int = 20 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    thumbnail_size: int = 256
    import_batch_size: int = 200
    # Threads reading, decoding, validating and thumbnailing images during an import (Pillow
    # releases the GIL while it decodes and resizes); default: the number of cores.
    import_workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    rotate_batch_size: int = 500
    actor: str = "cli"
    sweep_batch_size: int = 200
    # Safety belt, on every purge path (sweep, request, review): an act that would purge more
    # than this share of the live records (and more than ``sweep_max_purge_count``) stops
    # before acting until a supervisor confirms (``retention.engine.authority``).
    sweep_max_purge_share: float = 0.05
    sweep_max_purge_count: int = 50
    # A removal request matching more records than this needs a supervisor to confirm them.
    request_match_limit: int = 5
    # Review outcomes that always need a supervisor's sign-off (a second stage on top of the
    # rules' own two-person cases): any of keep, keep_exceptional, restrict, purge.
    review_sign_off: tuple[str, ...] = ()
    sweep_interval_minutes: int = 60
    scheduler_lease_seconds: int = 60
    # Scale-out backends (issue 6): S3-compatible object storage for blobs when
    # ``blob_store`` is ``s3://bucket/prefix``, and an AWS-KMS-compatible key provider for the
    # key-encryption keys when ``kms_key_id`` is set. Credentials come from the usual AWS
    # variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), read by boto3 itself.
    s3_endpoint_url: str | None = None
    kms_key_id: str | None = None
    kms_endpoint_url: str | None = None
    # Days between ``mugshot keys retire`` and KMS deleting that version's key (KMS allows 7
    # to 30); the deletion date is the version's "fully gone by" date for backups.
    kms_deletion_window_days: int = 30
    aws_region: str = "us-east-1"
    # Health (``mugshot status``, the dashboard): more disposition reviews, or more removal
    # requests, overdue than this is a warning (and ``mugshot status`` exits 1).
    status_max_overdue_reviews: int = 0
    status_max_overdue_requests: int = 0
    # The bearer token a Prometheus server presents to scrape ``/metrics``; unset, the endpoint
    # answers 404. A secret: never shown in ``repr``.
    metrics_token: str | None = field(default=None, repr=False)
    # E-mail notifications to requesters (issue 13): ``smtp://host:port`` (plain),
    # ``smtp+starttls://host:port`` (STARTTLS required) or ``smtps://host:port`` (TLS), with an
    # optional ``user:password@`` or ``smtp_user``/``smtp_password``. None: no e-mail is sent
    # (the public form says so). ``retention.notify.smtp`` parses and checks it.
    smtp_url: str | None = field(default=None, repr=False)
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_from: str = "noreply@localhost"
    smtp_timeout_seconds: int = 30
    smtp_ca_file: Path | None = None
    # Where a requester checks their request (the public status page), named in every e-mail.
    public_url: str | None = None
    notify_interval_seconds: int = 60

    def __post_init__(self) -> None:
        data_dir = Path(self.data_dir)
        object.__setattr__(self, "data_dir", data_dir)
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite:///{(data_dir / 'mugshot.db').as_posix()}"
            )
        if not self.blob_store:
            object.__setattr__(self, "blob_store", str(data_dir / "blobs"))
        if self.keyring_path is None:
            object.__setattr__(self, "keyring_path", data_dir / "keyring.json")

    @property
    def keyring_file(self) -> Path:
        """The keyring path, never ``None`` after construction."""
        assert self.keyring_path is not None  # set in __post_init__
        return Path(self.keyring_path)

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded SQLite database."""
        return self.database_url.startswith("sqlite")

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields changed (used by the CLI's global options)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, data_dir: str | None = None
    ) -> Settings:
        """Build settings from ``MUGSHOT_*`` environment variables (see the README).

        ``data_dir`` (the CLI's ``--data-dir``) wins over ``MUGSHOT_DATA_DIR``; locations not
        set explicitly then default to inside it.
        """
        env = os.environ if environ is None else environ
        keyring = env.get("MUGSHOT_KEYRING")
        return cls(
            data_dir=Path(data_dir or env.get("MUGSHOT_DATA_DIR") or DEFAULT_DATA_DIR),
            database_url=env.get("MUGSHOT_DATABASE_URL", ""),
            blob_store=env.get("MUGSHOT_BLOB_STORE", ""),
            keyring_path=Path(keyring) if keyring else None,
            max_image_bytes=_int(env, "MUGSHOT_MAX_IMAGE_BYTES", 20 * 1024 * 1024),
            max_image_pixels=_int(env, "MUGSHOT_MAX_IMAGE_PIXELS", 40_000_000),
            thumbnail_size=_int(env, "MUGSHOT_THUMBNAIL_SIZE", 256),
            import_batch_size=_int(env, "MUGSHOT_IMPORT_BATCH_SIZE", 200),
            import_workers=_int(env, "MUGSHOT_IMPORT_WORKERS", os.cpu_count() or 1),
            rotate_batch_size=_int(env, "MUGSHOT_ROTATE_BATCH_SIZE", 500),
            sweep_batch_size=_int(env, "MUGSHOT_SWEEP_BATCH_SIZE", 200),
            sweep_max_purge_share=_share(env, "MUGSHOT_SWEEP_MAX_PURGE_SHARE", 0.05),
            sweep_max_purge_count=_int(env, "MUGSHOT_SWEEP_MAX_PURGE_COUNT", 50),
            request_match_limit=_int(env, "MUGSHOT_REQUEST_MATCH_LIMIT", 5),
            review_sign_off=_review_outcomes(env, "MUGSHOT_REVIEW_SIGN_OFF"),
            sweep_interval_minutes=_int(env, "MUGSHOT_SWEEP_INTERVAL_MINUTES", 60),
            scheduler_lease_seconds=_int(env, "MUGSHOT_SCHEDULER_LEASE_SECONDS", 60),
            s3_endpoint_url=env.get("MUGSHOT_S3_ENDPOINT_URL") or None,
            kms_key_id=env.get("MUGSHOT_KMS_KEY_ID") or None,
            kms_endpoint_url=env.get("MUGSHOT_KMS_ENDPOINT_URL") or None,
            kms_deletion_window_days=_days(env, "MUGSHOT_KMS_DELETION_WINDOW_DAYS", 30),
            aws_region=env.get("MUGSHOT_AWS_REGION") or "us-east-1",
            status_max_overdue_reviews=_count(env, "MUGSHOT_STATUS_MAX_OVERDUE_REVIEWS", 0),
            status_max_overdue_requests=_count(env, "MUGSHOT_STATUS_MAX_OVERDUE_REQUESTS", 0),
            metrics_token=_token(env, "MUGSHOT_METRICS_TOKEN"),
            smtp_url=env.get("MUGSHOT_SMTP_URL") or None,
            smtp_user=env.get("MUGSHOT_SMTP_USER") or None,
            smtp_password=env.get("MUGSHOT_SMTP_PASSWORD") or None,
            smtp_from=env.get("MUGSHOT_SMTP_FROM") or "noreply@localhost",
            smtp_timeout_seconds=_int(env, "MUGSHOT_SMTP_TIMEOUT_SECONDS", 30),
            smtp_ca_file=Path(ca) if (ca := env.get("MUGSHOT_SMTP_CA_FILE")) else None,
            public_url=env.get("MUGSHOT_PUBLIC_URL") or None,
            notify_interval_seconds=_int(env, "MUGSHOT_NOTIFY_INTERVAL_SECONDS", 60),
            actor=env.get("MUGSHOT_ACTOR")
            or f"cli:{env.get('USER') or env.get('LOGNAME') or 'unknown'}",
        )
