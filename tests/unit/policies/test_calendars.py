"""Legal calendars: month ends, 29 February, weekends and public holidays, CCP §12 day counts."""

from __future__ import annotations

from datetime import date

import pytest

from policies.calendars import add_months, due_date, holidays_for, is_working_day
from policies.vocabulary import CalendarConvention as Cal
from policies.vocabulary import PeriodUnit as U

D = date.fromisoformat


@pytest.mark.parametrize(
    ("start", "amount", "unit", "convention", "jurisdiction", "expected"),
    [
        # ICO (uk-ico-month): corresponding date next month.
        pytest.param(
            "2024-09-03",
            1,
            U.MONTHS,
            Cal.MONTHS_ROLL,
            "GB-ENG",
            "2024-10-03",
            id="ico-3-sep-to-3-oct",
        ),
        # No 31 February: last day of the month (leap and common years).
        pytest.param(
            "2024-01-31",
            1,
            U.MONTHS,
            Cal.MONTHS_ROLL,
            "GB-ENG",
            "2024-02-29",
            id="31-jan-plus-1-month-leap",
        ),
        pytest.param(
            "2023-01-31",
            1,
            U.MONTHS,
            Cal.MONTHS_ROLL,
            "GB-ENG",
            "2023-02-28",
            id="31-jan-plus-1-month-common",
        ),
        # Falls on Saturday 15 June 2024: next working day Monday 17 June.
        pytest.param(
            "2024-05-15",
            1,
            U.MONTHS,
            Cal.MONTHS_ROLL,
            "GB-ENG",
            "2024-06-17",
            id="month-end-on-saturday-rolls-to-monday",
        ),
        # Summer bank holiday (England) Monday 26 August 2024.
        pytest.param(
            "2024-07-26",
            1,
            U.MONTHS,
            Cal.MONTHS_ROLL,
            "GB-ENG",
            "2024-08-27",
            id="month-end-on-bank-holiday",
        ),
        # Good Friday 29 March 2024, weekend, Easter Monday 1 April: Tuesday 2 April.
        pytest.param(
            "2024-02-29",
            1,
            U.MONTHS,
            Cal.MONTHS_ROLL,
            "GB-ENG",
            "2024-04-02",
            id="easter-good-friday-weekend-easter-monday",
        ),
        # EU (Reg. 1182/71 Art 3): Christmas and 26 December (TARGET closing days).
        pytest.param(
            "2024-11-25", 1, U.MONTHS, Cal.MONTHS_ROLL, "EU", "2024-12-27", id="eu-christmas-rolls"
        ),
        # CCP §12: first day excluded, last included: 1 March + 14 days = 15 March (Friday).
        pytest.param(
            "2024-03-01", 14, U.DAYS, Cal.CA_DAYS, "US-CA", "2024-03-15", id="ca-14-days-plain"
        ),
        # Last day a Sunday: next day.
        pytest.param(
            "2024-06-02",
            14,
            U.DAYS,
            Cal.CA_DAYS,
            "US-CA",
            "2024-06-17",
            id="ca-14-days-sunday-rolls",
        ),
        # Thanksgiving and the day after are California holidays; Saturday is not rolled over.
        pytest.param(
            "2024-11-14",
            14,
            U.DAYS,
            Cal.CA_DAYS,
            "US-CA",
            "2024-11-30",
            id="ca-14-days-thanksgiving-then-saturday",
        ),
        # Anniversary of 29 February: 28 February (RULES.md §8.3, the earlier date).
        pytest.param(
            "2020-02-29",
            3,
            U.YEARS,
            Cal.ANNIVERSARY,
            "US-IL",
            "2023-02-28",
            id="anniversary-29-feb-to-28-feb",
        ),
        pytest.param(
            "2024-02-29",
            1,
            U.YEARS,
            Cal.ANNIVERSARY,
            "US-TX",
            "2025-02-28",
            id="first-anniversary-29-feb",
        ),
        pytest.param(
            "2024-02-29",
            4,
            U.YEARS,
            Cal.ANNIVERSARY,
            "US-TX",
            "2028-02-29",
            id="anniversary-29-feb-leap-to-leap",
        ),
        # BIPA gives no roll: a Sunday stays a Sunday.
        pytest.param(
            "2021-03-07", 3, U.YEARS, Cal.NO_ROLL, "US-IL", "2024-03-07", id="no-roll-keeps-weekend"
        ),
        pytest.param(
            "2024-01-06",
            0 + 7,
            U.DAYS,
            Cal.NO_ROLL,
            "US-IL",
            "2024-01-13",
            id="no-roll-days-saturday",
        ),
    ],
)
def test_due_date(
    start: str, amount: int, unit: U, convention: Cal, jurisdiction: str, expected: str
) -> None:
    assert due_date(D(start), amount, unit, convention, jurisdiction) == D(expected)


def test_add_months_clamps_and_crosses_years() -> None:
    assert add_months(D("2023-12-31"), 2) == D("2024-02-29")
    assert add_months(D("2024-03-31"), -1) == D("2024-02-29")
    assert add_months(D("2024-11-30"), 3) == D("2025-02-28")


def test_holidays_come_from_the_holidays_package_per_jurisdiction() -> None:
    assert D("2024-08-26") in holidays_for("GB-ENG", 2024)  # English summer bank holiday
    assert D("2024-08-26") not in holidays_for("US-CA", 2024)
    assert D("2024-03-31") in holidays_for("US-CA", 2024)  # Cesar Chavez Day
    assert not is_working_day(D("2024-12-26"), "GB-ENG")
    assert is_working_day(D("2024-12-27"), "GB-ENG")
    assert holidays_for("XX", 2024) == frozenset()


def test_holiday_sets_are_cached() -> None:
    assert holidays_for("GB-ENG", 2030) is holidays_for("GB-ENG", 2030)
