"""Load a TOML rule pack, validate all of it, and compile it for fast evaluation.

Layer: ``policies`` (standard library only; never ``retention`` or ``web``). Validation never
stops at the first problem: every problem is collected as a ``Problem(file, rule, field,
message)`` and raised together in one ``PackError``. Nothing here uses ``assert``.

This module reads the file and checks the pack and each ``[[rule]]`` (with the cross-field checks:
a retain rule needs an end, exactly one fallback reviews every record, a purge on consent
withdrawal is limited to consent-based data, unverified parameters need review). A rule's
conditions are checked by ``policies.condition_compiler``, single fields are read by
``policies.field_reader``, and both compile into the closures of ``policies.predicates``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from typing import Any

from policies.bounded import StructureError, loads_toml
from policies.condition_compiler import ConditionCompiler
from policies.errors import PackError, Problem
from policies.facts import Facts
from policies.language import (
    CITATION_KEYS,
    COMPLAINT_KEYS,
    FACT_SPECS,
    HOLDER_PURPOSE_KEYS,
    IN_FORCE_KEYS,
    ON_UNKNOWN,
    PACK_KEYS,
    PARAMETER_KEYS,
    REQUIRED_DATE_FACTS,
    RESPOND_KEYS,
    RULE_IN_FORCE_KEYS,
    RULE_KEYS,
    TOP_KEYS,
    UNKNOWN_DATE,
    Period,
    is_date,
)
from policies.pack import ComplaintRoute, HolderPurposes, Pack, Parameter, Respond, Rule
from policies.predicates import date_getter
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
    PeriodUnit,
    Purpose,
    RouteKind,
    SourceType,
)

_SLUG = re.compile(r"^[a-z0-9][a-z0-9.-]*$")
_PARAM_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PACK_LEVEL = "-"
# The largest pack accepted (the bundled ones are under 16 KiB), and how deep its arrays and
# tables may nest: more is refused before the TOML parser runs (``policies.bounded``).
MAX_PACK_BYTES = 256 * 1024
MAX_PACK_DEPTH = 24
# Consent withdrawal or expiry ends only consent-based processing (RULES.md §8.5).
_CONSENT_TRIGGERS = frozenset({"consent_withdrawn_on", "consent_expires_on"})


def load_pack(path: str | Path) -> Pack:
    """Read, validate and compile the pack at ``path``; raises ``PackError`` listing every
    problem (a TOML syntax error is reported as one problem)."""
    file = str(path)
    try:
        with Path(path).open("rb") as fh:
            raw = fh.read(MAX_PACK_BYTES + 1)
        data = parse_pack_source(raw.decode("utf-8"), file)
    except OSError as exc:
        raise PackError([Problem(file, _PACK_LEVEL, "(file)", exc.strerror or str(exc))]) from None
    except UnicodeDecodeError:
        raise PackError([Problem(file, _PACK_LEVEL, "(file)", "not UTF-8 text")]) from None
    return compile_pack(data, file)


def parse_pack_source(source: str, file: str) -> dict[str, Any]:
    """The TOML document of a pack's source, within the size and nesting limits; raises
    ``PackError`` with one problem for a syntax error or a limit exceeded."""
    try:
        return loads_toml(
            source, what="rule pack", max_bytes=MAX_PACK_BYTES, max_depth=MAX_PACK_DEPTH
        )
    except StructureError as exc:
        raise PackError([Problem(file, _PACK_LEVEL, "(toml)", str(exc))]) from None
    except tomllib.TOMLDecodeError as exc:
        raise PackError([Problem(file, _PACK_LEVEL, "(toml)", str(exc))]) from None


def compile_pack(data: Mapping[str, Any], file: str) -> Pack:
    """Validate and compile an already-parsed pack document (``file`` names it in problems)."""
    return _Compiler(file).pack(data)


class _Compiler(ConditionCompiler):
    """Checks a whole pack document and builds the ``Pack`` once it has no problem at all."""

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

        routes = self.complaints(data.get("complaint"))
        by_holder = self.holder_purposes(data.get("holder_purposes"))
        ids = {r.id for r in rules}
        for rule in rules:
            for other in sorted(rule.prevails_over):
                if other not in ids or other == rule.id:
                    self.problem(
                        rule.id, "prevails_over", f"{other!r} is not another rule of this pack"
                    )

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
            complaint_routes=routes,
            holder_purposes=by_holder,
        )

    def holder_purposes(self, raw: object) -> tuple[HolderPurposes, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.problem(_PACK_LEVEL, "holder_purposes", "must be an array of tables")
            return ()
        out: list[HolderPurposes] = []
        for index, item in enumerate(raw):
            where = f"holder_purposes[{index}]"
            if not isinstance(item, Mapping):
                self.problem(_PACK_LEVEL, where, "must be a table with holder, default, restricted")
                continue
            self.unknown_keys(_PACK_LEVEL, where, item, HOLDER_PURPOSE_KEYS)
            holder = self.enum(
                _PACK_LEVEL, f"{where}.holder", item.get("holder"), Holder, required=True
            )
            bases = self.enum_list(
                _PACK_LEVEL, f"{where}.legal_basis", item.get("legal_basis", []), LegalBasis
            )
            for key in ("default", "restricted"):
                if key not in item:
                    self.problem(_PACK_LEVEL, f"{where}.{key}", "is required")
            default = self.enum_list(
                _PACK_LEVEL, f"{where}.default", item.get("default", []), Purpose
            )
            restricted = self.enum_list(
                _PACK_LEVEL, f"{where}.restricted", item.get("restricted", []), Purpose
            )
            if holder is None:
                continue
            out.append(
                HolderPurposes(holder, frozenset(bases), frozenset(default), frozenset(restricted))
            )
        return tuple(out)

    def complaints(self, raw: object) -> tuple[ComplaintRoute, ...]:
        # Optional, so that versions enacted before routes existed still load; a pack without
        # routes borrows the default pack's generic ones (``registry.complaint_routes``).
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.problem(_PACK_LEVEL, "complaint", "must be an array of [[complaint]] tables")
            return ()
        routes: list[ComplaintRoute] = []
        for index, item in enumerate(raw):
            where = f"complaint[{index}]"
            if not isinstance(item, Mapping):
                self.problem(_PACK_LEVEL, where, "must be a table with kind, name, how, basis")
                continue
            self.unknown_keys(_PACK_LEVEL, where, item, COMPLAINT_KEYS)
            kind = self.enum(
                _PACK_LEVEL, f"{where}.kind", item.get("kind"), RouteKind, required=True
            )
            name = self.string(_PACK_LEVEL, f"{where}.name", item.get("name"), required=True)
            how = self.string(_PACK_LEVEL, f"{where}.how", item.get("how"), required=True)
            basis = self.string(_PACK_LEVEL, f"{where}.basis", item.get("basis"), required=True)
            url = self.string(_PACK_LEVEL, f"{where}.url", item.get("url"))
            if url is not None and not url.startswith("https://"):
                self.problem(_PACK_LEVEL, f"{where}.url", "must be an https:// address")
                url = None
            if kind is None or name is None or how is None or basis is None:
                continue
            routes.append(ComplaintRoute(kind=kind, name=name, how=how, basis=basis, url=url))
        return tuple(routes)

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
        start, end, known, _ = self.window(rid, f"{where}.in_force", spec.get("in_force"))
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
            in_force_from=start,
            in_force_to=end,
            commencement_known=known,
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
        if not isinstance(on_unknown, str) or on_unknown not in ON_UNKNOWN:
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
        in_force_from, in_force_to, known, retroactive = self.window(
            rid, "in_force", raw.get("in_force"), rule=True
        )
        fallback = self.boolean(rid, "fallback", raw.get("fallback", False))
        prevails = raw.get("prevails_over", [])
        if not isinstance(prevails, list) or not all(isinstance(x, str) for x in prevails):
            self.problem(rid, "prevails_over", "must be a list of rule ids")
            prevails = []
        if prevails and action not in (Action.RESTRICT, Action.RETAIN):
            self.problem(
                rid,
                "prevails_over",
                "only a rule that keeps the data (restrict or retain) can prevail over others",
            )

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
            retroactive=retroactive,
            commencement_known=known,
            prevails_over=frozenset(prevails),
        )

    def check_fallback(
        self, rid: str, raw: Mapping[str, Any], action: Action | None, trig: tuple[str, ...]
    ) -> None:
        if raw.get("when"):
            self.problem(rid, "when", "a fallback rule applies to every record: no conditions")
        if "in_force" in raw:
            self.problem(rid, "in_force", "a fallback rule must always be in force")
        if "prevails_over" in raw:
            self.problem(rid, "prevails_over", "a fallback rule prevails over nothing")
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
        basis = self.enum(rid, "respond.basis", raw.get("basis", "statutory"), DeadlineBasis)
        ext_raw = raw.get("extension")
        ext_param = (
            self.params.get(ext_raw["param"])
            if isinstance(ext_raw, Mapping) and isinstance(ext_raw.get("param"), str)
            else None
        )
        period_raw = raw.get("period")
        period_param = (
            self.params.get(period_raw["param"])
            if isinstance(period_raw, Mapping) and isinstance(period_raw.get("param"), str)
            else None
        )
        controller = period_param is not None and period_param.src is SourceType.CONTROLLER
        if basis is DeadlineBasis.SERVICE_TARGET:
            if not controller:
                self.problem(
                    rid,
                    "respond.period",
                    "a service target is the agency's own figure: give it as a parameter with "
                    'src = "C"',
                )
            if "extension" in raw:
                self.problem(
                    rid, "respond.extension", "a service target has no statutory extension"
                )
        elif basis is DeadlineBasis.STATUTORY and controller:
            self.problem(
                rid,
                "respond.basis",
                "a controller-chosen period (src C) is a service target, never a statutory "
                'deadline: write basis = "service_target"',
            )
        start, end, _, _ = self.window(rid, "respond.in_force", raw.get("in_force"))
        notice: Callable[[Facts], date | None] | None = None
        notice_name = raw.get("extension_notice")
        if notice_name is not None:
            spec = self.date_fact(rid, "respond.extension_notice", notice_name)
            if spec is not None:
                notice = date_getter(spec)
            if extension is None:
                self.problem(rid, "respond.extension", "an extension notice needs an extension")
        if trigger is None or period is None or calendar is None or basis is None:
            return None
        return Respond(
            trigger,
            trigger_facts,
            period,
            calendar,
            extension,
            notice,
            basis=basis,
            in_force_from=start,
            in_force_to=end,
            extension_param=ext_param,
        )

    def window(
        self, rid: str, field: str, raw: object, *, rule: bool = False
    ) -> tuple[date | None, date | None, bool, bool]:
        """(from, to, commencement known, retroactive) of an ``in_force`` table. ``from`` may
        be "unknown" on a rule or a parameter (a commencement RULES.md could not confirm)."""
        if raw is None:
            return None, None, True, False
        if not isinstance(raw, Mapping):
            self.problem(rid, field, "must be a table { from = DATE, to = DATE }")
            return None, None, True, False
        self.unknown_keys(rid, field, raw, RULE_IN_FORCE_KEYS if rule else IN_FORCE_KEYS)
        known = True
        raw_from = raw.get("from")
        if raw_from == UNKNOWN_DATE and (rule or field.startswith("parameters.")):
            known, start = False, None
        else:
            start = self.date(rid, f"{field}.from", raw_from)
        end = self.date(rid, f"{field}.to", raw.get("to"))
        if start and end and end < start:
            self.problem(rid, f"{field}.to", "is before in_force.from")
        retroactive = self.boolean(rid, f"{field}.retroactive", raw.get("retroactive", False))
        if retroactive and start is None:
            self.problem(rid, f"{field}.retroactive", "a retroactive text needs a known from date")
        return start, end, known, retroactive
