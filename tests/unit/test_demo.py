"""The synthetic demo data set: portraits on disk, a manifest that import can trust, determinism."""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import re
import statistics
from collections import Counter
from dataclasses import fields
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from policies.vocabulary import (
    DataKind,
    Holder,
    Jurisdiction,
    LegalBasis,
    OffenceClass,
    Outcome,
)
from retention.ingest.demo import MANIFEST_COLUMNS, DemoRow, demo_rows, write_demo_set
from retention.ingest.portraits import generate_portrait

# Copied from the import spec, not from the module, so a reordering there fails here.
SPEC_COLUMNS = [
    "booking_number",
    "agency",
    "jurisdiction",
    "holder",
    "data_kind",
    "name",
    "date_of_birth",
    "state_id",
    "arrest_date",
    "offence",
    "offence_class",
    "mopi_group",
    "outcome",
    "outcome_date",
    "legal_basis",
    "images",
    "source_system",
    "captured_at",
    "captured_by",
    "capture_device",
    "capture_place",
]

SMALL_SET = 30  # seed 1: includes two-image records and a PNG record


def _values(enum: type[StrEnum]) -> set[str]:
    return {member.value for member in enum}


def _read_manifest(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        return header, [dict(zip(header, row, strict=True)) for row in reader]


def _as_csv(count: int, seed: int = 1) -> list[dict[str, str]]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(MANIFEST_COLUMNS)
    for row in demo_rows(count, seed):
        writer.writerow(row.csv_values())
    buffer.seek(0)
    return list(csv.DictReader(buffer))


def _age_at(dob: dt.date, day: dt.date) -> int:
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


@pytest.fixture(scope="module")
def demo_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    return write_demo_set(out, SMALL_SET, seed=1)


@pytest.fixture(scope="module")
def sample() -> list[dict[str, str]]:
    return _as_csv(600, seed=7)


def test_manifest_columns_are_the_documented_ones_in_order() -> None:
    assert list(MANIFEST_COLUMNS) == SPEC_COLUMNS
    assert tuple(f.name for f in fields(DemoRow)) == MANIFEST_COLUMNS


def test_written_manifest_has_the_header_and_one_row_per_record(demo_set: Path) -> None:
    header, rows = _read_manifest(demo_set)
    assert demo_set.name == "manifest.csv"
    assert header == list(MANIFEST_COLUMNS)
    assert len(rows) == SMALL_SET
    assert not list(demo_set.parent.glob("*.partial"))


def test_every_image_named_in_the_manifest_exists_and_opens_at_the_expected_size(
    demo_set: Path,
) -> None:
    _, rows = _read_manifest(demo_set)
    named = [path for row in rows for path in row["images"].split(";")]
    assert any(";" in row["images"] for row in rows)
    assert any(path.endswith(".png") for path in named)
    for relative in named:
        assert re.fullmatch(r"images/\d{6}-[ab]\.(jpg|png)", relative)
        with Image.open(demo_set.parent / relative) as image:
            assert image.size == (480, 600)
            assert image.mode == "RGB"
            assert image.format == ("PNG" if relative.endswith(".png") else "JPEG")
    on_disk = {f"images/{p.name}" for p in (demo_set.parent / "images").iterdir()}
    assert on_disk == set(named)


def test_jpeg_portraits_are_near_the_benchmark_size(demo_set: Path) -> None:
    sizes = [p.stat().st_size for p in (demo_set.parent / "images").glob("*.jpg")]
    assert 48 * 1024 <= statistics.mean(sizes) <= 80 * 1024


def test_every_value_is_in_its_vocabulary(sample: list[dict[str, str]]) -> None:
    for row in sample:
        assert row["jurisdiction"] in _values(Jurisdiction)
        assert row["holder"] in _values(Holder)
        assert row["data_kind"] in _values(DataKind)
        assert row["offence_class"] in _values(OffenceClass)
        assert row["outcome"] in _values(Outcome)
        assert row["legal_basis"] in _values(LegalBasis)
        assert row["offence"]
        assert re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", row["name"])
        assert row["state_id"] == "" or re.fullmatch(r"DEMO-ID-\d{6}", row["state_id"])
        assert re.fullmatch(r"[A-Z]{3,4}-\d{4}-\d{6,}", row["booking_number"])
        assert row["booking_number"].split("-")[1] == row["arrest_date"][:4]
        assert re.fullmatch(r"OP\d{4}", row["captured_by"])
        assert re.fullmatch(r"CAM-\d{2}", row["capture_device"])
        assert row["source_system"] in {"NICHE-RMS", "CJIS-BOOKING", "DEMO-GEN", "FACEGATE-DEMO"}
        assert row["capture_place"]


def test_dates_parse_and_are_ordered(sample: list[dict[str, str]]) -> None:
    for row in sample:
        dob = dt.date.fromisoformat(row["date_of_birth"])
        arrest = dt.date.fromisoformat(row["arrest_date"])
        assert dob < arrest
        assert dt.date(2010, 1, 1) <= arrest <= dt.date(2026, 10, 31)
        if row["outcome"] == "pending":
            assert row["outcome_date"] == ""
        else:
            decided = dt.date.fromisoformat(row["outcome_date"])
            assert arrest <= decided <= dt.date(2026, 11, 20)
        captured = dt.datetime.fromisoformat(row["captured_at"])
        assert captured.utcoffset() is not None
        assert captured.date() == arrest


def test_mopi_group_is_set_only_in_england_and_matches_the_offence_class(
    sample: list[dict[str, str]],
) -> None:
    allowed = {"violent": {"1", "2"}, "sexual": {"1", "2"}, "serious": {"1", "2"}}
    for row in sample:
        if row["jurisdiction"] == "GB-ENG":
            assert row["mopi_group"] in allowed.get(row["offence_class"], {"3"})
        else:
            assert row["mopi_group"] == ""


def test_holders_kinds_and_legal_bases_are_consistent(sample: list[dict[str, str]]) -> None:
    for row in sample:
        if row["holder"] == "private_entity":
            assert row["jurisdiction"] in {"US-IL", "US-TX"}
            assert row["data_kind"] == "face_template"
            assert row["legal_basis"] == "consent"
        if row["legal_basis"] == "conviction":
            assert row["outcome"] == "convicted"


def test_the_mix_looks_like_a_real_register(sample: list[dict[str, str]]) -> None:
    jurisdictions = Counter(row["jurisdiction"] for row in sample)
    outcomes = Counter(row["outcome"] for row in sample)
    holders = Counter(row["holder"] for row in sample)
    kinds = Counter(row["data_kind"] for row in sample)
    assert set(jurisdictions) == _values(Jurisdiction)
    assert {j for j, _ in jurisdictions.most_common(2)} == {"GB-ENG", "US-CA"}
    assert outcomes.most_common(1)[0][0] == "convicted"
    assert outcomes["no_further_action"] + outcomes["not_charged"] > outcomes["acquitted"]
    assert outcomes["conviction_quashed"] + outcomes["factually_innocent"] < outcomes["acquitted"]
    assert 0 < holders["private_entity"] < holders["law_enforcement"] / 10
    assert kinds.most_common(1)[0][0] == "booking_photo"


def test_a_200_row_sample_has_a_juvenile_share() -> None:
    rows = _as_csv(200)
    juveniles = sum(
        _age_at(dt.date.fromisoformat(r["date_of_birth"]), dt.date.fromisoformat(r["arrest_date"]))
        < 18
        for r in rows
    )
    assert 0.03 <= juveniles / len(rows) <= 0.15


def test_booking_numbers_are_unique_per_agency() -> None:
    seen = Counter((row.agency, row.booking_number) for row in demo_rows(3000, seed=3))
    assert max(seen.values()) == 1


def test_same_seed_gives_byte_identical_sets_and_another_seed_does_not(
    demo_set: Path, tmp_path: Path
) -> None:
    again = write_demo_set(tmp_path / "again", SMALL_SET, seed=1)
    other = write_demo_set(tmp_path / "other", SMALL_SET, seed=2)
    assert again.read_bytes() == demo_set.read_bytes()
    for image in (demo_set.parent / "images").iterdir():
        assert (again.parent / "images" / image.name).read_bytes() == image.read_bytes()
    assert other.read_bytes() != demo_set.read_bytes()
    first = "images/000001-a.jpg"
    assert (other.parent / first).read_bytes() != (demo_set.parent / first).read_bytes()


def test_a_record_does_not_change_with_the_count_around_it() -> None:
    assert list(demo_rows(10, seed=5)) == list(demo_rows(25, seed=5))[:10]


def test_progress_is_reported_after_each_record(tmp_path: Path) -> None:
    seen: list[int] = []
    write_demo_set(tmp_path, 4, seed=1, progress=seen.append)
    assert seen == [1, 2, 3, 4]


def test_zero_records_gives_a_header_only_manifest(tmp_path: Path) -> None:
    header, rows = _read_manifest(write_demo_set(tmp_path, 0))
    assert header == list(MANIFEST_COLUMNS)
    assert rows == []


def test_a_negative_count_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="count"):
        demo_rows(-1)
    with pytest.raises(ValueError, match="count"):
        write_demo_set(tmp_path / "out", -1)
    assert not (tmp_path / "out").exists()


