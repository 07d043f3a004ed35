"""Properties of the evaluator that must hold for any facts (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from policies import Facts, bundled_pack, evaluate
from policies.vocabulary import Action

PACKS = {
    "GB-ENG": "gb-eng-custody-images",
    "US-CA": "us-ca",
    "US-IL": "us-il-bipa",
    "US-TX": "us-tx-cubi",
    "EU": "eu-gdpr-led",
}
DAYS = st.dates(min_value=date(2018, 1, 1), max_value=date(2030, 12, 31))
MAYBE_DAY = st.none() | DAYS


def _opt(values: list[Any]) -> st.SearchStrategy[Any]:
    return st.none() | st.sampled_from(values)


@st.composite
def facts_docs(draw: st.DrawFn) -> dict[str, Any]:
    captured = draw(DAYS)
    doc: dict[str, Any] = {
        "id": "p",
        "jurisdiction": draw(st.sampled_from(sorted(PACKS))),
        "captured_on": captured.isoformat(),
        "holder": draw(_opt(["law_enforcement", "private_entity"])),
        "data_kind": draw(_opt(["booking_photo", "face_template", "social_media_post"])),
        "outcome": draw(
            _opt(
                [
                    "pending",
                    "no_further_action",
                    "convicted",
                    "acquitted",
                    "conviction_quashed",
                    "factually_innocent",
                    "cautioned",
                ]
            )
        ),
        "offence_class": draw(_opt(["violent", "nonviolent", "sexual", "serious"])),
        "legal_basis": draw(_opt(["arrest", "consent", "conviction", "statute"])),
        "mopi_group": draw(st.none() | st.integers(1, 3)),
        "age_at_capture": draw(st.none() | st.integers(10, 80)),
        "retrial_possible": draw(st.none() | st.booleans()),
        "legal_hold": draw(st.booleans()),
        "hold_kind": draw(_opt(["evidence", "litigation", "subpoena", "warrant"])),
        "exceptional_reason": draw(st.booleans()),
        "body_camera": draw(st.booleans()),
    }
    for name in (
        "arrest_date",
        "outcome_on",
        "sealed_on",
        "consent_given_on",
        "consent_withdrawn_on",
        "consent_expires_on",
        "purpose_satisfied_on",
        "last_interaction_on",
        "posted_on",
        "reviewed_on",
    ):
        offset = draw(st.none() | st.integers(0, 2000))
        if offset is not None:
            doc[name] = (captured + timedelta(days=offset)).isoformat()
    if draw(st.booleans()):
        received = captured + timedelta(days=draw(st.integers(0, 2000)))
        doc["request"] = {
            "kind": draw(st.sampled_from(["erasure", "restriction", "takedown"])),
            "received_on": received.isoformat(),
            "grounds_shown": draw(st.none() | st.booleans()),
        }
    return doc


@settings(max_examples=400, deadline=None)
@given(doc=facts_docs(), today=DAYS)
def test_a_held_record_is_never_purged(doc: dict[str, Any], today: date) -> None:
    doc["legal_hold"] = True
    facts = Facts.from_json(doc)
    assert evaluate(bundled_pack(PACKS[doc["jurisdiction"]]), facts, today).action is not (
        Action.PURGE
    )


@settings(max_examples=300, deadline=None)
@given(doc=facts_docs(), today=DAYS)
def test_decisions_are_deterministic(doc: dict[str, Any], today: date) -> None:
    pack = bundled_pack(PACKS[doc["jurisdiction"]])
    first = evaluate(pack, Facts.from_json(doc), today)
    again = evaluate(pack, Facts.from_json(dict(doc)), today)
    assert first == again
    assert first.to_json() == again.to_json()


@settings(max_examples=400, deadline=None)
@given(doc=facts_docs(), today=DAYS)
def test_no_due_date_precedes_its_trigger(doc: dict[str, Any], today: date) -> None:
    pack = bundled_pack(PACKS[doc["jurisdiction"]])
    facts = Facts.from_json(doc)
    decision = evaluate(pack, facts, today)
    if decision.rule.endswith("/-"):  # outside the pack's reach: review from capture
        assert decision.due_on == facts.captured_on
        return
    rule = pack.rule(decision.rule.split("/", 1)[1])
    assert rule.trigger is not None
    start = rule.trigger(facts)
    assert start is not None
    assert decision.due_on >= start
    if decision.respond_by is not None and facts.request is not None:
        assert decision.respond_by >= facts.request.received_on


@settings(max_examples=400, deadline=None)
@given(doc=facts_docs(), first=DAYS, gap=st.integers(1, 3000))
def test_a_later_day_never_moves_a_purge_later(doc: dict[str, Any], first: date, gap: int) -> None:
    # us-ca rules change on 1 Jan 2024 (PC 13665 as amended); compare days under one text.
    if doc["jurisdiction"] == "US-CA":
        first = max(first, date(2024, 1, 1))
    pack = bundled_pack(PACKS[doc["jurisdiction"]])
    facts = Facts.from_json(doc)
    before = evaluate(pack, facts, first)
    after = evaluate(pack, facts, first + timedelta(days=gap))
    if before.action is Action.PURGE:
        assert after.action is Action.PURGE
        assert after.due_on <= before.due_on
