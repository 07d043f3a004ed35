"""Notifications to requesters: a short e-mail when their removal request changes.

Layer: ``retention.notify``, beside ``retention.engine`` and under ``retention.requests`` (whose
state changes call its hook); imports only ``audit``, ``keys``, ``db``, ``settings`` and
``errors`` — never Flask, never the requests package. The outbox job that sends is
``retention.jobs.notify``.
"""
