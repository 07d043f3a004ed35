"""Benchmark: the web app under load on loopback, against the production server (waitress).

Run:  python tests/bench/bench_web.py [--records 100000] [--requests 10000] [--seconds 20]
                                      [--database-url URL] [--threads 8]

Builds a database of ``--records`` records (bulk INSERTs, as bench_sweep.py) and ``--requests``
open removal requests (through the real filing service), starts the app on waitress in its own
process, signs a clerk in (password + TOTP), then drives it from client threads on loopback:
the staff request-queue page and the public status page (p50/p95/p99 latency), and public
request submissions (throughput). Reports any 5xx. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import pyotp

sys.path.insert(0, str(Path(__file__).parent))
import bench_sweep

from policies.vocabulary import Jurisdiction, RequestKind
from retention.accounts import users
from retention.requests import filing
from retention.services import open_services

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
NOW = dt.datetime.now(dt.UTC)


class Client:
    """A keep-alive HTTP client with a cookie jar (one per thread)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: dict[str, str] | None = None
    ) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode(errors="replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, text


def build(url: str, data_dir: Path, records: int, open_requests: int) -> tuple[list[str], str]:
    settings, _ = bench_sweep.build(url, data_dir, records, max(records // 100, 1))
    services = open_services(settings)
    refs: list[str] = []
    started = time.perf_counter()
    try:
        with services.sessions() as session, session.begin():
            for n in range(open_requests):
                _, reference = filing.file_request(
                    session,
                    services.keyring,
                    services.store,
                    claims=filing.Claims(
                        name=f"Bench Person {n}",
                        date_of_birth=dt.date(1980, 1, 1) + dt.timedelta(days=n % 9000),
                        contact="bench@example.invalid",
                    ),
                    kind=RequestKind.ERASURE,
                    jurisdiction=Jurisdiction.GB_ENG,
                    grounds=["acquitted"],
                    evidence=None,
                    now=NOW - dt.timedelta(minutes=n),
                )
                refs.append(reference)
            _, secret = users.create_user(
                session,
                username="bench-clerk",
                role="clerk",
                password="bench-password-123",
                keyring=services.keyring,
                actor="bench",
                now=NOW,
            )
    finally:
        services.close()
    print(f"  filed {open_requests:,} requests in {time.perf_counter() - started:.0f}s")
    return refs, secret


def sign_in(port: int, secret: str) -> Client:
    client = Client(port)
    _, page = client.request("GET", "/staff/login")
    token = TOKEN.search(page).group(1)  # type: ignore[union-attr]
    status, _ = client.request(
        "POST",
        "/staff/login",
        {"csrf_token": token, "username": "bench-clerk", "password": "bench-password-123"},
    )
    _, page = client.request("GET", "/staff/login/totp")
    token = TOKEN.search(page).group(1)  # type: ignore[union-attr]
    status, _ = client.request(
        "POST", "/staff/login/totp", {"csrf_token": token, "code": pyotp.TOTP(secret).now()}
    )
    assert status in (302, 303), f"sign-in failed: {status}"
    return client


def load(name: str, port: int, threads: int, seconds: float, make_client, step) -> None:  # type: ignore[no-untyped-def]
    latencies: list[float] = []
    codes: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(n: int) -> None:
        client = make_client()
        mine: list[float] = []
        mycodes: dict[int, int] = {}
        i = 0
        while time.monotonic() < deadline:
            t = time.perf_counter()
            status = step(client, n, i)
            mine.append(time.perf_counter() - t)
            mycodes[status] = mycodes.get(status, 0) + 1
            i += 1
        with lock:
            latencies.extend(mine)
            for k, v in mycodes.items():
                codes[k] = codes.get(k, 0) + v

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    errors = sum(v for k, v in codes.items() if k >= 500)
    print(
        f"  {name:<22} {len(latencies) / elapsed:7.1f} req/s  p50 {q[49] * 1000:6.1f} ms  "
        f"p95 {q[94] * 1000:6.1f} ms  p99 {q[98] * 1000:6.1f} ms  5xx {errors}  codes {codes}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--clients", type=int, default=8, help="load-generator threads")
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--gunicorn", type=int, default=0, help="serve with gunicorn and N workers (Redis limits)"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mugshot-bench-web-"))
    data_dir = work / "data"
    url = args.database_url or f"sqlite:///{data_dir / 'mugshot.db'}"
    print(f"web load: {args.records:,} records, {args.requests:,} open requests")
    refs, secret = build(url, data_dir, args.records, args.requests)
    port = 18000 + os.getpid() % 1000
    env = {
        **os.environ,
        "MUGSHOT_DATA_DIR": str(data_dir),
        "MUGSHOT_DATABASE_URL": url,
        "MUGSHOT_PUBLIC_RATE_LIMIT": "1000000 per minute",
    }
    if args.gunicorn:
        env["MUGSHOT_RATELIMIT_STORAGE"] = "redis://127.0.0.1:6379/14"
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(args.gunicorn),
            "--threads",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "web:create_app()",
        ]
    else:
        command = [
            sys.executable,
            "-c",
            "import waitress; from web import create_app; "
            f"waitress.serve(create_app(), host='127.0.0.1', port={port}, threads={args.threads})",
        ]
    print(f"  server: {'gunicorn x' + str(args.gunicorn) if args.gunicorn else 'waitress'}")
    server = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                Client(port).request("GET", "/")
                break
            except OSError:
                time.sleep(0.1)
        clerk_clients = [sign_in(port, secret)]

        def clerk() -> Client:
            return clerk_clients[0] if len(clerk_clients) == 1 else sign_in(port, secret)

        def queue(client: Client, n: int, i: int) -> int:
            return client.request("GET", "/staff/requests/")[0]

        def public_client() -> Client:
            client = Client(port)
            _, page = client.request("GET", "/status")
            client.token = TOKEN.search(page).group(1)  # type: ignore[attr-defined, union-attr]
            return client

        def status(client: Client, n: int, i: int) -> int:
            ref = refs[(n * 7919 + i) % len(refs)]
            return client.request(
                "POST",
                "/status",
                {"csrf_token": client.token, "reference": ref},  # type: ignore[attr-defined]
            )[0]

        def submit_client() -> Client:
            client = Client(port)
            _, page = client.request("GET", "/request")
            client.token = TOKEN.search(page).group(1)  # type: ignore[attr-defined, union-attr]
            return client

        def submit(client: Client, n: int, i: int) -> int:
            code, _ = client.request(
                "POST",
                "/request",
                {
                    "csrf_token": client.token,  # type: ignore[attr-defined]
                    "name": f"Load Person {n}-{i}",
                    "date_of_birth": "1990-01-01",
                    "jurisdiction": "GB-ENG",
                    "kind": "erasure",
                    "grounds": "acquitted",
                    "contact": "load@example.invalid",
                },
            )
            return code  # the receipt is the POST's own answer

        # One signed-in clerk session shared by the clerk threads (sessions are cookies).
        load(
            "request queue (staff)",
            port,
            args.clients,
            args.seconds,
            lambda: _clone(clerk_clients[0], port),
            queue,
        )
        load("status page (public)", port, args.clients, args.seconds, public_client, status)
        load("submissions (public)", port, args.clients, args.seconds, submit_client, submit)
    finally:
        server.terminate()
        server.wait(timeout=10)
        if url.startswith("postgresql"):
            bench_sweep.reset(url, data_dir)
        shutil.rmtree(work, ignore_errors=True)


def _clone(client: Client, port: int) -> Client:
    copy = Client(port)
    copy.cookies = dict(client.cookies)
    return copy


if __name__ == "__main__":
    main()
