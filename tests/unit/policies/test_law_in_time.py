"""Law in time and in conflict (issue 16) and the day-boundary rules of issue 13, written from the
statute text in ``../shared/law/RULES.md``; every test names its row or section.

Four classes: (1) a text decides only the events it was in force for, and never sets a date
outside its own window; (2) the subject's choice of restriction beats erasure rules they did not
ask for; (3) while a destruction duty is overdue the record serves evidence and legal claims only;
(4) purposes come from who holds the record. Then: a duty "within N days" falls due on the last
permitted day, with each jurisdiction's roll rule, and a ground already on record counts as shown.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from policies import bundled_pack, compile_pack, evaluate
from policies.checks import window_warnings
from policies.decision import narrowed_purposes
from policies.vocabulary import Action, ExtensionStatus, Holder, Purpose
from tests.unit.policies.helpers import decide, facts

D = date.fromisoformat
LE = {"holder": "law_enforcement", "data_kind": "booking_photo"}
PRIVATE_TEMPLATE = {"holder": "private_entity", "data_kind": "face_template"}
LAW_ENFORCEMENT_ONLY = {Purpose.EVIDENCE.value, Purpose.LINEUP.value, Purpose.PUBLICATION.value}


def _req(kind: str, received: str, **extra: Any) -> dict[str, Any]:
    return {"request": {"kind": kind, "received_on": received, **extra}}


# -- 1. In force: the text in force on the event decides ---------------------------------------

GB = "gb-eng-custody-images"
GB_ADULT_NFA = {
    **LE,
    "jurisdiction": "GB-ENG",
    "date_of_birth": "1990-05-05",
    "outcome": "no_further_action",
    "outcome_on": "2023-11-01",
}


@pytest.mark.parametrize(
    ("notice", "today", "action", "due"),
    [
        # The notice itself goes to a person at once; the presumption purge stays on 29 Feb.
        ("2024-02-20", "2024-02-21", Action.REVIEW, "2024-02-20"),
        ("2024-02-29", "2024-02-29", Action.PURGE, "2024-02-29"),
    ],
    ids=["notice-inside-first-month", "notice-on-the-last-day"],
)
def test_dpa_2018_s54_3a_extension_of_unconfirmed_commencement_keeps_the_first_month(
    notice: str, today: str, action: Action, due: str
) -> None:
    """uk-dpa-s48-s54; RULES.md §10.5: s.54(3A)-(3B) was inserted by a later amendment whose
    commencement is unknown, so a notice does not move the one-month deadline (31 Jan -> 29 Feb
    2024) and a person decides whether the extension applies (§8.7)."""
    d = decide(
        GB, today, **GB_ADULT_NFA, **_req("erasure", "2024-01-31", extension_notice_on=notice)
    )
    assert (d.respond_by, d.extension) == (D("2024-02-29"), ExtensionStatus.UNVERIFIED)
    assert (d.action, d.due_on) == (action, D(due))
    if action is Action.REVIEW:
        assert "commencement of the text allowing it is unverified" in d.explanation
        assert (d.next_action, d.next_due_on) == (Action.PURGE, D("2024-02-29"))


def test_dpa_2018_s54_without_a_notice_has_no_extension_to_offer() -> None:
    """uk-dpa-s48-s54: with the amendment's commencement unverified, the clerk is not offered
    an extension (the refusal says why; ``retention.requests.workflow.extension_refusal``)."""
    d = decide(GB, "2024-02-01", **GB_ADULT_NFA, **_req("erasure", "2024-01-31"))
    assert (d.respond_by, d.extension) == (D("2024-02-29"), ExtensionStatus.UNVERIFIED)


def test_gdpr_art_12_3_extension_is_in_the_text_from_the_start() -> None:
    """eu-gdpr-12-3: one month, or three with notice inside the first month (31 Jan 2025 ->
    28 Feb; -> 30 Apr 2025)."""
    eu = {"jurisdiction": "EU", **PRIVATE_TEMPLATE, "legal_basis": "consent"}
    before = decide("eu-gdpr-led", "2025-02-01", **eu, **_req("erasure", "2025-01-31"))
    assert (before.respond_by, before.extension) == (D("2025-02-28"), ExtensionStatus.AVAILABLE)
    after = decide(
        "eu-gdpr-led",
        "2025-02-11",
        **eu,
        **_req("erasure", "2025-01-31", extension_notice_on="2025-02-10"),
    )
    assert (after.respond_by, after.extension) == (D("2025-04-30"), ExtensionStatus.GRANTED)


CA_POST = {
    **LE,
    "jurisdiction": "US-CA",
    "data_kind": "social_media_post",
    "captured_on": "2023-01-05",
    "offence_class": "violent",
    "outcome": "convicted",
}


@pytest.mark.parametrize(
    ("posted", "today", "due"),
    [
        # Posted before the 2024 text: its 14 days run from 1 January 2024 (retroactive), and
        # 15 January 2024 is a California holiday (Gov. Code §6700), so the 16th.
        ("2023-12-10", "2024-02-01", "2024-01-16"),
        ("2023-12-31", "2024-01-16", "2024-01-16"),  # the day before the text
        ("2024-01-01", "2024-01-16", "2024-01-16"),  # its first day
        ("2024-01-02", "2024-01-16", "2024-01-16"),  # +14 = Tue 16 Jan
    ],
    ids=["posted-weeks-before", "posted-day-before-text", "posted-first-day", "posted-second-day"],
)
def test_pc13665_2024_text_never_falls_due_before_it_was_in_force(
    posted: str, today: str, due: str
) -> None:
    """us-ca-pc13665-v2024 (AB 994, in force 1 Jan 2024, retroactive to photos already posted);
    us-ca-time (CCP §12): a photo posted in December 2023 was not due for removal on a December
    date under a text that did not yet exist."""
    d = decide("us-ca", today, **CA_POST, posted_on=posted)
    assert (d.action, d.due_on, d.rule) == (
        Action.PURGE,
        D(due),
        "us-ca/pc13665-2024-remove-after-posting",
    )
    assert d.due_on >= D("2024-01-01")


def test_pc13665_2024_text_decides_nothing_before_1_january_2024() -> None:
    """us-ca-pc13665-v2024: on 30 Dec 2023 the 2024 text is not in force, so a violent-offence
    photo posted on 18 Dec 2023 has no removal duty yet (the 2022 text had none for it)."""
    d = decide("us-ca", "2023-12-30", **CA_POST, posted_on="2023-12-18")
    assert d.action is Action.REVIEW
    assert d.rule == "us-ca/periodic-review"


CA_NONVIOLENT_POST = {**CA_POST, "offence_class": "nonviolent", "posted_on": "2021-06-01"}


def test_pc13665_2022_request_duty_within_its_text_falls_due_under_it() -> None:
    """us-ca-pc13665-v2022 (b)(1): a request on Fri 15 Dec 2023 -> 14 days -> Fri 29 Dec 2023,
    inside the 2022 text's window (to 31 Dec 2023)."""
    d = decide("us-ca", "2023-12-21", **CA_NONVIOLENT_POST, **_req("takedown", "2023-12-15"))
    assert (d.action, d.due_on) == (Action.PURGE, D("2023-12-29"))
    assert d.rule == "us-ca/pc13665-2022-request-nonviolent"
    assert (d.respond_by, d.respond_basis.value if d.respond_basis else None) == (
        D("2023-12-29"),
        "statutory",
    )


