"""The pure evaluator: ``evaluate(pack, facts, today) -> Decision``.

Layer: ``policies`` (standard library only; never ``retention`` or ``web``). No clock, no I/O, no
randomness: the same pack, facts and day always give the same decision.

How a decision is reached (RULES.md §8, written down in ``docs/policies.md``):

1. Every rule is matched against the facts (true, false, or unknown when a fact it needs is
   unknown). A match contributes its denied purposes (if its text is in force on ``today``), its
   response deadline and — if it has an action, its trigger event has happened and the text in
   force on that event is this rule's — a *candidate*: an action and the date it falls due
   (trigger + period under the rule's calendar; a rule with a response deadline and no period
   falls due with that deadline, a timely extension included). A due date outside the text's
   window, a figure not in force on the event, or an unknown commencement makes it a review.
   Statutory deadlines win over service targets.
2. Candidates are adjusted: an unknown match becomes a review due on the trigger date (§8.7); a
   rule using an unverified parameter becomes a review (§8.7); under a legal hold a purge becomes
   a restriction (§8.1), or a review when the rule is a mandatory destruction the statute does
   not subordinate to that kind of hold (§8.2); a review due on or before ``reviewed_on`` has
   been done; erasures a subject's restriction request prevails over are dropped (GDPR Art 18);
   a policy-presumption purge yields to a statute that keeps or locks the data (§8.6);
   once a purge is scheduled, plain keep-or-not reviews (periodic, MoPI…) are moot and dropped.
3. The decision is the most severe candidate already due (purge > review of a conflict >
   restrict > review > retain; of two due purges the earlier), else the earliest upcoming one
   (§8.3: the earlier deadline wins). The fallback rule is always a candidate, so no record is
   kept without a review date (LED Art 5 / DPA 2018 s.39).
4. Purposes come from the holder and legal basis; from the day a held-back destruction duty
   falls due they narrow to evidence and legal claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

from policies.calendars import due_date
from policies.decision import Decision, FactValue
from policies.facts import Facts
from policies.language import ABSENT
from policies.pack import Match, Pack, Parameter, Respond, Rule, Trigger
from policies.vocabulary import (
    Action,
    Authority,
    DeadlineBasis,
    ExtensionStatus,
    Holder,
    LegalBasis,
    Purpose,
)

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
    # The rule's own match was unknown (a fact it needs is missing), so it became a review.
    unknown: bool = False


@dataclass(frozen=True, slots=True)
class _Answer:
    rule: Rule
    due_on: date
    basis: DeadlineBasis
    extension: ExtensionStatus
    # A recorded extension notice whose legal basis is unverified: a person decides (§8.7).
    review_on: date | None = None


class _Text(Enum):
    """Whether a dated rule's text governs an event."""

    APPLIES = 1
    NOT_IN_FORCE = 2
    UNVERIFIED = 3


def _text(rule: Rule, event: date, today: date) -> _Text:
    # The text in force on the event (receipt, posting, arrest...) governs it; a retroactive text
    # also reaches earlier events, once it is in force. A text never decides before it exists.
    if not rule.dated:
        return _Text.APPLIES
    if rule.in_force_to is not None and event > rule.in_force_to:
        return _Text.NOT_IN_FORCE
    if not rule.commencement_known:
        return _Text.UNVERIFIED
    start = rule.in_force_from
    if start is not None and (today < start or (event < start and not rule.retroactive)):
        return _Text.NOT_IN_FORCE
    return _Text.APPLIES


def _runs_from(rule: Rule, event: date) -> date:
    # A retroactive text's period cannot start before the text itself.
    if rule.retroactive and rule.in_force_from is not None and event < rule.in_force_from:
        return rule.in_force_from
    return event


@dataclass(frozen=True, slots=True)
class _Step:
    """One rule as the evaluator walks it on one evaluation day, everything that does not
    depend on the record worked out once (``_plan``)."""

    rule: Rule
    match: Match
    on_unknown_review: bool
    # Purposes this rule's gate denies on the evaluation day (empty while its text is not in
    # force then).
    deny: frozenset[Purpose]
    respond: Respond | None
    action: Action | None
    trigger: Trigger | None
    dated: bool
    # Figures whose text has a window of its own: checked against the start of each period.
    dated_parameters: tuple[tuple[str, Parameter], ...]


