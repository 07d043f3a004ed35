"""Decision: what must happen to one record, by when, and why.

Layer: ``policies`` (standard library only; never ``retention`` or ``web``).

Semantics of ``action`` and ``due_on`` (the engine relies on these):

* ``action`` is what must happen **on** ``due_on``; until then the record is kept as it is and
  may serve ``purposes``. A purge with ``due_on`` in the future reads "retain until
  ``retain_until``, then purge". A ``due_on`` on or before the evaluation day means the action is
  due now (in the past: overdue). The sweep therefore selects records by ``due_on <= today``.
* ``retain``: nothing to do but re-evaluate on ``due_on``. ``review``: a human decides by
  ``due_on``. ``restrict``: lock the record (storage only, plus ``purposes``) from ``due_on``.
  ``purge``: destroy on ``due_on``.
* ``next_action``/``next_due_on``: the action after this one, when the same facts already
  schedule one (e.g. PC 851.8: seal now, destroy three years after arrest). An engine that has
  already restricted a record indexes ``next_due_on`` instead of the restrict's ``due_on``.
  Once a restriction is due, a review already due (an unknown fact, an overdue periodic review)
  stays the next step with its own date, which may be in the past.
* ``purposes`` are those permitted on the evaluation day: empty once a purge is due, only the
  restricted uses once a restriction is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from policies.vocabulary import Action, DeadlineBasis, ExtensionStatus, Purpose

FactValue = str | int | bool | date | None


@dataclass(frozen=True, slots=True)
class Decision:
    """The evaluator's answer for one record on one day; explainable on its own."""

    action: Action
    due_on: date
    rule: str
    pack: str
    pack_version: str
    citation: str
    explanation: str
    purposes: frozenset[Purpose] = frozenset()
    retain_until: date | None = None
    respond_by: date | None = None
    # Whether ``respond_by`` is a statute's deadline or the agency's service target ("we aim to
    # answer by"), whether it can be or was extended, and the rule that set it.
    respond_basis: DeadlineBasis | None = None
    extension: ExtensionStatus | None = None
    respond_rule: str | None = None
    # From this day a destruction duty that a hold or counsel's review holds back is overdue,
    # and the record serves evidence and legal claims only (``purposes`` narrows on the day; a
    # stored decision is narrowed by whoever reads it later: ``narrowed_purposes``).
    purposes_narrow_from: date | None = None
    narrowed: frozenset[Purpose] = frozenset()
    next_action: Action | None = None
    next_due_on: date | None = None
    facts_used: tuple[tuple[str, FactValue], ...] = ()
    record_id: str = ""

    def is_due(self, today: date) -> bool:
        """True when the action must be taken on ``today`` (due or overdue)."""
        return self.due_on <= today

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: dates as ISO strings, purposes sorted, facts as an object."""
        return {
            "id": self.record_id,
            "action": self.action.value,
            "due_on": self.due_on.isoformat(),
            "retain_until": _iso(self.retain_until),
            "respond_by": _iso(self.respond_by),
            "respond_basis": self.respond_basis.value if self.respond_basis else None,
            "extension": self.extension.value if self.extension else None,
            "respond_rule": self.respond_rule,
            "purposes_narrow_from": _iso(self.purposes_narrow_from),
            "narrowed_purposes": sorted(p.value for p in self.narrowed),
            "next_action": self.next_action.value if self.next_action is not None else None,
            "next_due_on": _iso(self.next_due_on),
            "purposes": sorted(p.value for p in self.purposes),
            "rule": self.rule,
            "pack": self.pack,
            "pack_version": self.pack_version,
            "citation": self.citation,
            "explanation": self.explanation,
            "facts_used": {name: _value(v) for name, v in self.facts_used},
        }

    def to_plain(self) -> dict[str, Any]:
        """``to_json`` with dates and vocabulary members left as objects, for a serializer that
        writes them in the same form itself (ISO dates, enum values: ``orjson``); the CLI streams
        these, saving the conversions on the hot path. Same keys, same order, same JSON."""
        respond_basis = self.respond_basis
        extension = self.extension
        return {
            "id": self.record_id,
            "action": self.action,
            "due_on": self.due_on,
            "retain_until": self.retain_until,
            "respond_by": self.respond_by,
            "respond_basis": respond_basis if respond_basis else None,
            "extension": extension if extension else None,
            "respond_rule": self.respond_rule,
            "purposes_narrow_from": self.purposes_narrow_from,
            "narrowed_purposes": sorted(self.narrowed),
            "next_action": self.next_action,
            "next_due_on": self.next_due_on,
            "purposes": sorted(self.purposes),
            "rule": self.rule,
            "pack": self.pack,
            "pack_version": self.pack_version,
            "citation": self.citation,
            "explanation": self.explanation,
            "facts_used": dict(self.facts_used),
        }


def narrowed_purposes(trace: dict[str, Any], today: date) -> list[str]:
    """The purposes a stored decision (``Decision.to_json()``) permits on ``today``: once its
    ``purposes_narrow_from`` day has come, only the narrowed set (evidence, legal claims); once
    its purge is due, none (a sweep that failed to act must not leave the record usable)."""
    purposes = list(trace.get("purposes") or [])
    due = trace.get("due_on")
    if trace.get("action") == Action.PURGE.value and due and date.fromisoformat(due) <= today:
        return []
    start = trace.get("purposes_narrow_from")
    if start and date.fromisoformat(start) <= today:
        return list(trace.get("narrowed_purposes") or [])
    return purposes


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _value(value: FactValue) -> str | int | bool | None:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value
