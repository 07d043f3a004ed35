"""Envelope encryption primitives: data keys, sealed blobs, sealed fields, blind indexes.

Layer: ``retention.keys`` (pure functions over bytes; no I/O).

Each record has its own random AES-256 data key, wrapped by a key-encryption key (KEK) version
from the keyring. Everything of the record is sealed with AES-256-GCM under that data key, with
associated data binding the ciphertext to the record id and the image id (or field name): a
blob copied onto another record, a flipped byte or a truncated blob fails authentication and is
reported as an ``IntegrityError`` — never opened as the wrong picture.

Sealed format (blobs and fields alike)::

    magic (4) | format version (1) | algorithm (1) | nonce (12) | ciphertext || GCM tag (16)

The 6-byte header is part of the associated data, so a header edited to claim another format
fails too. Fernet is deliberately not used: it has no associated data, and its key rotation
rewrites every ciphertext, where wrapping only rewraps 32-byte data keys.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import unicodedata
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from retention.errors import IntegrityError

DATA_KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
FORMAT_VERSION = 1
ALG_AES256_GCM = 1
BLOB_MAGIC = b"MGSB"
FIELD_MAGIC = b"MGSF"
WRAP_MAGIC = b"MGSK"
HEADER_BYTES = 6
OVERHEAD = HEADER_BYTES + NONCE_BYTES + TAG_BYTES


def new_data_key() -> bytes:
    """A fresh random 256-bit data key."""
    return os.urandom(DATA_KEY_BYTES)


def _header(magic: bytes) -> bytes:
    return magic + bytes((FORMAT_VERSION, ALG_AES256_GCM))


def _seal(magic: bytes, key: bytes, plaintext: bytes, binding: bytes) -> bytes:
    header = _header(magic)
    nonce = os.urandom(NONCE_BYTES)
    return header + nonce + AESGCM(key).encrypt(nonce, plaintext, header + binding)


def _open(magic: bytes, key: bytes, sealed: bytes, binding: bytes, what: str) -> bytes:
    if len(sealed) < OVERHEAD:
        raise IntegrityError(f"{what} is truncated ({len(sealed)} bytes)")
    header = sealed[:HEADER_BYTES]
    if header[:4] != magic:
        raise IntegrityError(f"{what} is not a sealed object of the expected kind")
    if header[4] != FORMAT_VERSION or header[5] != ALG_AES256_GCM:
        raise IntegrityError(
            f"{what} has unsupported format version {header[4]} / algorithm {header[5]}"
        )
    nonce = sealed[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, sealed[HEADER_BYTES + NONCE_BYTES :], header + binding)
    except InvalidTag:
        raise IntegrityError(
            f"{what} failed authentication: tampered, truncated, or sealed for another "
            "record or key"
        ) from None


def _binding(*parts: str) -> bytes:
    # Length-prefixed so that ("ab", "c") and ("a", "bc") never bind alike.
    out = bytearray()
    for part in parts:
        raw = part.encode()
        out += len(raw).to_bytes(2, "big") + raw
    return bytes(out)


@dataclass(frozen=True)
class _Part:
    """A kind of sealed part of a record: its magic, the word its associated data starts with,
    and how errors name one (``image IMG of record REC``)."""

    magic: bytes
    binding: str
    noun: str


_BLOB = _Part(BLOB_MAGIC, "blob", "image")
_FIELD = _Part(FIELD_MAGIC, "field", "field")


def _seal_part(part: _Part, data_key: bytes, plaintext: bytes, record_id: str, name: str) -> bytes:
    return _seal(part.magic, data_key, plaintext, _binding(part.binding, record_id, name))


def _open_part(part: _Part, data_key: bytes, sealed: bytes, record_id: str, name: str) -> bytes:
    return _open(
        part.magic,
        data_key,
        sealed,
        _binding(part.binding, record_id, name),
        f"{part.noun} {name} of record {record_id}",
    )


def seal_blob(data_key: bytes, plaintext: bytes, *, record_id: str, image_id: str) -> bytes:
    """Seal image bytes for one image of one record."""
    return _seal_part(_BLOB, data_key, plaintext, record_id, image_id)


def open_blob(data_key: bytes, sealed: bytes, *, record_id: str, image_id: str) -> bytes:
    """Open a sealed image; ``IntegrityError`` unless it was sealed for exactly these ids."""
    return _open_part(_BLOB, data_key, sealed, record_id, image_id)


def seal_field(data_key: bytes, plaintext: bytes, *, record_id: str, field: str) -> bytes:
    """Seal an encrypted database field of a record."""
    return _seal_part(_FIELD, data_key, plaintext, record_id, field)


def open_field(data_key: bytes, sealed: bytes, *, record_id: str, field: str) -> bytes:
    """Open a sealed field; ``IntegrityError`` if it was edited or moved."""
    return _open_part(_FIELD, data_key, sealed, record_id, field)


def wrap_data_key(kek: bytes, data_key: bytes, *, key_id: str, kek_version: int) -> bytes:
    """Wrap a data key under a KEK version; the version is bound into the ciphertext."""
    return _seal(WRAP_MAGIC, kek, data_key, _binding("dk", key_id, f"v{kek_version}"))


def unwrap_data_key(kek: bytes, wrapped: bytes, *, key_id: str, kek_version: int) -> bytes:
    """Unwrap a data key; fails if it was wrapped under another KEK or version."""
    return _open(
        WRAP_MAGIC,
        kek,
        wrapped,
        _binding("dk", key_id, f"v{kek_version}"),
        f"data key {key_id} (key-encryption key v{kek_version})",
    )


def blind_index(index_key: bytes, kind: str, normalised: str) -> str:
    """HMAC-SHA256 of a normalised value: equal inputs match, the value is not recoverable."""
    msg = _binding("bidx", kind, normalised)
    return hmac.new(index_key, msg, hashlib.sha256).hexdigest()


def keyed_hash(index_key: bytes, kind: str, data: bytes) -> str:
    """HMAC-SHA256 of raw bytes (image content): dedupe without a dictionary attack."""
    mac = hmac.new(index_key, _binding("content", kind), hashlib.sha256)
    mac.update(data)
    return mac.hexdigest()


_SPACES = re.compile(r"\s+")
_NOT_NAME = re.compile(r"[^\w\s]")


def normalise_name(name: str) -> str:
    """Case-, accent-, punctuation- and spacing-insensitive form of a person's name."""
    decomposed = unicodedata.normalize("NFKD", name)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    cleaned = _NOT_NAME.sub(" ", stripped.casefold())
    return _SPACES.sub(" ", cleaned).strip()


def normalise_identifier(value: str) -> str:
    """Booking numbers and state ids: case- and separator-insensitive."""
    return re.sub(r"[\s\-_/.]", "", value).upper()
