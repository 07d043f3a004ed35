"""Key-encryption keys in an AWS-KMS-compatible service (``moto_server`` on loopback).

Wrapping is bound to the data key and version by the KMS encryption context; rotation and
retirement run through ``keyops`` unchanged with the provider in place of the keyring; a retired
version's scheduled KMS deletion date is its "fully gone by" date; a dead endpoint fails fast
with a message naming the endpoint and never the credentials.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
from sqlalchemy import select

from retention.audit import chain as audit
from retention.db.models import DataKey
from retention.errors import ConfigError, IntegrityError, KeyringError
from retention.ingest.importer import import_manifest
from retention.jobs import rotation
from retention.keys.keyring import Keyring
from retention.keys.kms import KmsKeyProvider, key_provider, kms_keys_path
from retention.services import Services
from retention.settings import Settings
from tests.conftest import (
    FIXED_NOW,
    free_port,
    restored_environ,
    start_moto_server,
    stop_process,
)
from tests.helpers import clock_at, jpeg_bytes, row, write_manifest
from tests.integration.engine_helpers import open_every_image

CREDS = {
    "AWS_ACCESS_KEY_ID": "AKIDUMMYKMSTEST",
    "AWS_SECRET_ACCESS_KEY": "dummy-kms-secret-value",
}


@pytest.fixture(scope="module")
def kms_url() -> Iterator[str]:
    """A ``moto_server`` of this module's own on a free loopback port, with dummy credentials
    in the environment for its lifetime (restored after)."""
    with restored_environ(CREDS):
        os.environ.update(CREDS)
        proc, url = start_moto_server()
        try:
            yield url
        finally:
            stop_process(proc)


@pytest.fixture
def kms(kms_url: str) -> Any:
    return boto3.client("kms", endpoint_url=kms_url, region_name="us-east-1")


@pytest.fixture
def kms_key(kms: Any) -> str:
    return str(kms.create_key(Description="mugshot test KEK")["KeyMetadata"]["Arn"])


def _kms_settings(settings: Settings, kms_url: str, key: str) -> Settings:
    return settings.with_overrides(kms_key_id=key, kms_endpoint_url=kms_url)


def _ring(tmp_path: Path) -> Keyring:
    return Keyring.create(tmp_path / "data" / "keyring.json", FIXED_NOW)


def test_without_a_kms_key_the_keyring_is_the_provider(tmp_path: Path) -> None:
    ring = _ring(tmp_path)
    assert key_provider(Settings(data_dir=tmp_path / "data"), ring) is ring


def test_wrap_unwrap_round_trip_bound_to_data_key_and_version(
    tmp_path: Path, kms: Any, kms_url: str, kms_key: str
) -> None:
    ring = _ring(tmp_path)
    kms.create_alias(AliasName="alias/mugshot-rt", TargetKeyId=kms_key)
    settings = _kms_settings(Settings(data_dir=tmp_path / "data"), kms_url, "alias/mugshot-rt")
    provider = key_provider(settings, ring, now=FIXED_NOW)
    assert isinstance(provider, KmsKeyProvider)

    # Version 1 is the keyring's own; the configured KMS key (alias pinned to its ARN) is v2.
    path = kms_keys_path(settings)
    assert path.name == "kms-keys.json"
    assert path.parent == ring.path.parent
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert provider.active_version == 2
    assert [v.version for v in provider.versions()] == [1, 2]
    assert provider.versions()[1].kms_key_id == kms_key  # type: ignore[attr-defined]

    data_key = os.urandom(32)
    version, wrapped = provider.wrap(data_key, key_id="dk-1")
    assert version == 2
    assert data_key not in wrapped
    assert provider.unwrap(wrapped, key_id="dk-1", version=2) == data_key

    # Another process (a fresh load) opens it too.
    again = key_provider(settings, Keyring.load(ring.path))
    assert again.unwrap(wrapped, key_id="dk-1", version=2) == data_key

    with pytest.raises(IntegrityError):
        provider.unwrap(wrapped, key_id="dk-2", version=2)  # another data key's id
    tampered = bytearray(wrapped)
    tampered[-1] ^= 1
    with pytest.raises(IntegrityError):
        provider.unwrap(bytes(tampered), key_id="dk-1", version=2)
    assert provider.add_version(FIXED_NOW) == 3
    with pytest.raises(IntegrityError):
        provider.unwrap(wrapped, key_id="dk-1", version=3)  # another version (and KMS key)
    with pytest.raises(IntegrityError):
        provider.unwrap(wrapped, key_id="dk-1", version=1)  # the keyring's own version

    # The keyring's own versions still open through the provider.
    local_version, local_wrapped = ring.wrap(data_key, key_id="dk-9")
    assert provider.unwrap(local_wrapped, key_id="dk-9", version=local_version) == data_key
    assert json.loads(ring.path.read_text())["kek"]["active"] == 1  # keyring.json untouched


def _import(tmp_path: Path, services: Services, prefix: str, count: int) -> None:
    (tmp_path / "img").mkdir(exist_ok=True)
    rows = []
    for n in range(count):
        name = f"{prefix}{n}.jpg"
        (tmp_path / "img" / name).write_bytes(jpeg_bytes(colour=(n * 30, 60, 90)))
        rows.append(row(booking_number=f"{prefix}-{n}", images=f"img/{name}"))
    import_manifest(
        write_manifest(tmp_path / f"{prefix}.csv", rows),
        services,
        actor="t",
        clock=clock_at(FIXED_NOW),
    )


def test_rotation_and_retirement_through_keyops_with_the_kms_provider(
    tmp_path: Path, services: Services, kms: Any, kms_url: str, kms_key: str
) -> None:
    # An installation on the local keyring alone (whatever backends this run selected).
    local = services.settings.with_overrides(
        keyring_path=tmp_path / "local" / "keyring.json", kms_key_id=None, kms_endpoint_url=None
    )
    services = dataclasses.replace(
        services, settings=local, keyring=Keyring.create(local.keyring_file, FIXED_NOW)
    )
    _import(tmp_path, services, "L", 4)  # wrapped by the local keyring (v1)
    settings = _kms_settings(local, kms_url, kms_key)
    provider = key_provider(settings, services.keyring, now=FIXED_NOW)
    svc = dataclasses.replace(services, settings=settings, keyring=provider)
    _import(tmp_path, svc, "K", 3)  # new data keys go to KMS (v2)
    with svc.readers() as s:
        assert sorted(v for (v,) in s.execute(select(DataKey.kek_version))) == [1] * 4 + [2] * 3

    report = rotation.rotate(svc, actor="t", clock=clock_at(FIXED_NOW))

    assert (report.new_version, report.rewrapped) == (3, 7)
    assert report.remaining == {1: 0, 2: 0}
    new_arn = cast(KmsKeyProvider, provider).versions()[2].kms_key_id  # type: ignore[attr-defined]
    assert new_arn != kms_key
    assert kms.describe_key(KeyId=new_arn)["KeyMetadata"]["KeyState"] == "Enabled"

    rotation.retire(svc, 2, actor="t", clock=clock_at(FIXED_NOW))
    # The keyring file's own version (v1) wraps nothing any more: it can be erased too.
    rotation.retire(svc, 1, actor="t", clock=clock_at(FIXED_NOW))
    meta = kms.describe_key(KeyId=kms_key)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion"
    gone_by = cast(KmsKeyProvider, provider).fully_gone_by(2)
    assert gone_by == meta["DeletionDate"]
    assert gone_by is not None
    assert gone_by - dt.datetime.now(dt.UTC) > dt.timedelta(days=29)
    assert cast(KmsKeyProvider, provider).fully_gone_by(3) is None
    assert cast(KmsKeyProvider, provider).fully_gone_by(1) == FIXED_NOW  # erased locally
    assert [(s.version, s.retired_at is not None) for s in rotation.status(svc)] == [
        (1, True),
        (2, True),
        (3, False),
    ]

    # Every image still opens, through a provider loaded afresh (another process).
    fresh = key_provider(settings, Keyring.load(settings.keyring_file))
    assert fresh.active_version == 3
    with svc.sessions() as s, s.begin():
        assert {v for (v,) in s.execute(select(DataKey.kek_version))} == {3}
        assert open_every_image(s, fresh, svc.store) == 14  # an original and a thumbnail each
        assert audit.verify(s).ok
    with pytest.raises(KeyringError, match="v2 was retired"):
        fresh.unwrap(b"x" * 64, key_id="dk", version=2)


def test_unreachable_kms_fails_fast_naming_the_endpoint(
    tmp_path: Path, kms_url: str, kms_key: str
) -> None:
    ring = _ring(tmp_path)
    settings = _kms_settings(Settings(data_dir=tmp_path / "data"), kms_url, kms_key)
    key_provider(settings, ring, now=FIXED_NOW)  # kms-keys.json made while the service is up
    dead = f"http://127.0.0.1:{free_port()}"
    for attempt in (
        lambda: key_provider(settings.with_overrides(kms_endpoint_url=dead), ring).wrap(
            os.urandom(32), key_id="dk"
        ),
        lambda: key_provider(
            _kms_settings(Settings(data_dir=tmp_path / "other"), dead, kms_key),
            Keyring.create(tmp_path / "other" / "keyring.json", FIXED_NOW),
        ),
    ):
        started = time.monotonic()
        with pytest.raises(KeyringError) as caught:
            attempt()
        assert time.monotonic() - started < 5
        message = str(caught.value)
        assert dead in message
        assert "unreachable" in message
        assert not any(secret in message for secret in CREDS.values())
    assert not (tmp_path / "other" / "kms-keys.json").exists()


def test_the_deletion_window_setting_sets_the_fully_gone_by_date(
    tmp_path: Path, kms: Any, kms_url: str, kms_key: str
) -> None:
    ring = _ring(tmp_path)
    env = {
        "MUGSHOT_DATA_DIR": str(tmp_path / "data"),
        "MUGSHOT_KMS_KEY_ID": kms_key,
        "MUGSHOT_KMS_ENDPOINT_URL": kms_url,
        "MUGSHOT_KMS_DELETION_WINDOW_DAYS": "7",
    }
    provider = cast(KmsKeyProvider, key_provider(Settings.from_env(env), ring, now=FIXED_NOW))
    first = provider.active_version
    provider.add_version(FIXED_NOW)
    provider.retire(first, FIXED_NOW)
    meta = kms.describe_key(KeyId=kms_key)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion"
    gone_by = provider.fully_gone_by(first)
    assert gone_by == meta["DeletionDate"]
    assert gone_by is not None
    assert dt.timedelta(days=6) < gone_by - dt.datetime.now(dt.UTC) <= dt.timedelta(days=7)
    # KMS allows 7 to 30 days: anything else is refused when the settings are read.
    for bad in ("6", "31", "x"):
        with pytest.raises(ConfigError, match="MUGSHOT_KMS_DELETION_WINDOW_DAYS"):
            Settings.from_env({**env, "MUGSHOT_KMS_DELETION_WINDOW_DAYS": bad})


def test_rewrap_moves_keys_inside_kms_and_keeps_the_binding(
    tmp_path: Path, kms_url: str, kms_key: str
) -> None:
    ring = _ring(tmp_path)
    local_key = os.urandom(32)
    local_version, local_wrapped = ring.wrap(local_key, key_id="dk-local")
    settings = _kms_settings(Settings(data_dir=tmp_path / "data"), kms_url, kms_key)
    provider = key_provider(settings, ring, now=FIXED_NOW)
    keys = {f"dk-{n}": os.urandom(32) for n in range(12)}
    wrapped = {k: provider.wrap(v, key_id=k) for k, v in keys.items()}
    new = provider.add_version(FIXED_NOW)

    items = [(w, k, v) for k, (v, w) in wrapped.items()] + [
        (local_wrapped, "dk-local", local_version)
    ]
    moved = provider.rewrap_many(items)

    assert [v for v, _ in moved] == [new] * len(items)
    for (_, key_id, _), (version, blob) in zip(items, moved, strict=True):
        expected = local_key if key_id == "dk-local" else keys[key_id]
        assert provider.unwrap(blob, key_id=key_id, version=version) == expected
        with pytest.raises(IntegrityError):
            provider.unwrap(blob, key_id="dk-other", version=version)
    # A wrapped key presented as another data key's is refused by KMS, not moved.
    (v0, w0) = wrapped["dk-0"]
    with pytest.raises(IntegrityError):
        provider.rewrap_many([(w0, "dk-1", v0), (wrapped["dk-2"][1], "dk-2", v0)])
