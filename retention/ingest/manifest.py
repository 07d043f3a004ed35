"""The CSV import manifest: its columns and the parsing of one row into a ``Booking``.

Layer: ``retention.ingest``. Error messages name the column and the problem but never echo the value
of an identity column (name, date of birth, state id): reject reports and terminals are not a
place for personal data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from policies.vocabulary import (
    DataKind,
    Holder,
    Jurisdiction,
    LegalBasis,
    OffenceClass,
    Outcome,
)
from retention.errors import ManifestError

REQUIRED_COLUMNS = (
    "booking_number",
    "agency",
    "jurisdiction",
    "name",
    "date_of_birth",
    "arrest_date",
    "offence_class",
    "legal_basis",
    "images",
    "source_system",
    "captured_at",
)
OPTIONAL_COLUMNS = (
    "holder",
    "data_kind",
    "state_id",
    "offence",
    "mopi_group",
    "outcome",
    "outcome_date",
    "captured_by",
    "capture_device",
    "capture_place",
)
ALL_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
IDENTITY_COLUMNS = frozenset({"name", "date_of_birth", "state_id"})
MAX_IMAGES_PER_ROW = 10

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class Booking:
    """One booking as it arrives (from a manifest row or the API), validated."""

    booking_number: str
    agency: str
    jurisdiction: Jurisdiction
    holder: Holder
    data_kind: DataKind
    name: str
    date_of_birth: dt.date
    state_id: str | None
    arrest_date: dt.date
    offence: str | None
    offence_class: OffenceClass
    mopi_group: int | None
    outcome: Outcome
    outcome_on: dt.date | None
    legal_basis: LegalBasis
    source_system: str
    captured_at: dt.datetime
    captured_by: str | None
    capture_device: str | None
    capture_place: str | None

    def __repr__(self) -> str:
        # Identity fields stay out of reprs, tracebacks and logs.
        return f"<Booking {self.agency}/{self.booking_number} {self.jurisdiction}>"

    @property
    def age_at_capture(self) -> int:
        """Whole years of age on the capture date (what juvenile rules look at)."""
        captured = self.captured_at.date()
        dob = self.date_of_birth
        years = captured.year - dob.year
        if (captured.month, captured.day) < (dob.month, dob.day):
            years -= 1
        return years

    def fingerprint_fields(self) -> dict[str, str]:
        """Every field as text: equal bookings give equal fingerprints."""
        return {
            "booking_number": self.booking_number,
            "agency": self.agency,
            "jurisdiction": self.jurisdiction.value,
            "holder": self.holder.value,
            "data_kind": self.data_kind.value,
            "name": self.name,
            "date_of_birth": self.date_of_birth.isoformat(),
            "state_id": self.state_id or "",
            "arrest_date": self.arrest_date.isoformat(),
            "offence": self.offence or "",
            "offence_class": self.offence_class.value,
            "mopi_group": "" if self.mopi_group is None else str(self.mopi_group),
            "outcome": self.outcome.value,
            "outcome_on": self.outcome_on.isoformat() if self.outcome_on else "",
            "legal_basis": self.legal_basis.value,
            "source_system": self.source_system,
            "captured_at": self.captured_at.astimezone(dt.UTC).isoformat(),
            "captured_by": self.captured_by or "",
            "capture_device": self.capture_device or "",
            "capture_place": self.capture_place or "",
        }


def check_header(fieldnames: Sequence[str] | None) -> None:
    """Refuse a manifest whose header lacks a required column or has an unknown one."""
    if not fieldnames:
        raise ManifestError("manifest is empty or has no header row")
    names = [f.strip() for f in fieldnames]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    unknown = [c for c in names if c not in ALL_COLUMNS]
    dupes = sorted({c for c in names if names.count(c) > 1})
    problems = []
    if missing:
        problems.append(f"missing required column(s): {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column(s): {', '.join(unknown)}")
    if dupes:
        problems.append(f"duplicate column(s): {', '.join(dupes)}")
    if problems:
        raise ManifestError("manifest header: " + "; ".join(problems))


def _show(column: str, value: str) -> str:
    return "" if column in IDENTITY_COLUMNS else f" {value!r}"


def _text(row: Mapping[str, str], column: str, *, required: bool, limit: int) -> str | None:
    value = (row.get(column) or "").strip()
    if not value:
        if required:
            raise ManifestError(f"column {column}: required but empty")
        return None
    if len(value) > limit:
        raise ManifestError(f"column {column}: longer than {limit} characters")
    if any(ord(c) < 32 for c in value):
        raise ManifestError(f"column {column}: contains control characters")
    return value


def _required(row: Mapping[str, str], column: str, limit: int) -> str:
    value = _text(row, column, required=True, limit=limit)
    assert value is not None
    return value


def _date(row: Mapping[str, str], column: str, *, required: bool) -> dt.date | None:
    value = _text(row, column, required=required, limit=10)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ManifestError(
            f"column {column}:{_show(column, value)} is not a date (expected YYYY-MM-DD)"
        ) from None


def _enum(row: Mapping[str, str], column: str, enum: type[E], default: E | None = None) -> E:
    value = _text(row, column, required=default is None, limit=32)
    if value is None:
        assert default is not None
        return default
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise ManifestError(
            f"column {column}: unknown value {value!r} (one of: {allowed})"
        ) from None


def _timestamp(row: Mapping[str, str], column: str) -> dt.datetime:
    value = _required(row, column, 40)
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ManifestError(
            f"column {column}: {value!r} is not an ISO 8601 date-time "
            "(expected e.g. 2021-03-04T10:15:00+00:00)"
        ) from None
    if parsed.tzinfo is None:
        raise ManifestError(f"column {column}: {value!r} has no UTC offset (add e.g. +00:00)")
    return parsed.astimezone(dt.UTC)


def image_paths(row: Mapping[str, str]) -> list[str]:
    """The ``images`` column: one or more paths separated by ``;``."""
    raw = _required(row, "images", 4000)
    paths = [p.strip() for p in raw.split(";") if p.strip()]
    if not paths:
        raise ManifestError("column images: no image path given")
    if len(paths) > MAX_IMAGES_PER_ROW:
        raise ManifestError(f"column images: more than {MAX_IMAGES_PER_ROW} images in one row")
    if len(set(paths)) != len(paths):
        raise ManifestError("column images: the same image is listed twice")
    return paths


def parse_booking(row: Mapping[str, str], *, today: dt.date) -> Booking:
    """Validate one manifest row; raises ``ManifestError`` naming the column."""
    dob = _date(row, "date_of_birth", required=True)
    arrest = _date(row, "arrest_date", required=True)
    assert dob is not None
    assert arrest is not None
    outcome = _enum(row, "outcome", Outcome, Outcome.PENDING)
    outcome_on = _date(row, "outcome_date", required=False)
    captured_at = _timestamp(row, "captured_at")
    if dob > today:
        raise ManifestError("column date_of_birth: in the future")
    if arrest > today:
        raise ManifestError(f"column arrest_date: {arrest.isoformat()} is in the future")
    if arrest < dob:
        raise ManifestError("column arrest_date: before the date of birth")
    if captured_at.date() < dob:
        raise ManifestError("column captured_at: before the date of birth")
    if captured_at.date() > today:
        raise ManifestError("column captured_at: in the future")
    if outcome is Outcome.PENDING:
        if outcome_on is not None:
            raise ManifestError("column outcome_date: given but the outcome is pending")
    else:
        if outcome_on is None:
            raise ManifestError(f"column outcome_date: required for outcome {outcome.value}")
        if outcome_on < arrest:
            raise ManifestError(
                f"column outcome_date: {outcome_on.isoformat()} is before the arrest date"
            )
        if outcome_on > today:
            raise ManifestError(f"column outcome_date: {outcome_on.isoformat()} is in the future")
    mopi_raw = _text(row, "mopi_group", required=False, limit=2)
    mopi: int | None = None
    if mopi_raw is not None:
        if mopi_raw not in ("1", "2", "3"):
            raise ManifestError(f"column mopi_group: {mopi_raw!r} is not 1, 2 or 3")
        mopi = int(mopi_raw)
    return Booking(
        booking_number=_required(row, "booking_number", 64),
        agency=_required(row, "agency", 64),
        jurisdiction=_enum(row, "jurisdiction", Jurisdiction),
        holder=_enum(row, "holder", Holder, Holder.LAW_ENFORCEMENT),
        data_kind=_enum(row, "data_kind", DataKind, DataKind.BOOKING_PHOTO),
        name=_required(row, "name", 200),
        date_of_birth=dob,
        state_id=_text(row, "state_id", required=False, limit=64),
        arrest_date=arrest,
        offence=_text(row, "offence", required=False, limit=200),
        offence_class=_enum(row, "offence_class", OffenceClass),
        mopi_group=mopi,
        outcome=outcome,
        outcome_on=outcome_on,
        legal_basis=_enum(row, "legal_basis", LegalBasis),
        source_system=_required(row, "source_system", 64),
        captured_at=captured_at,
        captured_by=_text(row, "captured_by", required=False, limit=64),
        capture_device=_text(row, "capture_device", required=False, limit=64),
        capture_place=_text(row, "capture_place", required=False, limit=120),
    )
