"""Blind indexes: exact lookup of identifiers without storing them.

Layer: ``retention.keys``. Imports only ``retention.keys.crypto`` and the keyring. An index is
an HMAC, under the keyring's index key, of the normalised value (case, spacing and separators
folded), so "AB-123" and "ab 123" find the same record while the database holds no booking
number, name or state id that a stolen copy could read.
"""

from __future__ import annotations

import datetime as dt

from retention.keys import crypto
from retention.keys.keyring import Keyring


def booking_index(keyring: Keyring, booking_number: str) -> str:
    """Blind index of a booking number (exact, case- and separator-insensitive)."""
    return crypto.blind_index(
        keyring.index_key, "booking", crypto.normalise_identifier(booking_number)
    )


def name_dob_index(keyring: Keyring, name: str, date_of_birth: dt.date) -> str:
    """Blind index of name + date of birth (how a removal request finds its records)."""
    value = f"{crypto.normalise_name(name)}|{date_of_birth.isoformat()}"
    return crypto.blind_index(keyring.index_key, "name+dob", value)


def state_id_index(keyring: Keyring, state_id: str) -> str:
    """Blind index of a state or national identifier."""
    return crypto.blind_index(keyring.index_key, "state_id", crypto.normalise_identifier(state_id))