def test_pc13665_2022_request_duty_lapsing_with_its_text_goes_to_review() -> None:
    """us-ca-pc13665-v2022 with us-ca-time: a request on 17 Dec 2023 -> 31 Dec (Sunday) -> 1 Jan
    (holiday) -> 2 Jan 2024, after the 2022 text ended on 31 Dec 2023. No date is produced under
    the repealed text: a person decides, on its last day, under the text in force (§8.7)."""
    d = decide("us-ca", "2023-12-21", **CA_NONVIOLENT_POST, **_req("takedown", "2023-12-17"))
    assert (d.action, d.due_on) == (Action.REVIEW, D("2023-12-31"))
    assert d.rule == "us-ca/pc13665-2022-request-nonviolent"
    assert "ended on 2023-12-31" in d.explanation


def test_pc13665_successor_text_takes_over_the_lapsed_request() -> None:
    """us-ca-pc13665-v2024: from 1 Jan 2024 the request of 17 Dec 2023 is due under the 2024
    text, 14 days from its commencement (16 Jan 2024 after the 15 January holiday)."""
    no_post = {**CA_NONVIOLENT_POST}
    del no_post["posted_on"]
    d = decide("us-ca", "2024-01-05", **no_post, **_req("takedown", "2023-12-17"))
    assert (d.action, d.due_on) == (Action.PURGE, D("2024-01-16"))
    assert d.rule == "us-ca/pc13665-2024-remove-after-request"
    assert d.respond_by == D("2024-01-16")


