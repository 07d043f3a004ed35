"""Alembic environment and reviewed revisions: the only way the schema changes.

Imports only ``retention.models`` (for the metadata) and Alembic.
"""
