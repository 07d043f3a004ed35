"""Staff credentials as bytes: salted scrypt password hashes and sealed TOTP secrets.

Layer: ``retention.accounts`` (pure; imports ``retention.keys`` and the ``User`` model only). The
rules about accounts — policy, lockout, sign-in, audit entries — are ``retention.accounts.users``;
this module only hashes, checks and seals, in constant time where it compares.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os

import pyotp
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from retention.db.models import User
from retention.keys import crypto
from retention.keys.keyring import Keyring

# Longest password accepted (users.check_password_policy says so to people).
MAX_PASSWORD_LENGTH = 1024
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SCRYPT_SALT_BYTES = 16
SCRYPT_KEY_BYTES = 32
_SCRYPT_MAX_N = 2**20
_SCRYPT_MAXMEM = 64 * 1024 * 1024
TOTP_INFO = b"mugshot totp"
TOTP_FIELD = "users.totp"
TOTP_INTERVAL = 30
TOTP_ISSUER = "Mugshot retention"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _encode(password: str) -> bytes:
    # Bounded so that a huge form field costs no more than a long password.
    return password.encode()[: MAX_PASSWORD_LENGTH * 4]


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(
        _encode(password), salt=salt, n=n, r=r, p=p, maxmem=_SCRYPT_MAXMEM, dklen=dklen
    )


def hash_password(password: str) -> str:
    """A salted scrypt hash with its parameters: ``scrypt$n$r$p$salt$hash``."""
    salt = os.urandom(SCRYPT_SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_KEY_BYTES)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """True if ``password`` matches ``encoded``; False for a mismatch or a malformed hash."""
    try:
        scheme, n, r, p, salt_b64, digest_b64 = encoded.split("$")
        if scheme != "scrypt":
            return False
        n_, r_, p_ = int(n), int(r), int(p)
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(digest_b64, validate=True)
    except ValueError:
        return False
    if not (1 < n_ <= _SCRYPT_MAX_N and 0 < r_ <= 32 and 0 < p_ <= 16 and expected):
        return False
    digest = _scrypt(password, salt, n_, r_, p_, len(expected))
    return hmac.compare_digest(digest, expected)


def dummy_verify(password: str) -> None:
    """Spend the same scrypt work as a real check, so unknown users take as long."""
    _scrypt(password, b"\0" * SCRYPT_SALT_BYTES, SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_KEY_BYTES)


def totp_key(keyring: Keyring) -> bytes:
    """The AES-256 key that seals TOTP secrets, derived from the session key."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=TOTP_INFO).derive(
        keyring.session_key
    )


def seal_secret(keyring: Keyring, user_id: str, secret: str) -> bytes:
    key = totp_key(keyring)
    return crypto.seal_field(key, secret.encode(), record_id=user_id, field=TOTP_FIELD)


def open_secret(keyring: Keyring, user: User) -> str | None:
    if user.totp_sealed is None:
        return None
    raw = crypto.open_field(
        totp_key(keyring), user.totp_sealed, record_id=user.id, field=TOTP_FIELD
    )
    return raw.decode()


def provisioning_uri(secret: str, username: str, *, issuer: str = TOTP_ISSUER) -> str:
    """The ``otpauth://`` URI an authenticator app reads (usually from a QR code)."""
    return str(
        pyotp.TOTP(secret, interval=TOTP_INTERVAL).provisioning_uri(
            name=username, issuer_name=issuer
        )
    )


def totp_step(secret: str, code: str, now: dt.datetime, *, after: int | None) -> int | None:
    """The time step ``code`` belongs to (now, one before or one after), if newer than ``after``."""
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_INTERVAL)
    current = int(now.timestamp()) // TOTP_INTERVAL
    for step in (current - 1, current, current + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(str(totp.generate_otp(step)), code):
            return step
    return None
