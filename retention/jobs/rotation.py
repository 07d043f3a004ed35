"""Key-encryption-key rotation and retirement (``mugshot keys ...``).

Layer: ``retention.jobs``. Rotation audits its intent to add a KEK version, adds the version
(saved to the keyring *before* any data key is rewrapped, so a crash can never leave a data key
wrapped under a key that was not saved), audits that it was added, then rewraps data keys in
batches, one audit entry per batch. No blob is touched: blobs are
sealed under data keys, which do not change. A version can be retired — its key material erased
— once no data key references it; from then on, database backups taken while it was live can
no longer open any record purged since (the "fully gone by" date).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from retention.audit import chain as audit
from retention.db.models import DataKey, RemovalRequest
from retention.errors import KeyringError
from retention.services import Services

Clock = Callable[[], dt.datetime]


@dataclass(frozen=True)
class VersionStatus:
    """One KEK version and how many data keys it still wraps."""

    version: int
    active: bool
    retired_at: str | None
    created_at: str
    data_keys: int
    gone_by: dt.datetime | None = None

    @property
    def retirable(self) -> bool:
        """Live, not active, and referenced by no data key."""
        return not self.active and self.retired_at is None and self.data_keys == 0


def status(services: Services) -> list[VersionStatus]:
    """Every KEK version with its data-key count."""
    with services.readers() as session:
        counts = Counter(
            dict(
                session.execute(
                    select(DataKey.kek_version, func.count()).group_by(DataKey.kek_version)
                ).all()
            )
        )
        for version, count in session.execute(
            select(RemovalRequest.kek_version, func.count())
            .where(RemovalRequest.kek_version.is_not(None))
            .group_by(RemovalRequest.kek_version)
        ):
            if version is not None:
                counts[version] += count
    ring = services.keyring
    return [
        VersionStatus(
            version=v.version,
            active=v.version == ring.active_version,
            retired_at=v.retired_at,
            created_at=v.created_at,
            data_keys=int(counts.get(v.version, 0)),
            gone_by=ring.fully_gone_by(v.version) if v.retired_at else None,
        )
        for v in ring.versions()
    ]


@dataclass(frozen=True)
class RotationReport:
    """What a rotation did."""

    new_version: int
    rewrapped: int
    batches: int
    remaining: dict[int, int]


def rotate(
    services: Services,
    *,
    actor: str,
    clock: Clock,
    progress: Callable[[int], None] | None = None,
) -> RotationReport:
    """Add a KEK version and rewrap every data key under it, in batches."""
    ring = services.keyring
    # Crash-safe order: the audit entry naming the new version commits *before* the version is
    # saved. A crash between the two leaves an audited intent and no key (harmless: the next
    # rotation's intent names the same version again); a crash after the save leaves a key
    # that the log already names. The other order — save, then audit — leaves an active KEK
    # version, wrapping every new record's data key, that the audit log never mentions; finding
    # and auditing it later would leave it unaudited until someone looked, and would depend on
    # every path looking. The version is the one ``add_version`` takes: one past the highest.
    intended = max(v.version for v in ring.versions()) + 1
    audit.record(
        services.sessions,
        now=clock(),
        actor=actor,
        action="keys.version_adding",
        object_type="kek",
        object_id=f"v{intended}",
        details={"active": f"v{ring.active_version}"},
    )
    new_version = ring.add_version(clock())
    audit.record(
        services.sessions,
        now=clock(),
        actor=actor,
        action="keys.version_added",
        object_type="kek",
        object_id=f"v{new_version}",
        # Only another process rotating at the same moment could make these differ.
        details={} if new_version == intended else {"intended": f"v{intended}"},
    )
    rewrapped = batches = 0
    batch_size = services.settings.rotate_batch_size
    while True:
        with services.sessions() as session, session.begin():
            rows = list(
                session.execute(
                    select(DataKey)
                    .where(DataKey.kek_version != new_version)
                    .order_by(DataKey.id)
                    .limit(batch_size)
                    .with_for_update(skip_locked=True)
                ).scalars()
            )
            if not rows:
                break
            now = clock()
            from_versions: dict[str, int] = {}
            moved = ring.rewrap_many([(row.wrapped, row.id, row.kek_version) for row in rows])
            for row, (version, wrapped) in zip(rows, moved, strict=True):
                from_versions[f"v{row.kek_version}"] = (
                    from_versions.get(f"v{row.kek_version}", 0) + 1
                )
                row.kek_version = version
                row.wrapped = wrapped
                row.rewrapped_at = now
            audit.append(
                session,
                now=now,
                actor=actor,
                action="keys.rewrapped",
                object_type="kek",
                object_id=f"v{new_version}",
                details={"count": len(rows), "from": from_versions},
            )
        rewrapped += len(rows)
        batches += 1
        if progress is not None:
            progress(len(rows))
    rewrapped += _rewrap_requests(services, new_version, actor=actor, clock=clock)
    remaining = {s.version: s.data_keys for s in status(services) if s.version != new_version}
    return RotationReport(new_version, rewrapped, batches, remaining)


def _rewrap_requests(services: Services, new_version: int, *, actor: str, clock: Clock) -> int:
    """Removal requests seal their claims under their own data keys: rewrap those too."""
    ring = services.keyring
    done = 0
    while True:
        with services.sessions() as session, session.begin():
            rows = list(
                session.execute(
                    select(RemovalRequest)
                    .where(
                        RemovalRequest.kek_version.is_not(None),
                        RemovalRequest.kek_version != new_version,
                    )
                    .order_by(RemovalRequest.id)
                    .limit(services.settings.rotate_batch_size)
                    .with_for_update(skip_locked=True)
                ).scalars()
            )
            if not rows:
                return done
            items: list[tuple[bytes, str, int]] = []
            for row in rows:
                assert row.wrapped_key is not None
                assert row.key_id is not None
                assert row.kek_version is not None
                items.append((row.wrapped_key, row.key_id, row.kek_version))
            for row, (version, wrapped) in zip(rows, ring.rewrap_many(items), strict=True):
                row.kek_version, row.wrapped_key = version, wrapped
            audit.append(
                session,
                now=clock(),
                actor=actor,
                action="keys.rewrapped",
                object_type="kek",
                object_id=f"v{new_version}",
                details={"count": len(rows), "of": "requests"},
            )
            done += len(rows)


def retire(services: Services, version: int, *, actor: str, clock: Clock) -> None:
    """Erase a KEK version's material; refused while any data key still uses it."""
    with services.sessions() as session, session.begin():
        in_use = (
            session.execute(
                select(func.count()).select_from(DataKey).where(DataKey.kek_version == version)
            ).scalar_one()
            + session.execute(
                select(func.count())
                .select_from(RemovalRequest)
                .where(RemovalRequest.kek_version == version)
            ).scalar_one()
        )
        if in_use:
            raise KeyringError(
                f"key-encryption key v{version} still wraps {in_use} data key(s); "
                "run `mugshot keys rotate` first"
            )
        services.keyring.retire(version, clock())
        audit.append(
            session,
            now=clock(),
            actor=actor,
            action="keys.version_retired",
            object_type="kek",
            object_id=f"v{version}",
        )
