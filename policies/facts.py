"""Facts: everything the evaluator may know about one record, as a frozen value.

Layer: ``policies`` (standard library only; never ``retention`` or ``web``). The JSON form used
by ``mugshot policy evaluate`` has exactly the same field names; ``Facts.from_json`` rejects
unknown fields and wrong types with a ``FactsError`` that names the field.

Meaning of ``None``: for a *date of an event* (``sealed_on``, ``consent_withdrawn_on``…) it means
the event has not happened; for anything else (``outcome``, ``holder``, ``retrial_possible``…) it
means *unknown*, and a rule that needs it routes to human review (RULES.md §8.7). Every field is
documented in ``docs/policies.md``.
"""

from __future__ import annotations

from collections import deque as _deque
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass
from dataclasses import fields as dataclass_fields
from datetime import date
from enum import StrEnum
from itertools import repeat as _repeat
from typing import Any

from policies.errors import FactsError
from policies.vocabulary import (
    DataKind,
    Holder,
    HoldKind,
    Jurisdiction,
    LegalBasis,
    OffenceClass,
    Outcome,
    RequestKind,
    RestrictionGround,
)


def age_on(date_of_birth: date, day: date) -> int:
    """Completed years of age on ``day``.

    Someone born on 29 February attains each age on 1 March in a common year (their birthday
    has not yet come on 28 February); for the under-18-at-capture test this keeps the stronger
    protection one day longer.
    """
    years = day.year - date_of_birth.year
    if (day.month, day.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


@dataclass(frozen=True, slots=True)
class Request:
    """A data subject's request about this record (erasure, restriction or takedown)."""

    kind: RequestKind
    received_on: date
    # Notice extending the response period (DPA 2018 s.54(3A), GDPR Art 12(3)); it counts only
    # if given within the first period.
    extension_notice_on: date | None = None
    # DPA 2018 s.54(2): the clock runs from the latest of receipt and the clarifying information
    # asked for; while information is awaited the period does not run.
    clarification_requested_on: date | None = None
    clarification_received_on: date | None = None
    # PC 13665(b)(2) (2022-2023 text): for a violent offence the requester must show a ground
    # (record sealed, conviction dismissed, rehabilitation certificate, not guilty…).
    grounds_shown: bool | None = None
    # GDPR Art 18(1)(a)-(d) / DPA 2018 s.47(3) / LED Art 16(3)(a): why restriction instead of
    # erasure was asked for (None: not a restriction request, or the ground is not recorded).
    restriction_ground: RestrictionGround | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """What is known about one record (one booking / arrest event, or one derived item)."""

    id: str
    jurisdiction: Jurisdiction
    captured_on: date
    holder: Holder | None = None
    data_kind: DataKind | None = None
    arrest_date: date | None = None
    date_of_birth: date | None = None
    # Completed years at capture; computed from date_of_birth when that is known, else as given.
    age_at_capture: int | None = None
    offence_class: OffenceClass | None = None
    mopi_group: int | None = None
    outcome: Outcome | None = None
    outcome_on: date | None = None
    retrial_possible: bool | None = None
    # Whether a caution counts as a conviction for the 2017 Review: unverified, so a human
    # records it per case (RULES.md uk-ci-convicted-definition).
    caution_counts_as_conviction: bool | None = None
    sealed_on: date | None = None
    legal_basis: LegalBasis | None = None
    consent_given_on: date | None = None
    consent_withdrawn_on: date | None = None
    consent_expires_on: date | None = None
    purpose_satisfied_on: date | None = None
    last_interaction_on: date | None = None
    # Last human disposition review: any review falling due on or before it is satisfied.
    reviewed_on: date | None = None
    posted_on: date | None = None
    # Captured by or derived from an officer (body-worn) camera: PC 832.19 (2020-2022).
    body_camera: bool = False
    # Holding agency's locality slug, e.g. "san-francisco" for SF Admin. Code ch. 19B.
    locality: str | None = None
    legal_hold: bool = False
    hold_kind: HoldKind | None = None
    # A chief officer has recorded an exceptional reason to retain (2017 Review).
    exceptional_reason: bool = False
    request: Request | None = None

    def __post_init__(self) -> None:
        if self.date_of_birth is not None:
            if self.date_of_birth > self.captured_on:
                raise FactsError("date_of_birth", "is after captured_on")
            object.__setattr__(self, "age_at_capture", age_on(self.date_of_birth, self.captured_on))
        if self.mopi_group is not None and self.mopi_group not in (1, 2, 3):
            raise FactsError("mopi_group", "must be 1, 2 or 3")
        if self.age_at_capture is not None and not 0 <= self.age_at_capture <= 130:
            raise FactsError("age_at_capture", "must be between 0 and 130")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Facts:
        """Build facts from a decoded JSON object; raises ``FactsError`` naming the bad field."""
        if not isinstance(data, Mapping):
            raise FactsError("(document)", "must be a JSON object")
        kwargs: dict[str, Any] = {}
        for name, value in data.items():
            conv = _CONVERTERS.get(name)
            if conv is None:
                raise FactsError(name, "unknown field")
            if value is None:
                if name in _REQUIRED:
                    raise FactsError(name, "is required")
                if name in _NOT_NULL:
                    continue
                kwargs[name] = None
                continue
            # The common kinds inline (one call less per field); anything unusual, and every
            # error, goes through the field's converter, which words the error.
            if name in _DATE_FIELDS and isinstance(value, str):
                try:
                    kwargs[name] = _fromisoformat(value)
                    continue
                except ValueError:
                    pass
            else:
                table = _ENUM_TABLES.get(name)
                if table is not None and isinstance(value, str):
                    member = table.get(value)
                    if member is not None:
                        kwargs[name] = member
                        continue
            kwargs[name] = conv(name, value)
        for name in _REQUIRED:
            if name not in kwargs:
                raise FactsError(name, "is required")
        if cls is not Facts:
            return cls(**kwargs)
        # The dataclass ``__init__`` of a frozen class sets its 31 fields one Python call at a
        # time (most of the cost of reading a record); every name here is a known field, so the
        # defaults overlaid with ``kwargs`` are set in one C-level pass, then the same checks
        # run (``__post_init__``). The result is equal to ``Facts(**kwargs)``.
        fields = _DEFAULTS | kwargs
        facts = _new(cls)
        _deque(map(_set, _repeat(facts), fields.keys(), fields.values()), 0)
        facts.__post_init__()
        return facts

    def to_json(self) -> dict[str, Any]:
        """The JSON form (the inverse of ``from_json``); dates as ISO strings."""
        out: dict[str, Any] = {}
        for name in FACT_FIELDS:
            value = getattr(self, name)
            if name == "request" and value is not None:
                out[name] = {k: _plain(getattr(value, k)) for k in REQUEST_FIELDS}
            else:
                out[name] = _plain(value)
        return out


def _plain(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value


def _date(name: str, value: object) -> date:
    if not isinstance(value, str):
        raise FactsError(name, "must be an ISO date string YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FactsError(name, "must be an ISO date string YYYY-MM-DD") from None


def _bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise FactsError(name, "must be true or false")
    return value


def _int(name: str, value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise FactsError(name, "must be an integer")
    return value


def _str(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise FactsError(name, "must be a non-empty string")
    return value


def _enum(kind: type[StrEnum]) -> Callable[[str, object], StrEnum]:
    allowed = ", ".join(m.value for m in kind)
    table = {m.value: m for m in kind}

    def convert(name: str, value: object) -> StrEnum:
        member = table.get(value) if isinstance(value, str) else None
        if member is None:
            raise FactsError(name, f"must be one of: {allowed}")
        return member

    return convert


_REQUEST_CONVERTERS: dict[str, Callable[[str, object], Any]] = {
    "kind": _enum(RequestKind),
    "received_on": _date,
    "extension_notice_on": _date,
    "clarification_requested_on": _date,
    "clarification_received_on": _date,
    "grounds_shown": _bool,
    "restriction_ground": _enum(RestrictionGround),
}
REQUEST_FIELDS: tuple[str, ...] = tuple(_REQUEST_CONVERTERS)


def _request(name: str, value: object) -> Request:
    if not isinstance(value, Mapping):
        raise FactsError(name, "must be an object")
    kwargs: dict[str, Any] = {}
    for key, item in value.items():
        conv = _REQUEST_CONVERTERS.get(key)
        if conv is None:
            raise FactsError(f"{name}.{key}", "unknown field")
        if item is not None:
            kwargs[key] = conv(f"{name}.{key}", item)
    for key in ("kind", "received_on"):
        if key not in kwargs:
            raise FactsError(f"{name}.{key}", "is required")
    return Request(**kwargs)


_CONVERTERS: dict[str, Callable[[str, object], Any]] = {
    "id": _str,
    "jurisdiction": _enum(Jurisdiction),
    "captured_on": _date,
    "holder": _enum(Holder),
    "data_kind": _enum(DataKind),
    "arrest_date": _date,
    "date_of_birth": _date,
    "age_at_capture": _int,
    "offence_class": _enum(OffenceClass),
    "mopi_group": _int,
    "outcome": _enum(Outcome),
    "outcome_on": _date,
    "retrial_possible": _bool,
    "caution_counts_as_conviction": _bool,
    "sealed_on": _date,
    "legal_basis": _enum(LegalBasis),
    "consent_given_on": _date,
    "consent_withdrawn_on": _date,
    "consent_expires_on": _date,
    "purpose_satisfied_on": _date,
    "last_interaction_on": _date,
    "reviewed_on": _date,
    "posted_on": _date,
    "body_camera": _bool,
    "locality": _str,
    "legal_hold": _bool,
    "hold_kind": _enum(HoldKind),
    "exceptional_reason": _bool,
    "request": _request,
}
FACT_FIELDS: tuple[str, ...] = tuple(_CONVERTERS)
_REQUIRED = frozenset({"id", "jurisdiction", "captured_on"})
# Every field's default, in field order (the required ones are always overwritten).
_DEFAULTS: dict[str, Any] = {
    f.name: (None if f.default is MISSING else f.default) for f in dataclass_fields(Facts)
}
_DATE_FIELDS = frozenset(name for name, conv in _CONVERTERS.items() if conv is _date)
_ENUM_TABLES: dict[str, dict[str, StrEnum]] = {
    name: {m.value: m for m in kind}
    for name, kind in (
        ("jurisdiction", Jurisdiction),
        ("holder", Holder),
        ("data_kind", DataKind),
        ("offence_class", OffenceClass),
        ("outcome", Outcome),
        ("legal_basis", LegalBasis),
        ("hold_kind", HoldKind),
    )
}
_fromisoformat = date.fromisoformat
_new = object.__new__
_set = object.__setattr__
# Flags whose absence means "no": null is accepted and read as the default (False).
_NOT_NULL = frozenset({"body_camera", "legal_hold", "exceptional_reason"})