def test_policy_check_reports_dated_rules_whose_period_can_cross_their_window() -> None:
    """us-ca-pc13665-v2022 (1 Jan 2022 - 31 Dec 2023) counts 14 days: ``policy check`` warns;
    the undated BIPA pack has nothing to report."""
    warnings = window_warnings(bundled_pack("us-ca"))
    crossing = [w for w in warnings if "can run past the end of its text (2023-12-31)" in w]
    assert {w.split(":")[0] for w in crossing} == {
        "rule pc13665-2022-request-nonviolent",
        "rule pc13665-2022-request-violent",
    }
    assert window_warnings(bundled_pack("us-il-bipa")) == ()
    gb = window_warnings(bundled_pack(GB))
    assert any("response_extension has an unknown commencement" in w for w in gb)


def _dated_pack(param_window: dict[str, Any], rule_window: dict[str, Any] | None) -> Any:
    rule: dict[str, Any] = {
        "id": "r1",
        "citation": {"row": "us-il-bipa-15a", "text": "740 ILCS 14/15(a)"},
        "explanation": "x.",
        "trigger": "last_interaction_on",
        "period": {"param": "limit"},
        "calendar": "anniversary",
        "action": "purge",
    }
    if rule_window is not None:
        rule["in_force"] = rule_window
    return compile_pack(
        {
            "pack": {
                "id": "dated",
                "version": "1",
                "jurisdictions": ["US-IL"],
                "effective_from": D("2000-01-01"),
                "default_purposes": ["identification"],
            },
            "parameters": {
                "limit": {
                    "value": "3 years",
                    "row": "us-il-bipa-15a",
                    "src": "P",
                    "conf": "high",
                    "in_force": param_window,
                }
            },
            "rule": [
                rule,
                {
                    "id": "periodic-review",
                    "citation": {"row": "rules-s8.7", "text": "review"},
                    "explanation": "Reviewed.",
                    "fallback": True,
                    "trigger": "captured_on",
                    "period": "10 years",
                    "calendar": "no_roll",
                    "action": "review",
                },
            ],
        },
        "dated.toml",
    )


@pytest.mark.parametrize(
    ("interaction", "action", "due"),
    [
        ("2019-12-31", Action.REVIEW, "2019-12-31"),  # the day before the figure's text
        ("2020-01-01", Action.PURGE, "2023-01-01"),  # its first day
    ],
    ids=["day-before-figure", "first-day-of-figure"],
)
def test_a_parameter_decides_only_events_inside_its_own_window(
    interaction: str, action: Action, due: str
) -> None:
    """rules-s8.7 with a dated figure (issue 16 item 1): before the text giving the 3 years was in
    force the duty is not computed from it; a person decides."""
    pack = _dated_pack({"from": D("2020-01-01")}, None)
    d = evaluate(
        pack,
        facts(jurisdiction="US-IL", **PRIVATE_TEMPLATE, last_interaction_on=interaction),
        D("2024-06-01"),
    )
    assert (d.action, d.due_on) == (action, D(due))


def test_a_rule_of_unknown_commencement_goes_to_review_not_to_purge() -> None:
    """RULES.md §8.7 and §10.5: "Unknown commencement dates stay unverified and go to review"."""
    pack = _dated_pack({}, {"from": "unknown"})
    d = evaluate(
        pack,
        facts(jurisdiction="US-IL", **PRIVATE_TEMPLATE, last_interaction_on="2020-06-01"),
        D("2024-06-01"),
    )
    assert (d.action, d.due_on) == (Action.REVIEW, D("2020-06-01"))
    assert "commencement of the text is unverified" in d.explanation


# -- 2. The subject's restriction beats erasure they did not ask for ----------------------------

EU_PRIVATE_CONSENT = {
    "jurisdiction": "EU",
    **PRIVATE_TEMPLATE,
    "legal_basis": "consent",
    "consent_given_on": "2019-12-01",
    "captured_on": "2020-01-01",
}


