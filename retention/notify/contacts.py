"""The requester's contact, when it is an e-mail address: recognised, sealed, opened.

Layer: ``retention.notify``. The contact is sealed under the request's own data key (field
``notify_contact``, bound to the request id) at filing; each outbox row holds a copy of that
ciphertext until its message is sent. Anything that is not plainly one e-mail address (a phone
number, a postal address, a name with an address) is not an address here: it stays in the sealed
claims for the clerk, and no e-mail is attempted.
"""

from __future__ import annotations

import re

from retention.keys import crypto

FIELD = "notify_contact"
MAX_ADDRESS = 254  # RFC 5321 path limit
# Deliberately narrow: ASCII, one "@", a dotted domain, and nothing that could end a header
# or name a second recipient (spaces, commas, semicolons, angle brackets, quotes, CR/LF).
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def email_address(contact: str) -> str | None:
    """The contact as an e-mail address, or None when it is not plainly one."""
    value = contact.strip()
    if len(value) > MAX_ADDRESS or not _ADDRESS.fullmatch(value):
        return None
    local, _, domain = value.partition("@")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return None
    if any(label.startswith("-") or label.endswith("-") for label in domain.split(".")):
        return None
    return value


def seal(data_key: bytes, contact: str, *, request_id: str) -> bytes | None:
    """The contact sealed for notifications, or None when it is not an e-mail address."""
    address = email_address(contact)
    if address is None:
        return None
    return crypto.seal_field(data_key, address.encode(), record_id=request_id, field=FIELD)


def open_sealed(data_key: bytes, sealed: bytes, *, request_id: str) -> str:
    """The e-mail address sealed by ``seal`` (raises ``crypto``'s error when tampered)."""
    return crypto.open_field(data_key, sealed, record_id=request_id, field=FIELD).decode()