def _portrait(seed: int, **kwargs: Any) -> bytes:
    return generate_portrait(
        random.Random(seed),
        booking_number="WXC-2019-004211",
        agency="Wessex Constabulary",
        when=dt.date(2019, 5, 3),
        **kwargs,
    )


def test_a_portrait_is_a_function_of_the_rng_state() -> None:
    assert _portrait(11) == _portrait(11)
    assert _portrait(11) != _portrait(12)
    assert _portrait(11, variant=1) != _portrait(11)


@pytest.mark.parametrize(
    ("kwargs", "size", "fmt"),
    [
        pytest.param({}, (480, 600), "JPEG", id="default-jpeg"),
        pytest.param({"fmt": "PNG"}, (480, 600), "PNG", id="png"),
        pytest.param({"variant": 1}, (480, 600), "JPEG", id="profile"),
        pytest.param({"size": (240, 300)}, (240, 300), "JPEG", id="smaller"),
    ],
)
def test_a_portrait_opens_at_the_requested_size_and_format(
    kwargs: dict[str, object], size: tuple[int, int], fmt: str
) -> None:
    with Image.open(io.BytesIO(_portrait(1, **kwargs))) as image:
        assert image.size == size
        assert image.format == fmt
        assert image.mode == "RGB"


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"fmt": "GIF"}, id="unknown-format"),
        pytest.param({"variant": 2}, id="unknown-variant"),
        pytest.param({"size": (4, 4)}, id="too-small"),
    ],
)
def test_bad_portrait_arguments_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"fmt|variant|size"):
        _portrait(1, **kwargs)
