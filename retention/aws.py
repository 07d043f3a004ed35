"""boto3 clients for the AWS-compatible backends (S3 blob store, KMS key provider).

Layer: ``retention`` (bottom; imports only ``retention.errors``). boto3 is imported here, lazily,
and only when such a backend is configured: the embedded deployment never needs it, and a
deployment that selects S3 or KMS without it installed gets a ``ConfigError`` saying what to
install rather than a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

from typing import Any

from retention.errors import ConfigError


def make_client(
    service: str,
    *,
    endpoint_url: str | None,
    region: str,
    connect_timeout: float,
    read_timeout: float,
    max_attempts: int,
    **config: Any,
) -> Any:
    """One boto3 client with short timeouts and few retries, so a dead endpoint fails fast.

    ``config`` adds botocore ``Config`` options (connection pool size, S3 addressing style).
    """
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise ConfigError(
            f"the {service.upper()} backend needs boto3: pip install 'mugshot-retention[s3]'"
        ) from None
    settings = Config(
        region_name=region,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"max_attempts": max_attempts, "mode": "standard"},
        **config,
    )
    return boto3.session.Session().client(service, endpoint_url=endpoint_url, config=settings)
