"""Independent cases worked from ../shared/law/RULES.md, row by row, before reading the tests.

Each row names the RULES.md row (or §8 item) it is worked from, the facts, the evaluation day and
what the law as RULES.md states it requires: the action, the date it falls due, the response
deadline and the purposes permitted. Dates were worked by hand from the calendars RULES.md gives
(uk-ico-month, eu-time, us-ca-time, BIPA's "no roll", CUBI's first anniversary) and the public
holidays of each jurisdiction (England bank holidays, California state holidays, the ECB/TARGET
closing days standing in for EU-wide public holidays); the weekday of every due date is noted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pytest

from policies import Facts, bundled_pack, evaluate, pack_for_jurisdiction

D = date.fromisoformat

# Base facts per pack; each case overrides what it needs (None removes a key).
_GB = {
    "jurisdiction": "GB-ENG",
    "holder": "law_enforcement",
    "data_kind": "booking_photo",
    "date_of_birth": "1990-01-01",
    "captured_on": "2024-06-03",
    "arrest_date": "2024-06-03",
    "offence_class": "nonviolent",
    "mopi_group": 3,
    "legal_basis": "arrest",
    "outcome": "no_further_action",
    "outcome_on": "2024-07-01",
}
_CA = {
    "jurisdiction": "US-CA",
    "holder": "law_enforcement",
    "data_kind": "booking_photo",
    "captured_on": "2023-03-10",
    "arrest_date": "2023-03-10",
    "offence_class": "violent",
    "legal_basis": "arrest",
    "locality": "oakland",
}
_IL = {
    "jurisdiction": "US-IL",
    "holder": "private_entity",
    "data_kind": "face_template",
    "captured_on": "2021-01-10",
    "consent_given_on": "2021-01-05",
    "legal_basis": "consent",
}
_TX = {
    "jurisdiction": "US-TX",
    "holder": "private_entity",
    "data_kind": "face_template",
    "captured_on": "2023-01-01",
    "consent_given_on": "2022-12-31",
    "legal_basis": "consent",
}
_EU = {
    "jurisdiction": "EU",
    "holder": "private_entity",
    "data_kind": "face_template",
    "captured_on": "2024-01-10",
    "consent_given_on": "2024-01-10",
    "legal_basis": "consent",
}
_BASE = {
    "gb-eng-custody-images": _GB,
    "us-ca": _CA,
    "us-il-bipa": _IL,
    "us-tx-cubi": _TX,
    "eu-gdpr-led": _EU,
    "default": _GB,
}


@dataclass(frozen=True)
class Case:
    id: str
    row: str  # RULES.md row id(s) / §8 item the expectation is worked from
    pack: str
    facts: dict[str, Any]
    today: str
    action: str | None = None  # expected action
    action_in: tuple[str, ...] = ()  # where RULES.md allows more than one (see the case)
    due_on: str | None = None
    is_due: bool | None = None  # boundary cases: due (or overdue) on `today`?
    respond_by: str | None = "-"  # "-" = not checked; None = no response deadline
    rule: str | None = None  # deciding rule id (without the pack prefix)
    next_action: str | None = None
    next_due_on: str | None = None
    never: tuple[str, ...] = ()  # actions that must not come out
    allowed: tuple[str, ...] = ()  # purposes that must be permitted
    denied: tuple[str, ...] = ()  # purposes that must not be permitted
    only: tuple[str, ...] | None = None  # purposes must be a subset of these
    notes: dict[str, Any] = field(default_factory=dict)


def _req(kind: str, received: str, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "received_on": received, **extra}


def C(case_id: str, row: str, pack: str, today: str, facts: dict[str, Any], **expect: Any) -> Case:
    return Case(id=case_id, row=row, pack=pack, facts=facts, today=today, **expect)


GB = "gb-eng-custody-images"
CA = "us-ca"
IL = "us-il-bipa"
TX = "us-tx-cubi"
EU = "eu-gdpr-led"
DEF = "default"

ERASE_0903 = {"request": _req("erasure", "2024-09-03")}  # Tue; +1 month = Thu 3 Oct 2024

CASES: list[Case] = [
    # ------------------------------------------------------------------ England & Wales
    C(
        "gb-adult-nfa-application",
        "uk-ci-unconvicted-apply; uk-dpa-s48-s54; uk-ico-month",
        GB,
        "2024-09-10",
        ERASE_0903,
        action="purge",
        due_on="2024-10-03",
        respond_by="2024-10-03",
        rule="ci-unconvicted-adult-delete",
        is_due=False,
    ),
    C(
        "gb-adult-nfa-day-before",
        "uk-ci-unconvicted-apply; uk-ico-month",
        GB,
        "2024-10-02",
        ERASE_0903,
        action="purge",
        due_on="2024-10-03",
        is_due=False,
    ),
    C(
        "gb-adult-nfa-on-day",
        "uk-ci-unconvicted-apply; uk-ico-month",
        GB,
        "2024-10-03",
        ERASE_0903,
        action="purge",
        due_on="2024-10-03",
        is_due=True,
    ),
    C(
        "gb-adult-nfa-day-after",
        "uk-ci-unconvicted-apply; uk-ico-month",
        GB,
        "2024-10-04",
        ERASE_0903,
        action="purge",
        due_on="2024-10-03",
        is_due=True,
    ),
    C(
        "gb-month-end-31-jan-common-year",
        "uk-ico-month (no such date: last day of month)",
        GB,
        "2025-02-01",
        {"request": _req("erasure", "2025-01-31")},
        respond_by="2025-02-28",
        action="purge",
        due_on="2025-02-28",
    ),  # Fri
    C(
        "gb-month-end-31-jan-leap-year",
        "uk-ico-month",
        GB,
        "2024-02-01",
        {
            "captured_on": "2023-11-01",
            "outcome_on": "2023-12-01",
            "request": _req("erasure", "2024-01-31"),
        },
        respond_by="2024-02-29",
    ),  # Thu
    C(
        "gb-deadline-on-saturday",
        "uk-ico-month (weekend: next working day)",
        GB,
        "2024-09-13",
        {"request": _req("erasure", "2024-09-12")},
        respond_by="2024-10-14",  # Sat 12 -> Mon 14
        action="purge",
        due_on="2024-10-14",
    ),
    C(
        "gb-deadline-on-easter-monday",
        "uk-ico-month (bank holiday)",
        GB,
        "2025-03-22",
        {
            "captured_on": "2024-12-02",
            "outcome_on": "2025-01-10",
            "request": _req("erasure", "2025-03-21"),
        },
        respond_by="2025-04-22",
    ),
    C(
        "gb-deadline-on-good-friday",
        "uk-ico-month (Fri hol, weekend, Mon hol)",
        GB,
        "2025-03-19",
        {
            "captured_on": "2024-12-02",
            "outcome_on": "2025-01-10",
            "request": _req("erasure", "2025-03-18"),
        },
        respond_by="2025-04-22",
    ),
    C(
        "gb-deadline-on-christmas",
        "uk-ico-month (25 and 26 Dec)",
        GB,
        "2024-11-26",
        {"request": _req("erasure", "2024-11-25")},
        respond_by="2024-12-27",
    ),
    C(
        "gb-month-end-then-weekend",
        "uk-ico-month (31 Oct -> 30 Nov Sat -> Mon 2 Dec)",
        GB,
        "2024-11-01",
        {"request": _req("erasure", "2024-10-31")},
        respond_by="2024-12-02",
    ),
    # s.54(3A)-(3B) was inserted by a later amendment whose commencement RULES.md could not
    # confirm (§10.5): a notice leaves the one-month deadline and a person decides (§8.7).
    C(
        "gb-extension-notice-in-first-month",
        "uk-dpa-s48-s54 (s.54(3A)-(3B), commencement unverified)",
        GB,
        "2024-09-25",
        {"request": _req("erasure", "2024-09-03", extension_notice_on="2024-09-20")},
        respond_by="2024-10-03",
        action="review",
        due_on="2024-09-20",
    ),
    C(
        "gb-extension-notice-on-last-day",
        "uk-dpa-s48-s54 (commencement unverified)",
        GB,
        "2024-10-03",
        {"request": _req("erasure", "2024-09-03", extension_notice_on="2024-10-03")},
        respond_by="2024-10-03",
    ),
    C(
        "gb-extension-notice-too-late",
        "uk-dpa-s48-s54 (notice after the first month)",
        GB,
        "2024-10-05",
        {"request": _req("erasure", "2024-09-03", extension_notice_on="2024-10-04")},
        respond_by="2024-10-03",
        action="purge",
        due_on="2024-10-03",
    ),
    # The Review sets no deadline of its own; the decision runs to the s.54 deadline, which an
    # extension of unverified commencement does not move (RULES.md §10.5, §8.3 earlier date).
    C(
        "gb-unverified-extension-keeps-presumption-decision",
        "uk-ci-unconvicted-apply; uk-dpa-s48-s54",
        GB,
        "2024-10-04",
        {"request": _req("erasure", "2024-09-03", extension_notice_on="2024-09-20")},
        respond_by="2024-10-03",
        action="purge",
        due_on="2024-10-03",
        is_due=True,
    ),
    C(
        "gb-under-18-at-capture-adult-at-application",
        "uk-ci-u18-unconvicted (age on capture)",
        GB,
        "2025-01-07",
        {
            "date_of_birth": "2006-09-10",
            "captured_on": "2024-09-09",
            "arrest_date": "2024-09-09",
            "outcome_on": "2024-10-01",
            "request": _req("erasure", "2025-01-06"),
        },
        action="purge",
        due_on="2025-02-06",
        respond_by="2025-02-06",
        rule="ci-unconvicted-u18-delete",
    ),
    C(
        "gb-18th-birthday-on-capture-day",
        "uk-ci-unconvicted-apply (18 on capture date)",
        GB,
        "2025-01-07",
        {
            "date_of_birth": "2006-09-10",
            "captured_on": "2024-09-10",
            "arrest_date": "2024-09-10",
            "outcome_on": "2024-10-01",
            "request": _req("erasure", "2025-01-06"),
        },
        action="purge",
        due_on="2025-02-06",
        rule="ci-unconvicted-adult-delete",
    ),
    C(
        "gb-convicted-no-presumption",
        "uk-ci-offence-specific (convicted of this offence)",
        GB,
        "2024-09-10",
        {**ERASE_0903, "outcome": "convicted"},
        action="review",
        due_on="2024-09-03",
        respond_by="2024-10-03",
        rule="ci-not-eligible",
        never=("purge",),
    ),
    C(
        "gb-pending-prosecution",
        "uk-ci-offence-specific (not yet unconvicted)",
        GB,
        "2024-09-10",
        {**ERASE_0903, "outcome": "pending", "outcome_on": None},
        action="review",
        never=("purge",),
    ),
    C(
        "gb-caution-flag-unknown",
        "uk-ci-convicted-definition (configurable, default review)",
        GB,
        "2024-09-10",
        {**ERASE_0903, "outcome": "cautioned"},
        action="review",
        due_on="2024-09-03",
        rule="ci-caution-unverified",
        never=("purge",),
    ),
    C(
        "gb-caution-not-conviction",
        "uk-ci-convicted-definition (flag = false)",
        GB,
        "2024-09-10",
        {**ERASE_0903, "outcome": "cautioned", "caution_counts_as_conviction": False},
        action="purge",
        due_on="2024-10-03",
    ),
    C(
        "gb-caution-is-conviction",
        "uk-ci-convicted-definition (flag = true)",
        GB,
        "2024-09-10",
        {**ERASE_0903, "outcome": "cautioned", "caution_counts_as_conviction": True},
        action="review",
        never=("purge",),
    ),
    C(
        "gb-evidence-hold-restricts",
        "uk-dpa-s47-restrict (s.47(2)); rules-s8.1",
        GB,
        "2024-10-10",
        {**ERASE_0903, "legal_hold": True, "hold_kind": "evidence"},
        action="restrict",
        due_on="2024-10-03",
        never=("purge",),
        only=("evidence", "legal_claims"),
    ),
    C(
        "gb-quashed-no-retrial",
        "uk-ci-unconvicted-apply (conviction quashed)",
        GB,
        "2024-09-10",
        {**ERASE_0903, "outcome": "conviction_quashed", "retrial_possible": False},
        action="purge",
        due_on="2024-10-03",
    ),
    C(
        "gb-quashed-retrial-possible",
        "uk-ci-offence-specific",
        GB,
        "2024-09-10",
        {**ERASE_0903, "outcome": "conviction_quashed", "retrial_possible": True},
        action="review",
        never=("purge",),
    ),
    C(
        "gb-quashed-retrial-unknown",
        "rules-s8.7",
        GB,
        "2024-09-10",
        {**ERASE_0903, "outcome": "conviction_quashed"},
        action="review",
        never=("purge",),
    ),
    C(
        "gb-exceptional-reason",
        "uk-ci-unconvicted-apply (exceptional reason)",
        GB,
        "2024-09-10",
        {**ERASE_0903, "exceptional_reason": True},
        action="review",
        rule="ci-unconvicted-exceptional",
        never=("purge",),
    ),
    C(
        "gb-restriction-request",
        "uk-dpa-s47-restrict; uk-dpa-s48-s54",
        GB,
        "2024-09-10",
        {"request": _req("restriction", "2024-09-03")},
        action="restrict",
        due_on="2024-09-03",
        respond_by="2024-10-03",
        only=("evidence", "legal_claims"),
    ),
    C(
        "gb-clarification-received-restarts",
        "uk-dpa-s48-s54 (relevant time)",
        GB,
        "2024-09-25",
        {
            "request": _req(
                "erasure",
                "2024-09-03",
                clarification_requested_on="2024-09-05",
                clarification_received_on="2024-09-20",
            )
        },
        respond_by="2024-10-21",
        action="purge",
        due_on="2024-10-21",
    ),  # Sun 20 -> Mon 21
    C(
        "gb-clarification-awaited",
        "uk-dpa-s48-s54 (time waiting does not count)",
        GB,
        "2024-10-10",
        {"request": _req("erasure", "2024-09-03", clarification_requested_on="2024-09-05")},
        respond_by=None,
        never=("purge",),
        action="review",
        due_on="2024-10-03",
        rule="s54-clarification-awaited",
    ),  # uk-acro-form: 28 days to supply, no roll
    C(
        "gb-age-unknown",
        "rules-s8.7 (adult vs under-18 unknown)",
        GB,
        "2024-09-10",
        {**ERASE_0903, "date_of_birth": None},
        action="review",
        due_on="2024-09-03",
        never=("purge",),
    ),
    C(
        "gb-u18-convicted-review",
        "uk-ci-u18-convicted (content not read)",
        GB,
        "2025-01-01",
        {"date_of_birth": "2008-01-01", "outcome": "convicted", "outcome_on": "2024-11-01"},
        action="review",
        due_on="2024-11-01",
        rule="ci-u18-convicted",
    ),
    C(
        "gb-rmc-unconvicted-no-application",
        "uk-rmc-2012",
        GB,
        "2024-07-02",
        {},
        action="review",
        due_on="2024-07-01",
    ),
    C(
        "gb-mopi-group-1-review-only",
        "uk-mopi-g1 (M); uk-ci-auto-review (S/low); rules-s8.7",
        GB,
        "2025-01-01",
        {
            "captured_on": "2010-01-01",
            "arrest_date": "2010-01-01",
            "mopi_group": 1,
            "outcome": "convicted",
            "outcome_on": "2010-06-01",
        },
        action="review",
        due_on="2016-01-01",
        never=("purge",),
    ),
    C(
        "gb-pack-not-yet-in-force",
        "rules-s8.7 (policy from 24 Feb 2017)",
        GB,
        "2017-02-23",
        {
            "captured_on": "2016-06-01",
            "arrest_date": "2016-06-01",
            "outcome_on": "2016-07-01",
            "request": _req("erasure", "2017-01-05"),
        },
        action="review",
        never=("purge",),
    ),
    # ------------------------------------------------------------------ California
    C(
        "ca-851.8-seal-now",
        "us-ca-pc851.8",
        CA,
        "2024-01-02",
        {"outcome": "factually_innocent", "outcome_on": "2023-09-01", "sealed_on": "2023-09-15"},
        action="restrict",
        due_on="2023-09-01",
        next_action="purge",
        next_due_on="2026-03-10",
        denied=("face_recognition", "publication", "identification"),
    ),
    C(
        "ca-851.8-day-before-destroy",
        "us-ca-pc851.8 (3 years from arrest)",
        CA,
        "2026-03-09",
        {"outcome": "factually_innocent", "outcome_on": "2023-09-01", "sealed_on": "2023-09-15"},
        action="restrict",
        next_action="purge",
        next_due_on="2026-03-10",
    ),
    C(
        "ca-851.8-destroy-on-day",
        "us-ca-pc851.8",
        CA,
        "2026-03-10",
        {"outcome": "factually_innocent", "outcome_on": "2023-09-01", "sealed_on": "2023-09-15"},
        action="purge",
        due_on="2026-03-10",
        is_due=True,
    ),
    C(
        "ca-851.8-destroy-day-after",
        "us-ca-pc851.8",
        CA,
        "2026-03-11",
        {"outcome": "factually_innocent", "outcome_on": "2023-09-01", "sealed_on": "2023-09-15"},
        action="purge",
        due_on="2026-03-10",
        is_due=True,
    ),
    C(
        "ca-851.8-arrest-29-feb",
        "us-ca-pc851.8; rules-s8.3 (earlier date)",
        CA,
        "2027-03-01",
        {
            "arrest_date": "2024-02-29",
            "captured_on": "2024-02-29",
            "outcome": "factually_innocent",
            "outcome_on": "2024-08-01",
        },
        action="purge",
        due_on="2027-02-28",
    ),
    C(
        "ca-851.8-finding-after-three-years",
        "us-ca-pc851.8 (sealed 3 years, thereafter destroyed)",
        CA,
        "2023-05-02",
        {
            "arrest_date": "2019-04-01",
            "captured_on": "2019-04-01",
            "outcome": "factually_innocent",
            "outcome_on": "2023-05-01",
        },
        action="purge",
        due_on="2022-04-01",
        is_due=True,
    ),
    C(
        "ca-851.8-vs-litigation-hold",
        "us-ca-pc851.8; rules-s8.2",
        CA,
        "2026-04-01",
        {
            "outcome": "factually_innocent",
            "outcome_on": "2023-09-01",
            "sealed_on": "2023-09-15",
            "legal_hold": True,
            "hold_kind": "litigation",
        },
        action="review",
        never=("purge",),
        rule="pc851-8-destroy",
    ),
    # A template derived later: its capture date is not the date of arrest, so the destruction
    # date is not guessed from it (3 years after capture would be 2026-08-01).
    C(
        "ca-851.8-arrest-date-unknown-template",
        "us-ca-pc851.8; rules-s8.7",
        CA,
        "2026-08-01",
        {
            "arrest_date": None,
            "data_kind": "face_template",
            "captured_on": "2023-08-01",
            "outcome": "factually_innocent",
            "outcome_on": "2023-09-01",
        },
        never=("purge",),
        action="restrict",
        next_action="review",
        next_due_on="2023-09-01",
    ),
    C(
        "ca-851.8-booking-photo-capture-is-arrest",
        "us-ca-pc851.8 (booked on arrest)",
        CA,
        "2026-03-10",
        {"arrest_date": None, "outcome": "factually_innocent", "outcome_on": "2023-09-01"},
        action="purge",
        due_on="2026-03-10",
    ),
    C(
        "ca-851.91-sealed-is-restriction",
        "us-ca-pc851.91; us-ca-pc851.92",
        CA,
        "2030-01-01",
        {"outcome": "dismissed", "outcome_on": "2024-01-10", "sealed_on": "2024-05-01"},
        action="restrict",
        due_on="2024-05-01",
        never=("purge",),
        denied=("face_recognition", "publication"),
        # the periodic review (capture + 5 years) stays the sealed record's next step once due
        next_action="review",
        next_due_on="2028-03-10",
    ),
    C(
        "ca-851.92-sealed-outcome-unknown",
        "us-ca-pc851.92 (a sealing order locks)",
        CA,
        "2024-06-01",
        {"sealed_on": "2024-05-01"},
        action="restrict",
        due_on="2024-05-01",
        never=("purge",),
    ),
    C(
        "ca-13665-2024-day-before",
        "us-ca-pc13665-v2024; us-ca-time",
        CA,
        "2024-03-14",
        {"data_kind": "social_media_post", "captured_on": "2024-02-20", "posted_on": "2024-03-01"},
        action="purge",
        due_on="2024-03-15",
        is_due=False,
    ),  # Fri
    C(
        "ca-13665-2024-on-day",
        "us-ca-pc13665-v2024; us-ca-time",
        CA,
        "2024-03-15",
        {"data_kind": "social_media_post", "captured_on": "2024-02-20", "posted_on": "2024-03-01"},
        action="purge",
        due_on="2024-03-15",
        is_due=True,
    ),
    C(
        "ca-13665-2024-day-after",
        "us-ca-pc13665-v2024; us-ca-time",
        CA,
        "2024-03-16",
        {"data_kind": "social_media_post", "captured_on": "2024-02-20", "posted_on": "2024-03-01"},
        action="purge",
        due_on="2024-03-15",
        is_due=True,
    ),
    C(
        "ca-13665-sunday-and-cesar-chavez",
        "us-ca-time (Sun 31 Mar + observed Mon 1 Apr)",
        CA,
        "2024-03-18",
        {"data_kind": "social_media_post", "captured_on": "2024-03-10", "posted_on": "2024-03-17"},
        action="purge",
        due_on="2024-04-02",
    ),
    C(
        "ca-13665-independence-day",
        "us-ca-time (4 Jul holiday)",
        CA,
        "2024-06-21",
        {"data_kind": "social_media_post", "captured_on": "2024-06-19", "posted_on": "2024-06-20"},
        action="purge",
        due_on="2024-07-05",
    ),
    C(
        "ca-13665-saturday-not-rolled",
        "us-ca-time; RULES.md §10.8 unverified; rules-s8.3",
        CA,
        "2024-03-03",
        {"data_kind": "social_media_post", "captured_on": "2024-02-20", "posted_on": "2024-03-02"},
        action="purge",
        due_on="2024-03-16",
    ),
    C(
        "ca-13665-2022-request-nonviolent",
        "us-ca-pc13665-v2022 (b)(1); us-ca-time",
        CA,
        "2022-06-10",
        {
            "data_kind": "social_media_post",
            "offence_class": "nonviolent",
            "captured_on": "2021-04-30",
            "posted_on": "2021-05-01",
            "request": _req("takedown", "2022-06-01"),
        },
        action="purge",
        due_on="2022-06-15",
        respond_by="2022-06-15",
    ),
    C(
        "ca-13665-2022-violent-no-grounds",
        "us-ca-pc13665-v2022 (b)(2)",
        CA,
        "2022-06-20",
        {
            "data_kind": "social_media_post",
            "captured_on": "2021-04-30",
            "posted_on": "2021-05-01",
            "request": _req("takedown", "2022-06-01", grounds_shown=False),
        },
        never=("purge",),
    ),
    C(
        "ca-13665-2022-violent-grounds-shown",
        "us-ca-pc13665-v2022 (b)(2)",
        CA,
        "2022-06-20",
        {
            "data_kind": "social_media_post",
            "captured_on": "2021-04-30",
            "posted_on": "2021-05-01",
            "request": _req("takedown", "2022-06-01", grounds_shown=True),
        },
        action="purge",
        due_on="2022-06-15",
    ),
    C(
        "ca-13665-a-nonviolent-no-publication",
        "us-ca-pc13665-v2024 (a)",
        CA,
        "2024-06-01",
        {"offence_class": "nonviolent"},
        denied=("publication",),
    ),
    C(
        "ca-13665-a-violent-may-publish",
        "us-ca-pc13665-v2024 (a) only nonviolent",
        CA,
        "2024-06-01",
        {},
        allowed=("publication",),
    ),
    C(
        "ca-13665-private-post-out-of-scope",
        "us-ca-pc13665-v2024 (police/sheriff posts only)",
        CA,
        "2024-04-01",
        {
            "holder": "private_entity",
            "data_kind": "social_media_post",
            "captured_on": "2024-02-20",
            "posted_on": "2024-03-01",
            "request": _req("takedown", "2024-03-05"),
        },
        never=("purge",),
    ),
    C(
        "ca-13665-a-private-nonviolent-post",
        "us-ca-pc13665-v2022 (a) (police/sheriff posts)",
        CA,
        "2024-03-02",
        {
            "holder": "private_entity",
            "data_kind": "social_media_post",
            "offence_class": "nonviolent",
            "captured_on": "2024-02-20",
            "posted_on": "2024-03-01",
        },
        never=("purge",),
    ),
    C(
        "ca-13665-a-police-nonviolent-post",
        "us-ca-pc13665-v2022 (a) (from 1 Jan 2022)",
        CA,
        "2022-03-02",
        {
            "data_kind": "social_media_post",
            "offence_class": "nonviolent",
            "captured_on": "2022-02-20",
            "posted_on": "2022-03-01",
        },
        action="purge",
        due_on="2022-03-01",
        denied=("publication",),
    ),
    C(
        "ca-sf-locality-unknown",
        "us-sf-19b (SF only)",
        CA,
        "2024-06-01",
        {"locality": None},
        allowed=("face_recognition",),
    ),
    C(
        "ca-832.19-bodycam-in-window",
        "us-ca-pc832.19",
        CA,
        "2021-06-01",
        {"data_kind": "face_template", "body_camera": True, "captured_on": "2021-01-05"},
        denied=("face_recognition",),
    ),
    C(
        "ca-832.19-last-day",
        "us-ca-pc832.19 (through 2022-12-31)",
        CA,
        "2022-12-31",
        {"data_kind": "face_template", "body_camera": True, "captured_on": "2021-01-05"},
        denied=("face_recognition",),
    ),
    C(
        "ca-832.19-repealed",
        "us-ca-pc832.19 (repealed 1 Jan 2023)",
        CA,
        "2023-01-01",
        {"data_kind": "face_template", "body_camera": True, "captured_on": "2021-01-05"},
        allowed=("face_recognition",),
    ),
    C(
        "ca-832.19-before-commencement",
        "us-ca-pc832.19 (from 1 Jan 2020)",
        CA,
        "2019-12-31",
        {
            "data_kind": "face_template",
            "body_camera": True,
            "captured_on": "2019-06-05",
            "arrest_date": "2019-06-05",
        },
        allowed=("face_recognition",),
    ),
    C(
        "ca-sf-fr-ban",
        "us-sf-19b (purpose gate)",
        CA,
        "2024-06-01",
        {"locality": "san-francisco"},
        denied=("face_recognition",),
        allowed=("identification",),
    ),
    C(
        "ca-sf-holder-unknown",
        "us-sf-19b; rules-s8.7",
        CA,
        "2024-06-01",
        {"locality": "san-francisco", "holder": None},
        denied=("face_recognition",),
    ),
    C(
        "ca-851.87-diversion-review",
        "us-ca-pc851.87 (waiting period unverified)",
        CA,
        "2024-02-01",
        {"outcome": "diversion_completed", "outcome_on": "2024-01-10"},
        action="review",
        due_on="2026-01-10",
        never=("purge",),
    ),
    # ------------------------------------------------------------------ Illinois BIPA
    C(
        "il-3y-last-interaction-day-before",
        "us-il-bipa-15a (no roll)",
        IL,
        "2025-02-28",
        {"last_interaction_on": "2022-03-01"},
        action="purge",
        due_on="2025-03-01",
        is_due=False,
    ),  # Sat
    C(
        "il-3y-last-interaction-on-day",
        "us-il-bipa-15a (no roll)",
        IL,
        "2025-03-01",
        {"last_interaction_on": "2022-03-01"},
        action="purge",
        due_on="2025-03-01",
        is_due=True,
    ),
    C(
        "il-3y-last-interaction-day-after",
        "us-il-bipa-15a",
        IL,
        "2025-03-02",
        {"last_interaction_on": "2022-03-01"},
        action="purge",
        due_on="2025-03-01",
        is_due=True,
    ),
    C(
        "il-purpose-satisfied-first",
        "us-il-bipa-15a (whichever first); rules-s8.3",
        IL,
        "2023-07-01",
        {"last_interaction_on": "2022-03-01", "purpose_satisfied_on": "2023-06-30"},
        action="purge",
        due_on="2023-06-30",
    ),
    C(
        "il-three-years-first",
        "us-il-bipa-15a (whichever first)",
        IL,
        "2024-06-01",
        {"last_interaction_on": "2021-02-01", "purpose_satisfied_on": "2024-05-01"},
        action="purge",
        due_on="2024-02-01",
    ),
    C(
        "il-last-interaction-29-feb",
        "us-il-bipa-15a; rules-s8.3",
        IL,
        "2023-03-01",
        {
            "captured_on": "2020-01-10",
            "consent_given_on": "2020-01-05",
            "last_interaction_on": "2020-02-29",
        },
        action="purge",
        due_on="2023-02-28",
    ),
    C(
        "il-subpoena-hold",
        "us-il-bipa-15a (absent a valid warrant or subpoena); rules-s8.1",
        IL,
        "2025-06-01",
        {"last_interaction_on": "2022-03-01", "legal_hold": True, "hold_kind": "subpoena"},
        action="restrict",
        never=("purge",),
    ),
    C(
        "il-warrant-hold",
        "us-il-bipa-15a; rules-s8.1",
        IL,
        "2025-06-01",
        {"last_interaction_on": "2022-03-01", "legal_hold": True, "hold_kind": "warrant"},
        action="restrict",
        never=("purge",),
    ),
    C(
        "il-litigation-hold",
        "us-il-bipa-15a; rules-s8.2",
        IL,
        "2025-06-01",
        {"last_interaction_on": "2022-03-01", "legal_hold": True, "hold_kind": "litigation"},
        action="review",
        never=("purge",),
    ),
    C(
        "il-police-out-of-scope",
        "us-il-bipa-scope (not a private entity)",
        IL,
        "2025-06-01",
        {"holder": "law_enforcement", "legal_basis": "arrest", "last_interaction_on": "2022-03-01"},
        action="review",
        never=("purge",),
        rule="periodic-review",
    ),
    C(
        "il-photograph-out-of-scope",
        "us-il-bipa-scope (photographs excluded)",
        IL,
        "2025-06-01",
        {"data_kind": "booking_photo", "last_interaction_on": "2022-03-01"},
        action="review",
        never=("purge",),
        rule="periodic-review",
    ),
    C(
        "il-release-after-capture",
        "us-il-bipa-15b (release before collection)",
        IL,
        "2024-01-01",
        {"consent_given_on": "2021-01-11", "last_interaction_on": "2022-03-01"},
        denied=("face_recognition",),
    ),
    C(
        "il-release-before-capture",
        "us-il-bipa-15b",
        IL,
        "2024-01-01",
        {"last_interaction_on": "2022-03-01"},
        allowed=("face_recognition",),
    ),
    C(
        "il-holder-unknown",
        "rules-s8.7",
        IL,
        "2025-06-01",
        {"holder": None, "last_interaction_on": "2022-03-01"},
        action="review",
        never=("purge",),
    ),
    # ------------------------------------------------------------------ Texas CUBI
    C(
        "tx-first-anniversary-day-before",
        "us-tx-cubi-destroy (c)(3)",
        TX,
        "2025-03-14",
        {"purpose_satisfied_on": "2024-03-15"},
        action="purge",
        due_on="2025-03-15",
        is_due=False,
    ),
    C(
        "tx-first-anniversary-on-day",
        "us-tx-cubi-destroy (c)(3), no roll (Sat)",
        TX,
        "2025-03-15",
        {"purpose_satisfied_on": "2024-03-15"},
        action="purge",
        due_on="2025-03-15",
        is_due=True,
    ),
    C(
        "tx-first-anniversary-29-feb",
        "us-tx-cubi-destroy; RULES.md §10.13; rules-s8.3",
        TX,
        "2025-03-01",
        {"purpose_satisfied_on": "2024-02-29"},
        action="purge",
        due_on="2025-02-28",
    ),
    C(
        "tx-c1-longer-period",
        "us-tx-cubi-destroy (c-1)",
        TX,
        "2025-03-20",
        {"purpose_satisfied_on": "2024-03-15", "legal_basis": "statute"},
        action="review",
        due_on="2025-03-15",
        never=("purge",),
    ),
    C(
        "tx-police-not-commercial",
        "us-tx-cubi-consent (commercial purpose only)",
        TX,
        "2025-03-20",
        {
            "holder": "law_enforcement",
            "legal_basis": "arrest",
            "purpose_satisfied_on": "2024-03-15",
        },
        action="review",
        never=("purge",),
    ),
    C(
        "tx-no-consent-before-capture",
        "us-tx-cubi-consent",
        TX,
        "2024-01-01",
        {"consent_given_on": None},
        denied=("face_recognition",),
    ),
    C(
        "tx-hold-blocks-destruction",
        "us-tx-cubi-destroy; rules-s8.1/8.2",
        TX,
        "2025-04-01",
        {"purpose_satisfied_on": "2024-03-15", "legal_hold": True, "hold_kind": "subpoena"},
        action_in=("review", "restrict"),
        never=("purge",),
    ),
    # ------------------------------------------------------------------ EU GDPR / LED
    C(
        "eu-erasure-consent-31-jan",
        "eu-gdpr-17 (1)(b); eu-gdpr-12-3; eu-time",
        EU,
        "2025-02-01",
        {"request": _req("erasure", "2025-01-31")},
        action="purge",
        due_on="2025-01-31",
        respond_by="2025-02-28",
    ),
    C(
        "eu-extension-notice-in-time",
        "eu-gdpr-12-3 (+2 months)",
        EU,
        "2025-02-11",
        {
            "request": _req("erasure", "2025-01-31", extension_notice_on="2025-02-10"),
            "legal_basis": "court_order",
        },
        respond_by="2025-04-30",
        action="review",
    ),
    C(
        "eu-extension-notice-late",
        "eu-gdpr-12-3 (notice within the first month)",
        EU,
        "2025-03-02",
        {
            "request": _req("erasure", "2025-01-31", extension_notice_on="2025-03-01"),
            "legal_basis": "court_order",
        },
        respond_by="2025-02-28",
    ),
    C(
        "eu-deadline-good-friday-easter-monday",
        "eu-time (public holidays)",
        EU,
        "2025-03-19",
        {"request": _req("restriction", "2025-03-18")},
        respond_by="2025-04-22",
    ),
    C(
        "eu-erasure-legal-claims-hold",
        "eu-gdpr-17 (3)(e); eu-gdpr-18; rules-s8.1",
        EU,
        "2025-02-01",
        {"request": _req("erasure", "2025-01-31"), "legal_hold": True, "hold_kind": "litigation"},
        action="restrict",
        never=("purge",),
    ),
    C(
        "eu-erasure-other-basis-assessed",
        "eu-gdpr-17 (grounds and exceptions)",
        EU,
        "2025-02-01",
        {"request": _req("erasure", "2025-01-31"), "legal_basis": "court_order"},
        action="review",
        due_on="2025-01-31",
        never=("purge",),
    ),
    C(
        "eu-art18-restriction",
        "eu-gdpr-18; eu-gdpr-12-3",
        EU,
        "2025-02-01",
        {"request": _req("restriction", "2025-01-31")},
        action="restrict",
        due_on="2025-01-31",
        respond_by="2025-02-28",
        only=("legal_claims", "evidence"),
    ),
    C(
        "eu-consent-withdrawn-consent-basis",
        "eu-gdpr-7-3; eu-gdpr-17 (1)(b); rules-s8.5",
        EU,
        "2025-05-02",
        {"consent_withdrawn_on": "2025-05-02"},
        action="purge",
        due_on="2025-05-02",
        only=(),
    ),
    C(
        "eu-consent-withdrawn-police-arrest-basis",
        "rules-s8.5 (not a trigger under LED)",
        EU,
        "2025-05-03",
        {
            "holder": "law_enforcement",
            "data_kind": "booking_photo",
            "legal_basis": "arrest",
            "consent_withdrawn_on": "2025-05-02",
        },
        never=("purge",),
    ),
    C(
        "eu-consent-withdrawn-other-basis",
        "eu-gdpr-7-3 (another legal basis continues)",
        EU,
        "2025-05-03",
        {"legal_basis": "statute", "consent_withdrawn_on": "2025-05-02"},
        never=("purge",),
        denied=("face_recognition",),
    ),
    C(
        "eu-led-erasure-request",
        "eu-led-16 (no 1-month limit in the Directive)",
        EU,
        "2025-02-01",
        {
            "holder": "law_enforcement",
            "data_kind": "booking_photo",
            "legal_basis": "arrest",
            "request": _req("erasure", "2025-01-31"),
        },
        action="review",
        due_on="2025-01-31",
        # No statute's deadline: the agency's service target (one month) is what is shown.
        respond_by="2025-02-28",
    ),
    C(
        "eu-led-evidence-hold",
        "eu-led-16 (3)(b); rules-s8.1",
        EU,
        "2025-02-01",
        {
            "holder": "law_enforcement",
            "data_kind": "booking_photo",
            "legal_basis": "arrest",
            "purpose_satisfied_on": "2025-01-15",
            "legal_hold": True,
            "hold_kind": "evidence",
        },
        action="restrict",
        never=("purge",),
    ),
    C(
        "eu-led-litigation-hold",
        "rules-s8.2",
        EU,
        "2025-02-01",
        {
            "holder": "law_enforcement",
            "data_kind": "booking_photo",
            "legal_basis": "arrest",
            "purpose_satisfied_on": "2025-01-15",
            "legal_hold": True,
            "hold_kind": "litigation",
        },
        action="review",
        never=("purge",),
    ),
    C(
        "eu-gdpr-no-longer-necessary",
        "eu-gdpr-17 (1)(a)",
        EU,
        "2025-02-01",
        {"purpose_satisfied_on": "2025-01-15"},
        action="purge",
        due_on="2025-01-15",
    ),
    C(
        "eu-fr-needs-consent",
        "eu-gdpr-4-14-9",
        EU,
        "2025-02-01",
        {"legal_basis": "court_order"},
        denied=("face_recognition",),
    ),
    # ------------------------------------------------------------------ default pack
    C(
        "default-first-review",
        "rules-s8.7",
        DEF,
        "2024-06-04",
        {},
        action="review",
        due_on="2024-06-03",
        never=("purge", "retain"),
    ),
    C(
        "default-yearly-review",
        "rules-s8.7; uk-dpa-s39",
        DEF,
        "2024-12-01",
        {"reviewed_on": "2024-06-10"},
        action="review",
        due_on="2025-06-10",
    ),
    C(
        "default-request-and-hold",
        "rules-s8.7; rules-s8.1",
        DEF,
        "2024-12-01",
        {
            "reviewed_on": "2024-06-10",
            "legal_hold": True,
            "hold_kind": "litigation",
            "request": _req("erasure", "2024-11-20"),
        },
        action="review",
        due_on="2024-11-20",
        never=("purge",),
    ),
    C(
        "wrong-jurisdiction-to-review",
        "rules-s8.7",
        CA,
        "2024-06-01",
        {"jurisdiction": "US-IL"},
        action="review",
        never=("purge",),
    ),
]


def _facts(case: Case) -> Facts:
    data: dict[str, Any] = dict(_BASE[case.pack])
    for key, value in case.facts.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    data["id"] = case.id
    return Facts.from_json(data)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_independent_case(case: Case) -> None:
    decision = evaluate(bundled_pack(case.pack), _facts(case), D(case.today))
    got = decision.to_json()
    context = f"{case.id} [{case.row}]: {got}"
    if case.action is not None:
        assert decision.action.value == case.action, context
    if case.action_in:
        assert decision.action.value in case.action_in, context
    for bad in case.never:
        assert decision.action.value != bad, context
    if case.due_on is not None:
        assert decision.due_on == D(case.due_on), context
    if case.is_due is not None:
        assert decision.is_due(D(case.today)) is case.is_due, context
    if case.respond_by != "-":
        expected = None if case.respond_by is None else D(case.respond_by)
        assert decision.respond_by == expected, context
    if case.rule is not None:
        assert decision.rule == f"{case.pack}/{case.rule}", context
    if case.next_action is not None:
        assert decision.next_action is not None, context
        assert decision.next_action.value == case.next_action, context
    if case.next_due_on is not None:
        assert decision.next_due_on == D(case.next_due_on), context
    purposes = {p.value for p in decision.purposes}
    for purpose in case.allowed:
        assert purpose in purposes, context
    for purpose in case.denied:
        assert purpose not in purposes, context
    if case.only is not None:
        assert purposes <= set(case.only), context


def test_cases_cover_every_pack_and_are_many() -> None:
    assert {c.pack for c in CASES} == set(_BASE)
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize(
    ("jurisdiction", "pack_id"),
    [
        ("GB-ENG", GB),
        ("US-CA", CA),
        ("US-IL", IL),
        ("US-TX", TX),
        ("EU", EU),
    ],
)
def test_each_jurisdiction_has_its_pack(jurisdiction: str, pack_id: str) -> None:
    assert pack_for_jurisdiction(jurisdiction).id == pack_id
