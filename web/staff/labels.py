"""Plain words for the record page: the facts a decision used, and the record's history.

Layer: ``web.staff`` (a helper of the record page; imports nothing of ``retention``). The rule
engine names facts as the pack language does (``request.kind``, ``retrial_possible``); a clerk
reads "Request" and "Retrial still possible". Facts the decision did not need, and dates of
events that have not happened, stay out of the main table (they are behind "every fact checked").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The pack language's fact names, in plain words (policies/language.py FACT_SPECS).
FACT_LABELS: dict[str, str] = {
    "id": "Record id",
    "jurisdiction": "Jurisdiction",
    "captured_on": "Photo taken",
    "holder": "Held by",
    "data_kind": "Kind of data",
    "arrest_date": "Arrested",
    "date_of_birth": "Date of birth",
    "age_at_capture": "Age when photographed",
    "offence_class": "Offence class",
    "mopi_group": "MoPI group",
    "outcome": "Outcome of the case",
    "outcome_on": "Outcome date",
    "retrial_possible": "Retrial still possible",
    "caution_counts_as_conviction": "Caution counts as a conviction",
    "sealed_on": "Record sealed",
    "legal_basis": "Legal basis",
    "consent_given_on": "Consent given",
    "consent_withdrawn_on": "Consent withdrawn",
    "consent_expires_on": "Consent expires",
    "purpose_satisfied_on": "Purpose satisfied",
    "last_interaction_on": "Last interaction",
    "reviewed_on": "Last reviewed",
    "posted_on": "Published online",
    "body_camera": "Body-camera capture",
    "locality": "Locality",
    "legal_hold": "Under a legal hold",
    "hold_kind": "Kind of hold",
    "exceptional_reason": "Exceptional reason recorded",
    "request.kind": "Request",
    "request.received_on": "Request received",
    "request.extension_notice_on": "Extension notice given",
    "request.clarification_requested_on": "More information asked for",
    "request.clarification_received_on": "More information received",
    "request.grounds_shown": "Grounds shown by the requester",
}

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HASH = re.compile(r"^[0-9a-f]{32,}$")


def fact_label(name: str) -> str:
    """A fact's plain name (a name the table does not know reads as words, not as a path)."""
    if name in FACT_LABELS:
        return FACT_LABELS[name]
    words = name.replace("request.", "request ").replace(".", " ").replace("_", " ")
    return words[:1].upper() + words[1:]


def fact_value(value: Any) -> str:
    """A fact's value in words: Yes/No, dates as written, codes with spaces."""
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    if value is None:
        return "not known"
    if isinstance(value, list | tuple):
        return ", ".join(fact_value(v) for v in value) or "none"
    text = str(value)
    return text if _DATE.match(text) else text.replace("_", " ")


@dataclass(frozen=True)
class DecisionFacts:
    """The facts of a decision trace, sorted for reading."""

    # (label, value): what the decision rests on.
    known: list[tuple[str, str]]
    # Labels of facts that were needed but are not recorded (a rule that needs one goes to
    # review instead of acting).
    unknown: list[str]
    # (label, value) of every fact checked, the full list behind a toggle.
    every: list[tuple[str, str]]


def decision_facts(facts_used: Mapping[str, Any] | None) -> DecisionFacts:
    """Split a trace's ``facts_used`` into known facts, unknown ones and the full list.

    A date that is ``None`` is an event that has not happened (no consent withdrawn, no
    request): it matters only in the full list. Any other ``None`` is unknown."""
    known: list[tuple[str, str]] = []
    unknown: list[str] = []
    every: list[tuple[str, str]] = []
    for name, value in (facts_used or {}).items():
        label = fact_label(name)
        every.append((label, fact_value(value) if value is not None else "—"))
        if value is None:
            if not _is_date_fact(name):
                unknown.append(label)
            continue
        known.append((label, fact_value(value)))
    return DecisionFacts(known, unknown, every)


def _is_date_fact(name: str) -> bool:
    return name.endswith(("_on", "_date"))


# -- history ---------------------------------------------------------------------------------

_EVENT_WORDS = {
    "captured": "Photo taken",
    "imported": "Imported",
    "derived": "Copy made",
    "disclosed": "Disclosed",
    "viewed": "Viewed",
    "corrected": "Corrected",
}


@dataclass(frozen=True)
class HistoryLine:
    """One history event as a sentence, with its technical details (ids, hashes) apart."""

    title: str
    summary: str
    details: list[tuple[str, str]]


def history_line(kind: str, details: Mapping[str, Any] | None) -> HistoryLine:
    """A provenance event as a line a clerk reads; hashes and ids go to ``details``."""
    d = dict(details or {})
    title = _EVENT_WORDS.get(kind, kind.replace("_", " ").capitalize())
    parts: list[str] = []
    if kind == "imported":
        if d.get("source_system"):
            parts.append(f"from {d['source_system']}")
        if d.get("via"):
            parts.append(f"by {str(d['via']).replace('_', ' ')}")
    elif kind == "derived" and d.get("method"):
        parts.append(str(d["method"]))
    elif kind in ("viewed", "disclosed"):
        if d.get("what"):
            parts.append(f"the {d['what']}")
        if d.get("to"):
            parts.append(f"to {d['to']}")
        if d.get("purpose"):
            parts.append(f"for {str(d['purpose']).replace('_', ' ')}")
        if d.get("reason"):
            parts.append(f"— “{d['reason']}”")
    elif kind == "corrected" and d.get("field"):
        parts.append(
            f"{str(d['field']).replace('_', ' ')}: {fact_value(d.get('from'))} → "
            f"{fact_value(d.get('to'))}"
        )
    rest = [
        (str(k).replace("_", " "), fact_value(v) if not _HASH.match(str(v)) else str(v))
        for k, v in d.items()
        if v is not None
    ]
    return HistoryLine(title, " ".join(parts), rest)
