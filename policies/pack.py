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
    DeadlineBasis,
    Holder,
    HoldKind,
    Jurisdiction,
    LegalBasis,
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
    # The window of the text that gives the figure (a later amendment has a later ``from``);
    # ``commencement_known`` is False where RULES.md could not confirm when it began (§10.5).
    in_force_from: date | None = None
    in_force_to: date | None = None
    commencement_known: bool = True

    @property
    def unverified(self) -> bool:
        """Background-knowledge or low-confidence figures must not decide alone (§8.7)."""
        return not self.verified

    def in_force_on(self, day: date) -> bool | None:
        """Whether the text giving this figure was in force on ``day``; None when its
        commencement is unknown and ``day`` is not after a known repeal."""
        if self.in_force_to is not None and day > self.in_force_to:
            return False
        if not self.commencement_known:
            return None
        return self.in_force_from is None or day >= self.in_force_from


@dataclass(frozen=True, slots=True)
class Respond:
    """A response deadline: trigger + period, optionally extended by a timely notice."""

    trigger: Trigger
    trigger_facts: tuple[str, ...]
    period: Period
    calendar: CalendarConvention
    extension: Period | None = None
    extension_notice: Callable[[Facts], date | None] | None = None
    # A statute's deadline, or the agency's service target where no statute sets one.
    basis: DeadlineBasis = DeadlineBasis.STATUTORY
    # The text of this response duty, compared with the date its period starts (receipt).
    in_force_from: date | None = None
    in_force_to: date | None = None
    # The parameter giving the extension: its own window decides whether the extension exists
    # for a request whose period started on a given day (DPA 2018 s.54(3A) came later).
    extension_param: Parameter | None = None


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
    # The text reaches events before its commencement; its period then runs from commencement.
    retroactive: bool = False
    # False where RULES.md could not confirm when the text began: its duties go to review.
    commencement_known: bool = True
    # Rules of this pack whose actions give way while this rule applies (a subject's
    # restriction request beats erasure rules the subject did not ask for, GDPR Art 18(1)(b)-(c)).
    prevails_over: frozenset[str] = frozenset()

    @property
    def citation(self) -> str:
        """ "row: statute text", as shown in decisions."""
        return f"{self.citation_row}: {self.citation_text}"

    @property
    def dated(self) -> bool:
        """Whether the rule names a window of its own (``in_force``)."""
        return (
            self.in_force_from is not None
            or self.in_force_to is not None
            or not self.commencement_known
        )

    def in_force(self, day: date) -> bool:
        """Whether the law this rule encodes is in force on ``day`` (an unknown commencement
        counts as in force: a purpose gate then denies, which needs no proof, §8.7)."""
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
class HolderPurposes:
    """The purposes a record may serve, by who holds it and on what legal basis: a private
    holder's biometric data never serve law-enforcement purposes (BIPA 15(d), CUBI (c)(2))."""

    holder: Holder
    legal_basis: frozenset[LegalBasis]  # empty: any basis
    default: frozenset[Purpose]
    restricted: frozenset[Purpose]

    def fits(self, holder: Holder | None, basis: LegalBasis | None) -> bool:
        """Whether this entry governs a record of ``holder`` held on ``basis``."""
        if holder is not self.holder:
            return False
        return not self.legal_basis or basis in self.legal_basis


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
    # Purposes by holder and legal basis, first match wins; a record whose holder is unknown
    # gets only what every entry allows (§8.7); with no entries, the pack-wide sets apply.
    holder_purposes: tuple[HolderPurposes, ...] = ()

    def purposes_for(
        self, holder: Holder | None, basis: LegalBasis | None
    ) -> tuple[frozenset[Purpose], frozenset[Purpose]]:
        """(default, restricted) purposes for a record of ``holder`` held on ``basis``."""
        if not self.holder_purposes:
            return self.default_purposes, self.restricted_purposes
        for entry in self.holder_purposes:
            if entry.fits(holder, basis):
                return entry.default, entry.restricted
        if holder is None:
            default = frozenset(self.default_purposes)
            restricted = frozenset(self.restricted_purposes)
            for entry in self.holder_purposes:
                default &= entry.default
                restricted &= entry.restricted
            return default, restricted
        return self.default_purposes, self.restricted_purposes

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
