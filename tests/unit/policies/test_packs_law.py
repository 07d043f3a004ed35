"""Cases worked from the statute text, one row each, for every bundled pack.

Each row: the pack, the evaluation day, the facts, and the parts of the decision the law fixes.
Windows are tested the day before, on, and after their boundary (``due`` says whether the
action is due on the evaluation day).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from tests.unit.policies.helpers import decide

GB = "gb-eng-custody-images"
LE = {"holder": "law_enforcement", "data_kind": "booking_photo"}
ADULT = {"date_of_birth": "1990-05-05"}
NFA = {"outcome": "no_further_action", "outcome_on": "2023-11-01"}


def req(kind: str, received: str, **more: Any) -> dict[str, Any]:
    return {"request": {"kind": kind, "received_on": received, **more}}


class Case(NamedTuple):
    pack: str
    on: str
    facts: dict[str, Any]
    expect: dict[str, Any]
    due: bool | None = None


_ERASE_0131 = {**ADULT, **NFA, **req("erasure", "2024-01-31"), "captured_on": "2023-10-01"}
_CA_FI = {
    **LE,
    "captured_on": "2021-03-10",
    "arrest_date": "2021-03-10",
    "outcome": "factually_innocent",
    "outcome_on": "2022-01-05",
}
_BIPA = {
    "holder": "private_entity",
    "data_kind": "face_template",
    "captured_on": "2019-06-01",
    "consent_given_on": "2019-06-01",
    "last_interaction_on": "2020-02-29",
}
_GDPR_CONSENT = {
    "holder": "private_entity",
    "data_kind": "face_template",
    "legal_basis": "consent",
    "consent_given_on": "2023-01-01",
    "captured_on": "2023-01-02",
}

CASES = {
    # --- England & Wales: 2017 Review + DPA 2018 s.48/s.54 -------------------------------------
    # uk-ci-unconvicted-apply + uk-ico-month: 31 Jan + 1 month = 29 Feb 2024.
    "gb-unconvicted-adult-day-before": Case(
        GB,
        "2024-02-28",
        _ERASE_0131,
        {
            "action": "purge",
            "due_on": "2024-02-29",
            "respond_by": "2024-02-29",
            "rule": f"{GB}/ci-unconvicted-adult-delete",
        },
        due=False,
    ),
    "gb-unconvicted-adult-on-day": Case(
        GB,
        "2024-02-29",
        _ERASE_0131,
        {"action": "purge", "due_on": "2024-02-29", "purposes": []},
        due=True,
    ),
    "gb-unconvicted-adult-day-after": Case(
        GB, "2024-03-01", _ERASE_0131, {"action": "purge", "due_on": "2024-02-29"}, due=True
    ),
    # 31 Jan 2023 + 1 month = 28 Feb 2023 (common year).
    "gb-31-jan-common-year": Case(
        GB,
        "2023-02-01",
        {
            **ADULT,
            **NFA,
            "outcome_on": "2022-12-01",
            **req("erasure", "2023-01-31"),
            "captured_on": "2022-10-01",
        },
        {"action": "purge", "due_on": "2023-02-28", "respond_by": "2023-02-28"},
    ),
    # uk-ci-u18-unconvicted: age at capture decides (17 the day before the 18th birthday).
    "gb-juvenile-at-capture": Case(
        GB,
        "2024-03-01",
        {
            "date_of_birth": "2006-06-01",
            "captured_on": "2024-05-31",
            **NFA,
            "outcome_on": "2024-06-10",
            **req("erasure", "2024-07-01"),
        },
        {"action": "purge", "rule": f"{GB}/ci-unconvicted-u18-delete", "due_on": "2024-08-01"},
    ),
    "gb-adult-on-18th-birthday": Case(
        GB,
        "2024-03-01",
        {
            "date_of_birth": "2006-06-01",
            "captured_on": "2024-06-01",
            **NFA,
            "outcome_on": "2024-06-10",
            **req("erasure", "2024-07-01"),
        },
        {"action": "purge", "rule": f"{GB}/ci-unconvicted-adult-delete"},
    ),
    # Deadline on Saturday 15 June 2024: next working day.
    "gb-deadline-on-weekend": Case(
        GB,
        "2024-05-20",
        {**ADULT, **NFA, **req("erasure", "2024-05-15")},
        {"respond_by": "2024-06-17", "due_on": "2024-06-17"},
    ),
    # Deadline on the summer bank holiday, Monday 26 August 2024.
    "gb-deadline-on-bank-holiday": Case(
        GB,
        "2024-08-01",
        {**ADULT, **NFA, **req("erasure", "2024-07-26")},
        {"respond_by": "2024-08-27"},
    ),
    # s.54(3A)-(3B) came by a later amendment of unconfirmed commencement (RULES.md §10.5): a
    # notice within the first month does not move the deadline until a person confirms it.
    "gb-extension-notice-in-time": Case(
        GB,
        "2024-02-10",
        {**ADULT, **NFA, **req("erasure", "2024-01-31", extension_notice_on="2024-02-20")},
        {"respond_by": "2024-02-29", "extension": "unverified", "respond_basis": "statutory"},
    ),
    "gb-extension-notice-too-late": Case(
        GB,
        "2024-02-10",
        {**ADULT, **NFA, **req("erasure", "2024-01-31", extension_notice_on="2024-03-01")},
        {"respond_by": "2024-02-29"},
    ),
    # s.54(2): the relevant time is the latest of receipt and the clarifying information.
    "gb-clarification-received": Case(
        GB,
        "2024-02-25",
        {
            **ADULT,
            **NFA,
            **req(
                "erasure",
                "2024-02-01",
                clarification_requested_on="2024-02-05",
                clarification_received_on="2024-02-20",
            ),
        },
        {"respond_by": "2024-03-20", "due_on": "2024-03-20"},
    ),
    "gb-clarification-awaited-clock-stopped": Case(
        GB,
        "2024-02-25",
        {**ADULT, **NFA, **req("erasure", "2024-02-01", clarification_requested_on="2024-02-05")},
        {"respond_by": None},
    ),
    # uk-ci-offence-specific: convicted of this offence: not eligible, a person answers.
    "gb-convicted-not-eligible": Case(
        GB,
        "2024-02-01",
        {
            **ADULT,
            "outcome": "convicted",
            "outcome_on": "2023-11-01",
            **req("erasure", "2024-01-31"),
        },
        {"action": "review", "rule": f"{GB}/ci-not-eligible", "respond_by": "2024-02-29"},
    ),
    # Conviction quashed, no retrial possible: unconvicted of the offence.
    "gb-conviction-quashed": Case(
        GB,
        "2024-02-01",
        {
            **ADULT,
            "outcome": "conviction_quashed",
            "outcome_on": "2023-11-01",
            "retrial_possible": False,
            **req("erasure", "2024-01-31"),
        },
        {"action": "purge", "due_on": "2024-02-29"},
    ),
    "gb-conviction-quashed-retrial-possible": Case(
        GB,
        "2024-02-01",
        {
            **ADULT,
            "outcome": "conviction_quashed",
            "outcome_on": "2023-11-01",
            "retrial_possible": True,
            **req("erasure", "2024-01-31"),
        },
        {"action": "review", "rule": f"{GB}/ci-not-eligible"},
    ),
    "gb-conviction-quashed-retrial-unknown": Case(
        GB,
        "2024-02-01",
        {
            **ADULT,
            "outcome": "conviction_quashed",
            "outcome_on": "2023-11-01",
            **req("erasure", "2024-01-31"),
        },
        {"action": "review", "due_on": "2024-01-31"},
    ),
    # uk-ci-convicted-definition (M/low): caution -> review.
    "gb-caution-unverified": Case(
        GB,
        "2024-02-01",
        {
            **ADULT,
            "outcome": "cautioned",
            "outcome_on": "2023-11-01",
            **req("erasure", "2024-01-31"),
        },
        {"action": "review", "rule": f"{GB}/ci-caution-unverified"},
    ),
    "gb-exceptional-reason": Case(
        GB,
        "2024-02-01",
        {**ADULT, **NFA, "exceptional_reason": True, **req("erasure", "2024-01-31")},
        {"action": "review", "rule": f"{GB}/ci-unconvicted-exceptional"},
    ),
    # uk-dpa-s47-restrict: evidence hold: restrict instead of erasing.
    "gb-evidence-hold-blocks-purge": Case(
        GB,
        "2024-03-05",
        {
            **LE,
            **ADULT,
            **NFA,
            "legal_hold": True,
            "hold_kind": "evidence",
            **req("erasure", "2024-01-31"),
        },
        {"action": "restrict", "due_on": "2024-02-29", "purposes": ["evidence", "legal_claims"]},
    ),
    "gb-restriction-request": Case(
        GB,
        "2024-02-01",
        {**ADULT, "outcome": "convicted", **req("restriction", "2024-01-31")},
        {"action": "restrict", "due_on": "2024-01-31", "respond_by": "2024-02-29"},
    ),
    # uk-mopi-g3 (M): review after 6 years, routed to a person.
    "gb-mopi-g3-review": Case(
        GB,
        "2024-01-01",
        {**ADULT, "outcome": "convicted", "mopi_group": 3, "captured_on": "2018-03-01"},
        {"action": "review", "due_on": "2024-03-01", "rule": f"{GB}/mopi-g3-review"},
    ),
    "gb-mopi-g2-after-review": Case(
        GB,
        "2024-01-01",
        {
            **ADULT,
            "outcome": "convicted",
            "mopi_group": 2,
            "captured_on": "2010-03-01",
            "reviewed_on": "2020-03-01",
        },
        {"action": "review", "due_on": "2026-03-01"},
    ),
    "gb-rmc-unconvicted-no-application": Case(
        GB,
        "2024-01-01",
        {**ADULT, **NFA, "captured_on": "2023-10-01"},
        {"action": "review", "due_on": "2023-11-01", "rule": f"{GB}/rmc-unconvicted-review"},
    ),
    # --- California ----------------------------------------------------------------------------
    # us-ca-pc851.8: sealed, then destroyed 3 years from the date of arrest.
    "ca-851-8-day-before": Case(
        "us-ca",
        "2024-03-09",
        _CA_FI,
        {
            "action": "restrict",
            "next_action": "purge",
            "next_due_on": "2024-03-10",
            "purposes": ["evidence", "legal_claims"],
        },
    ),
    "ca-851-8-on-day": Case(
        "us-ca",
        "2024-03-10",
        _CA_FI,
        {"action": "purge", "due_on": "2024-03-10", "rule": "us-ca/pc851-8-destroy"},
        due=True,
    ),
    "ca-851-8-day-after": Case(
        "us-ca", "2024-03-11", _CA_FI, {"action": "purge", "due_on": "2024-03-10"}, due=True
    ),
    "ca-851-8-arrest-29-feb": Case(
        "us-ca",
        "2023-01-01",
        {**_CA_FI, "captured_on": "2020-02-29", "arrest_date": "2020-02-29"},
        {"action": "restrict", "next_due_on": "2023-02-28"},
    ),
    # RULES.md §8.2: statutory destruction vs litigation hold -> review.
    "ca-851-8-litigation-hold": Case(
        "us-ca",
        "2024-03-10",
        {**_CA_FI, "legal_hold": True, "hold_kind": "litigation"},
        {"action": "review", "due_on": "2024-03-10"},
    ),
    # us-ca-pc851.92: sealing is a restriction, never destruction.
    "ca-851-92-sealed": Case(
        "us-ca",
        "2030-01-01",
        {**LE, "outcome": "dismissed", "sealed_on": "2023-06-01", "captured_on": "2022-01-01"},
        {
            "action": "restrict",
            "due_on": "2023-06-01",
            "purposes": ["evidence", "identification", "legal_claims"],
        },
    ),
    # us-ca-pc13665-v2024: remove within 14 days of posting (CCP §12).
    "ca-13665-day-before": Case(
        "us-ca",
        "2024-03-14",
        {
            **LE,
            "data_kind": "social_media_post",
            "offence_class": "violent",
            "posted_on": "2024-03-01",
            "captured_on": "2024-02-28",
        },
        {"action": "purge", "due_on": "2024-03-15"},
        due=False,
    ),
    "ca-13665-on-day": Case(
        "us-ca",
        "2024-03-15",
        {
            **LE,
            "data_kind": "social_media_post",
            "offence_class": "violent",
            "posted_on": "2024-03-01",
            "captured_on": "2024-02-28",
        },
        {"action": "purge", "due_on": "2024-03-15"},
        due=True,
    ),
    "ca-13665-holiday": Case(
        "us-ca",
        "2024-11-20",
        {
            **LE,
            "data_kind": "social_media_post",
            "offence_class": "violent",
            "posted_on": "2024-11-14",
            "captured_on": "2024-11-13",
        },
        {"action": "purge", "due_on": "2024-11-30"},
    ),
    # us-ca-pc13665-v2022: request-based removal, 14 days.
    "ca-13665-2022-nonviolent-request": Case(
        "us-ca",
        "2023-04-10",
        {
            **LE,
            "data_kind": "social_media_post",
            "offence_class": "nonviolent",
            "posted_on": "2021-06-01",
            "captured_on": "2021-05-30",
            **req("takedown", "2023-04-03"),
        },
        {"action": "purge", "due_on": "2023-04-17", "respond_by": "2023-04-17"},
    ),
    "ca-13665-2022-violent-no-grounds": Case(
        "us-ca",
        "2023-04-10",
        {
            **LE,
            "data_kind": "social_media_post",
            "offence_class": "violent",
            "posted_on": "2021-06-01",
            "captured_on": "2021-05-30",
            "outcome": "convicted",
            **req("takedown", "2023-04-03", grounds_shown=False),
        },
        {"action": "review", "rule": "us-ca/periodic-review"},
    ),
    "ca-13665-2022-violent-grounds": Case(
        "us-ca",
        "2023-04-10",
        {
            **LE,
            "data_kind": "social_media_post",
            "offence_class": "violent",
            "posted_on": "2021-06-01",
            "captured_on": "2021-05-30",
            **req("takedown", "2023-04-03", grounds_shown=True),
        },
        {"action": "purge", "due_on": "2023-04-17"},
    ),
    # us-ca-pc832.19: no FR on body-camera data 2020-2022; SF ch. 19B.
    "ca-832-19-in-force": Case(
        "us-ca",
        "2022-12-31",
        {**LE, "body_camera": True, "offence_class": "violent"},
        {"purposes": ["evidence", "identification", "lineup", "publication"]},
    ),
    "ca-832-19-repealed": Case(
        "us-ca",
        "2023-01-01",
        {**LE, "body_camera": True, "offence_class": "violent"},
        {"purposes": ["evidence", "face_recognition", "identification", "lineup", "publication"]},
    ),
    "ca-sf-fr-ban-and-nonviolent-no-posting": Case(
        "us-ca",
        "2024-01-01",
        {**LE, "locality": "san-francisco", "offence_class": "nonviolent"},
        {"purposes": ["evidence", "identification", "lineup"]},
    ),
    # --- Illinois BIPA -------------------------------------------------------------------------
    # us-il-bipa-15a: 3 years from last interaction 29 Feb 2020: 28 Feb 2023, no roll.
    "il-3-years-day-before": Case(
        "us-il-bipa", "2023-02-27", _BIPA, {"action": "purge", "due_on": "2023-02-28"}, due=False
    ),
    "il-3-years-on-day": Case(
        "us-il-bipa",
        "2023-02-28",
        _BIPA,
        {"action": "purge", "due_on": "2023-02-28", "purposes": []},
        due=True,
    ),
    "il-3-years-day-after": Case("us-il-bipa", "2023-03-01", _BIPA, {"action": "purge"}, due=True),
    "il-purpose-satisfied-first": Case(
        "us-il-bipa",
        "2021-01-01",
        {**_BIPA, "purpose_satisfied_on": "2020-09-01"},
        {
            "action": "purge",
            "due_on": "2020-09-01",
            "rule": "us-il-bipa/bipa-15a-purpose-satisfied",
        },
    ),
    "il-subpoena-hold": Case(
        "us-il-bipa",
        "2023-03-01",
        {**_BIPA, "legal_hold": True, "hold_kind": "subpoena"},
        {"action": "restrict"},
    ),
    "il-litigation-hold": Case(
        "us-il-bipa",
        "2023-03-01",
        {**_BIPA, "legal_hold": True, "hold_kind": "litigation"},
        {"action": "review"},
    ),
    "il-police-outside-bipa": Case(
        "us-il-bipa",
        "2023-03-01",
        {**LE, "data_kind": "face_template", "captured_on": "2019-06-01"},
        {"action": "review", "rule": "us-il-bipa/periodic-review", "due_on": "2022-06-01"},
    ),
    "il-no-release-no-fr": Case(
        "us-il-bipa",
        "2019-07-01",
        {**_BIPA, "consent_given_on": None},
        {"action": "purge", "due_on": "2023-02-28", "purposes": ["identification"]},
    ),
    # --- Texas CUBI ----------------------------------------------------------------------------
    "tx-first-anniversary-29-feb": Case(
        "us-tx-cubi",
        "2025-02-27",
        {
            "holder": "private_entity",
            "data_kind": "face_template",
            "captured_on": "2023-01-01",
            "consent_given_on": "2023-01-01",
            "purpose_satisfied_on": "2024-02-29",
        },
        {"action": "purge", "due_on": "2025-02-28"},
        due=False,
    ),
    "tx-first-anniversary-on-day": Case(
        "us-tx-cubi",
        "2024-05-10",
        {
            "holder": "private_entity",
            "data_kind": "face_template",
            "captured_on": "2022-01-01",
            "consent_given_on": "2022-01-01",
            "purpose_satisfied_on": "2023-05-10",
        },
        {"action": "purge", "due_on": "2024-05-10"},
        due=True,
    ),
    # --- EU ------------------------------------------------------------------------------------
    "eu-erasure-consent": Case(
        "eu-gdpr-led",
        "2024-02-01",
        {**_GDPR_CONSENT, **req("erasure", "2024-01-31")},
        {"action": "purge", "due_on": "2024-01-31", "respond_by": "2024-02-29"},
    ),
    "eu-12-3-weekend": Case(
        "eu-gdpr-led",
        "2024-05-16",
        {**_GDPR_CONSENT, "legal_basis": "court_order", **req("erasure", "2024-05-15")},
        {"action": "review", "respond_by": "2024-06-17"},
    ),
    "eu-12-3-christmas": Case(
        "eu-gdpr-led",
        "2024-11-26",
        {**_GDPR_CONSENT, **req("restriction", "2024-11-25")},
        {"action": "restrict", "respond_by": "2024-12-27"},
    ),
    "eu-12-3-extension": Case(
        "eu-gdpr-led",
        "2024-11-26",
        {**_GDPR_CONSENT, **req("restriction", "2024-11-25", extension_notice_on="2024-12-20")},
        {"respond_by": "2025-02-25"},
    ),
    # RULES.md §8.5: withdrawal purges consent-based data only.
    "eu-consent-withdrawn-consent-based": Case(
        "eu-gdpr-led",
        "2024-03-01",
        {**_GDPR_CONSENT, "consent_withdrawn_on": "2024-03-01"},
        {"action": "purge", "due_on": "2024-03-01", "purposes": []},
        due=True,
    ),
    "eu-consent-withdrawn-arrest-based": Case(
        "eu-gdpr-led",
        "2024-03-01",
        {
            **LE,
            "legal_basis": "arrest",
            "captured_on": "2023-01-02",
            "consent_withdrawn_on": "2024-03-01",
        },
        {"action": "review", "rule": "eu-gdpr-led/led-5-periodic-review"},
    ),
    "eu-led-erasure-request": Case(
        "eu-gdpr-led",
        "2024-03-01",
        {
            **LE,
            "legal_basis": "arrest",
            "captured_on": "2023-01-02",
            **req("erasure", "2024-02-20"),
        },
        # LED Art 16 sets no deadline: the agency's service target, never called statutory.
        {
            "action": "review",
            "due_on": "2024-02-20",
            "respond_by": "2024-03-20",
            "respond_basis": "service_target",
            "extension": "not_provided",
        },
    ),
    "eu-fr-without-consent-denied": Case(
        "eu-gdpr-led",
        "2024-03-01",
        {**_GDPR_CONSENT, "consent_given_on": None},
        # A private controller's data serve only its own basis: no lineup, no criminal evidence.
        {"purposes": ["identification"]},
    ),
    # --- default -------------------------------------------------------------------------------
    "default-reviews-at-once": Case(
        "default",
        "2024-01-01",
        {"jurisdiction": "US-TX"},
        {"action": "review", "due_on": "2020-01-01"},
    ),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_statute_case(case: Case) -> None:
    from policies import bundled_pack

    jurisdiction = {
        GB: "GB-ENG",
        "us-ca": "US-CA",
        "us-il-bipa": "US-IL",
        "us-tx-cubi": "US-TX",
        "eu-gdpr-led": "EU",
        "default": "US-TX",
    }[case.pack]
    decision = decide(case.pack, case.on, **{"jurisdiction": jurisdiction, **case.facts})
    got = decision.to_json()
    for key, want in case.expect.items():
        assert got[key] == want, (key, got)
    if case.due is not None:
        from datetime import date

        assert decision.is_due(date.fromisoformat(case.on)) is case.due
    assert bundled_pack(case.pack).id == decision.pack
