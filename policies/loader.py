"""Load a TOML rule pack, validate all of it, and compile it for fast evaluation.

Layer: ``policies`` (standard library only; never ``retention`` or ``web``). Validation never
stops at the first problem: every problem is collected as a ``Problem(file, rule, field,
message)`` and raised together in one ``PackError``. Nothing here uses ``assert``.
"""

from __future__ import annotations

import operator
import re
import tomllib
from collections.abc import Callable, Mapping
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from policies.errors import PackError, Problem
from policies.facts import Facts
from policies.language import (
    ABSENT,
    CITATION_KEYS,
    DATE_FACTS,
    FACT_SPECS,
    IN_FORCE_KEYS,
    ON_UNKNOWN,
    OPERATORS,
    OPS_BY_KIND,
    PACK_KEYS,
    PARAMETER_KEYS,
    REQUIRED_DATE_FACTS,
    RESPOND_KEYS,
    RULE_KEYS,
    RULES_ROWS,
    TOP_KEYS,
    TRIGGER_KEYS,
    FactSpec,
    Period,
    is_date,
    parse_period,
)
from policies.pack import Match, Pack, Parameter, ParamValue, Respond, Rule, Trigger
from policies.vocabulary import (
    Action,
    Authority,
    CalendarConvention,
    Confidence,
    HoldKind,
    Jurisdiction,
    LegalBasis,
    PeriodUnit,
    Purpose,
    SourceType,
)

E = TypeVar("E", bound=StrEnum)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_PARAM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PACK_LEVEL = "-"
_CMP: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
# Consent withdrawal or expiry ends only consent-based processing (RULES.md §8.5).
_CONSENT_TRIGGERS = frozenset({"consent_withdrawn_on", "consent_expires_on"})


def load_pack(path: str | Path) -> Pack:
    """Read, validate and compile the pack at ``path``; raises ``PackError`` listing every
    problem (a TOML syntax error is reported as one problem)."""
    file = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise PackError([Problem(file, _PACK_LEVEL, "(file)", exc.strerror or str(exc))]) from None
    except tomllib.TOMLDecodeError as exc:
        raise PackError([Problem(file, _PACK_LEVEL, "(toml)", str(exc))]) from None
    return compile_pack(data, file)


def compile_pack(data: Mapping[str, Any], file: str) -> Pack:
    """Validate and compile an already-parsed pack document (``file`` names it in problems)."""
    return _Compiler(file).pack(data)


