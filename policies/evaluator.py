"""The pure evaluator: ``evaluate(pack, facts, today) -> Decision``.

Layer: ``policies`` (standard library only; never ``retention`` or ``web``). No clock, no I/O, no
randomness: the same pack, facts and day always give the same decision.

How a decision is reached (RULES.md §8, written down in ``docs/policies.md``):

1. Every rule in force on ``today`` is matched against the facts (true, false, or unknown when
   a fact it needs is unknown). A match contributes its denied purposes, its response deadline
   and — if it has an action and its trigger event has happened — a *candidate*: an action and
   the date it falls due (trigger + period under the rule's calendar; a rule with a response
   deadline and no period falls due with that deadline, a timely extension included).
2. Candidates are adjusted: an unknown match becomes a review due on the trigger date (§8.7); a
   rule using an unverified parameter becomes a review (§8.7); under a legal hold a purge becomes
   a restriction (§8.1), or a review when the rule is a mandatory destruction the statute does
   not subordinate to that kind of hold (§8.2); a review due on or before ``reviewed_on`` has
   been done; a policy-presumption purge yields to a statute that keeps or locks the data (§8.6);
   once a purge is scheduled, plain keep-or-not reviews (periodic, MoPI…) are moot and dropped.
3. The decision is the most severe candidate already due (purge > review of a conflict >
   restrict > review > retain; of two due purges the earlier), else the earliest upcoming one
   (§8.3: the earlier deadline wins). The fallback rule is always a candidate, so no record is
   kept without a review date (LED Art 5 / DPA 2018 s.39).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from policies.calendars import due_date
from policies.decision import Decision, FactValue
from policies.facts import Facts
from policies.language import ABSENT
from policies.pack import Pack, Respond, Rule
from policies.vocabulary import Action, Authority, Purpose

_RANK_PURGE = 4
_RANK_CONFLICT = 3
_RANK_RESTRICT = 2
_RANK_REVIEW = 1
_RANK_RETAIN = 0
_RANK = {
    Action.PURGE: _RANK_PURGE,
    Action.RESTRICT: _RANK_RESTRICT,
    Action.REVIEW: _RANK_REVIEW,
    Action.RETAIN: _RANK_RETAIN,
}


@dataclass(slots=True)
class _Candidate:
    rule: Rule
    action: Action
    due_on: date
    rank: int
    retain_until: date | None
    note: str
    hold: bool
    plain_review: bool = False


def evaluate(pack: Pack, facts: Facts, today: date) -> Decision:
    """Decide what must happen to the record described by ``facts`` under ``pack`` on ``today``.

    Pure: reads nothing but its arguments. See ``policies.decision`` for what the fields mean.
    """
    if not pack.in_force(today):
        return _outside(pack, facts, f"pack {pack.id} is not in force on {today.isoformat()}")
    if pack.jurisdictions and facts.jurisdiction not in pack.jurisdictions:
        return _outside(
            pack, facts, f"pack {pack.id} does not govern jurisdiction {facts.jurisdiction.value}"
        )
    jurisdiction = facts.jurisdiction.value
    reviewed = facts.reviewed_on
    candidates: list[_Candidate] = []
    denied: set[Purpose] = set()
    respond_by: date | None = None

    for rule in pack.rules:
        if (rule.in_force_from or rule.in_force_to) and not rule.in_force(today):
            continue
        truth = rule.match(facts)
        if truth is False or (truth is None and not rule.on_unknown_review):
            continue
        if rule.deny_purposes:
            # A purpose gate denies when it applies or might apply: use needs proof (§8.7).
            denied.update(rule.deny_purposes)
        answer = None
        if rule.respond is not None:
            answer = _respond_by(rule.respond, facts, jurisdiction)
            if answer is not None and (respond_by is None or answer < respond_by):
                respond_by = answer
        action = rule.action
        if action is None or rule.trigger is None:
            continue
        start = rule.trigger(facts)
        if start is None:
            continue
        if truth is None:
            candidates.append(
                _Candidate(
                    rule,
                    Action.REVIEW,
                    start,
                    _RANK_REVIEW,
                    None,
                    "; a fact this rule needs is unknown, so a person decides (RULES.md §8.7)",
                    False,
                )
            )
            if reviewed is not None and start <= reviewed:
                candidates.pop()
            continue
        period = rule.period
        timed = True
        if period is not None and rule.calendar is not None:
            due = due_date(start, period.amount, period.unit, rule.calendar, jurisdiction)
        elif answer is not None:
            # No period of its own: the action falls due with the rule's response deadline,
            # extension included (the 2017 Review's decision runs to the s.54 deadline).
            due = answer
        else:
            due, timed = start, False
        retain_until = due if timed and action in _RETAINING else None
        note = ""
        rank = _RANK[action]
        hold = False
        if rule.needs_review and action is not Action.REVIEW:
            action, rank = Action.REVIEW, _RANK_REVIEW
            note = "; it rests on an unverified parameter, so a person decides (RULES.md §8.7)"
        if action is Action.PURGE and facts.legal_hold:
            hold = True
            kind = facts.hold_kind
            if rule.mandatory and (kind is None or kind not in rule.yields_to):
                action, rank = Action.REVIEW, _RANK_CONFLICT
                note = (
                    "; a statutory destruction duty meets a legal hold, so counsel decides "
                    "(RULES.md §8.2)"
                )
            else:
                action, rank = Action.RESTRICT, _RANK_RESTRICT
                note = "; a legal hold turns the purge into a restriction (RULES.md §8.1)"
        if action is Action.REVIEW and reviewed is not None and due <= reviewed:
            continue
        plain = rule.action is Action.REVIEW
        candidates.append(_Candidate(rule, action, due, rank, retain_until, note, hold, plain))

    candidates = _policy_yields_to_statute(candidates)
    if any(c.action is Action.PURGE for c in candidates):
        # Reviewing whether to keep data already scheduled for destruction is moot; reviews that
        # guard a purge (unknown facts, unverified figures, hold conflicts) stay.
        candidates = [c for c in candidates if not c.plain_review]
    if not candidates:
        return _outside(pack, facts, "no rule gives this record a due date")

    due_now = [c for c in candidates if c.due_on <= today]
    if due_now:
        winner = max(due_now, key=lambda c: (c.rank, -c.due_on.toordinal()))
    else:
        winner = min(candidates, key=lambda c: (c.due_on, -c.rank))
    # A restriction settles nothing by itself: a review that is already due (an unknown fact, a
    # periodic review) stays the record's next step, or a locked record would be kept with no
    # review date at all (RULES.md §8.7; LED Art 5 / DPA 2018 s.39).
    locked = winner.action is Action.RESTRICT and winner.due_on <= today
    later = [
        c
        for c in candidates
        if c is not winner
        and c.action is not winner.action
        and (
            (c.due_on > today and c.due_on >= winner.due_on)
            or (locked and c.action is Action.REVIEW)
        )
    ]
    following = min(later, key=lambda c: (c.due_on, -c.rank)) if later else None

    return Decision(
        action=winner.action,
        due_on=winner.due_on,
        rule=f"{pack.id}/{winner.rule.id}",
        pack=pack.id,
        pack_version=pack.version,
        citation=winner.rule.citation,
        explanation=winner.rule.explanation.rstrip(".") + winner.note + ".",
        purposes=_purposes(pack, winner, today).difference(denied),
        retain_until=winner.retain_until,
        respond_by=respond_by,
        next_action=following.action if following is not None else None,
        next_due_on=following.due_on if following is not None else None,
        facts_used=_facts_used(winner, facts),
        record_id=facts.id,
    )


_RETAINING = frozenset({Action.RETAIN, Action.PURGE})


def _respond_by(spec: Respond, facts: Facts, jurisdiction: str) -> date | None:
    start = spec.trigger(facts)
    if start is None:
        return None
    period = spec.period
    first = due_date(start, period.amount, period.unit, spec.calendar, jurisdiction)
    if spec.extension is not None and spec.extension_notice is not None:
        notice = spec.extension_notice(facts)
        # The extension counts only if notified within the first period (GDPR Art 12(3);
        # DPA 2018 s.54(3B)); the period then runs from the same start.
        if notice is not None and notice <= first:
            total = period.amount + spec.extension.amount
            return due_date(start, total, period.unit, spec.calendar, jurisdiction)
    return first


def _policy_yields_to_statute(candidates: list[_Candidate]) -> list[_Candidate]:
    # RULES.md §8.6: a policy presumption (the 2017 Review) gives way where a statute keeps or
    # locks the same data (DPA 2018 Part 3).
    if not any(
        c.action is Action.PURGE and c.rule.authority is Authority.POLICY for c in candidates
    ):
        return candidates
    keep = [
        c
        for c in candidates
        if c.rule.authority is Authority.STATUTE and c.action in (Action.RESTRICT, Action.RETAIN)
    ]
    if not keep:
        return candidates
    return [
        c
        for c in candidates
        if not (
            c.action is Action.PURGE
            and c.rule.authority is Authority.POLICY
            and any(k.action is Action.RESTRICT or k.due_on > c.due_on for k in keep)
        )
    ]


def _purposes(pack: Pack, winner: _Candidate, today: date) -> frozenset[Purpose]:
    rule = winner.rule
    due = winner.due_on <= today
    if winner.action is Action.PURGE and due:
        return frozenset()
    if winner.action is Action.RESTRICT and due:
        if rule.action is Action.RESTRICT and rule.purposes is not None:
            return rule.purposes
        return pack.restricted_purposes
    if rule.purposes is None or rule.action is Action.RESTRICT:
        return pack.default_purposes
    return rule.purposes


def _facts_used(winner: _Candidate, facts: Facts) -> tuple[tuple[str, FactValue], ...]:
    out = [
        (name, None if (value := get(facts)) is ABSENT else value)
        for name, get in winner.rule.fact_getters
    ]
    if winner.hold:
        out.append(("legal_hold", facts.legal_hold))
        out.append(("hold_kind", facts.hold_kind))
    return tuple(out)  # type: ignore[arg-type]


def _outside(pack: Pack, facts: Facts, why: str) -> Decision:
    # Outside the pack's reach nothing is known, so a person decides (RULES.md §8.7); the due
    # date is fixed to the capture date so re-evaluating on another day changes nothing.
    return Decision(
        action=Action.REVIEW,
        due_on=facts.captured_on,
        rule=f"{pack.id}/-",
        pack=pack.id,
        pack_version=pack.version,
        citation="rules-s8.7: unknown or unverified parameters go to human review",
        explanation=f"{why}, so a person decides (RULES.md §8.7).",
        purposes=frozenset(),
        record_id=facts.id,
        facts_used=(("jurisdiction", facts.jurisdiction),),
    )
