"""``mugshot policy ...`` commands (filled in by the rule-packs issue).

Layer: ``retention`` (CLI edge).
"""

from __future__ import annotations

import click


@click.group()
def policy() -> None:
    """Rule packs: list, check and evaluate."""
