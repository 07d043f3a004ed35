"""Alembic environment and reviewed revisions: the only way the schema changes.

Imports only ``retention.db.models`` (for the metadata) and Alembic.
"""