class _Compiler:
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

    # -- pack ----------------------------------------------------------------------------------

    def pack(self, data: Mapping[str, Any]) -> Pack:
        self.unknown_keys(_PACK_LEVEL, "", data, TOP_KEYS)
        head = data.get("pack")
        if not isinstance(head, Mapping):
            self.problem(_PACK_LEVEL, "pack", "missing [pack] table")
            head = {}
        self.unknown_keys(_PACK_LEVEL, "pack", head, PACK_KEYS)
        pack_id = self.string(_PACK_LEVEL, "pack.id", head.get("id"), required=True)
        if pack_id and not _SLUG.match(pack_id):
            self.problem(_PACK_LEVEL, "pack.id", "must be lower-case letters, digits and dashes")
        version = self.string(_PACK_LEVEL, "pack.version", head.get("version"), required=True)
        title = self.string(_PACK_LEVEL, "pack.title", head.get("title")) or pack_id
        description = self.string(_PACK_LEVEL, "pack.description", head.get("description"))
        jurisdictions = tuple(
            self.enum_list(
                _PACK_LEVEL, "pack.jurisdictions", head.get("jurisdictions", []), Jurisdiction
            )
        )
        eff_from = self.date(
            _PACK_LEVEL, "pack.effective_from", head.get("effective_from"), required=True
        )
        eff_to = self.date(_PACK_LEVEL, "pack.effective_to", head.get("effective_to"))
        if eff_from and eff_to and eff_to < eff_from:
            self.problem(_PACK_LEVEL, "pack.effective_to", "is before effective_from")
        if "default_purposes" not in head:
            self.problem(_PACK_LEVEL, "pack.default_purposes", "is required")
        default_purposes = frozenset(
            self.enum_list(
                _PACK_LEVEL, "pack.default_purposes", head.get("default_purposes", []), Purpose
            )
        )
        restricted = frozenset(
            self.enum_list(
                _PACK_LEVEL,
                "pack.restricted_purposes",
                head.get("restricted_purposes", ["evidence", "legal_claims"]),
                Purpose,
            )
        )

        raw_params = data.get("parameters", {})
        if not isinstance(raw_params, Mapping):
            self.problem(_PACK_LEVEL, "parameters", "must be a table of [parameters.NAME]")
            raw_params = {}
        for name, spec in raw_params.items():
            self.parameter(name, spec)

        raw_rules = data.get("rule", [])
        if not isinstance(raw_rules, list) or not raw_rules:
            self.problem(_PACK_LEVEL, "rule", "a pack needs at least one [[rule]]")
            raw_rules = []
        rules: list[Rule] = []
        seen: set[str] = set()
        for index, raw in enumerate(raw_rules):
            rule = self.rule(index, raw, seen)
            if rule is not None:
                rules.append(rule)

        fallbacks = [r for r in rules if r.fallback]
        if not fallbacks and not any(
            p.rule != _PACK_LEVEL and p.field == "fallback" for p in self.problems
        ):
            self.problem(
                _PACK_LEVEL,
                "fallback",
                "no fallback rule: a record no other rule governs would be kept forever with no "
                "review (LED Art 5 / DPA 2018 s.39 require periodic review)",
            )
        if len(fallbacks) > 1:
            self.problem(
                _PACK_LEVEL, "fallback", f"more than one fallback rule: {[r.id for r in fallbacks]}"
            )

        if self.problems:
            raise PackError(self.problems)
        assert_ok = eff_from is not None  # validated above; keeps mypy's narrowing honest
        return Pack(
            id=pack_id or "",
            version=version or "",
            title=title or "",
            description=description or "",
            jurisdictions=jurisdictions,
            effective_from=eff_from if assert_ok and eff_from is not None else date.min,
            effective_to=eff_to,
            default_purposes=default_purposes,
            restricted_purposes=restricted,
            parameters=dict(self.params),
            rules=tuple(rules),
            source=self.file,
        )

    def parameter(self, name: str, spec: object) -> None:
        rid = _PACK_LEVEL
        where = f"parameters.{name}"
        if not _PARAM_NAME.match(name):
            self.problem(rid, where, "name must be lower_snake_case")
        if not isinstance(spec, Mapping):
            self.problem(rid, where, "must be a table with value, row, src, conf")
            return
        self.unknown_keys(rid, where, spec, PARAMETER_KEYS)
        value = spec.get("value")
        if value is None:
            self.problem(rid, f"{where}.value", "is required")
        elif not isinstance(value, str | int | bool) and not is_date(value):
            self.problem(rid, f"{where}.value", "must be a string, integer, boolean or date")
        row = self.row(rid, f"{where}.row", spec.get("row"))
        src = self.enum(rid, f"{where}.src", spec.get("src"), SourceType, required=True)
        conf = self.enum(rid, f"{where}.conf", spec.get("conf"), Confidence, required=True)
        flag = spec.get("verified")
        if flag is not None and not isinstance(flag, bool):
            self.problem(rid, f"{where}.verified", "must be true or false")
            flag = None
        weak = src is SourceType.MEMORY or conf is Confidence.LOW
        if weak and flag is True:
            self.problem(
                rid,
                f"{where}.verified",
                "a figure from background knowledge (src M) or of low confidence cannot be "
                "marked verified; verify it in RULES.md first",
            )
        description = self.string(rid, f"{where}.description", spec.get("description")) or ""
        if value is None or src is None or conf is None or row is None:
            return
        self.params[name] = Parameter(
            name=name,
            value=value,
            row=row,
            src=src,
            conf=conf,
            description=description,
            verified=not weak and flag is not False,
        )

    # -- rules ---------------------------------------------------------------------------------

    def rule(self, index: int, raw: object, seen: set[str]) -> Rule | None:
        if not isinstance(raw, Mapping):
            self.problem(f"#{index + 1}", "rule", "must be a table")
            return None
        rid_raw = raw.get("id")
        rid = rid_raw if isinstance(rid_raw, str) and rid_raw else f"#{index + 1}"
        before = len(self.problems)
        if not isinstance(rid_raw, str) or not rid_raw:
            self.problem(rid, "id", "is required")
        elif not _SLUG.match(rid_raw):
            self.problem(rid, "id", "must be lower-case letters, digits, dots and dashes")
        elif rid_raw in seen:
            self.problem(rid, "id", "duplicate rule id")
        seen.add(rid)
        self.unknown_keys(rid, "", raw, RULE_KEYS)

        citation = raw.get("citation")
        row, text = None, None
        if not isinstance(citation, Mapping):
            self.problem(rid, "citation", "is required: { row = RULES.md row id, text = statute }")
        else:
            self.unknown_keys(rid, "citation", citation, CITATION_KEYS)
            row = self.row(rid, "citation.row", citation.get("row"))
            text = self.string(rid, "citation.text", citation.get("text"), required=True)
        authority = self.enum(rid, "authority", raw.get("authority", "statute"), Authority)
        explanation = self.string(rid, "explanation", raw.get("explanation"), required=True)
        on_unknown = raw.get("on_unknown", "review")
        if on_unknown not in ON_UNKNOWN:
            self.problem(rid, "on_unknown", 'must be "review" or "skip"')

        facts: list[str] = []
        params: list[str] = []
        consent_only = [False]
        match = self.when(rid, raw.get("when", []), facts, params, consent_only)

        action = self.enum(rid, "action", raw.get("action"), Action)
        trigger, trigger_facts = self.trigger(rid, "trigger", raw.get("trigger"))
        period = self.period(rid, "period", raw.get("period"), params)
        calendar = self.enum(rid, "calendar", raw.get("calendar"), CalendarConvention)
        if "action" in raw and "trigger" not in raw:
            self.problem(rid, "trigger", "an action needs a trigger date fact")
        if "trigger" in raw and "action" not in raw:
            self.problem(rid, "trigger", "a trigger without an action decides nothing")
        if "period" in raw and "calendar" not in raw:
            self.problem(rid, "calendar", "a period needs a calendar convention")
        if "calendar" in raw and "period" not in raw:
            self.problem(rid, "calendar", "a calendar convention without a period")
        self.check_convention(rid, "calendar", calendar, period)
        if action is Action.RETAIN and "period" not in raw:
            self.problem(
                rid,
                "period",
                "a retain rule must say until when: retaining with no end and no review breaks "
                "LED Art 5 / DPA 2018 s.39",
            )

        mandatory = self.boolean(rid, "mandatory", raw.get("mandatory", False))
        if mandatory and action is not Action.PURGE:
            self.problem(rid, "mandatory", "only a purge rule can mandate destruction")
        yields_to = frozenset(self.enum_list(rid, "yields_to", raw.get("yields_to", []), HoldKind))
        if "yields_to" in raw and not mandatory:
            self.problem(
                rid,
                "yields_to",
                "only a mandatory destruction rule names holds it "
                "yields to (other purges always yield to a hold, RULES.md §8.1)",
            )
        needs_review = self.boolean(rid, "needs_review", raw.get("needs_review", False))
        purposes = (
            frozenset(self.enum_list(rid, "purposes", raw["purposes"], Purpose))
            if "purposes" in raw
            else None
        )
        deny = frozenset(
            self.enum_list(rid, "deny_purposes", raw.get("deny_purposes", []), Purpose)
        )
        respond = self.respond(rid, raw.get("respond"), params)
        in_force_from, in_force_to = self.in_force(rid, raw.get("in_force"))
        fallback = self.boolean(rid, "fallback", raw.get("fallback", False))

        if action is None and not deny and respond is None and "action" not in raw:
            self.problem(rid, "action", "a rule needs an action, deny_purposes or respond")
        if fallback:
            self.check_fallback(rid, raw, action, trigger_facts)
        consent_trigger = bool(trigger_facts) and set(trigger_facts) <= _CONSENT_TRIGGERS
        if action is Action.PURGE and consent_trigger and not consent_only[0]:
            self.problem(
                rid,
                "when",
                "a purge on consent withdrawal or expiry must be limited to legal_basis = "
                "consent (RULES.md §8.5: withdrawal purges only consent-based data)",
            )
        for name in dict.fromkeys(params):
            param = self.params.get(name)
            if param is not None and param.unverified and not needs_review:
                self.problem(
                    rid,
                    "needs_review",
                    f"uses unverified parameter {name} (src {param.src.value}, conf "
                    f"{param.conf.value}) without needs_review = true (RULES.md §8.7)",
                )

        if len(self.problems) > before:
            return None
        assert_types = row is not None and text is not None and explanation is not None
        if not assert_types or authority is None:
            return None
        return Rule(
            id=rid,
            citation_row=row or "",
            citation_text=text or "",
            authority=authority,
            explanation=explanation or "",
            match=match,
            on_unknown_review=on_unknown == "review",
            trigger=trigger,
            trigger_facts=trigger_facts,
            period=period,
            calendar=calendar,
            action=action,
            mandatory=mandatory,
            yields_to=yields_to,
            needs_review=needs_review,
            purposes=purposes,
            deny_purposes=deny,
            respond=respond,
            in_force_from=in_force_from,
            in_force_to=in_force_to,
            fallback=fallback,
            fact_names=tuple(dict.fromkeys([*facts, *trigger_facts])),
            parameters=tuple(dict.fromkeys(params)),
            fact_getters=tuple(
                (name, FACT_SPECS[name].get) for name in dict.fromkeys([*facts, *trigger_facts])
            ),
        )

    def check_fallback(
        self, rid: str, raw: Mapping[str, Any], action: Action | None, trig: tuple[str, ...]
    ) -> None:
        if raw.get("when"):
            self.problem(rid, "when", "a fallback rule applies to every record: no conditions")
        if "in_force" in raw:
            self.problem(rid, "in_force", "a fallback rule must always be in force")
        if action not in (Action.REVIEW, Action.PURGE):
            self.problem(
                rid,
                "action",
                "a fallback must review or purge (LED Art 5 / DPA 2018 s.39 periodic review)",
            )
        if not REQUIRED_DATE_FACTS & set(trig):
            self.problem(
                rid,
                "trigger",
                "a fallback must be triggered by captured_on (alone or in latest = [...]) so "
                "every record gets a due date",
            )
        if "period" not in raw:
            self.problem(rid, "period", "a fallback review needs a period")

    def check_convention(
        self, rid: str, field: str, calendar: CalendarConvention | None, period: Period | None
    ) -> None:
        if calendar is None or period is None:
            return
        if calendar is CalendarConvention.CA_DAYS and period.unit is not PeriodUnit.DAYS:
            self.problem(rid, field, "ca_days counts days (CCP §12); the period must be in days")
        if calendar is CalendarConvention.ANNIVERSARY and period.unit is not PeriodUnit.YEARS:
            self.problem(rid, field, "an anniversary period must be in years")

    def respond(self, rid: str, raw: object, params: list[str]) -> Respond | None:
        if raw is None:
            return None
        if not isinstance(raw, Mapping):
            self.problem(rid, "respond", "must be a table")
            return None
        self.unknown_keys(rid, "respond", raw, RESPOND_KEYS)
        trigger, trigger_facts = self.trigger(rid, "respond.trigger", raw.get("trigger"))
        if "trigger" not in raw:
            self.problem(rid, "respond.trigger", "is required")
        if "period" not in raw:
            self.problem(rid, "respond.period", "is required")
        period = self.period(rid, "respond.period", raw.get("period"), params)
        calendar = self.enum(
            rid, "respond.calendar", raw.get("calendar"), CalendarConvention, required=True
        )
        self.check_convention(rid, "respond.calendar", calendar, period)
        extension = self.period(rid, "respond.extension", raw.get("extension"), params)
        if extension is not None and period is not None and extension.unit is not period.unit:
            self.problem(rid, "respond.extension", "must be in the same unit as the period")
        notice: Callable[[Facts], date | None] | None = None
        notice_name = raw.get("extension_notice")
        if notice_name is not None:
            spec = self.date_fact(rid, "respond.extension_notice", notice_name)
            if spec is not None:
                notice = _date_getter(spec)
            if extension is None:
                self.problem(rid, "respond.extension", "an extension notice needs an extension")
        if trigger is None or period is None or calendar is None:
            return None
        return Respond(trigger, trigger_facts, period, calendar, extension, notice)

    def in_force(self, rid: str, raw: object) -> tuple[date | None, date | None]:
        if raw is None:
            return None, None
        if not isinstance(raw, Mapping):
            self.problem(rid, "in_force", "must be a table { from = DATE, to = DATE }")
            return None, None
        self.unknown_keys(rid, "in_force", raw, IN_FORCE_KEYS)
        start = self.date(rid, "in_force.from", raw.get("from"))
        end = self.date(rid, "in_force.to", raw.get("to"))
        if start and end and end < start:
            self.problem(rid, "in_force.to", "is before in_force.from")
        return start, end

    # -- conditions ----------------------------------------------------------------------------

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
        return _all(compiled)

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
                return _any(done) if group == "any" else _all(done)
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
            return _is_set(spec, value)
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                self.problem(rid, where, f"{op} takes a non-empty list")
                return None
            members = [self.literal(rid, where, spec, v, params) for v in value]
            if any(m is None for m in members):
                return None
            return _member(spec, frozenset(members), op == "in")
        if isinstance(value, Mapping) and "fact" in value:
            other = self.date_fact(rid, f"{where}.fact", value.get("fact"))
            if spec.kind != "date":
                self.problem(rid, where, "only date facts can be compared with another fact")
                return None
            if other is None:
                return None
            facts.append(other.name)
            return _compare_fact(spec, _CMP[op], other)
        literal = self.literal(rid, where, spec, value, params)
        if literal is None:
            return None
        return _compare(spec, _CMP[op], literal)

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
        return _const(result)

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

    # -- small typed readers -------------------------------------------------------------------

    def trigger(self, rid: str, field: str, raw: object) -> tuple[Trigger | None, tuple[str, ...]]:
        if raw is None:
            return None, ()
        if isinstance(raw, str):
            spec = self.date_fact(rid, field, raw)
            return (_date_getter(spec), (raw,)) if spec is not None else (None, ())
        if isinstance(raw, Mapping) and len(raw) == 1 and set(raw) <= TRIGGER_KEYS:
            how = next(iter(raw))
            names = raw[how]
            if not isinstance(names, list) or not names:
                self.problem(rid, f"{field}.{how}", "must be a non-empty list of date facts")
                return None, ()
            specs = [self.date_fact(rid, f"{field}.{how}", n) for n in names]
            if any(s is None for s in specs):
                return None, ()
            getters = tuple(_date_getter(s) for s in specs if s is not None)
            pick = max if how == "latest" else min
            return _combine(getters, pick), tuple(str(n) for n in names)
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


