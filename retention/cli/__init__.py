"""The ``mugshot`` command: one module per command group, sharing ``retention.cli.context``.

Layer: ``retention.cli`` — the top of ``retention``; may import any package below it, and
nothing in ``retention`` imports it. ``web.cli`` adds ``serve`` on top. Reads settings and the
clock once per command and maps ``RetentionError`` to a message and a non-zero exit.
"""
