"""Envelope encryption: sealed blobs and fields open only under their own key and ids."""

from __future__ import annotations

import pytest

from retention.errors import IntegrityError
from retention.keys import crypto

KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def test_a_sealed_blob_opens_to_exactly_what_was_sealed() -> None:
    sealed = crypto.seal_blob(KEY, b"picture", record_id="r1", image_id="i1")
    assert b"picture" not in sealed
    assert crypto.open_blob(KEY, sealed, record_id="r1", image_id="i1") == b"picture"


def test_sealing_twice_gives_different_ciphertexts() -> None:
    a = crypto.seal_blob(KEY, b"picture", record_id="r1", image_id="i1")
    b = crypto.seal_blob(KEY, b"picture", record_id="r1", image_id="i1")
    assert a != b


@pytest.mark.parametrize(
    ("record_id", "image_id"),
    [("r2", "i1"), ("r1", "i2"), ("r", "1i1")],
    ids=["other-record", "other-image", "shifted-boundary"],
)
def test_a_blob_moved_to_other_ids_fails_authentication(record_id: str, image_id: str) -> None:
    sealed = crypto.seal_blob(KEY, b"picture", record_id="r1", image_id="i1")
    with pytest.raises(IntegrityError, match="failed authentication"):
        crypto.open_blob(KEY, sealed, record_id=record_id, image_id=image_id)


def test_a_flipped_byte_anywhere_is_detected() -> None:
    sealed = crypto.seal_blob(KEY, b"picture" * 10, record_id="r1", image_id="i1")
    for position in range(len(sealed)):
        tampered = bytearray(sealed)
        tampered[position] ^= 0x01
        with pytest.raises(IntegrityError):
            crypto.open_blob(KEY, bytes(tampered), record_id="r1", image_id="i1")


@pytest.mark.parametrize("length", [0, 5, 20, 33], ids=lambda n: f"first-{n}-bytes")
def test_a_truncated_blob_is_detected(length: int) -> None:
    sealed = crypto.seal_blob(KEY, b"picture" * 10, record_id="r1", image_id="i1")
    with pytest.raises(IntegrityError):
        crypto.open_blob(KEY, sealed[:length], record_id="r1", image_id="i1")


def test_the_wrong_key_is_detected() -> None:
    sealed = crypto.seal_blob(KEY, b"picture", record_id="r1", image_id="i1")
    with pytest.raises(IntegrityError):
        crypto.open_blob(OTHER_KEY, sealed, record_id="r1", image_id="i1")


def test_a_field_cannot_be_opened_as_a_blob_or_under_another_field_name() -> None:
    sealed = crypto.seal_field(KEY, b"secret", record_id="r1", field="identity")
    with pytest.raises(IntegrityError, match="not a sealed object"):
        crypto.open_blob(KEY, sealed, record_id="r1", image_id="identity")
    with pytest.raises(IntegrityError):
        crypto.open_field(KEY, sealed, record_id="r1", field="other")
    assert crypto.open_field(KEY, sealed, record_id="r1", field="identity") == b"secret"


def test_a_wrapped_key_opens_only_under_its_kek_version() -> None:
    dk = crypto.new_data_key()
    wrapped = crypto.wrap_data_key(KEY, dk, key_id="k1", kek_version=1)
    assert crypto.unwrap_data_key(KEY, wrapped, key_id="k1", kek_version=1) == dk
    with pytest.raises(IntegrityError, match="key-encryption key v2"):
        crypto.unwrap_data_key(KEY, wrapped, key_id="k1", kek_version=2)
    with pytest.raises(IntegrityError):
        crypto.unwrap_data_key(KEY, wrapped, key_id="k2", kek_version=1)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Zoë  O'Brien", "zoe o brien"),
        ("JOSÉ GARCÍA", "jose garcia"),
        ("  anna-maria\tlee ", "anna maria lee"),
    ],
)
def test_names_normalise_for_exact_lookup(a: str, b: str) -> None:
    assert crypto.normalise_name(a) == crypto.normalise_name(b)
    assert crypto.blind_index(KEY, "name", crypto.normalise_name(a)) == crypto.blind_index(
        KEY, "name", crypto.normalise_name(b)
    )


def test_blind_indexes_differ_by_key_and_kind_and_reveal_nothing() -> None:
    value = crypto.normalise_name("Alex Rivera")
    a = crypto.blind_index(KEY, "name", value)
    assert a != crypto.blind_index(OTHER_KEY, "name", value)
    assert a != crypto.blind_index(KEY, "state_id", value)
    assert "alex" not in a


def test_identifiers_ignore_case_and_separators() -> None:
    assert crypto.normalise_identifier("mps-2020/0001") == crypto.normalise_identifier(
        "MPS 2020 0001"
    )
