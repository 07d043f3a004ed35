"""The S3-compatible blob store: sealed blobs as objects under ``s3://bucket/prefix``.

Layer: ``retention.storage``. Selected by ``MUGSHOT_BLOB_STORE=s3://bucket/prefix`` (see
``retention.storage.factory.open_blob_store``); boto3 is imported lazily so the embedded deployment
needs none. The store sees sealed bytes only, exactly as the local store writes them to disk.

Objects live at ``prefix/abc/<key>`` (the first three characters of the key, as on disk). A put
is durable once S3 acknowledges it; each put carries a SHA-256 checksum the server verifies, so
bytes corrupted in transit are refused instead of stored. Deletes are idempotent.

Failures are split in two. An unreachable or failing service (connection refused or reset,
timeouts, 5xx, throttling) raises :class:`~retention.storage.interface.BlobStoreUnavailable`, an
``OSError``: the importer then rejects the batch's rows ("re-run the import") and a purge's
after-commit deletion leaves its blobs to the janitor. A misconfiguration (missing bucket,
denied access, bad credentials) raises :class:`~retention.errors.ConfigError` naming the bucket.
Credentials are never part of any message. Short timeouts and few retries make a dead endpoint
fail within seconds rather than hang a sweep or an import.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from retention import aws
from retention.errors import BlobNotFoundError, ConfigError, RetentionError
from retention.storage.interface import SHARD_CHARS, BlobStoreUnavailable, check_key

T = TypeVar("T")

DELETE_CHUNK = 1000  # DeleteObjects takes at most 1,000 keys a request
PUT_THREADS = 8
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 10.0
MAX_ATTEMPTS = 3

_MISSING = {"NoSuchKey", "404", "NotFound"}
_TRANSIENT = {
    "InternalError",
    "ServiceUnavailable",
    "SlowDown",
    "RequestTimeout",
    "RequestTimeTooSkewed",
    "Throttling",
    "ThrottlingException",
}
_CONFIG = {
    "NoSuchBucket": "does not exist",
    "AccessDenied": "refused access (check the credentials' permissions)",
    "AllAccessDisabled": "refused access",
    "InvalidAccessKeyId": "rejected the access key (check AWS_ACCESS_KEY_ID)",
    "SignatureDoesNotMatch": "rejected the request signature (check AWS_SECRET_ACCESS_KEY)",
    "InvalidBucketName": "is not a valid bucket name",
    "PermanentRedirect": "is in another region (check MUGSHOT_AWS_REGION)",
    "AuthorizationHeaderMalformed": "is in another region (check MUGSHOT_AWS_REGION)",
}


class S3BlobStore:
    """Sealed blobs as objects in one S3 bucket under one prefix; one boto3 client per store."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        client: Any = None,
    ) -> None:
        if not bucket:
            raise ConfigError("MUGSHOT_BLOB_STORE s3:// URL names no bucket")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self._client = client if client is not None else _make_client(endpoint_url, region)

    # -- helpers -----------------------------------------------------------------------------

    def _object(self, key: str) -> str:
        check_key(key)
        shard = f"{key[:SHARD_CHARS].lower()}/{key}"
        return f"{self.prefix}/{shard}" if self.prefix else shard

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one S3 call, translating botocore's errors into the store's."""
        from botocore import exceptions as bce

        try:
            return fn()
        except (bce.ConnectionError, bce.HTTPClientError) as exc:
            raise BlobStoreUnavailable(
                f"object store {self.describe()} unreachable during {what} ({type(exc).__name__})"
            ) from exc
        except bce.NoCredentialsError:
            raise ConfigError(
                f"no AWS credentials for {self.describe()} "
                "(set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
            ) from None
        except bce.ClientError as exc:
            raise self._translate(exc, what) from exc

    def _translate(self, exc: Any, what: str) -> Exception:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if status >= 500 or code in _TRANSIENT:
            return BlobStoreUnavailable(
                f"object store {self.describe()} failed during {what} ({code or status})"
            )
        if code in _CONFIG:
            return ConfigError(f"S3 bucket {self.bucket!r} {_CONFIG[code]} ({what})")
        if status == 403:
            return ConfigError(f"S3 bucket {self.bucket!r} refused access ({what}: {code})")
        return RetentionError(f"S3 bucket {self.bucket!r}: {what} failed ({code or status})")

    @staticmethod
    def _is_missing(exc: Any) -> bool:
        """A missing object (a 404 that is not a missing bucket, which is misconfiguration)."""
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code in _MISSING or (status == 404 and code not in _CONFIG)

    def _call_or_missing(self, what: str, fn: Callable[[], T]) -> T | None:
        """``_call``, but ``None`` when the object (or bucket, for ``head bucket``) is missing."""
        from botocore import exceptions as bce

        try:
            return self._call(what, fn)
        except RetentionError as exc:
            cause = exc.__cause__
            if isinstance(cause, bce.ClientError) and self._is_missing(cause):
                return None
            raise

    # -- the protocol ------------------------------------------------------------------------

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (``mugshot init``; tests)."""
        head = self._call_or_missing(
            "head bucket", lambda: self._client.head_bucket(Bucket=self.bucket)
        )
        if head is not None:
            return
        region = self._client.meta.region_name
        extra: dict[str, Any] = {}
        if region and region != "us-east-1":
            extra["CreateBucketConfiguration"] = {"LocationConstraint": region}
        self._call("create bucket", lambda: self._client.create_bucket(Bucket=self.bucket, **extra))

    def put(self, key: str, data: bytes) -> None:
        name = self._object(key)
        body = bytes(data)
        checksum = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
        self._call(
            "put",
            lambda: self._client.put_object(
                Bucket=self.bucket, Key=name, Body=body, ChecksumSHA256=checksum
            ),
        )

    def put_many(self, items: Iterable[tuple[str, bytes]]) -> None:
        """Put every blob (a few at a time); each is durable once S3 acknowledged it. Raises
        if any put failed, after every put has finished — blobs put before the failure stay,
        unreferenced, until a re-run overwrites them or the janitor removes them."""
        batch = [(check_key(k), d) for k, d in items]
        if not batch:
            return
        if len(batch) == 1:
            self.put(*batch[0])
            return
        with ThreadPoolExecutor(
            max_workers=min(PUT_THREADS, len(batch)), thread_name_prefix="s3-put"
        ) as pool:
            futures = [pool.submit(self.put, k, d) for k, d in batch]
        for future in futures:
            future.result()  # the first failure, in order

    def get(self, key: str) -> bytes:
        name = self._object(key)
        response = self._call_or_missing(
            "get",
            lambda: self._client.get_object(Bucket=self.bucket, Key=name, ChecksumMode="ENABLED"),
        )
        if response is None:
            raise BlobNotFoundError(f"no blob {key}")
        body = response["Body"]
        try:
            return bytes(self._call("get", body.read))
        finally:
            body.close()

    def _head(self, key: str) -> dict[str, Any] | None:
        name = self._object(key)
        head: dict[str, Any] | None = self._call_or_missing(
            "head", lambda: self._client.head_object(Bucket=self.bucket, Key=name)
        )
        return head

    def exists(self, key: str) -> bool:
        return self._head(key) is not None

    def modified_at(self, key: str) -> dt.datetime | None:
        head = self._head(key)
        if head is None:
            return None
        modified: dt.datetime = head["LastModified"]
        if modified.tzinfo is None:
            modified = modified.replace(tzinfo=dt.UTC)
        return modified.astimezone(dt.UTC)

    def delete(self, key: str) -> None:
        name = self._object(key)
        self._call("delete", lambda: self._client.delete_object(Bucket=self.bucket, Key=name))

    def delete_many(self, keys: Iterable[str]) -> None:
        names = [self._object(k) for k in keys]
        for start in range(0, len(names), DELETE_CHUNK):
            chunk = names[start : start + DELETE_CHUNK]
            response = self._call(
                "delete",
                lambda chunk=chunk: self._client.delete_objects(  # type: ignore[misc]
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": n} for n in chunk], "Quiet": True},
                ),
            )
            errors = [e for e in response.get("Errors", []) if e.get("Code") not in _MISSING]
            if errors:
                codes = sorted({str(e.get("Code")) for e in errors})
                if all(c in _TRANSIENT for c in codes):
                    raise BlobStoreUnavailable(
                        f"object store {self.describe()} could not delete {len(errors)} "
                        f"objects ({', '.join(codes)})"
                    )
                raise RetentionError(
                    f"S3 bucket {self.bucket!r}: {len(errors)} objects not deleted "
                    f"({', '.join(codes)})"
                )

    def keys(self) -> Iterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        base = f"{self.prefix}/" if self.prefix else ""
        pages = iter(paginator.paginate(Bucket=self.bucket, Prefix=base))
        while True:
            page = self._call("list", lambda: next(pages, None))
            if page is None:
                return
            for obj in page.get("Contents", []):
                rest = str(obj["Key"])[len(base) :]
                shard, _, key = rest.partition("/")
                if key and "/" not in key and len(shard) == SHARD_CHARS:
                    yield key

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def _make_client(endpoint_url: str | None, region: str) -> Any:
    """One boto3 client with short timeouts and few retries (a dead endpoint fails fast)."""
    return aws.make_client(
        "s3",
        endpoint_url=endpoint_url,
        region=region,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        max_attempts=MAX_ATTEMPTS,
        max_pool_connections=PUT_THREADS * 2,
        s3={"addressing_style": "path"} if endpoint_url else None,
    )
