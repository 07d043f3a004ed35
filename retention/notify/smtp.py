"""Sending through an SMTP server: the ``MUGSHOT_SMTP_URL`` setting parsed, and one connection.

Layer: ``retention.notify``. Three ways in, by the URL's scheme: ``smtp://host[:25]`` (plain; for
a relay on the same host or network), ``smtp+starttls://host[:587]`` (STARTTLS required: a
server that does not offer it is an error, never a silent fall-back to plain text) and
``smtps://host[:465]`` (TLS from the first byte). A login comes from ``user:password@`` in the
URL or from ``smtp_user``/``smtp_password`` (which win), and is refused over plain ``smtp://``.
Certificates are verified against the system's CAs, or ``smtp_ca_file``.

Errors are sorted for the outbox: ``Unavailable`` (no connection, TLS or login failed, the
server is unwell: every message waits, the run stops), ``Temporary`` (a 4xx for this message:
it waits) and ``Permanent`` (a 5xx for this message: it fails). Their texts carry the SMTP code
and the error's class, never the address.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from types import TracebackType
from typing import Protocol
from urllib.parse import unquote, urlsplit

from retention.errors import ConfigError, RetentionError
from retention.settings import Settings

PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}


class SendError(RetentionError):
    """A message was not accepted (the text names the SMTP code, never the recipient)."""


class Unavailable(SendError):
    """The server cannot be used now (connection, TLS, login, a 421): try again later."""


class Temporary(SendError):
    """The server refused this message for now (4xx): try it again later."""


class Permanent(SendError):
    """The server refused this message for good (5xx): do not try again."""


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send."""

    scheme: str
    host: str
    port: int
    user: str | None
    password: str | None = field(repr=False)
    sender: str
    timeout: float
    ca_file: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig | None:
        """Parse ``settings.smtp_url``; None when unset (no e-mail). ``ConfigError`` names what
        is wrong with it (never the password)."""
        raw = settings.smtp_url
        if not raw:
            return None
        parts = urlsplit(raw)
        scheme = parts.scheme.lower()
        if scheme not in PORTS:
            raise ConfigError(
                f"MUGSHOT_SMTP_URL: the scheme must be smtp, smtp+starttls or smtps, got {scheme!r}"
            )
        if not parts.hostname:
            raise ConfigError("MUGSHOT_SMTP_URL: no host (write smtp://host:port)")
        try:
            port = parts.port or PORTS[scheme]
        except ValueError:
            raise ConfigError("MUGSHOT_SMTP_URL: the port must be a number 1-65535") from None
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ConfigError("MUGSHOT_SMTP_URL: only scheme, login, host and port are read")
        user = settings.smtp_user or (unquote(parts.username) if parts.username else None)
        password = settings.smtp_password or (unquote(parts.password) if parts.password else None)
        if (user is None) != (password is None):
            raise ConfigError("MUGSHOT_SMTP_URL: a login needs both a user and a password")
        if user is not None and scheme == "smtp":
            raise ConfigError(
                "MUGSHOT_SMTP_URL: a login over plain smtp:// would send the password in clear; "
                "use smtp+starttls:// or smtps://"
            )
        if "@" not in settings.smtp_from:
            raise ConfigError("MUGSHOT_SMTP_FROM: give the sender's e-mail address")
        return cls(
            scheme=scheme,
            host=parts.hostname,
            port=port,
            user=user,
            password=password,
            sender=settings.smtp_from,
            timeout=float(settings.smtp_timeout_seconds),
            ca_file=settings.smtp_ca_file,
        )


class Transport(Protocol):
    """Something that sends e-mail: an open connection, used for one run of the job."""

    def __enter__(self) -> Transport: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def send(self, message: EmailMessage, recipient: str) -> None: ...


def _code_error(code: int, what: str) -> SendError:
    if code == 421:  # the server is closing the connection: nothing wrong with the message
        return Unavailable(f"{what}: {code}")
    return Permanent(f"{what}: {code}") if code >= 500 else Temporary(f"{what}: {code}")


class SmtpTransport:
    """One SMTP connection, opened on first use and closed on exit."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._conn: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()

    def _context(self) -> ssl.SSLContext:
        ca = self.config.ca_file
        return ssl.create_default_context(cafile=str(ca) if ca else None)

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        try:
            conn: smtplib.SMTP
            if cfg.scheme == "smtps":
                conn = smtplib.SMTP_SSL(
                    cfg.host, cfg.port, timeout=cfg.timeout, context=self._context()
                )
            else:
                conn = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            try:
                conn.ehlo()
                if cfg.scheme == "smtp+starttls":
                    conn.starttls(context=self._context())
                    conn.ehlo()
                if cfg.user is not None and cfg.password is not None:
                    conn.login(cfg.user, cfg.password)
            except BaseException:
                conn.close()
                raise
        except smtplib.SMTPNotSupportedError:
            raise Unavailable("the server does not offer STARTTLS (or login)") from None
        except smtplib.SMTPResponseException as exc:
            raise Unavailable(f"{type(exc).__name__}: {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise Unavailable(f"cannot reach the mail server: {type(exc).__name__}") from None
        return conn

    def send(self, message: EmailMessage, recipient: str) -> None:
        """Hand one message to the server; raises ``Unavailable``/``Temporary``/``Permanent``."""
        if self._conn is None:
            self._conn = self._connect()
        try:
            refused = self._conn.send_message(
                message, from_addr=self.config.sender, to_addrs=[recipient]
            )
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise _code_error(max(codes, default=550), "recipient refused") from None
        except smtplib.SMTPSenderRefused as exc:
            raise Unavailable(f"sender refused: {exc.smtp_code}") from None
        except smtplib.SMTPResponseException as exc:
            error = _code_error(exc.smtp_code, type(exc).__name__)
            if isinstance(error, Unavailable):  # 421: the server closes the connection
                self._conn = None
            raise error from None
        except (smtplib.SMTPException, OSError) as exc:
            self._conn = None
            raise Unavailable(f"connection lost: {type(exc).__name__}") from None
        if refused:  # only one recipient: not reached (smtplib raises instead), but be sure
            raise Permanent("recipient refused")