@pytest.mark.parametrize("ground", ["legal_claims", "unlawful_opposes_erasure"])
@pytest.mark.parametrize(
    "satisfied",
    ["2024-01-04", "2024-01-05", "2024-01-06"],
    ids=["purpose-ends-day-before-request", "same-day", "day-after"],
)
def test_gdpr_art_18_1_b_c_restriction_beats_art_17_1_a_erasure(
    ground: str, satisfied: str
) -> None:
    """eu-gdpr-18 (Art 18(1)(b): the subject opposes erasure; (c): they need the data for a legal
    claim) over eu-gdpr-17 (Art 17(1)(a)): the record is restricted, never purged, on the due day
    and after."""
    for today in (satisfied, "2024-02-01"):
        d = decide(
            "eu-gdpr-led",
            max(today, "2024-01-05"),
            **EU_PRIVATE_CONSENT,
            purpose_satisfied_on=satisfied,
            **_req("restriction", "2024-01-05", restriction_ground=ground),
        )
        assert d.action is Action.RESTRICT, d.to_json()
        assert d.rule == "eu-gdpr-led/gdpr-18-keep-instead-of-erasure"
        assert d.purposes == frozenset({Purpose.LEGAL_CLAIMS})


def test_gdpr_art_18_restriction_beats_erasure_on_consent_expiry() -> None:
    """eu-gdpr-18 (c) over eu-gdpr-17 (1)(b): consent expired, but the subject needs the data for
    a legal claim and asked for restriction."""
    d = decide(
        "eu-gdpr-led",
        "2024-03-01",
        **EU_PRIVATE_CONSENT,
        consent_expires_on="2024-02-01",
        **_req("restriction", "2024-01-20", restriction_ground="legal_claims"),
    )
    assert d.action is Action.RESTRICT


def test_gdpr_restriction_with_unrecorded_ground_never_purges() -> None:
    """eu-gdpr-18 with RULES.md §8.7: the ground decides whether erasure gives way; while it is
    not recorded, a person decides before anything is destroyed."""
    d = decide(
        "eu-gdpr-led",
        "2024-02-01",
        **EU_PRIVATE_CONSENT,
        purpose_satisfied_on="2024-01-10",
        **_req("restriction", "2024-01-05"),
    )
    assert d.action is Action.REVIEW
    assert "restriction instead of erasure" in d.explanation


def test_gdpr_art_18_1_a_accuracy_restriction_does_not_stop_art_17_1_a_erasure() -> None:
    """eu-gdpr-18 (a) restricts while accuracy is verified; it is not the subject's choice to keep
    the data, so the Art 17(1)(a) erasure still falls due."""
    d = decide(
        "eu-gdpr-led",
        "2024-02-01",
        **EU_PRIVATE_CONSENT,
        purpose_satisfied_on="2024-01-10",
        **_req("restriction", "2024-01-05", restriction_ground="accuracy_contested"),
    )
    assert (d.action, d.due_on) == (Action.PURGE, D("2024-01-10"))


def test_led_art_16_3_a_contested_accuracy_restricts_instead_of_erasing() -> None:
    """eu-led-16 (Art 16(3)(a)): police data whose accuracy the subject contests are restricted
    instead of erased under Art 16(2)."""
    d = decide(
        "eu-gdpr-led",
        "2024-02-01",
        jurisdiction="EU",
        **LE,
        legal_basis="arrest",
        purpose_satisfied_on="2024-01-10",
        **_req("restriction", "2024-01-05", restriction_ground="accuracy_contested"),
    )
    assert (d.action, d.rule) == (Action.RESTRICT, "eu-gdpr-led/led-16-3-a-accuracy-contested")
    assert d.purposes == frozenset({Purpose.EVIDENCE, Purpose.LEGAL_CLAIMS})


def test_dpa_2018_s47_restriction_request_still_restricts() -> None:
    """uk-dpa-s47-restrict (s.47(2)-(3)): consistent with the above, a restriction request in
    England & Wales restricts on receipt and nothing purges."""
    d = decide(GB, "2024-02-01", **GB_ADULT_NFA, **_req("restriction", "2024-01-31"))
    assert (d.action, d.due_on) == (Action.RESTRICT, D("2024-01-31"))
    assert d.purposes == frozenset({Purpose.EVIDENCE, Purpose.LEGAL_CLAIMS})


