"""Choosing the blob store named by ``MUGSHOT_BLOB_STORE``.

Layer: ``retention.storage``. The only module that knows every backend; the backends know
only ``retention.storage.interface``, so nothing imports in a circle. boto3 is imported only
when an ``s3://`` store is opened.
"""

from __future__ import annotations

from pathlib import Path

from retention.errors import ConfigError
from retention.storage.interface import BlobStore
from retention.storage.local import LocalBlobStore


def open_blob_store(
    location: str, *, s3_endpoint_url: str | None = None, region: str = "us-east-1"
) -> BlobStore:
    """The store named by ``MUGSHOT_BLOB_STORE``: a folder path, a ``file://`` URL, or
    ``s3://bucket/prefix`` (an S3-compatible service at ``s3_endpoint_url``, default AWS)."""
    if location.startswith("file://"):
        return LocalBlobStore(Path(location.removeprefix("file://")))
    if location.startswith("s3://"):
        from retention.storage.s3 import S3BlobStore

        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        return S3BlobStore(bucket, prefix, endpoint_url=s3_endpoint_url, region=region)
    if "://" in location:
        scheme = location.split("://", 1)[0]
        raise ConfigError(
            f"MUGSHOT_BLOB_STORE scheme {scheme!r} is not supported "
            "(use a folder path or s3://bucket/prefix)"
        )
    return LocalBlobStore(Path(location))
