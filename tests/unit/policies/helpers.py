"""Helpers for the policy tests: build facts tersely and evaluate a bundled pack."""

from __future__ import annotations

from datetime import date
from typing import Any

from policies import Decision, Facts, bundled_pack, evaluate


def facts(**fields: Any) -> Facts:
    """Facts from JSON-style keyword arguments (dates as ISO strings)."""
    doc: dict[str, Any] = {"id": "r1", "captured_on": "2020-01-01"}
    doc.update(fields)
    return Facts.from_json(doc)


def decide(pack_id: str, on: str, **fields: Any) -> Decision:
    """Evaluate bundled pack ``pack_id`` on ``on`` for facts built from ``fields``."""
    return evaluate(bundled_pack(pack_id), facts(**fields), date.fromisoformat(on))
