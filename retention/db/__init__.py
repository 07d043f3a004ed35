"""The database: engine and session factories, the typed ORM models, schema upgrades, and the
registry of every kind of row that names a blob (``blobrefs``, what the janitor may collect),
and one row by id, locked for the unit of work (``rows``).

Layer: ``retention.db`` — bottom; imports only ``settings``, ``errors`` and SQLAlchemy/Alembic.
Helpers elsewhere take a session and never open or commit one; ``migrations/`` imports only the
models from here.
"""
