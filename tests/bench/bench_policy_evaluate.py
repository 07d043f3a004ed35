"""Benchmark: ``mugshot policy evaluate`` end to end and the Python API.

Run with ``python tests/bench/bench_policy_evaluate.py [N]`` (default 1,000,000); not collected by
pytest. Generates N facts lines (England & Wales custody images: a mix of outcomes, ages,
MoPI groups, requests, holds) to a temporary file, then:

* times the CLI end to end in a subprocess pinned to one core (``taskset`` where available),
  for N and for N/10, and reports records/s and peak RSS of each (memory must be flat in N);
* times the Python API streamed from the file (``orjson.loads`` + ``Facts.from_json`` +
  ``evaluate`` per line, as a caller reading a facts file does), and, for information only,
  ``evaluate`` alone over pre-built facts.

Targets (issue 15): CLI >= 25,000 records/s, API >= 60,000 records/s, flat memory. Pass or fail
is decided on the end-to-end streamed rates (the CLI over N records, the streamed API), never on
the warm loop over cached facts. Each rate is also given per CPU-second of the process that did
the work (user + system time): on a shared, loaded machine the wall-clock rate measures the
neighbours as much as the code, so the load average is printed with the figures.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import orjson

from policies import Facts, bundled_pack, evaluate

PACK = "gb-eng-custody-images"
ON = "2025-06-01"
CLI_TARGET = 25_000
API_TARGET = 60_000


def generate(path: Path, count: int, seed: int = 7) -> None:
    """Write ``count`` facts lines to ``path``."""
    rng = random.Random(seed)
    base = date(2015, 1, 1)
    outcomes = [
        "pending",
        "no_further_action",
        "not_charged",
        "acquitted",
        "convicted",
        "conviction_quashed",
        "cautioned",
        "dismissed",
    ]
    with path.open("w", encoding="utf-8") as out:
        for i in range(count):
            captured = base + timedelta(days=rng.randrange(3650))
            doc: dict[str, object] = {
                "id": f"bk-{i}",
                "jurisdiction": "GB-ENG",
                "holder": "law_enforcement",
                "data_kind": "booking_photo",
                "captured_on": captured.isoformat(),
                "arrest_date": captured.isoformat(),
                "date_of_birth": (
                    captured - timedelta(days=rng.randrange(12 * 365, 70 * 365))
                ).isoformat(),
                "offence_class": rng.choice(["violent", "sexual", "serious", "nonviolent"]),
                "mopi_group": rng.choice([1, 2, 3]),
                "outcome": rng.choice(outcomes),
                "outcome_on": (captured + timedelta(days=rng.randrange(400))).isoformat(),
                "retrial_possible": rng.choice([True, False]),
                "legal_hold": rng.random() < 0.05,
                "hold_kind": "evidence",
            }
            if rng.random() < 0.3:
                doc["request"] = {
                    "kind": rng.choice(["erasure", "restriction"]),
                    "received_on": (captured + timedelta(days=rng.randrange(2000))).isoformat(),
                }
            out.write(json.dumps(doc, separators=(",", ":")))
            out.write("\n")


_RUNNER = (
    "import atexit, resource, sys\n"
    "atexit.register(lambda: sys.stderr.write("
    "'MAXRSS_KB %d\\n' % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
    "from retention.cli.main import main\n"
    "sys.argv = ['mugshot'] + sys.argv[1:]\n"
    "main()\n"
)


def run_cli(path: Path, count: int) -> tuple[float, float, int]:
    """Run the CLI over ``path``; returns (records/s wall, records per CPU-second, peak RSS in
    KiB). The exit status is checked: a failed run is an error, not a figure."""
    cmd = [
        sys.executable,
        "-c",
        _RUNNER,
        "policy",
        "evaluate",
        "--pack",
        PACK,
        "--on",
        ON,
        str(path),
    ]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", "0", *cmd]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with open(os.devnull, "w") as sink:
        proc = subprocess.run(cmd, stdout=sink, stderr=subprocess.PIPE, text=True, check=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rss = next(
        int(line.split()[1]) for line in proc.stderr.splitlines() if line.startswith("MAXRSS_KB")
    )
    return count / elapsed, count / cpu, rss


def _cpu() -> float:
    return time.process_time()


def run_api(path: Path, count: int) -> tuple[float, float, float]:
    """(evaluate-only records/s over 100k pre-built facts, streamed records/s wall, streamed
    records per CPU-second)."""
    pack = bundled_pack(PACK)
    today = date.fromisoformat(ON)
    loads = orjson.loads
    built: list[Facts] = []
    with path.open("rb") as source:
        for line in source:
            built.append(Facts.from_json(loads(line)))
            if len(built) >= 100_000:
                break
    for facts in built[:10_000]:  # warm the calendar caches as a long-running engine would
        evaluate(pack, facts, today)
    rounds = max(1, count // len(built))
    start = time.perf_counter()
    for _ in range(rounds):
        for facts in built:
            evaluate(pack, facts, today)
    eval_rate = rounds * len(built) / (time.perf_counter() - start)
    del built
    # The streamed rate: a fresh pass over the file, every line read, parsed and evaluated.
    start, cpu = time.perf_counter(), _cpu()
    n = 0
    with path.open("rb") as source:
        for line in source:
            evaluate(pack, Facts.from_json(loads(line)), today)
            n += 1
    return eval_rate, n / (time.perf_counter() - start), n / (_cpu() - cpu)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    small = max(1, count // 10)
    with tempfile.TemporaryDirectory() as tmp:
        big_path, small_path = Path(tmp) / "facts.jsonl", Path(tmp) / "facts-small.jsonl"
        generate(big_path, count)
        generate(small_path, small)
        print(f"input: {count:,} lines ({big_path.stat().st_size / 1e6:.0f} MB), pack {PACK}")
        print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        small_rate, small_cpu, small_rss = run_cli(small_path, small)
        big_rate, big_cpu, big_rss = run_cli(big_path, count)
        print(
            f"CLI  {small:>9,} records: {small_rate:>9,.0f} records/s "
            f"({small_cpu:,.0f} per CPU-s), peak RSS {small_rss / 1024:.1f} MiB"
        )
        print(
            f"CLI  {count:>9,} records: {big_rate:>9,.0f} records/s "
            f"({big_cpu:,.0f} per CPU-s), peak RSS {big_rss / 1024:.1f} MiB "
            f"(target >= {CLI_TARGET:,}/s)"
        )
        eval_rate, api_rate, api_cpu = run_api(big_path, count)
        print(
            f"API  streamed (loads + from_json + evaluate): {api_rate:>9,.0f} records/s "
            f"({api_cpu:,.0f} per CPU-s) (target >= {API_TARGET:,}/s)"
        )
        print(f"API  evaluate only, warm (information): {eval_rate:>9,.0f} records/s")
        print(
            f"API  peak RSS (this process): "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB"
        )
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        flat = big_rss < small_rss * 1.5
        ok = big_rate >= CLI_TARGET and api_rate >= API_TARGET and flat
        print(f"memory {'flat' if flat else 'NOT FLAT'}")
        print("PASS" if ok else "BELOW TARGET (wall clock; see the per-CPU-s rates under load)")


if __name__ == "__main__":
    main()
