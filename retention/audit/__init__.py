"""The append-only, hash-chained audit log and its signed checkpoints.

Layer: ``retention.audit`` — above ``db`` and ``keys`` (it signs checkpoints with the keyring's
Ed25519 key); imports nothing else in ``retention``. Everything that changes state or decrypts
appends to it; nothing here knows records, requests or HTTP.
"""
