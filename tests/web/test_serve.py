"""`mugshot serve --demo`: the first command a new user runs."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_demo_creates_everything_and_serves_the_public_and_staff_pages(
    tmp_path: Path,
) -> None:
    port = _free_port()
    env = {**os.environ, "MUGSHOT_DATA_DIR": str(tmp_path / "data")}
    env.pop("MUGSHOT_DATABASE_URL", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from web.cli import main; main()",
            "serve",
            "--demo",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            try:
                conn.request("GET", "/")
                response = conn.getresponse()
                response.read()
                status = response.status
                break
            except OSError:
                assert proc.poll() is None, "serve exited early"
                time.sleep(0.3)
            finally:
                conn.close()
        assert status == 200
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", "/staff/login")
            login = conn.getresponse()
            assert login.status == 200
            assert b'name="csrf_token"' in login.read()
        finally:
            conn.close()
        accounts = tmp_path / "data" / "demo-accounts.txt"
        assert stat.S_IMODE(accounts.stat().st_mode) == 0o600
        lines = accounts.read_text().splitlines()
        assert [line.split()[0] for line in lines] == [
            "demo-clerk",
            "demo-supervisor",
            "demo-auditor",
            "demo-admin",
        ]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert b"demo set: 200 records imported" in out