@dataclass(frozen=True, slots=True)
class _Plan:
    pack: Pack
    today: date
    steps: tuple[_Step, ...]
    # Holder purposes by (holder, legal basis), filled as records arrive.
    purposes: dict[
        tuple[Holder | None, LegalBasis | None], tuple[frozenset[Purpose], frozenset[Purpose]]
    ]


# The last plans built: one pack on one day covers a whole run, so a handful is plenty. Keyed by
# the pack's identity; the plan keeps the pack alive, so an id is never reused while cached.
_PLANS: dict[tuple[int, date], _Plan] = {}
_PLANS_MAX = 16


def _plan(pack: Pack, today: date) -> _Plan:
    plan = _PLANS.get((id(pack), today))
    if plan is not None and plan.pack is pack:
        return plan
    steps = []
    for rule in pack.rules:
        dated = rule.dated
        # A purpose gate applies while its text is in force on the evaluation day; duties are
        # chosen by the text in force on their own event.
        gate_open = not dated or rule.in_force(today)
        if not gate_open and rule.action is None and rule.respond is None:
            continue
        skip = rule.respond.extension_param if rule.respond is not None else None
        checked = []
        for name in rule.parameters:
            param = pack.parameters.get(name)
            if param is None or param is skip:
                continue
            if (
                param.in_force_from is None
                and param.in_force_to is None
                and param.commencement_known
            ):
                continue  # in force on every day
            checked.append((name, param))
        steps.append(
            _Step(
                rule=rule,
                match=rule.match,
                on_unknown_review=rule.on_unknown_review,
                deny=rule.deny_purposes if gate_open else frozenset(),
                respond=rule.respond,
                action=rule.action if rule.trigger is not None else None,
                trigger=rule.trigger,
                dated=dated,
                dated_parameters=tuple(checked),
            )
        )
    plan = _Plan(pack, today, tuple(steps), {})
    if len(_PLANS) >= _PLANS_MAX:
        _PLANS.clear()
    _PLANS[(id(pack), today)] = plan
    return plan


def _holder_purposes(
    plan: _Plan, holder: Holder | None, basis: LegalBasis | None
) -> tuple[frozenset[Purpose], frozenset[Purpose]]:
    key = (holder, basis)
    found = plan.purposes.get(key)
    if found is None:
        found = plan.purposes[key] = plan.pack.purposes_for(holder, basis)
    return found


