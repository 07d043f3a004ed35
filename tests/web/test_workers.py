"""Several web workers (gunicorn) behave as one app: sessions are signed cookies, and rate-limit
counters live in Redis, so a limit holds across workers.

Runs when ``MUGSHOT_TEST_REDIS_URL`` is set (CI sets it); set but unreachable is an error.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retention.settings import Settings
from tests.conftest import free_port
from tests.helpers import backend_env

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def redis_url() -> str:
    url = os.environ.get("MUGSHOT_TEST_REDIS_URL")
    if not url:
        pytest.skip("MUGSHOT_TEST_REDIS_URL not set: multi-worker tests not run")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # any failure to reach a configured backend stops the run
        pytest.exit(f"MUGSHOT_TEST_REDIS_URL is set but Redis is unreachable: {exc}", returncode=3)
    return url


def _request(
    port: int, method: str, path: str, body: str = "", cookie: str = ""
) -> tuple[int, str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if cookie:
            headers["Cookie"] = cookie
        conn.request(method, path, body=body or None, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        set_cookie = response.getheader("Set-Cookie") or ""
        return response.status, text, set_cookie.split(";", 1)[0]
    finally:
        conn.close()


@pytest.mark.slow
def test_rate_limits_hold_across_gunicorn_workers(
    redis_url: str, initialised: Settings, tmp_path: Path
) -> None:
    import redis

    # A database of its own, emptied first: counters of an earlier run must not count here.
    storage = f"{redis_url.rstrip('/')}/15"
    redis.Redis.from_url(storage).flushdb()
    port = free_port()
    env = {
        **os.environ,
        **backend_env(initialised),
        "MUGSHOT_RATELIMIT_STORAGE": storage,
        "MUGSHOT_PUBLIC_RATE_LIMIT": "6 per minute",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            "3",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "web:create_app()",
        ],
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, page, cookie = _request(port, "GET", "/status")
                break
            except OSError:
                assert proc.poll() is None, "gunicorn exited"
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert status == 200
        token = TOKEN.search(page).group(1)  # type: ignore[union-attr]
        codes = []
        for _ in range(12):  # spread over the workers by the kernel's accept balancing
            body = f"csrf_token={token}&reference=AAAAA-BBBBB-CCCCC-DDDDD"
            codes.append(_request(port, "POST", "/status", body, cookie)[0])
        # The session cookie (signed, no server state) is valid on every worker: 404 = looked
        # up, not 400 = CSRF failure. After six, every worker refuses: the counter is shared.
        assert codes[:6] == [404] * 6
        assert set(codes[6:]) == {429}
        assert redis.Redis.from_url(storage).dbsize() > 0  # the counters live in Redis
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
