"""Retention core: settings, storage, crypto, ingest, audit chain and the CLI.

Layer: middle. May import ``policies``; never imports ``web`` or Flask.
"""
