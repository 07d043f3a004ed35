"""Synthetic demo data: a CSV import manifest of fictional bookings and their drawn portraits.

Layer: ``retention.ingest``. Imports the standard library, ``policies.vocabulary`` and
``retention.ingest.portraits`` (the drawing) only; it must not import Flask, werkzeug or
anything in ``web``.

Everything this module makes is fake on purpose. The portraits (``retention.ingest.portraits``)
are cartoon faces drawn from Pillow primitives — never photographs of, or derived from, real
people — and each holds a "DEMO — SYNTHETIC" placard. Agencies and custody suites are
fictional, names are random pairs from short lists, and state ids start with ``DEMO-ID-``. The
data set feeds ``mugshot demo --records N`` and the import benchmarks.

Deterministic: one seed gives byte-identical images and manifest on a given Pillow build (the
JPEG and zlib encoders are deterministic, but a different libjpeg may pick other bytes). Each
record draws from its own ``random.Random`` seeded from ``(seed, index)``, so a record does not
change when the ``count`` around it does, and nothing is held in memory but one record at a time.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TypeVar

from policies.vocabulary import (
    DataKind,
    Holder,
    Jurisdiction,
    LegalBasis,
    OffenceClass,
    Outcome,
)
from retention.ingest.portraits import generate_portrait

_T = TypeVar("_T")

MANIFEST_NAME = "manifest.csv"
IMAGES_DIR = "images"
IMAGE_SEPARATOR = ";"

ARREST_FIRST = dt.date(2010, 1, 1)
ARREST_LAST = dt.date(2026, 10, 31)
OUTCOME_LAST = dt.date(2026, 11, 20)


# --------------------------------------------------------------------------------------------
# Manifest rows
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoRow:
    """One manifest row; field names and order are exactly ``MANIFEST_COLUMNS``."""

    booking_number: str
    agency: str
    jurisdiction: Jurisdiction
    holder: Holder
    data_kind: DataKind
    name: str
    date_of_birth: dt.date
    state_id: str | None
    arrest_date: dt.date
    offence: str
    offence_class: OffenceClass
    mopi_group: int | None
    outcome: Outcome
    outcome_date: dt.date | None
    legal_basis: LegalBasis
    images: tuple[str, ...]
    source_system: str
    captured_at: dt.datetime
    captured_by: str
    capture_device: str
    capture_place: str

    def csv_values(self) -> tuple[str, ...]:
        """The row as CSV cells in ``MANIFEST_COLUMNS`` order; ``None`` becomes an empty cell."""
        return (
            self.booking_number,
            self.agency,
            self.jurisdiction.value,
            self.holder.value,
            self.data_kind.value,
            self.name,
            self.date_of_birth.isoformat(),
            self.state_id or "",
            self.arrest_date.isoformat(),
            self.offence,
            self.offence_class.value,
            "" if self.mopi_group is None else str(self.mopi_group),
            self.outcome.value,
            "" if self.outcome_date is None else self.outcome_date.isoformat(),
            self.legal_basis.value,
            IMAGE_SEPARATOR.join(self.images),
            self.source_system,
            self.captured_at.isoformat(timespec="seconds"),
            self.captured_by,
            self.capture_device,
            self.capture_place,
        )


# The manifest's columns, in the order the import documentation gives them.
MANIFEST_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(DemoRow))


@dataclass(frozen=True)
class _Agency:
    code: str
    name: str
    jurisdiction: Jurisdiction
    holder: Holder
    places: tuple[str, ...]
    systems: tuple[str, ...]


# Every agency, town and company below is fictional (literary or invented).
_AGENCIES: tuple[_Agency, ...] = (
    _Agency(
        "WXC",
        "Wessex Constabulary",
        Jurisdiction.GB_ENG,
        Holder.LAW_ENFORCEMENT,
        ("Casterbridge Custody Suite", "Budmouth Custody Suite"),
        ("NICHE-RMS", "DEMO-GEN"),
    ),
    _Agency(
        "BSP",
        "Borsetshire Police",
        Jurisdiction.GB_ENG,
        Holder.LAW_ENFORCEMENT,
        ("Borchester Custody Suite", "Felpersham Custody Suite"),
        ("NICHE-RMS", "DEMO-GEN"),
    ),
    _Agency(
        "MDC",
        "Midsomer Constabulary",
        Jurisdiction.GB_ENG,
        Holder.LAW_ENFORCEMENT,
        ("Causton Custody Suite",),
        ("NICHE-RMS",),
    ),
    _Agency(
        "SNPD",
        "Sunnydale Police Department",
        Jurisdiction.US_CA,
        Holder.LAW_ENFORCEMENT,
        ("Sunnydale Central Booking",),
        ("CJIS-BOOKING", "DEMO-GEN"),
    ),
    _Agency(
        "STPD",
        "Santa Teresa Police Department",
        Jurisdiction.US_CA,
        Holder.LAW_ENFORCEMENT,
        ("Santa Teresa Jail Intake", "Colgate Substation"),
        ("CJIS-BOOKING",),
    ),
    _Agency(
        "PBSO",
        "Pacific Bay County Sheriff",
        Jurisdiction.US_CA,
        Holder.LAW_ENFORCEMENT,
        ("Pacific Bay Inmate Reception",),
        ("CJIS-BOOKING", "DEMO-GEN"),
    ),
    _Agency(
        "PCSO",
        "Prairie County Sheriff",
        Jurisdiction.US_IL,
        Holder.LAW_ENFORCEMENT,
        ("Prairie County Jail Booking",),
        ("CJIS-BOOKING",),
    ),
    _Agency(
        "RVPD",
        "Riverton Police Department",
        Jurisdiction.US_IL,
        Holder.LAW_ENFORCEMENT,
        ("Riverton Lockup",),
        ("CJIS-BOOKING", "DEMO-GEN"),
    ),
    _Agency(
        "ALPD",
        "Arlen Police Department",
        Jurisdiction.US_TX,
        Holder.LAW_ENFORCEMENT,
        ("Arlen City Jail Intake",),
        ("CJIS-BOOKING",),
    ),
    _Agency(
        "MVSO",
        "Mesa Verde County Sheriff",
        Jurisdiction.US_TX,
        Holder.LAW_ENFORCEMENT,
        ("Mesa Verde Central Booking", "Rio Seco Annex"),
        ("CJIS-BOOKING", "DEMO-GEN"),
    ),
    _Agency(
        "RNP",
        "Ruritania National Police",
        Jurisdiction.EU,
        Holder.LAW_ENFORCEMENT,
        ("Strelsau Detention Centre",),
        ("DEMO-GEN",),
    ),
    _Agency(
        "SYP",
        "Syldavia State Police",
        Jurisdiction.EU,
        Holder.LAW_ENFORCEMENT,
        ("Klow Police Headquarters",),
        ("DEMO-GEN",),
    ),
    _Agency(
        "ACME",
        "Acme Retail Loss Prevention",
        Jurisdiction.US_IL,
        Holder.PRIVATE_ENTITY,
        ("Acme Store 0412 Entrance", "Acme Store 0977 Entrance"),
        ("FACEGATE-DEMO",),
    ),
    _Agency(
        "LSDS",
        "Lone Star Demo Security",
        Jurisdiction.US_TX,
        Holder.PRIVATE_ENTITY,
        ("Arena Gate 3", "Mall Kiosk East"),
        ("FACEGATE-DEMO",),
    ),
)

_JURISDICTIONS: tuple[tuple[Jurisdiction, int], ...] = (
    (Jurisdiction.GB_ENG, 40),
    (Jurisdiction.US_CA, 30),
    (Jurisdiction.US_TX, 12),
    (Jurisdiction.US_IL, 10),
    (Jurisdiction.EU, 8),
)
_PRIVATE_SHARE = 0.15  # of US-IL and US-TX records: retail/venue face-template watchlists

_FIRST_NAMES = (
    "Alex", "Jordan", "Sam", "Casey", "Riley", "Morgan", "Taylor", "Jamie", "Robin", "Avery",
    "Quinn", "Drew", "Charlie", "Rowan", "Emery", "Harper", "Jesse", "Kai", "Logan", "Parker",
    "Reese", "Sasha", "Skyler", "Dana", "Elliot", "Frankie", "Hayden", "Lee", "Marley", "Noel",
    "Aisha", "Bogdan", "Chen", "Dmitri", "Esme", "Farid", "Greta", "Hiro", "Ines", "Kwame",
)  # fmt: skip
_LAST_NAMES = (
    "Rivera", "Nakamura", "Okafor", "Lindqvist", "Moreau", "Kowalski", "Haddad", "Fernsby",
    "Ashdown", "Brightwater", "Calloway", "Dunmore", "Everly", "Fairbanks", "Greaves", "Holloway",
    "Ingram", "Jessop", "Kettering", "Larkspur", "Marchetti", "Northcott", "Oyelaran", "Pemberly",
    "Quillon", "Rasmussen", "Sandoval", "Thornbury", "Umber", "Vasquez", "Whitlock", "Yardley",
)  # fmt: skip

# (offence, class, MoPI group). MoPI: 1 = certain public-protection matters (serious sexual and
# violent offences), 2 = other sexual, violent or specified offences, 3 = all other offences.
_OFFENCES: dict[OffenceClass, tuple[tuple[str, int], ...]] = {
    OffenceClass.VIOLENT: (
        ("common assault", 2),
        ("assault causing bodily harm", 2),
        ("robbery", 2),
        ("affray", 2),
        ("wounding with intent", 1),
        ("aggravated assault", 1),
    ),
    OffenceClass.SEXUAL: (
        ("sexual assault", 1),
        ("indecent exposure", 2),
        ("voyeurism", 2),
    ),
    OffenceClass.SERIOUS: (
        ("burglary of a dwelling", 2),
        ("supply of controlled drugs", 2),
        ("possession of a firearm", 1),
        ("arson", 2),
        ("fraud by false representation", 2),
    ),
    OffenceClass.NONVIOLENT: (
        ("shoplifting", 3),
        ("criminal damage", 3),
        ("driving while disqualified", 3),
        ("public order offence", 3),
        ("possession of cannabis", 3),
        ("trespass", 3),
        ("theft of a pedal cycle", 3),
    ),
}
_OFFENCE_CLASSES: tuple[tuple[OffenceClass, int], ...] = (
    (OffenceClass.NONVIOLENT, 55),
    (OffenceClass.SERIOUS, 22),
    (OffenceClass.VIOLENT, 18),
    (OffenceClass.SEXUAL, 5),
)

# English police speak of "no further action"; US agencies of "not charged"; "factually
# innocent" is the California finding under Penal Code s.851.8.
_OUTCOMES_GB: tuple[tuple[Outcome, int], ...] = (
    (Outcome.CONVICTED, 30),
    (Outcome.NO_FURTHER_ACTION, 30),
    (Outcome.NOT_CHARGED, 3),
    (Outcome.PENDING, 8),
    (Outcome.DISMISSED, 6),
    (Outcome.ACQUITTED, 9),
    (Outcome.DIVERSION_COMPLETED, 10),
    (Outcome.CONVICTION_QUASHED, 2),
    (Outcome.FACTUALLY_INNOCENT, 0),
)
_OUTCOMES_US: tuple[tuple[Outcome, int], ...] = (
    (Outcome.CONVICTED, 32),
    (Outcome.NO_FURTHER_ACTION, 4),
    (Outcome.NOT_CHARGED, 24),
    (Outcome.PENDING, 8),
    (Outcome.DISMISSED, 12),
    (Outcome.ACQUITTED, 7),
    (Outcome.DIVERSION_COMPLETED, 8),
    (Outcome.CONVICTION_QUASHED, 2),
    (Outcome.FACTUALLY_INNOCENT, 0),
)
_FACTUALLY_INNOCENT_WEIGHT_CA = 3

# Days from arrest to outcome, by outcome.
_OUTCOME_DELAY: dict[Outcome, tuple[int, int]] = {
    Outcome.NO_FURTHER_ACTION: (0, 120),
    Outcome.NOT_CHARGED: (0, 90),
    Outcome.DISMISSED: (20, 400),
    Outcome.ACQUITTED: (90, 600),
    Outcome.CONVICTED: (30, 540),
    Outcome.DIVERSION_COMPLETED: (90, 400),
    Outcome.CONVICTION_QUASHED: (400, 1800),
    Outcome.FACTUALLY_INNOCENT: (60, 1100),
}

# Booking hour weights, 00..23: custody suites are busiest late afternoon to midnight.
_HOUR_WEIGHTS = (5, 4, 3, 2, 1, 1, 2, 3, 4, 5, 6, 6, 7, 7, 8, 8, 9, 9, 9, 9, 8, 8, 7, 6)
_JUVENILE_SHARE = 0.08
_TWO_IMAGE_SHARE = 1 / 8
_PNG_SHARE = 0.05


def _pick(rng: random.Random, table: Sequence[tuple[_T, int]]) -> _T:
    values = [value for value, _ in table]
    weights = [weight for _, weight in table]
    return rng.choices(values, weights)[0]


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def _random_date(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return dt.date.fromordinal(rng.randint(first.toordinal(), last.toordinal()))


def _age_at_arrest(rng: random.Random) -> int:
    if rng.random() < _JUVENILE_SHARE:
        return rng.randint(12, 17)
    # Adult arrests peak in the twenties and thirties and tail off slowly.
    return min(85, 18 + int(rng.gammavariate(2.0, 8.0)))


def _row_rng(seed: int, index: int) -> random.Random:
    # String seeds are hashed with SHA-512, so they do not depend on PYTHONHASHSEED.
    return random.Random(f"mugshot-demo:{seed}:{index}:row")


def _portrait_rng(seed: int, index: int) -> random.Random:
    return random.Random(f"mugshot-demo:{seed}:{index}:portrait")


def _make_row(rng: random.Random, index: int, next_sequence: Callable[[str], int]) -> DemoRow:
    jurisdiction = _pick(rng, _JURISDICTIONS)
    private = jurisdiction in (Jurisdiction.US_IL, Jurisdiction.US_TX) and (
        rng.random() < _PRIVATE_SHARE
    )
    holder = Holder.PRIVATE_ENTITY if private else Holder.LAW_ENFORCEMENT
    agency = rng.choice(
        [a for a in _AGENCIES if a.jurisdiction is jurisdiction and a.holder is holder]
    )

    arrest = _random_date(rng, ARREST_FIRST, ARREST_LAST)
    age = _age_at_arrest(rng)
    dob = _random_date(
        rng, _years_before(arrest, age + 1) + dt.timedelta(days=1), _years_before(arrest, age)
    )
    name = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
    state_id = None if rng.random() < 0.3 else f"DEMO-ID-{rng.randrange(1_000_000):06d}"

    offence_class = OffenceClass.NONVIOLENT if private else _pick(rng, _OFFENCE_CLASSES)
    offence, group = rng.choice(_OFFENCES[offence_class])
    mopi_group = group if jurisdiction is Jurisdiction.GB_ENG else None

    outcome, outcome_date = _outcome(rng, jurisdiction, arrest)

    if private:
        data_kind = DataKind.FACE_TEMPLATE
        legal_basis = LegalBasis.CONSENT
    else:
        data_kind = DataKind.FACE_TEMPLATE if rng.random() < 0.03 else DataKind.BOOKING_PHOTO
        legal_basis = _legal_basis(rng, outcome)

    suffix = "png" if rng.random() < _PNG_SHARE else "jpg"
    views = "ab" if rng.random() < _TWO_IMAGE_SHARE else "a"
    images = tuple(f"{IMAGES_DIR}/{index:06d}-{view}.{suffix}" for view in views)

    minute = rng.randrange(60)
    hour = _pick(rng, tuple(enumerate(_HOUR_WEIGHTS)))
    captured_at = dt.datetime.combine(arrest, dt.time(hour, minute), tzinfo=dt.UTC)

    return DemoRow(
        booking_number=f"{agency.code}-{arrest.year}-{next_sequence(agency.code):06d}",
        agency=agency.name,
        jurisdiction=jurisdiction,
        holder=holder,
        data_kind=data_kind,
        name=name,
        date_of_birth=dob,
        state_id=state_id,
        arrest_date=arrest,
        offence=offence,
        offence_class=offence_class,
        mopi_group=mopi_group,
        outcome=outcome,
        outcome_date=outcome_date,
        legal_basis=legal_basis,
        images=images,
        source_system=rng.choice(agency.systems),
        captured_at=captured_at,
        captured_by=f"OP{rng.randint(1000, 9999)}",
        capture_device=f"CAM-{rng.randint(1, 12):02d}",
        capture_place=rng.choice(agency.places),
    )


def _outcome(
    rng: random.Random, jurisdiction: Jurisdiction, arrest: dt.date
) -> tuple[Outcome, dt.date | None]:
    table = list(_OUTCOMES_GB if jurisdiction is Jurisdiction.GB_ENG else _OUTCOMES_US)
    if jurisdiction is Jurisdiction.US_CA:
        table.append((Outcome.FACTUALLY_INNOCENT, _FACTUALLY_INNOCENT_WEIGHT_CA))
    outcome = _pick(rng, table)
    # Old cases are mostly resolved: re-draw most pendings from before 2024.
    if outcome is Outcome.PENDING and arrest.year < 2024 and rng.random() < 0.85:
        outcome = _pick(rng, [(o, w) for o, w in table if o is not Outcome.PENDING])
    if outcome is Outcome.PENDING:
        return outcome, None
    low, high = _OUTCOME_DELAY[outcome]
    decided = arrest + dt.timedelta(days=rng.randint(low, high))
    if decided > OUTCOME_LAST:  # not decided yet as of the data set's "today"
        return Outcome.PENDING, None
    return outcome, decided


def _legal_basis(rng: random.Random, outcome: Outcome) -> LegalBasis:
    roll = rng.random()
    if roll < 0.015:
        return LegalBasis.STATUTE
    if roll < 0.035:
        return LegalBasis.COURT_ORDER
    if roll < 0.05:
        return LegalBasis.CONSENT
    if outcome is Outcome.CONVICTED and roll < 0.9:
        return LegalBasis.CONVICTION
    return LegalBasis.ARREST


def _records(count: int, seed: int) -> Iterator[tuple[int, DemoRow]]:
    # Not a generator itself, so a bad count is refused at the call, before any file is touched.
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    return _generate(count, seed)


def _generate(count: int, seed: int) -> Iterator[tuple[int, DemoRow]]:
    # Booking numbers are per agency and strictly increasing, hence unique within the agency.
    sequences: dict[str, int] = {}
    sequence_rng = random.Random(f"mugshot-demo:{seed}:sequence")

    def next_sequence(code: str) -> int:
        value = sequences.get(code, sequence_rng.randint(1, 5000)) + sequence_rng.randint(1, 40)
        sequences[code] = value
        return value

    for index in range(1, count + 1):
        yield index, _make_row(_row_rng(seed, index), index, next_sequence)


def demo_rows(count: int, seed: int = 1) -> Iterator[DemoRow]:
    """Yield ``count`` synthetic manifest rows, the same ones for the same ``seed``.

    Rows are generated one at a time (memory does not grow with ``count``); the nth row's image
    paths are ``images/{n:06d}-a.jpg`` (``-b`` for a second, profile view; ``.png`` for some).
    """
    return (row for _, row in _records(count, seed))


def write_demo_set(
    out_dir: Path,
    count: int,
    seed: int = 1,
    *,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write ``count`` records' portraits under ``out_dir/images`` and ``out_dir/manifest.csv``.

    Streams: one record's images are rendered, written and dropped before the next. The
    manifest is written to a temporary name and renamed at the end, so an interrupted run never
    leaves a manifest that names images which were not written. ``progress`` is called with the
    number of records written so far after each record. Returns the manifest path.
    """
    records = _records(count, seed)
    out_dir = Path(out_dir)
    images_dir = out_dir / IMAGES_DIR
    images_dir.mkdir(parents=True, exist_ok=True)
    manifest = out_dir / MANIFEST_NAME
    partial = out_dir / (MANIFEST_NAME + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(MANIFEST_COLUMNS)
        for done, (index, row) in enumerate(records, start=1):
            for variant, relative in enumerate(row.images):
                data = generate_portrait(
                    _portrait_rng(seed, index),
                    booking_number=row.booking_number,
                    agency=row.agency,
                    when=row.arrest_date,
                    fmt="PNG" if relative.endswith(".png") else "JPEG",
                    variant=variant,
                )
                (out_dir / relative).write_bytes(data)
            writer.writerow(row.csv_values())
            if progress is not None:
                progress(done)
    partial.replace(manifest)
    return manifest
