"""Validation and compilation of a rule's conditions (``when``) into predicates.

Layer: ``policies`` (standard library only; never ``retention`` or ``web``). Checks each
condition's fact, operator and literal against ``policies.language`` and folds parameter
conditions to constants; the closures themselves are in ``policies.predicates``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from policies.field_reader import FieldReader
from policies.language import FACT_SPECS, OPERATORS, OPS_BY_KIND, FactSpec, is_date
from policies.pack import Match
from policies.predicates import all_of, any_of, compare, compare_fact, const, is_set, member
from policies.vocabulary import LegalBasis

_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}


class ConditionCompiler(FieldReader):
    """Reads a rule's ``when`` list into one ``Match``, recording the facts and parameters used."""

    def when(
        self, rid: str, raw: object, facts: list[str], params: list[str], consent_only: list[bool]
    ) -> Match:
        nodes: list[object]
        if isinstance(raw, Mapping):
            nodes = [raw]
        elif isinstance(raw, list):
            nodes = list(raw)
        else:
            self.problem(rid, "when", "must be a list of conditions")
            nodes = []
        compiled: list[Match] = []
        for i, node in enumerate(nodes):
            field = f"when[{i}]"
            cond = self.condition(rid, field, node, facts, params)
            if cond is not None:
                compiled.append(cond)
            if _limits_to_consent(node):
                consent_only[0] = True
        return all_of(compiled)

    def condition(
        self, rid: str, field: str, node: object, facts: list[str], params: list[str]
    ) -> Match | None:
        if not isinstance(node, Mapping):
            self.problem(rid, field, "a condition must be a table")
            return None
        for group in ("any", "all"):
            if group in node:
                if len(node) != 1:
                    self.problem(rid, field, f'"{group}" must be the only key of its table')
                    return None
                items = node[group]
                if not isinstance(items, list) or not items:
                    self.problem(rid, f"{field}.{group}", "must be a non-empty list")
                    return None
                subs = [
                    self.condition(rid, f"{field}.{group}[{i}]", item, facts, params)
                    for i, item in enumerate(items)
                ]
                if any(s is None for s in subs):
                    return None
                done = [s for s in subs if s is not None]
                return any_of(done) if group == "any" else all_of(done)
        ops = [k for k in node if k not in ("fact", "param")]
        bad = [k for k in ops if k not in OPERATORS]
        for key in bad:
            self.problem(
                rid,
                f"{field}.{key}",
                f"unknown operator (allowed: {', '.join(sorted(OPERATORS))}, any, all)",
            )
        good = [k for k in ops if k in OPERATORS]
        if bad:
            return None
        if len(good) != 1:
            self.problem(rid, field, "a condition needs exactly one operator")
            return None
        op = good[0]
        if "param" in node and "fact" not in node:
            return self.param_condition(rid, field, node["param"], op, node[op], params)
        name = node.get("fact")
        if "param" in node or not isinstance(name, str):
            self.problem(rid, f"{field}.fact", "a condition needs one fact (or one param)")
            return None
        spec = FACT_SPECS.get(name)
        if spec is None:
            self.problem(rid, f"{field}.fact", f'unknown fact "{name}"')
            return None
        facts.append(name)
        if op not in OPS_BY_KIND[spec.kind]:
            self.problem(
                rid,
                f"{field}.{op}",
                f'operator "{op}" does not apply to {spec.kind} fact {name} (allowed: '
                f"{', '.join(sorted(OPS_BY_KIND[spec.kind]))})",
            )
            return None
        value = node[op]
        where = f"{field}.{op}"
        if op == "is_set":
            if not isinstance(value, bool):
                self.problem(rid, where, "is_set takes true or false")
                return None
            return is_set(spec, value)
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                self.problem(rid, where, f"{op} takes a non-empty list")
                return None
            members = [self.literal(rid, where, spec, v, params) for v in value]
            if any(m is None for m in members):
                return None
            return member(spec, frozenset(members), op == "in")
        if isinstance(value, Mapping) and "fact" in value:
            other = self.date_fact(rid, f"{where}.fact", value.get("fact"))
            if spec.kind != "date":
                self.problem(rid, where, "only date facts can be compared with another fact")
                return None
            if other is None:
                return None
            facts.append(other.name)
            return compare_fact(spec, _CMP[op], other)
        literal = self.literal(rid, where, spec, value, params)
        if literal is None:
            return None
        return compare(spec, _CMP[op], literal)

    def param_condition(
        self, rid: str, field: str, name: object, op: str, value: object, params: list[str]
    ) -> Match | None:
        param = self.params.get(name) if isinstance(name, str) else None
        if param is None:
            self.problem(rid, f"{field}.param", f"unknown parameter {name!r}")
            return None
        params.append(param.name)
        if op == "is_set":
            self.problem(rid, f"{field}.{op}", "a parameter is always set")
            return None
        if op in ("in", "not_in"):
            if not isinstance(value, list):
                self.problem(rid, f"{field}.{op}", f"{op} takes a list")
                return None
            result = (param.value in value) == (op == "in")
        else:
            if type(value) is not type(param.value):
                self.problem(rid, f"{field}.{op}", f"compares {name} with a different type")
                return None
            result = bool(_CMP[op](param.value, value))
        # Parameters are fixed at load, so the condition folds to a constant.
        return const(result)

    def literal(
        self, rid: str, where: str, spec: FactSpec, value: object, params: list[str]
    ) -> object | None:
        if isinstance(value, Mapping):
            name = value.get("param")
            if set(value) != {"param"}:
                self.problem(rid, where, "a reference is { param = NAME } or { fact = NAME }")
                return None
            param = self.params.get(name) if isinstance(name, str) else None
            if param is None:
                self.problem(rid, f"{where}.param", f"unknown parameter {name!r}")
                return None
            params.append(param.name)
            value = param.value
        if spec.kind == "enum" and spec.enum is not None:
            try:
                return spec.enum(value if isinstance(value, str) else repr(value))
            except ValueError:
                allowed = ", ".join(m.value for m in spec.enum)
                self.problem(rid, where, f"{value!r} is not a value of {spec.name} ({allowed})")
                return None
        ok = {
            "date": is_date(value),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "str": isinstance(value, str),
        }[spec.kind]
        if not ok:
            self.problem(rid, where, f"{value!r} is not a {spec.kind} (fact {spec.name})")
            return None
        if spec.name == "mopi_group" and value not in (1, 2, 3):
            self.problem(rid, where, "MoPI groups are 1, 2 and 3")
            return None
        return value


def _limits_to_consent(node: object) -> bool:
    if not isinstance(node, Mapping) or node.get("fact") != "legal_basis":
        return False
    if node.get("eq") == LegalBasis.CONSENT.value:
        return True
    members = node.get("in")
    return isinstance(members, list) and members == [LegalBasis.CONSENT.value]
