"""The keyring file: created private, refused when exposed, versions rotate and retire."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest

from retention.errors import KeyringError
from retention.keys.keyring import Keyring

NOW = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def test_a_new_keyring_is_mode_0600_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    ring = Keyring.create(path, NOW)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Keyring.load(path)
    assert again.active_version == 1
    version, wrapped = ring.wrap(b"k" * 32, key_id="abc")
    assert again.unwrap(wrapped, key_id="abc", version=version) == b"k" * 32
    assert again.index_key == ring.index_key
    assert again.signing_public_key_pem() == ring.signing_public_key_pem()


def test_create_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    Keyring.create(path, NOW)
    before = path.read_bytes()
    with pytest.raises(KeyringError, match="already exists"):
        Keyring.create(path, NOW)
    assert path.read_bytes() == before


def test_a_keyring_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    Keyring.create(path, NOW)
    os.chmod(path, 0o644)
    with pytest.raises(KeyringError, match="chmod 600"):
        Keyring.load(path)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("index_key"), "index_key"),
        (lambda d: d.update(format="other"), "not a mugshot-keyring/1"),
        (lambda d: d["kek"].update(active=9), "active KEK version 9"),
        (lambda d: d.update(signing_key="!!"), "signing_key is not valid base64"),
        (lambda d: d.update(session_key="AAAA"), "session_key must be 32 bytes"),
    ],
    ids=["missing-index-key", "wrong-format", "missing-active", "bad-base64", "short-key"],
)
def test_a_malformed_keyring_is_refused_with_the_entry_named(
    tmp_path: Path, mutate, message: str
) -> None:
    path = tmp_path / "keyring.json"
    Keyring.create(path, NOW)
    doc = json.loads(path.read_text())
    mutate(doc)
    path.write_text(json.dumps(doc))
    os.chmod(path, 0o600)
    with pytest.raises(KeyringError, match=message):
        Keyring.load(path)


def test_adding_and_retiring_versions_persists_and_erases_material(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    ring = Keyring.create(path, NOW)
    _, old_wrapped = ring.wrap(b"d" * 32, key_id="k")
    assert ring.add_version(NOW) == 2
    assert Keyring.load(path).active_version == 2
    with pytest.raises(KeyringError, match="active"):
        ring.retire(2, NOW)
    ring.retire(1, NOW)
    doc = json.loads(path.read_text())
    assert doc["kek"]["versions"]["1"]["key"] is None
    with pytest.raises(KeyringError, match="retired"):
        Keyring.load(path).unwrap(old_wrapped, key_id="k", version=1)


def test_another_process_rotation_is_picked_up_before_wrapping(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    ours = Keyring.create(path, NOW)
    theirs = Keyring.load(path)
    theirs.add_version(NOW)
    version, _ = ours.wrap(b"d" * 32, key_id="k")
    assert version == 2


def test_repr_never_shows_key_material(tmp_path: Path) -> None:
    ring = Keyring.create(tmp_path / "keyring.json", NOW)
    text = repr(ring) + repr(ring.versions())
    doc = json.loads((tmp_path / "keyring.json").read_text())
    assert doc["index_key"] not in text
    assert doc["kek"]["versions"]["1"]["key"] not in text
