"""The rule language's vocabulary: keys, operators, fact names and types, periods, citations.

Layer: ``policies`` (standard library only; never ``retention`` or ``web``). The loader checks
every pack against these tables; ``docs/policies.md`` documents them for pack authors.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any, Final

from policies.calendars import MAX_AMOUNT
from policies.facts import Facts
from policies.vocabulary import (
    DataKind,
    Holder,
    HoldKind,
    Jurisdiction,
    LegalBasis,
    OffenceClass,
    Outcome,
    PeriodUnit,
    RequestKind,
    RestrictionGround,
)

PACK_KEYS: Final = frozenset(
    {
        "id",
        "version",
        "title",
        "description",
        "jurisdictions",
        "effective_from",
        "effective_to",
        "default_purposes",
        "restricted_purposes",
    }
)
TOP_KEYS: Final = frozenset({"pack", "parameters", "rule", "complaint", "holder_purposes"})
HOLDER_PURPOSE_KEYS: Final = frozenset({"holder", "legal_basis", "default", "restricted"})
COMPLAINT_KEYS: Final = frozenset({"kind", "name", "how", "basis", "url"})
PARAMETER_KEYS: Final = frozenset(
    {"value", "row", "src", "conf", "verified", "description", "in_force"}
)
RULE_KEYS: Final = frozenset(
    {
        "id",
        "citation",
        "authority",
        "explanation",
        "when",
        "on_unknown",
        "trigger",
        "period",
        "calendar",
        "action",
        "mandatory",
        "yields_to",
        "needs_review",
        "purposes",
        "deny_purposes",
        "respond",
        "in_force",
        "fallback",
        "prevails_over",
    }
)
CITATION_KEYS: Final = frozenset({"row", "text"})
RESPOND_KEYS: Final = frozenset(
    {"trigger", "period", "calendar", "extension", "extension_notice", "basis", "in_force"}
)
IN_FORCE_KEYS: Final = frozenset({"from", "to"})
# Rules may also say the text reaches events before its commencement (PC 13665 as amended in
# 2024 applies to photos already posted); the period then runs from the commencement.
RULE_IN_FORCE_KEYS: Final = frozenset({"from", "to", "retroactive"})
# Written for a commencement date RULES.md could not confirm (§10.5): the text is unverified.
UNKNOWN_DATE: Final = "unknown"
TRIGGER_KEYS: Final = frozenset({"latest", "earliest"})
ON_UNKNOWN: Final = frozenset({"review", "skip"})

# Operators a condition may use, by the kind of fact it tests.
OPERATORS: Final = frozenset({"eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "is_set"})
OPS_BY_KIND: Final[dict[str, frozenset[str]]] = {
    "date": frozenset({"eq", "lt", "le", "gt", "ge", "is_set"}),
    "int": frozenset({"eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "is_set"}),
    "enum": frozenset({"eq", "ne", "in", "not_in", "is_set"}),
    "str": frozenset({"eq", "ne", "in", "not_in", "is_set"}),
    "bool": frozenset({"eq", "is_set"}),
}

# Every RULES.md row id a citation may name, plus RULES.md §8 items for design-level rules
# (conflict order and the "unknown → review" fallback), which are not law but are written down.
RULES_ROWS: Final = frozenset(
    {
        "uk-ci-unconvicted-apply",
        "uk-ci-u18-unconvicted",
        "uk-ci-offence-specific",
        "uk-ci-convicted-definition",
        "uk-ci-u18-convicted",
        "uk-ci-auto-review",
        "uk-ci-mopi-link",
        "uk-mopi-min6",
        "uk-mopi-g1",
        "uk-mopi-g2",
        "uk-mopi-g3",
        "uk-rmc-2012",
        "uk-acro-form",
        "uk-dpa-s39",
        "uk-dpa-s47-erase",
        "uk-dpa-s47-restrict",
        "uk-dpa-s48-s54",
        "uk-ico-month",
        "us-il-bipa-scope",
        "us-il-bipa-15a",
        "us-il-bipa-15b",
        "us-il-bipa-15cde",
        "us-il-bipa-20",
        "us-tx-cubi-consent",
        "us-tx-cubi-destroy",
        "us-ca-pc13665-v2022",
        "us-ca-pc13665-v2024",
        "us-ca-civ1798.91.1",
        "us-ca-pc851.87",
        "us-ca-pc851.91",
        "us-ca-pc851.92",
        "us-ca-pc851.93",
        "us-ca-pc851.8",
        "us-ca-pc832.19",
        "us-ca-time",
        "eu-gdpr-4-14-9",
        "eu-gdpr-rec51",
        "eu-gdpr-7-3",
        "eu-gdpr-12-3",
        "eu-gdpr-12-4",
        "eu-gdpr-17",
        "eu-gdpr-18",
        "eu-gdpr-19",
        "eu-led-5",
        "eu-led-10",
        "eu-led-16",
        "eu-time",
        "us-sf-19b",
        "us-wa-43.386",
        "us-ma-c6-220",
        "rules-s8.1",
        "rules-s8.2",
        "rules-s8.3",
        "rules-s8.4",
        "rules-s8.5",
        "rules-s8.6",
        "rules-s8.7",
    }
)


@dataclass(frozen=True, slots=True)
class FactSpec:
    """How a fact name is read from ``Facts`` and what a condition may compare it with."""

    name: str
    kind: str  # "date" | "int" | "enum" | "str" | "bool"
    enum: type[StrEnum] | None
    get: Callable[[Facts], Any]
    # True where None means "the event has not happened" (a definite answer), False where it
    # means "unknown" (which routes to review, RULES.md §8.7).
    none_is_absent: bool


# Read for request.* facts when the record has no request at all: every comparison is false
# (there is nothing to compare), unlike an unknown value.
ABSENT: Final = object()


def _top(name: str) -> Callable[[Facts], Any]:
    def get(facts: Facts) -> Any:
        return getattr(facts, name)

    return get


def _req(name: str) -> Callable[[Facts], Any]:
    def get(facts: Facts) -> Any:
        request = facts.request
        return ABSENT if request is None else getattr(request, name)

    return get


def _spec(name: str, kind: str, enum: type[StrEnum] | None = None) -> FactSpec:
    getter = _req(name.split(".", 1)[1]) if name.startswith("request.") else _top(name)
    return FactSpec(name, kind, enum, getter, none_is_absent=(kind == "date"))


FACT_SPECS: Final[dict[str, FactSpec]] = {
    s.name: s
    for s in (
        _spec("id", "str"),
        _spec("jurisdiction", "enum", Jurisdiction),
        _spec("captured_on", "date"),
        _spec("holder", "enum", Holder),
        _spec("data_kind", "enum", DataKind),
        _spec("arrest_date", "date"),
        _spec("date_of_birth", "date"),
        _spec("age_at_capture", "int"),
        _spec("offence_class", "enum", OffenceClass),
        _spec("mopi_group", "int"),
        _spec("outcome", "enum", Outcome),
        _spec("outcome_on", "date"),
        _spec("retrial_possible", "bool"),
        _spec("caution_counts_as_conviction", "bool"),
        _spec("sealed_on", "date"),
        _spec("legal_basis", "enum", LegalBasis),
        _spec("consent_given_on", "date"),
        _spec("consent_withdrawn_on", "date"),
        _spec("consent_expires_on", "date"),
        _spec("purpose_satisfied_on", "date"),
        _spec("last_interaction_on", "date"),
        _spec("reviewed_on", "date"),
        _spec("posted_on", "date"),
        _spec("body_camera", "bool"),
        _spec("locality", "str"),
        _spec("legal_hold", "bool"),
        _spec("hold_kind", "enum", HoldKind),
        _spec("exceptional_reason", "bool"),
        _spec("request.kind", "enum", RequestKind),
        _spec("request.received_on", "date"),
        _spec("request.extension_notice_on", "date"),
        _spec("request.clarification_requested_on", "date"),
        _spec("request.clarification_received_on", "date"),
        _spec("request.grounds_shown", "bool"),
        _spec("request.restriction_ground", "enum", RestrictionGround),
    )
}
DATE_FACTS: Final = frozenset(n for n, s in FACT_SPECS.items() if s.kind == "date")
# Always present on every record, so a fallback rule triggered by it always yields a due date.
REQUIRED_DATE_FACTS: Final = frozenset({"captured_on"})

_PERIOD_RE = re.compile(r"^\s*(-?\d+)\s+([a-z]+)\s*$")


@dataclass(frozen=True, slots=True)
class Period:
    """A length of time written "N days|months|years"."""

    amount: int
    unit: PeriodUnit

    def __str__(self) -> str:
        return f"{self.amount} {self.unit.value}"


def parse_period(text: object) -> Period:
    """Parse "N unit"; raises ``ValueError`` with a message fit for a ``Problem``."""
    if not isinstance(text, str):
        raise ValueError('must be a string like "14 days", "1 month" or "3 years"')
    match = _PERIOD_RE.match(text)
    if match is None:
        raise ValueError(f'"{text}" is not "N days|months|years"')
    amount = int(match.group(1))
    word = match.group(2)
    unit_name = word if word.endswith("s") else word + "s"
    try:
        unit = PeriodUnit(unit_name)
    except ValueError:
        raise ValueError(f'unknown unit "{word}" (use days, months or years)') from None
    if amount <= 0:
        raise ValueError(f'"{text}": a period must be positive')
    if amount > MAX_AMOUNT[unit]:
        raise ValueError(f'"{text}" is absurdly long (more than 150 years)')
    return Period(amount, unit)


def is_date(value: object) -> bool:
    """True for a TOML date (not a datetime)."""
    return isinstance(value, date) and not hasattr(value, "hour")
