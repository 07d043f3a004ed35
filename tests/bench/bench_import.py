"""Benchmark: `mugshot import` against a raw baseline measured in the same run.

Run:  python tests/bench/bench_import.py [--records 8900] [--database-url URL]

The data set is the synthetic demo set (~64 KiB JPEGs; about 1 record in 8 has two images), so
8,900 records give about 10,000 images. The baseline does the least any import must do: copy
each image file (plaintext, read + write) and bulk-INSERT the rows, 1,000 per statement, into a
table of the same database. It is measured twice — without fsync (what the issue names) and
with an fsync per file (the durability our store gives each sealed blob) — and `mugshot import`
is reported as a ratio of both. Peak memory of the import process is measured for the full
manifest and for a quarter of it: a streaming import's peak must not grow with manifest size.

The *fair* baseline (issue 15) also does the necessary work the raw ones skip: copy + fsync +
a full Pillow decode of every image + bulk INSERT — on one core (sequential) and on all cores
(the copy, fsync and decode on as many threads as there are cores, rows inserted in manifest
order; Pillow releases the GIL while it decodes). `mugshot import` is run with one worker and
with all cores' worth (``MUGSHOT_IMPORT_WORKERS``), the runs repeated and alternated with exit
codes checked, and compared with the fair baseline of the same concurrency (targets: >= 0.8x on
one core; two workers >= 1.6x one worker). The decode stage alone (``check_images``: decode,
validate, thumbnail) is timed serially, on a thread pool and on a process pool, to show which
of the two uses the cores better here. The load average is printed with the figures.

Not collected by pytest (tests/bench is ignored); prints its figures.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from io import BytesIO
from pathlib import Path
from typing import TextIO

from common import insert_batched, reset_database
from PIL import Image
from sqlalchemy import Engine, TextClause, create_engine, text

from retention.ingest.bookings import check_images
from retention.ingest.demo import write_demo_set
from retention.settings import Settings

CACHE = Path(tempfile.gettempdir()) / "mugshot-bench-demo"


def demo_set(records: int, seed: int) -> Path:
    """Generate (once, cached) the demo set; returns the manifest path."""
    folder = CACHE / f"{records}-{seed}"
    manifest = folder / "manifest.csv"
    if not manifest.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        started = time.perf_counter()
        write_demo_set(folder, records, seed)
        print(f"generated {records} demo records in {time.perf_counter() - started:.1f}s")
    return manifest


def head(manifest: Path, rows: int, out: Path) -> Path:
    """The first ``rows`` rows of a manifest (same folder, so image paths still resolve)."""
    with manifest.open(newline="") as src, out.open("w", newline="") as dst:
        reader = csv.reader(src)
        writer = csv.writer(dst)
        writer.writerow(next(reader))
        for n, r in enumerate(reader):
            if n >= rows:
                break
            writer.writerow(r)
    return out


# The manifest columns a baseline stores, with their VARCHAR lengths.
BASELINE_COLUMNS = {
    "booking_number": 64,
    "agency": 64,
    "jurisdiction": 8,
    "name": 200,
    "date_of_birth": 10,
    "arrest_date": 10,
    "offence": 200,
    "outcome": 24,
    "legal_basis": 16,
    "images": 4000,
}


def baseline_table(engine: Engine, columns: Mapping[str, int]) -> TextClause:
    """A fresh ``bench_baseline`` table of these columns; returns the INSERT of one row."""
    declared = ", ".join(f"{name} VARCHAR({length})" for name, length in columns.items())
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_baseline"))
        conn.execute(text(f"CREATE TABLE bench_baseline ({declared})"))
    values = ", ".join(f":{name}" for name in columns)
    return text(f"INSERT INTO bench_baseline VALUES ({values})")  # noqa: S608


def timed_load(
    engine: Engine,
    insert: TextClause,
    manifest: Path,
    rows_of: Callable[[TextIO], Iterator[dict[str, str]]],
) -> float:
    """Seconds to INSERT (1,000 a statement) what ``rows_of`` yields from the manifest, doing
    what it does per row; then the baseline table is dropped."""
    started = time.perf_counter()
    with manifest.open(newline="") as fh, engine.connect() as conn:
        insert_batched(conn, insert, rows_of(fh))
    elapsed = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_baseline"))
    engine.dispose()
    return elapsed


def baseline(manifest: Path, url: str, work: Path, *, fsync: bool) -> tuple[float, int, int]:
    """Copy every image plaintext + bulk INSERT per 1,000 rows. Returns (seconds, rows, bytes)."""
    out = work / ("baseline-fsync" if fsync else "baseline")
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    engine = create_engine(url)
    insert = baseline_table(engine, BASELINE_COLUMNS)
    rows = copied = 0

    def copied_rows(fh: TextIO) -> Iterator[dict[str, str]]:
        nonlocal rows, copied
        for r in csv.DictReader(fh):
            for rel in r["images"].split(";"):
                src = manifest.parent / rel
                dst = out / f"{rows}-{src.name}"
                data = src.read_bytes()
                with dst.open("wb") as f:
                    f.write(data)
                    if fsync:
                        f.flush()
                        os.fsync(f.fileno())
                copied += len(data)
            yield {k: r[k] for k in BASELINE_COLUMNS}
            rows += 1

    elapsed = timed_load(engine, insert, manifest, copied_rows)
    shutil.rmtree(out)
    return elapsed, rows, copied


def _copy_fsync_decode(src: Path, dst: Path) -> int:
    """Copy one image with an fsync, then decode it fully (the work any import must do)."""
    data = src.read_bytes()
    with dst.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    with Image.open(BytesIO(data)) as image:
        image.load()
    return len(data)


def fair_baseline(manifest: Path, url: str, work: Path, *, threads: int) -> float:
    """Copy + fsync + full Pillow decode of every image + bulk INSERT per 1,000 rows, the
    per-image work on ``threads`` threads (1: sequential), rows in manifest order. Seconds."""
    out = work / f"baseline-fair-{threads}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    engine = create_engine(url)
    insert = baseline_table(engine, BASELINE_COLUMNS)
    pool = ThreadPoolExecutor(max_workers=threads) if threads > 1 else None

    def fair_rows(fh: TextIO) -> Iterator[dict[str, str]]:
        window: list[tuple[dict[str, str], list[object]]] = []
        for n, r in enumerate(csv.DictReader(fh)):
            jobs: list[object] = []
            for rel in r["images"].split(";"):
                src, dst = manifest.parent / rel, out / f"{n}-{Path(rel).name}"
                if pool is None:
                    _copy_fsync_decode(src, dst)
                else:
                    jobs.append(pool.submit(_copy_fsync_decode, src, dst))
            window.append((r, jobs))
            if len(window) >= 8 * threads:
                row, done = window.pop(0)
                for job in done:
                    job.result()  # type: ignore[attr-defined]
                yield {k: row[k] for k in BASELINE_COLUMNS}
        for row, done in window:
            for job in done:
                job.result()  # type: ignore[attr-defined]
            yield {k: row[k] for k in BASELINE_COLUMNS}

    try:
        return timed_load(engine, insert, manifest, fair_rows)
    finally:
        if pool is not None:
            pool.shutdown()
        shutil.rmtree(out)


def _check_file(path: str) -> int:
    return len(check_images([Path(path).read_bytes()], Settings()))


def decode_stage(manifest: Path, workers: int, images: int = 400) -> dict[str, float]:
    """Images/s of ``check_images`` (decode, validate, thumbnail) serially, on ``workers``
    threads and on ``workers`` processes (process start-up excluded: the pool is warmed)."""
    with manifest.open(newline="") as fh:
        paths = [
            str(manifest.parent / rel) for r in csv.DictReader(fh) for rel in r["images"].split(";")
        ][:images]
    rates: dict[str, float] = {}
    started = time.perf_counter()
    for p in paths:
        _check_file(p)
    rates["serial"] = len(paths) / (time.perf_counter() - started)
    pools: list[tuple[str, Executor]] = [
        (f"{workers} threads", ThreadPoolExecutor(max_workers=workers)),
        (f"{workers} processes", ProcessPoolExecutor(max_workers=workers)),
    ]
    for label, pool in pools:
        with pool:
            list(pool.map(_check_file, paths[: workers * 2]))  # warm (processes: spawn, imports)
            started = time.perf_counter()
            list(pool.map(_check_file, paths, chunksize=8))
            rates[label] = len(paths) / (time.perf_counter() - started)
    return rates


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def mugshot(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from retention.cli.main import main; main()", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def measured_import(
    manifest: Path, url: str, data_dir: Path, workers: int | None = None
) -> tuple[float, int, str]:
    """Fresh data dir + `mugshot init`, then time `mugshot import`; (seconds, peak KiB, out).
    ``workers`` sets MUGSHOT_IMPORT_WORKERS (default: the setting's, the number of cores)."""
    reset_database(url, data_dir)
    env = {**os.environ, "MUGSHOT_DATA_DIR": str(data_dir), "MUGSHOT_DATABASE_URL": url}
    if workers is not None:
        env["MUGSHOT_IMPORT_WORKERS"] = str(workers)
    init = mugshot(["init"], env)
    assert init.returncode == 0, init.stderr
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = mugshot(["import", str(manifest)], env)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert done.returncode == 0, done.stderr[-2000:]
    # ru_maxrss of children is the max over all children so far: only a new maximum is exact.
    return elapsed, peak if peak > before else -1, done.stdout.strip()


def peak_rss_kib(manifest: Path, url: str, data_dir: Path) -> int:
    """Peak RSS of one import run, measured with /usr/bin/time-free getrusage in a child."""
    reset_database(url, data_dir)
    env = {**os.environ, "MUGSHOT_DATA_DIR": str(data_dir), "MUGSHOT_DATABASE_URL": url}
    assert mugshot(["init"], env).returncode == 0
    code = (
        "import resource, sys\n"
        "from retention.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "import", str(manifest)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    line = [x for x in proc.stderr.splitlines() if x.startswith("PEAK")][-1]
    return int(line.split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=8900)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp data dir")
    parser.add_argument(
        "--s3", action="store_true", help="blobs to an S3 API (moto_server on loopback)"
    )
    args = parser.parse_args()
    if args.s3:
        s3_main(args)
        return

    manifest = demo_set(args.records, args.seed)
    with manifest.open() as fh:
        images = sum(len(r["images"].split(";")) for r in csv.DictReader(fh))
    work = Path(tempfile.mkdtemp(prefix="mugshot-bench-"))
    data_dir = work / "data"
    url = args.database_url or f"sqlite:///{data_dir / 'mugshot.db'}"
    label = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    if not url.startswith("postgresql"):
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        base_url = f"sqlite:///{work / 'baseline.db'}"
    else:
        base_url = url
    print(f"{label}: {args.records} records, {images} images, manifest {manifest}")

    b_time, b_rows, b_bytes = baseline(manifest, base_url, work, fsync=False)
    bf_time, _, _ = baseline(manifest, base_url, work, fsync=True)
    i_time, _, output = measured_import(manifest, url, data_dir)
    print(f"  import output: {output}")
    mib = b_bytes / 2**20
    print(
        f"  baseline (copy, no fsync + bulk INSERT): {b_time:7.2f}s  "
        f"{b_rows / b_time:8.0f} rows/s  {mib / b_time:7.1f} MiB/s"
    )
    print(
        f"  baseline (copy + fsync  + bulk INSERT): {bf_time:7.2f}s  "
        f"{b_rows / bf_time:8.0f} rows/s  {mib / bf_time:7.1f} MiB/s"
    )
    print(
        f"  mugshot import:                         {i_time:7.2f}s  "
        f"{b_rows / i_time:8.0f} rows/s  {images / i_time:7.0f} images/s"
    )
    print(f"  ratio vs baseline without fsync: {b_time / i_time:.2f}x")
    print(f"  ratio vs baseline with fsync:    {bf_time / i_time:.2f}x")

    # The fair comparison, repeated and alternated: one core, then all cores.
    cores = os.cpu_count() or 1
    print(f"  fair baseline (copy + fsync + full decode + bulk INSERT), {cores} cores:")
    for run in (1, 2):
        print(f"    run {run}, load average {load()}")
        for threads in (1, cores):
            fair = fair_baseline(manifest, base_url, work, threads=threads)
            took, _, _ = measured_import(manifest, url, data_dir, workers=threads)
            print(
                f"      {threads} core(s): fair baseline {b_rows / fair:7.0f} rows/s; "
                f"import with {threads} worker(s) {b_rows / took:7.0f} rows/s; "
                f"ratio {fair / took:.2f}x (target >= 0.8x on one core)"
            )
    scaling = []
    for run in (1, 2):
        one, _, _ = measured_import(manifest, url, data_dir, workers=1)
        two, _, _ = measured_import(manifest, url, data_dir, workers=2)
        scaling.append(one / two)
        print(
            f"    workers, run {run} (load {load()}): 1 worker {b_rows / one:7.0f} rows/s, "
            f"2 workers {b_rows / two:7.0f} rows/s: {one / two:.2f}x (target >= 1.6x)"
        )
    stage = decode_stage(manifest, max(cores, 2))
    print(
        "  decode stage (check_images) images/s: "
        + ", ".join(f"{label} {rate:.0f}" for label, rate in stage.items())
        + f" (load {load()})"
    )

    quarter = head(manifest, max(args.records // 4, 1), manifest.with_name("quarter.csv"))
    small = peak_rss_kib(quarter, url, data_dir)
    full = peak_rss_kib(manifest, url, data_dir)
    print(
        f"  peak RSS: {args.records // 4} rows {small / 1024:.1f} MiB; "
        f"{args.records} rows {full / 1024:.1f} MiB (ratio {full / small:.2f})"
    )
    reset_database(url, data_dir)
    shutil.rmtree(work, ignore_errors=True)


def s3_baseline(manifest: Path, url: str, endpoint: str) -> float:
    """boto3 put of the same plaintext files + one bulk INSERT per 1,000 rows."""
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="baseline")
    engine = create_engine(url)
    columns = {k: BASELINE_COLUMNS[k] for k in ("booking_number", "name", "images")}
    insert = baseline_table(engine, columns)

    def stored_rows(fh: TextIO) -> Iterator[dict[str, str]]:
        for n, r in enumerate(csv.DictReader(fh)):
            for rel in r["images"].split(";"):
                client.put_object(
                    Bucket="baseline", Key=f"{n}-{rel}", Body=(manifest.parent / rel).read_bytes()
                )
            yield {k: r[k] for k in columns}

    return timed_load(engine, insert, manifest, stored_rows)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def s3_main(args: argparse.Namespace) -> None:
    """Import to an S3 API against a boto3-put baseline, both through the same loopback server."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.conftest import start_moto_server, stop_process

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    manifest = demo_set(args.records, args.seed)
    with manifest.open() as fh:
        rows = sum(1 for _ in csv.DictReader(fh))
    work = Path(tempfile.mkdtemp(prefix="mugshot-bench-s3-"))
    data_dir = work / "data"
    url = args.database_url or f"sqlite:///{data_dir / 'mugshot.db'}"
    proc, endpoint = start_moto_server()
    try:
        reset_database(url, data_dir)
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        base_url = url if url.startswith("postgresql") else f"sqlite:///{work / 'b.db'}"
        cpu0 = cpu_seconds(proc.pid)
        base = s3_baseline(manifest, base_url, endpoint)
        base_server_cpu = cpu_seconds(proc.pid) - cpu0
        env = {
            **os.environ,
            "MUGSHOT_DATA_DIR": str(data_dir),
            "MUGSHOT_DATABASE_URL": url,
            "MUGSHOT_BLOB_STORE": "s3://mugshot/blobs",
            "MUGSHOT_S3_ENDPOINT_URL": endpoint,
        }
        assert mugshot(["init"], env).returncode == 0
        cpu0 = cpu_seconds(proc.pid)
        started = time.perf_counter()
        done = mugshot(["import", str(manifest)], env)
        took = time.perf_counter() - started
        import_server_cpu = cpu_seconds(proc.pid) - cpu0
        assert done.returncode == 0, done.stderr[-2000:]
        print(f"S3 ({'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}): {rows} rows")
        print(f"  import output: {done.stdout.strip()}")
        print(f"  baseline (boto3 put + bulk INSERT): {base:7.2f}s {rows / base:7.0f} rows/s")
        print(f"  mugshot import to S3:               {took:7.2f}s {rows / took:7.0f} rows/s")
        print(f"  ratio: {base / took:.2f}x")
        # The loopback server is one Python process on the same cores: its CPU time per phase
        # shows how much of each run is the server's work (objects stored per row differ:
        # the baseline puts the originals; the import puts sealed originals and thumbnails).
        print(
            f"  S3 server CPU: baseline {base_server_cpu:.1f}s ({base_server_cpu / base:.0%} "
            f"of its wall time), import {import_server_cpu:.1f}s "
            f"({import_server_cpu / took:.0%} of its wall time)"
        )
    finally:
        stop_process(proc)
        reset_database(url, data_dir)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