# -- closures -----------------------------------------------------------------------------------


def _limits_to_consent(node: object) -> bool:
    if not isinstance(node, Mapping) or node.get("fact") != "legal_basis":
        return False
    if node.get("eq") == LegalBasis.CONSENT.value:
        return True
    members = node.get("in")
    return isinstance(members, list) and members == [LegalBasis.CONSENT.value]


def _const(result: bool) -> Match:
    def match(facts: Facts) -> bool | None:
        return result

    return match


def _all(conds: list[Match]) -> Match:
    if not conds:
        return _const(True)
    if len(conds) == 1:
        return conds[0]
    parts = tuple(conds)

    def match(facts: Facts) -> bool | None:
        result: bool | None = True
        for cond in parts:
            value = cond(facts)
            if value is False:
                return False
            if value is None:
                result = None
        return result

    return match


def _any(conds: list[Match]) -> Match:
    parts = tuple(conds)

    def match(facts: Facts) -> bool | None:
        result: bool | None = False
        for cond in parts:
            value = cond(facts)
            if value is True:
                return True
            if value is None:
                result = None
        return result

    return match


def _unset(spec: FactSpec) -> bool | None:
    # An event that has not happened compares false; an unknown value is unknown.
    return False if spec.none_is_absent else None


def _is_set(spec: FactSpec, want: bool) -> Match:
    get = spec.get

    def match(facts: Facts) -> bool | None:
        value = get(facts)
        return (value is not None and value is not ABSENT) is want

    return match


