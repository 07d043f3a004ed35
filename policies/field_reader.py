"""The compiler's base: one pack's problem list and the readers of single typed fields.

Layer: ``policies`` (standard library only; never ``retention`` or ``web``). Every reader records
a ``Problem(file, rule, field, message)`` and returns ``None`` (or an empty value) instead of
raising, so that validation goes on and a pack's problems are reported all at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from policies.errors import Problem
from policies.language import (
    DATE_FACTS,
    FACT_SPECS,
    RULES_ROWS,
    TRIGGER_KEYS,
    FactSpec,
    Period,
    is_date,
    parse_period,
)
from policies.pack import Parameter, Trigger
from policies.predicates import combine, date_getter

E = TypeVar("E", bound=StrEnum)


class FieldReader:
    """Collects the problems of one pack file and reads its fields one typed value at a time.

    The compiler is built in layers, each validating one part of a pack and calling only the
    layers beneath it: ``FieldReader`` <- ``ConditionCompiler`` (a rule's ``when``) <- the
    loader's compiler (``[pack]``, ``[parameters]`` and each ``[[rule]]``).
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.params: dict[str, Parameter] = {}

    def problem(self, rule: str, field: str, message: str) -> None:
        self.problems.append(Problem(self.file, rule, field, message))

    def unknown_keys(
        self, rule: str, field: str, table: Mapping[str, Any], allowed: frozenset[str]
    ) -> None:
        for key in table:
            if key not in allowed:
                where = f"{field}.{key}" if field else key
                self.problem(rule, where, f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def trigger(self, rid: str, field: str, raw: object) -> tuple[Trigger | None, tuple[str, ...]]:
        if raw is None:
            return None, ()
        if isinstance(raw, str):
            spec = self.date_fact(rid, field, raw)
            return (date_getter(spec), (raw,)) if spec is not None else (None, ())
        if isinstance(raw, Mapping) and len(raw) == 1 and set(raw) <= TRIGGER_KEYS:
            how = next(iter(raw))
            names = raw[how]
            if not isinstance(names, list) or not names:
                self.problem(rid, f"{field}.{how}", "must be a non-empty list of date facts")
                return None, ()
            specs = [self.date_fact(rid, f"{field}.{how}", n) for n in names]
            if any(s is None for s in specs):
                return None, ()
            getters = tuple(date_getter(s) for s in specs if s is not None)
            pick = max if how == "latest" else min
            return combine(getters, pick), tuple(str(n) for n in names)
        self.problem(rid, field, "must be a date fact or { latest = [...] } / { earliest = [...] }")
        return None, ()

    def date_fact(self, rid: str, field: str, name: object) -> FactSpec | None:
        if not isinstance(name, str) or name not in FACT_SPECS:
            self.problem(rid, field, f"unknown fact {name!r}")
            return None
        if name not in DATE_FACTS:
            self.problem(rid, field, f"{name} is not a date fact")
            return None
        return FACT_SPECS[name]

    def period(self, rid: str, field: str, raw: object, params: list[str]) -> Period | None:
        if raw is None:
            return None
        if isinstance(raw, Mapping):
            name = raw.get("param")
            param = self.params.get(name) if isinstance(name, str) else None
            if set(raw) != {"param"} or param is None:
                self.problem(rid, f"{field}.param", f"unknown parameter {name!r}")
                return None
            params.append(param.name)
            raw = param.value
        try:
            return parse_period(raw)
        except ValueError as exc:
            self.problem(rid, field, str(exc))
            return None

    def row(self, rid: str, field: str, raw: object) -> str | None:
        if not isinstance(raw, str) or raw not in RULES_ROWS:
            self.problem(rid, field, f"{raw!r} is not a RULES.md row id")
            return None
        return raw

    def string(self, rid: str, field: str, raw: object, *, required: bool = False) -> str | None:
        if raw is None:
            if required:
                self.problem(rid, field, "is required")
            return None
        if not isinstance(raw, str) or not raw.strip():
            self.problem(rid, field, "must be a non-empty string")
            return None
        return raw

    def boolean(self, rid: str, field: str, raw: object) -> bool:
        if not isinstance(raw, bool):
            self.problem(rid, field, "must be true or false")
            return False
        return raw

    def date(self, rid: str, field: str, raw: object, *, required: bool = False) -> date | None:
        if raw is None:
            if required:
                self.problem(rid, field, "is required")
            return None
        if not is_date(raw):
            self.problem(rid, field, "must be a TOML date (YYYY-MM-DD, unquoted)")
            return None
        assert_date: date = raw  # type: ignore[assignment]
        return assert_date

    def enum(
        self, rid: str, field: str, raw: object, kind: type[E], *, required: bool = False
    ) -> E | None:
        if raw is None:
            if required:
                self.problem(rid, field, "is required")
            return None
        try:
            return kind(raw if isinstance(raw, str) else repr(raw))
        except ValueError:
            allowed = ", ".join(m.value for m in kind)
            self.problem(rid, field, f"{raw!r} is not one of: {allowed}")
            return None

    def enum_list(self, rid: str, field: str, raw: object, kind: type[E]) -> list[E]:
        if not isinstance(raw, list):
            self.problem(rid, field, "must be a list")
            return []
        out: list[E] = []
        for i, item in enumerate(raw):
            value = self.enum(rid, f"{field}[{i}]", item, kind)
            if value is not None:
                out.append(value)
        return out
