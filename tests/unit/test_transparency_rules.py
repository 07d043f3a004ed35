"""The transparency report's publication rules, as tables: suppression below 5, nearest-rank
percentiles, and which months may be published."""

from __future__ import annotations

import datetime as dt

import pytest

from retention.engine.transparency import (
    FEWER,
    ReportError,
    last_complete_month,
    nearest_rank,
    parse_month,
    published,
    recent_months,
    shown,
)


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        pytest.param(0, None, id="zero-is-suppressed-too"),
        pytest.param(1, None, id="one"),
        pytest.param(4, None, id="four-the-largest-suppressed"),
        pytest.param(5, 5, id="five-the-smallest-shown"),
        pytest.param(1234, 1234, id="large"),
    ],
)
def test_counts_under_5_are_never_published(count: int, expected: int | None) -> None:
    assert published(count) == expected
    assert shown(published(count)) == (FEWER if expected is None else str(count))


@pytest.mark.parametrize(
    ("histogram", "share", "expected"),
    [
        pytest.param({}, 0.5, None, id="no-decisions"),
        pytest.param({3: 1}, 0.5, 3, id="one-decision"),
        pytest.param({1: 1, 2: 1, 3: 1, 4: 1, 5: 1}, 0.5, 3, id="median-of-five"),
        pytest.param({1: 1, 2: 1, 3: 1, 4: 1}, 0.5, 2, id="median-of-four-is-the-lower-middle"),
        pytest.param({1: 9, 30: 1}, 0.9, 1, id="p90-nine-in-ten-within-a-day"),
        pytest.param({1: 8, 30: 2}, 0.9, 30, id="p90-needs-the-ninth-of-ten"),
        pytest.param({0: 5, 10: 5}, 0.5, 0, id="same-day-decisions-count-as-zero-days"),
    ],
)
def test_percentiles_use_the_nearest_rank(
    histogram: dict[int, int], share: float, expected: int | None
) -> None:
    assert nearest_rank(histogram, share) == expected


TODAY = dt.date(2026, 11, 20)


@pytest.mark.parametrize(
    ("text", "first"),
    [
        pytest.param("2026-10", dt.date(2026, 10, 1), id="last-month"),
        pytest.param(" 2025-02 ", dt.date(2025, 2, 1), id="spaces-trimmed"),
    ],
)
def test_a_month_that_is_over_parses(text: str, first: dt.date) -> None:
    assert parse_month(text, TODAY) == first


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("2026-11", "months that are over; the latest is 2026-10", id="this-month"),
        pytest.param("2027-01", "months that are over", id="future"),
        pytest.param("2026-13", "no such month", id="month-13"),
        pytest.param("2026-1", "YYYY-MM", id="one-digit-month"),
        pytest.param("October", "YYYY-MM", id="words"),
    ],
)
def test_other_months_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ReportError, match=message):
        parse_month(text, TODAY)


def test_recent_months_run_back_from_the_last_complete_month() -> None:
    assert last_complete_month(dt.date(2026, 1, 1)) == dt.date(2025, 12, 1)
    assert recent_months(TODAY, 3) == [
        dt.date(2026, 10, 1),
        dt.date(2026, 9, 1),
        dt.date(2026, 8, 1),
    ]