def _member(spec: FactSpec, members: frozenset[object], inside: bool) -> Match:
    get = spec.get
    unset = _unset(spec)

    def match(facts: Facts) -> bool | None:
        value = get(facts)
        if value is None:
            return unset
        if value is ABSENT:
            return False
        return (value in members) is inside

    return match


def _compare(spec: FactSpec, cmp: Callable[[Any, Any], bool], literal: object) -> Match:
    get = spec.get
    unset = _unset(spec)

    def match(facts: Facts) -> bool | None:
        value = get(facts)
        if value is None:
            return unset
        if value is ABSENT:
            return False
        return bool(cmp(value, literal))

    return match


def _compare_fact(spec: FactSpec, cmp: Callable[[Any, Any], bool], other: FactSpec) -> Match:
    get, get_other = spec.get, other.get

    def match(facts: Facts) -> bool | None:
        value = get(facts)
        rhs = get_other(facts)
        if value is None or value is ABSENT or rhs is None or rhs is ABSENT:
            return False
        return bool(cmp(value, rhs))

    return match


def _date_getter(spec: FactSpec) -> Callable[[Facts], date | None]:
    get = spec.get

    def read(facts: Facts) -> date | None:
        value = get(facts)
        return None if value is ABSENT else value

    return read


def _combine(getters: tuple[Callable[[Facts], date | None], ...], pick: Any) -> Trigger:
    def read(facts: Facts) -> date | None:
        values = [d for g in getters if (d := g(facts)) is not None]
        return pick(values) if values else None

    return read


def parameter_value(pack: Pack, name: str) -> ParamValue:
    """The value of a pack parameter (for documentation and the CLI)."""
    return pack.parameters[name].value
