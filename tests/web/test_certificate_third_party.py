"""A certificate checks out with nothing but Python's standard library and the ``openssl`` command
— the README's recipe, run as written — and a changed byte fails it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import rfc8785
from flask.testing import FlaskClient

from retention.services import Services
from tests.web.test_public_paths import _certificate

RECIPE = """\
import json, sys
doc = json.load(open(sys.argv[1]))
body = json.dumps(doc["certificate"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
open("body.bin", "wb").write(body.encode("utf-8"))
open("signature.bin", "wb").write(bytes.fromhex(doc["signature"]))
"""


def _openssl_verifies(folder: Path, certificate: bytes) -> subprocess.CompletedProcess[str]:
    (folder / "certificate.json").write_bytes(certificate)
    subprocess.run(
        ["python3", "-", "certificate.json"], input=RECIPE, cwd=folder, check=True, text=True
    )
    return subprocess.run(
        [
            "openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "public-key.pem", "-rawin",
            "-in", "body.bin", "-sigfile", "signature.bin",
        ],
        cwd=folder, capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl command on this machine")
def test_the_readme_recipe_verifies_with_openssl_and_a_changed_byte_fails(
    tmp_path: Path, client: FlaskClient, services: Services
) -> None:
    reference, _, data = _certificate(tmp_path, client, services)
    doc = json.loads(data)
    # The plain-Python canonical form is RFC 8785's for these bodies.
    plain = json.dumps(
        doc["certificate"], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    assert plain.encode() == rfc8785.dumps(doc["certificate"])
    folder = tmp_path / "third-party"
    folder.mkdir()
    (folder / "public-key.pem").write_bytes(client.get("/public-key.pem").data)
    good = _openssl_verifies(folder, data)
    assert good.returncode == 0, good.stderr
    assert "Signature Verified Successfully" in good.stdout
    changed = json.loads(data)
    changed["certificate"]["destroyed"]["images"][0]["sealed_sha256"] = "0" * 64
    bad = _openssl_verifies(folder, json.dumps(changed).encode())
    assert bad.returncode != 0
    digest = subprocess.run(
        ["sh", "-c", f"printf %s '{reference.lower()}' | tr -d ' -' | tr a-z A-Z | sha256sum"],
        capture_output=True, text=True, check=True,
    ).stdout.split()[0]  # fmt: skip
    assert digest == doc["certificate"]["requester_reference_sha256"]