def evaluate(pack: Pack, facts: Facts, today: date) -> Decision:
    """Decide what must happen to the record described by ``facts`` under ``pack`` on ``today``.

    Pure: reads nothing but its arguments (the plan cache holds only what the pack and the day
    determine). See ``policies.decision`` for what the fields mean.
    """
    if not pack.in_force(today):
        return _outside(pack, facts, f"pack {pack.id} is not in force on {today.isoformat()}")
    if pack.jurisdictions and facts.jurisdiction not in pack.jurisdictions:
        return _outside(
            pack, facts, f"pack {pack.id} does not govern jurisdiction {facts.jurisdiction.value}"
        )
    plan = _plan(pack, today)
    jurisdiction = facts.jurisdiction.value
    reviewed = facts.reviewed_on
    candidates: list[_Candidate] = []
    denied: set[Purpose] = set()
    answers: list[_Answer] = []

    for step in plan.steps:
        truth = step.match(facts)
        if truth is False or (truth is None and not step.on_unknown_review):
            continue
        rule = step.rule
        if step.deny:
            # A purpose gate denies when it applies or might apply: use needs proof (§8.7).
            denied.update(step.deny)
        answer = None
        if step.respond is not None:
            reply = _respond_by(rule, step.respond, facts, jurisdiction, today)
            if reply is not None:
                answers.append(reply)
                answer = reply.due_on
                if reply.review_on is not None and not (
                    reviewed is not None and reply.review_on <= reviewed
                ):
                    candidates.append(
                        _Candidate(
                            rule,
                            Action.REVIEW,
                            reply.review_on,
                            _RANK_REVIEW,
                            None,
                            "; an extension notice was recorded but the commencement of the "
                            "text allowing it is unverified, so the first deadline stands and "
                            "a person decides (RULES.md §8.7)",
                            False,
                        )
                    )
        action = step.action
        if action is None:
            continue
        event = step.trigger(facts)  # type: ignore[misc]  # set wherever action is
        if event is None:
            continue
        if step.dated:
            text = _text(rule, event, today)
            if text is _Text.NOT_IN_FORCE:
                continue
            if text is _Text.UNVERIFIED:
                if not (reviewed is not None and event <= reviewed):
                    candidates.append(
                        _Candidate(
                            rule,
                            Action.REVIEW,
                            event,
                            _RANK_REVIEW,
                            None,
                            "; the commencement of the text is unverified, so a person decides "
                            "whether it applies (RULES.md §8.7)",
                            False,
                        )
                    )
                continue
            start = _runs_from(rule, event)
        else:
            start = event
        if truth is None:
            if not (reviewed is not None and start <= reviewed):
                candidates.append(
                    _Candidate(
                        rule,
                        Action.REVIEW,
                        start,
                        _RANK_REVIEW,
                        None,
                        "; a fact this rule needs is unknown, so a person decides (RULES.md §8.7)",
                        False,
                        unknown=True,
                    )
                )
            continue
        outside = _figure_outside(step.dated_parameters, start) if step.dated_parameters else None
        if outside is not None:
            if not (reviewed is not None and start <= reviewed):
                candidates.append(
                    _Candidate(
                        rule,
                        Action.REVIEW,
                        start,
                        _RANK_REVIEW,
                        None,
                        f"; the text giving {outside} was not in force, or not known to be, on "
                        f"{start.isoformat()}, so a person decides (RULES.md §8.7)",
                        False,
                    )
                )
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
        if rule.in_force_to is not None and due > rule.in_force_to:
            # Never a due date outside the text that created the duty: it lapsed before falling
            # due, so a person decides what the text in force now requires (§8.7). Moot where
            # the successor text schedules a purge of its own.
            lapsed = rule.in_force_to
            if not (reviewed is not None and lapsed <= reviewed):
                candidates.append(
                    _Candidate(
                        rule,
                        Action.REVIEW,
                        lapsed,
                        _RANK_REVIEW,
                        None,
                        f"; the text that created this duty ended on {lapsed.isoformat()}, "
                        f"before it fell due on {due.isoformat()}, so a person decides under the "
                        "text in force now (RULES.md §8.7)",
                        False,
                        plain_review=True,
                    )
                )
            continue
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

    candidates = _subject_restriction_prevails(candidates)
    candidates = _policy_yields_to_statute(candidates)
    # A destruction duty already due that a hold or counsel's review keeps from being carried
    # out: until it is, the record serves evidence and legal claims only (narrowed below).
    held_back = [c.due_on for c in candidates if c.hold]
    narrow_from = min(held_back) if held_back else None
    overdue_duty = narrow_from is not None and narrow_from <= today
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
    reply = _governing_answer(answers)
    default, restricted = _holder_purposes(plan, facts.holder, facts.legal_basis)
    purposes = _purposes(default, restricted, winner, today).difference(denied)
    narrowed = restricted.difference(denied)
    if overdue_duty:
        purposes = narrowed

    return Decision(
        action=winner.action,
        due_on=winner.due_on,
        rule=f"{pack.id}/{winner.rule.id}",
        pack=pack.id,
        pack_version=pack.version,
        citation=winner.rule.citation,
        explanation=winner.rule.explanation.rstrip(".") + winner.note + ".",
        purposes=purposes,
        retain_until=winner.retain_until,
        respond_by=reply.due_on if reply is not None else None,
        respond_basis=reply.basis if reply is not None else None,
        extension=reply.extension if reply is not None else None,
        respond_rule=f"{pack.id}/{reply.rule.id}" if reply is not None else None,
        purposes_narrow_from=narrow_from,
        narrowed=narrowed if narrow_from is not None else frozenset(),
        next_action=following.action if following is not None else None,
        next_due_on=following.due_on if following is not None else None,
        facts_used=_facts_used(winner, facts),
        record_id=facts.id,
    )


_RETAINING = frozenset({Action.RETAIN, Action.PURGE})


def _figure_outside(checked: tuple[tuple[str, Parameter], ...], start: date) -> str | None:
    # Every figure a duty uses must come from a text in force when its period starts; the
    # response extension is judged separately (``_respond_by``). ``checked`` leaves out the
    # figures in force on every day (``_plan``).
    for name, param in checked:
        if param.in_force_on(start) is not True:
            return f"parameter {name}"
    return None


