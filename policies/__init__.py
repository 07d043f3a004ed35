"""Retention rule language, pure evaluator and bundled rule packs.

Layer: innermost. Imports only the standard library (plus the small pure date helpers
``holidays`` and ``python-dateutil``); never ``retention`` or ``web``.
"""
