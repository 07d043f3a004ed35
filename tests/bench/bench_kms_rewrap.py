"""Benchmark: rewrapping data keys under a new KMS key (what `mugshot keys rotate` does per key).

Run:  python tests/bench/bench_kms_rewrap.py [--keys 2000]

Against a loopback ``moto_server``: N data keys are wrapped under one KMS version, a new version
is added, and every key is moved to it twice — first the plain way (``Decrypt`` then
``Encrypt``, one key after another: two calls per key and the plaintext data key in this
process), then by ``KmsKeyProvider.rewrap_many`` (one ``ReEncrypt`` per key inside the
service, several calls in flight). Both results are checked to unwrap to the original keys.

With a real KMS each call is a network round trip of several milliseconds, so the number of
calls and how many are in flight decide a rotation's length; on loopback the server's own CPU
time per call dominates instead. Not collected by pytest (tests/bench is ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=2000)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    import boto3

    from retention.keys.keyring import Keyring
    from retention.keys.kms import REWRAP_THREADS, KmsKeyProvider, key_provider
    from retention.settings import Settings
    from tests.conftest import start_moto_server, stop_process

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    now = dt.datetime.now(dt.UTC)
    proc, url = start_moto_server()
    try:
        kms = boto3.client("kms", endpoint_url=url, region_name="us-east-1")
        arn = kms.create_key(Description="bench")["KeyMetadata"]["Arn"]
        data_dir = Path(tempfile.mkdtemp(prefix="mugshot-bench-kms-")) / "data"
        ring = Keyring.create(data_dir / "keyring.json", now)
        settings = Settings(data_dir=data_dir, kms_key_id=arn, kms_endpoint_url=url)
        provider = key_provider(settings, ring, now=now)
        assert isinstance(provider, KmsKeyProvider)
        keys = {f"dk-{n:06d}": os.urandom(32) for n in range(args.keys)}
        items = []
        for key_id, plain in keys.items():
            version, wrapped = provider.wrap(plain, key_id=key_id)
            items.append((wrapped, key_id, version))
        provider.add_version(now)

        started = time.perf_counter()
        plain_way = Keyring.rewrap_many(provider, items)  # Decrypt + Encrypt, one by one
        plain_s = time.perf_counter() - started
        started = time.perf_counter()
        moved = provider.rewrap_many(items)  # ReEncrypt, REWRAP_THREADS at once
        moved_s = time.perf_counter() - started

        for result in (plain_way, moved):
            for (_, key_id, _), (version, wrapped) in zip(items, result, strict=True):
                assert provider.unwrap(wrapped, key_id=key_id, version=version) == keys[key_id]
        n = args.keys
        print(f"KMS rewrap of {n} data keys (moto_server on loopback, {os.cpu_count()} cores)")
        print(
            f"  Decrypt + Encrypt, sequential: {plain_s:7.2f}s {n / plain_s:8.0f} keys/s "
            f"({2 * n} calls)"
        )
        print(
            f"  ReEncrypt, {REWRAP_THREADS} in flight:      {moved_s:7.2f}s "
            f"{n / moved_s:8.0f} keys/s ({n} calls)"
        )
        print(f"  speed-up: {plain_s / moved_s:.2f}x")
    finally:
        stop_process(proc)


if __name__ == "__main__":
    main()