def _respond_by(
    rule: Rule, spec: Respond, facts: Facts, jurisdiction: str, today: date
) -> _Answer | None:
    event = spec.trigger(facts)
    if event is None:
        return None
    # The response duty of the text in force when the period starts (receipt of the request,
    # or the later relevant time).
    if _text(rule, event, today) is not _Text.APPLIES:
        return None
    start = _runs_from(rule, event)
    if spec.in_force_from is not None and start < spec.in_force_from:
        return None
    if spec.in_force_to is not None and start > spec.in_force_to:
        return None
    period = spec.period
    first = due_date(start, period.amount, period.unit, spec.calendar, jurisdiction)
    for end in (spec.in_force_to, rule.in_force_to):
        if end is not None and first > end:
            return None  # never a deadline outside the text that set it
    if spec.extension is None or spec.extension_notice is None:
        return _Answer(rule, first, spec.basis, ExtensionStatus.NOT_PROVIDED)
    param = spec.extension_param
    exists = param.in_force_on(start) if param is not None else True
    notice = spec.extension_notice(facts)
    if exists is False:
        return _Answer(rule, first, spec.basis, ExtensionStatus.NOT_IN_FORCE)
    if exists is None:
        # DPA 2018 s.54(3A) was inserted later and its commencement is unconfirmed (RULES.md
        # §10.5): the earlier deadline stands, and a recorded notice goes to a person.
        return _Answer(rule, first, spec.basis, ExtensionStatus.UNVERIFIED, review_on=notice)
    if notice is None:
        status = ExtensionStatus.AVAILABLE if today <= first else ExtensionStatus.LATE
        return _Answer(rule, first, spec.basis, status)
    # The extension counts only if notified within the first period (GDPR Art 12(3);
    # DPA 2018 s.54(3B)); the period then runs from the same start.
    if notice <= first:
        total = period.amount + spec.extension.amount
        extended = due_date(start, total, period.unit, spec.calendar, jurisdiction)
        return _Answer(rule, extended, spec.basis, ExtensionStatus.GRANTED)
    return _Answer(rule, first, spec.basis, ExtensionStatus.LATE)


def _governing_answer(answers: list[_Answer]) -> _Answer | None:
    # A statute's deadline governs wherever one applies (the earliest, §8.3); the agency's
    # service target only where no statute sets one.
    statutory = [a for a in answers if a.basis is DeadlineBasis.STATUTORY]
    pool = statutory or answers
    return min(pool, key=lambda a: a.due_on) if pool else None


def _subject_restriction_prevails(candidates: list[_Candidate]) -> list[_Candidate]:
    # GDPR Art 18(1)(b)-(c), LED Art 16(3)(a): where the subject asks for restriction instead of
    # erasure, erasure rules they did not ask for give way (the pack names them in
    # ``prevails_over``). While the ground is unknown those erasures wait for a person.
    beaten: set[str] = set()
    pending: set[str] = set()
    for c in candidates:
        if not c.rule.prevails_over:
            continue
        if c.action in (Action.RESTRICT, Action.RETAIN) and c.rule.action is c.action:
            beaten |= c.rule.prevails_over
        elif c.unknown:
            pending |= c.rule.prevails_over
    if not beaten and not pending:
        return candidates
    out: list[_Candidate] = []
    for c in candidates:
        if c.rule.id in beaten:
            continue
        if c.rule.id in pending and c.action is Action.PURGE:
            c.action, c.rank = Action.REVIEW, _RANK_CONFLICT
            c.note = (
                "; the subject asked for restriction instead of erasure and the ground is not "
                "yet recorded, so a person decides before anything is destroyed (GDPR Art 18)"
            )
        out.append(c)
    return out


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


def _purposes(
    default: frozenset[Purpose], restricted: frozenset[Purpose], winner: _Candidate, today: date
) -> frozenset[Purpose]:
    # Purposes come from who holds the record and on what basis (a private holder's data never
    # serve law-enforcement purposes); a rule's own list is cut down to what the holder may do.
    allowed = default | restricted
    rule = winner.rule
    due = winner.due_on <= today
    if winner.action is Action.PURGE and due:
        return frozenset()
    if winner.action is Action.RESTRICT and due:
        if rule.action is Action.RESTRICT and rule.purposes is not None:
            return rule.purposes & allowed
        return restricted
    if rule.purposes is None or rule.action is Action.RESTRICT:
        return default
    return rule.purposes & allowed


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
