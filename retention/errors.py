"""Errors raised by the retention core.

Layer: ``retention``. Every error carries ids, rule names and field names — never keys, image
bytes or personal data — so its message is safe to log, print or show to a clerk.
"""

from __future__ import annotations


class RetentionError(Exception):
    """Base class of every error the retention core raises on purpose."""


class ConfigError(RetentionError):
    """A setting is missing or malformed."""


class KeyringError(RetentionError):
    """The keyring file is missing, malformed, too permissive or lacks a needed key version."""


class IntegrityError(RetentionError):
    """A sealed blob or encrypted field failed authentication: tampered, truncated, swapped
    between records, or sealed under another key. Never returns the wrong plaintext."""


class KeyShreddedError(IntegrityError):
    """The record's data key was destroyed (the record was purged): its data cannot be opened."""


class BlobNotFoundError(RetentionError):
    """The blob store holds no object under the given key."""


class ImageRejectedError(RetentionError):
    """An image failed validation (type, size, pixel count, truncation, decompression bomb)."""


class ManifestError(RetentionError):
    """A manifest row is malformed: names the column and the problem."""


class ImportConflictError(RetentionError):
    """A booking is already stored with different data, or was purged: a re-import never
    overwrites and never resurrects a destroyed record."""


class NotFoundError(RetentionError):
    """No record matches the given booking number or id."""


class AuditChainError(RetentionError):
    """The audit chain does not verify: names the first bad entry."""


class HoldError(RetentionError):
    """A legal-hold rule was broken: purge of a held record, or one person both placing and
    approving (or requesting and confirming the release of) a hold."""


class FactError(RetentionError):
    """A fact change is impossible (a date in the future, before the arrest, a purged record)."""


class RestrictedError(RetentionError):
    """The record is restricted ("locked") and the stated purpose is not one its rule allows."""


class SafetyBeltError(RetentionError):
    """A purge (by sweep, request, review or any other path) would destroy more than the
    configured count and share of the live records; a supervisor must confirm before it acts."""


class AuthorityError(RetentionError):
    """The action needs someone else: a supervisor, or a second person who has not already
    acted on the same request, record or run (DESIGN.md invariant 9)."""