# -- 3. Purposes narrow while a destruction duty is overdue -------------------------------------

CA_INNOCENT = {
    **LE,
    "jurisdiction": "US-CA",
    "outcome": "factually_innocent",
    "outcome_on": "2020-09-01",
    "arrest_date": "2020-03-10",
    "captured_on": "2020-03-10",
    "legal_hold": True,
    "hold_kind": "litigation",
}


def test_pc851_8_destruction_held_for_counsel_narrows_purposes_on_its_due_day() -> None:
    """us-ca-pc851.8 (destroy 3 years from arrest: 10 Mar 2023) meets a litigation hold: counsel
    decides (RULES.md §8.2), and from the due day the record serves evidence and legal claims
    only — no identification or face recognition while it waits."""
    due = decide("us-ca", "2023-03-10", **CA_INNOCENT)
    assert (due.action, due.due_on) == (Action.REVIEW, D("2023-03-10"))
    assert due.purposes <= {Purpose.EVIDENCE, Purpose.LEGAL_CLAIMS}
    assert Purpose.FACE_RECOGNITION not in due.purposes
    assert due.purposes_narrow_from == D("2023-03-10")


@pytest.mark.parametrize(
    ("today", "narrowed"),
    [("2023-03-05", False), ("2023-03-06", True), ("2023-04-01", True)],
    ids=["day-before-due", "due-day", "after"],
)
def test_bipa_destruction_held_for_counsel_narrows_purposes(today: str, narrowed: bool) -> None:
    """us-il-bipa-15a (3 years after the last interaction, 6 Mar 2020 -> 6 Mar 2023) under a
    litigation hold BIPA does not name ("absent a valid warrant or subpoena"): counsel decides, and
    from the due day the template serves legal claims only (a private holder has no evidence
    purpose of its own)."""
    d = decide(
        "us-il-bipa",
        today,
        jurisdiction="US-IL",
        **PRIVATE_TEMPLATE,
        captured_on="2020-03-06",
        consent_given_on="2020-03-01",
        legal_hold=True,
        hold_kind="litigation",
    )
    if narrowed:
        assert d.purposes == frozenset({Purpose.LEGAL_CLAIMS})
    else:
        assert Purpose.FACE_RECOGNITION in d.purposes


def test_a_failed_sweep_leaves_no_purpose_on_a_stored_decision() -> None:
    """RULES.md §8.1-§8.3 with issue 16 item 3: a decision stored the day before a BIPA purge is
    due permits face recognition that day, and nothing from the due day on, even if no sweep
    has acted."""
    d = decide(
        "us-il-bipa",
        "2023-03-05",
        jurisdiction="US-IL",
        **PRIVATE_TEMPLATE,
        captured_on="2020-03-06",
        consent_given_on="2020-03-01",
    )
    trace = d.to_json()
    assert "face_recognition" in narrowed_purposes(trace, D("2023-03-05"))
    assert narrowed_purposes(trace, D("2023-03-06")) == []


def test_a_stored_decision_narrows_on_the_day_a_held_back_duty_falls_due() -> None:
    """us-ca-pc851.8 with a litigation hold, decision stored before the due day: readers of the
    stored decision see evidence and legal claims only from 10 Mar 2023."""
    trace = decide("us-ca", "2021-01-01", **{**CA_INNOCENT, "outcome": "acquitted"}).to_json()
    assert trace["purposes_narrow_from"] is None
    held = {**CA_INNOCENT}
    trace = decide("us-ca", "2023-03-09", **held).to_json()
    assert trace["purposes_narrow_from"] == "2023-03-10"
    assert set(narrowed_purposes(trace, D("2023-03-10"))) <= {"evidence", "legal_claims"}


# -- 4. Purposes come from the holder -----------------------------------------------------------

HOLDER_CASES = {
    "default": "US-CA",
    GB: "GB-ENG",
    "us-ca": "US-CA",
    "us-il-bipa": "US-IL",
    "us-tx-cubi": "US-TX",
    "eu-gdpr-led": "EU",
}


