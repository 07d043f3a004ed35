"""A loaded, validated and compiled rule pack.

Layer: ``policies`` (standard library only; never ``retention`` or ``web``). Instances are built
only by ``policies.loader``: by then every key, fact, operator, period and citation has been
checked, and conditions are compiled into closures so that evaluation does no parsing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from policies.facts import Facts
from policies.language import Period
from policies.vocabulary import (
    Action,
    Authority,
    CalendarConvention,
    Confidence,
    HoldKind,
    Jurisdiction,
    Purpose,
    RouteKind,
    SourceType,
)

# A compiled condition: True, False, or None when a fact it needs is unknown.
Match = Callable[[Facts], bool | None]
Trigger = Callable[[Facts], date | None]
ParamValue = str | int | bool | date


@dataclass(frozen=True, slots=True)
class Parameter:
    """A named figure a pack's rules use, with where it came from (RULES.md src/conf)."""

    name: str
    value: ParamValue
    row: str
    src: SourceType
    conf: Confidence
    description: str
    verified: bool

    @property
    def unverified(self) -> bool:
        """Background-knowledge or low-confidence figures must not decide alone (§8.7)."""
        return not self.verified


@dataclass(frozen=True, slots=True)
class Respond:
    """A response deadline: trigger + period, optionally extended by a timely notice."""

    trigger: Trigger
    trigger_facts: tuple[str, ...]
    period: Period
    calendar: CalendarConvention
    extension: Period | None = None
    extension_notice: Callable[[Facts], date | None] | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled rule; see ``docs/policies.md`` for what each key means."""

    id: str
    citation_row: str
    citation_text: str
    authority: Authority
    explanation: str
    match: Match
    on_unknown_review: bool
    trigger: Trigger | None
    trigger_facts: tuple[str, ...]
    period: Period | None
    calendar: CalendarConvention | None
    action: Action | None
    mandatory: bool
    yields_to: frozenset[HoldKind]
    needs_review: bool
    purposes: frozenset[Purpose] | None
    deny_purposes: frozenset[Purpose]
    respond: Respond | None
    in_force_from: date | None
    in_force_to: date | None
    fallback: bool
    fact_names: tuple[str, ...]
    parameters: tuple[str, ...]
    # (name, getter) for every fact in fact_names, resolved at load so decisions stay cheap.
    fact_getters: tuple[tuple[str, Callable[[Facts], object]], ...] = ()

    @property
    def citation(self) -> str:
        """ "row: statute text", as shown in decisions."""
        return f"{self.citation_row}: {self.citation_text}"

    def in_force(self, day: date) -> bool:
        """Whether the law this rule encodes is in force on ``day``."""
        if self.in_force_from is not None and day < self.in_force_from:
            return False
        return self.in_force_to is None or day <= self.in_force_to


@dataclass(frozen=True, slots=True)
class ComplaintRoute:
    """A way forward for a person whose request was refused: who to complain or appeal to, how,
    and the law that gives the route. Written for the public, in plain words (``[[complaint]]``
    in a pack; shown on the refusal page)."""

    kind: RouteKind
    name: str
    how: str
    basis: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class Pack:
    """A validated rule pack: identity, scope, parameters and compiled rules."""

    id: str
    version: str
    title: str
    description: str
    jurisdictions: tuple[Jurisdiction, ...]
    effective_from: date
    effective_to: date | None
    default_purposes: frozenset[Purpose]
    restricted_purposes: frozenset[Purpose]
    parameters: Mapping[str, Parameter]
    rules: tuple[Rule, ...]
    source: str = field(default="", compare=False)
    # Complaint and appeal routes in the order a refusal shows them (GDPR Art 12(4), DPA 2018
    # s.48: a refusal names the right to complain and to go to court).
    complaint_routes: tuple[ComplaintRoute, ...] = ()

    def in_force(self, day: date) -> bool:
        """Whether the pack is effective on ``day``."""
        if day < self.effective_from:
            return False
        return self.effective_to is None or day <= self.effective_to

    def rule(self, rule_id: str) -> Rule:
        """The rule with ``rule_id`` (``KeyError`` if none)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


def parameter_value(pack: Pack, name: str) -> ParamValue:
    """The value of a pack parameter (for documentation and the CLI)."""
    return pack.parameters[name].value
