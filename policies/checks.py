"""Checks on a valid pack that are warnings, not load errors: dated texts whose periods can run
past their own window.

Layer: ``policies`` (standard library only; never ``retention`` or ``web``). ``mugshot policy
check`` prints these after "ok". A warning does not stop a pack from loading: the evaluator never
produces a due date outside the window of the text that created the duty (it sends such a duty
to review instead), so the warning tells the pack author where that will happen.
"""

from __future__ import annotations

from policies.language import Period
from policies.pack import Pack, Rule


def window_warnings(pack: Pack) -> tuple[str, ...]:
    """One sentence per dated rule, respond clause or parameter whose period can cross the end
    (or, for an unknown commencement, the unverified start) of its own text."""
    out: list[str] = []
    for rule in pack.rules:
        out.extend(_rule_warnings(pack, rule))
    return tuple(out)


def _rule_warnings(pack: Pack, rule: Rule) -> list[str]:
    out: list[str] = []
    periods: list[tuple[str, Period]] = []
    if rule.period is not None:
        periods.append(("period", rule.period))
    if rule.respond is not None:
        periods.append(("respond.period", rule.respond.period))
    if rule.in_force_to is not None:
        for where, period in periods:
            out.append(
                f"rule {rule.id}: {where} {period} can run past the end of its text "
                f"({rule.in_force_to.isoformat()}); a duty arising in the last {period} of the "
                "text goes to review instead of falling due under a repealed text"
            )
    if not rule.commencement_known:
        out.append(
            f"rule {rule.id}: commencement unknown; its duties go to review until a date is "
            "confirmed (RULES.md §8.7)"
        )
    respond = rule.respond
    if respond is not None and respond.in_force_to is not None:
        out.append(
            f"rule {rule.id}: respond.period {respond.period} can run past the end of its text "
            f"({respond.in_force_to.isoformat()}); such a deadline is not given"
        )
    if respond is not None and respond.extension_param is not None:
        param = respond.extension_param
        if not param.commencement_known:
            out.append(
                f"rule {rule.id}: extension {param.name} has an unknown commencement; an "
                "extension notice leaves the first deadline and goes to review (RULES.md §8.7)"
            )
        elif param.in_force_to is not None:
            out.append(
                f"rule {rule.id}: extension {param.name} ends {param.in_force_to.isoformat()}; "
                "requests started after it get no extension"
            )
    extension = respond.extension_param if respond is not None else None
    for name in rule.parameters:
        figure = pack.parameters.get(name)
        if figure is None or figure is extension:
            continue
        if figure.in_force_to is not None or not figure.commencement_known:
            out.append(
                f"rule {rule.id}: parameter {name} is dated; an event outside its text goes "
                "to review"
            )
    return out