@pytest.mark.parametrize("pack_id", list(HOLDER_CASES))
def test_a_private_holder_is_never_given_law_enforcement_purposes(pack_id: str) -> None:
    """us-il-bipa-15cde (disclosure to police only on a warrant or subpoena), us-tx-cubi-destroy
    (c)(2), eu-gdpr-4-14-9: a private holder's record serves its own basis, never evidence,
    lineups or publication — in its plain state and under a hold."""
    jurisdiction = HOLDER_CASES[pack_id]
    for extra in ({}, {"legal_hold": True, "hold_kind": "warrant"}):
        d = decide(
            pack_id,
            "2021-06-01",
            jurisdiction=jurisdiction,
            **PRIVATE_TEMPLATE,
            legal_basis="consent",
            consent_given_on="2019-12-01",
            captured_on="2020-01-01",
            purpose_satisfied_on="2020-06-01",
            **extra,
        )
        assert not {p.value for p in d.purposes} & LAW_ENFORCEMENT_ONLY, (extra, d.to_json())


@pytest.mark.parametrize("pack_id", list(HOLDER_CASES))
def test_each_pack_derives_purposes_per_holder(pack_id: str) -> None:
    """RULES.md §8.4 (the law differs for police and private holders): every pack lists purposes
    for both holders; police keep evidence, a private holder does not."""
    pack = bundled_pack(pack_id)
    police_default, police_restricted = pack.purposes_for(Holder.LAW_ENFORCEMENT, None)
    private_default, private_restricted = pack.purposes_for(Holder.PRIVATE_ENTITY, None)
    assert Purpose.EVIDENCE in police_default | police_restricted
    assert not {p.value for p in private_default | private_restricted} & LAW_ENFORCEMENT_ONLY


def test_a_police_record_keeps_law_enforcement_purposes() -> None:
    """eu-led-10: police data held on a legal basis serve identification, lineups and evidence."""
    d = decide("eu-gdpr-led", "2021-06-01", jurisdiction="EU", **LE, legal_basis="arrest")
    assert {Purpose.LINEUP, Purpose.EVIDENCE, Purpose.IDENTIFICATION} <= d.purposes


# -- Issue 13: "within N days" falls due on the last permitted day ------------------------------


@pytest.mark.parametrize(
    ("received", "due"),
    [
        ("2024-03-01", "2024-03-15"),  # Fri -> Fri: first day excluded, last included
        ("2024-03-02", "2024-03-16"),  # Saturday is not rolled (CCP §12a unverified, §10.8)
        ("2024-03-03", "2024-03-18"),  # Sun 17 Mar rolls to Monday
        ("2024-05-13", "2024-05-28"),  # Memorial Day 27 May is a California holiday
    ],
    ids=["weekday", "saturday-not-rolled", "sunday-rolled", "holiday-rolled"],
)
def test_pc13665_within_14_days_is_due_on_the_last_permitted_day(received: str, due: str) -> None:
    """us-ca-pc13665-v2024 with us-ca-time (CCP §12: exclude the first day, include the last;
    a last day on a holiday moves to the next day): due on that day, not the day after, and not
    due the day before."""
    post = {**CA_NONVIOLENT_POST}
    del post["posted_on"]
    on_day = decide("us-ca", due, **post, **_req("takedown", received))
    assert (on_day.action, on_day.due_on, on_day.respond_by) == (Action.PURGE, D(due), D(due))
    assert on_day.is_due(D(due))
    assert not on_day.is_due(date.fromordinal(D(due).toordinal() - 1))


@pytest.mark.parametrize(
    ("received", "due"),
    [
        ("2024-09-03", "2024-10-03"),  # corresponding date
        ("2024-01-31", "2024-02-29"),  # no such date: last day of the month
        ("2024-10-31", "2024-12-02"),  # 30 Nov is a Saturday: next working day
        ("2024-07-26", "2024-08-27"),  # 26 Aug is the summer bank holiday
    ],
    ids=["corresponding-date", "month-end", "weekend", "bank-holiday"],
)
def test_dpa_2018_one_month_is_due_on_the_corresponding_day(received: str, due: str) -> None:
    """uk-ico-month with uk-dpa-s48-s54: the day of receipt starts the month; due on the
    corresponding date, the month's last day, or the next working day."""
    d = decide(GB, received, **GB_ADULT_NFA, **_req("erasure", received))
    assert d.respond_by == D(due)


