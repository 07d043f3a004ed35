"""Manifest rows: each problem names its column; identity values are never echoed."""

from __future__ import annotations

import datetime as dt

import pytest

from retention.errors import ManifestError
from retention.ingest.manifest import check_header, image_paths, parse_booking
from tests.helpers import row

TODAY = dt.date(2026, 11, 20)


def test_a_valid_row_parses_to_a_booking() -> None:
    b = parse_booking(row(), today=TODAY)
    assert b.booking_number == "MPS-2020-000001"
    assert b.jurisdiction.value == "GB-ENG"
    assert b.captured_at == dt.datetime(2020, 5, 5, 10, 15, tzinfo=dt.UTC)
    assert b.age_at_capture == 30
    assert "Alex" not in repr(b)


def test_age_at_capture_counts_whole_years_to_the_capture_date() -> None:
    before = parse_booking(row(date_of_birth="2002-05-06", arrest_date="2020-05-05"), today=TODAY)
    on = parse_booking(row(date_of_birth="2002-05-05", arrest_date="2020-05-05"), today=TODAY)
    assert (before.age_at_capture, on.age_at_capture) == (17, 18)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"arrest_date": "2020-13-01"}, "column arrest_date: '2020-13-01' is not a date"),
        ({"arrest_date": "2027-01-01"}, "column arrest_date: 2027-01-01 is in the future"),
        ({"jurisdiction": "US-NY"}, "column jurisdiction: unknown value 'US-NY'"),
        ({"offence_class": ""}, "column offence_class: required but empty"),
        ({"outcome_date": ""}, "column outcome_date: required for outcome no_further_action"),
        ({"outcome": "pending"}, "column outcome_date: given but the outcome is pending"),
        ({"outcome_date": "2019-01-01"}, "before the arrest date"),
        ({"captured_at": "2020-05-05T10:15:00"}, "column captured_at: .* has no UTC offset"),
        ({"captured_at": "yesterday"}, "column captured_at: 'yesterday' is not an ISO 8601"),
        ({"mopi_group": "4"}, "column mopi_group: '4' is not 1, 2 or 3"),
        ({"images": " ; "}, "column images: no image path given"),
        ({"images": "a.jpg;a.jpg"}, "the same image is listed twice"),
        ({"booking_number": "x" * 65}, "column booking_number: longer than 64"),
        ({"date_of_birth": "2021-01-01"}, "column arrest_date: before the date of birth"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None,
)
def test_each_bad_value_is_named_by_column(overrides: dict[str, str], message: str) -> None:
    def parse() -> None:
        r = row(**overrides)
        parse_booking(r, today=TODAY)
        image_paths(r)

    with pytest.raises(ManifestError, match=message):
        parse()


@pytest.mark.parametrize("column", ["name", "date_of_birth"])
def test_identity_values_are_not_echoed_in_errors(column: str) -> None:
    bad = {"name": "Zed Q\x01uincy", "date_of_birth": "1990-99-99"}[column]
    with pytest.raises(ManifestError) as info:
        parse_booking(row(**{column: bad}), today=TODAY)
    assert column in str(info.value)
    assert bad not in str(info.value)


def test_the_header_must_have_required_and_only_known_columns() -> None:
    with pytest.raises(ManifestError, match="missing required column\\(s\\): images") as info:
        check_header([c for c in row() if c != "images"] + ["colour"])
    assert "unknown column(s): colour" in str(info.value)
    with pytest.raises(ManifestError, match="no header"):
        check_header(None)