@pytest.mark.parametrize(
    ("received", "due"),
    [("2025-01-31", "2025-02-28"), ("2024-11-30", "2024-12-30"), ("2025-03-20", "2025-04-22")],
    ids=["month-end", "saturday-end-rolled", "easter-monday-rolled"],
)
def test_gdpr_one_month_rolls_over_ecb_closing_days(received: str, due: str) -> None:
    """eu-gdpr-12-3 with eu-time (Reg. 1182/71 Art 3(4)): 20 Apr 2025 is a Sunday, 21 Apr Easter
    Monday (a TARGET closing day), so the 22nd."""
    d = decide(
        "eu-gdpr-led",
        received,
        **EU_PRIVATE_CONSENT,
        **_req("erasure", received),
    )
    assert d.respond_by == D(due)


def test_bipa_three_years_is_due_on_the_anniversary_without_a_roll() -> None:
    """us-il-bipa-15a ("within 3 years", no roll in the text): last interaction Sat 9 Mar 2021
    -> due Sat 9 Mar 2024, not the Monday after, and not due on the 8th."""
    d = decide(
        "us-il-bipa",
        "2024-03-09",
        jurisdiction="US-IL",
        **PRIVATE_TEMPLATE,
        captured_on="2020-01-01",
        consent_given_on="2019-12-01",
        last_interaction_on="2021-03-09",
    )
    assert (d.action, d.due_on) == (Action.PURGE, D("2024-03-09"))
    assert not d.is_due(D("2024-03-08"))


def test_cubi_first_anniversary_of_29_february_is_28_february() -> None:
    """us-tx-cubi-destroy ("not later than the first anniversary") with RULES.md §8.3/§10.13."""
    d = decide(
        "us-tx-cubi",
        "2025-02-28",
        jurisdiction="US-TX",
        **PRIVATE_TEMPLATE,
        captured_on="2020-01-01",
        consent_given_on="2019-12-01",
        purpose_satisfied_on="2024-02-29",
    )
    assert (d.action, d.due_on) == (Action.PURGE, D("2025-02-28"))


@pytest.mark.parametrize(
    ("pack_id", "jurisdiction", "received", "due"),
    [
        ("us-ca", "US-CA", "2024-03-01", "2024-03-31"),
        ("us-il-bipa", "US-IL", "2024-03-01", "2024-03-31"),
        ("us-tx-cubi", "US-TX", "2024-03-01", "2024-03-31"),
    ],
)
def test_a_request_with_no_statutory_deadline_gets_the_service_target(
    pack_id: str, jurisdiction: str, received: str, due: str
) -> None:
    """rules-s8.7: no California, Illinois or Texas statute sets a deadline to answer an erasure
    request; the pack's service target (30 days, no roll) is given, marked as such."""
    d = decide(pack_id, received, jurisdiction=jurisdiction, **LE, **_req("erasure", received))
    assert d.respond_by == D(due)
    assert d.respond_basis is not None
    assert d.respond_basis.value == "service_target"
    assert d.extension is ExtensionStatus.NOT_PROVIDED


# -- Issue 13: a ground already on record counts as shown ---------------------------------------


@pytest.mark.parametrize(
    "on_record",
    [
        {"outcome": "acquitted"},
        {"outcome": "dismissed"},
        {"outcome": "factually_innocent"},
        {"sealed_on": "2022-06-01"},
    ],
    ids=["acquittal", "dismissal", "factual-innocence", "sealing-order"],
)
def test_pc13665_2022_violent_ground_on_record_counts_as_shown(on_record: dict[str, str]) -> None:
    """us-ca-pc13665-v2022 (b)(2): the requester must show a ground (sealed, dismissed, not
    guilty...); where the agency already records it, the person need not prove it again. Request
    Mon 3 Apr 2023 -> due Mon 17 Apr 2023."""
    violent = {**CA_POST, "posted_on": "2021-06-01", **on_record}
    if "outcome" not in on_record:
        violent["outcome"] = "convicted"
    d = decide("us-ca", "2023-04-17", **violent, **_req("takedown", "2023-04-03"))
    assert (d.action, d.due_on) == (Action.PURGE, D("2023-04-17"))
    assert d.rule == "us-ca/pc13665-2022-request-violent"
