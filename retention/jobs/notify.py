"""The notify job: sends the outbox's due e-mails, with backoff, exactly as the outbox promises.

Layer: ``retention.jobs``. Runs in the scheduler (``notify``, every
``settings.notify_interval_seconds``) or by hand (``mugshot notify send``). A run claims a batch
of due messages (``retention.notify.outbox.claim``, committed before any is sent), opens each
recipient under its request's key, hands the message to the mail server, and settles the row in
its own transaction: ``sent`` (recipient cleared), back to ``pending`` with backoff, or
``failed``. When the server cannot be reached, the message in hand and the rest of the batch
wait for the next attempt and the run stops: an outage keeps every message, and retries come
no more often than the backoff allows.

A run with nothing due leaves no ``JobRun`` row (it runs every minute); a run that had work
records one, with a heartbeat after each batch, and stops between batches when ``stop`` is set.
With no mail server configured (``MUGSHOT_SMTP_URL`` unset) the run marks waiting messages
``not_sent`` and clears their recipients: no e-mail, as the public form says.

Logs and job errors name outbox ids, event names and SMTP codes — never an address.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from retention.db.models import JobRunStatus, Notification, RemovalRequest
from retention.errors import IntegrityError
from retention.jobs import runs
from retention.keys.keyring import Keyring
from retention.notify import contacts, messages, outbox
from retention.notify.smtp import (
    Permanent,
    SmtpConfig,
    SmtpTransport,
    Temporary,
    Transport,
    Unavailable,
)
from retention.services import Services

log = logging.getLogger("mugshot.notify")

Clock = Callable[[], dt.datetime]
KIND = "notify"
BATCH = 50


@dataclass
class NotifyReport:
    """What one run did."""

    job_id: str | None = None
    sent: int = 0
    retried: int = 0
    failed: int = 0
    not_sent: int = 0
    lost_claims: int = 0
    unavailable: bool = False
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Counts for the JobRun row."""
        return {
            "sent": self.sent,
            "retried": self.retried,
            "failed": self.failed,
            "not_sent": self.not_sent,
            "lost_claims": self.lost_claims,
        }


def _recipient(req: RemovalRequest | None, row: Notification, keyring: Keyring) -> str:
    """The address, opened under its request's key; ``IntegrityError`` when it cannot be."""
    if req is None or row.recipient_sealed is None:
        raise IntegrityError(f"notification {row.id}: no sealed recipient")
    if req.wrapped_key is None or req.key_id is None or req.kek_version is None:
        raise IntegrityError(f"notification {row.id}: the request's key was destroyed")
    key = keyring.unwrap(req.wrapped_key, key_id=req.key_id, version=req.kek_version)
    return contacts.open_sealed(key, row.recipient_sealed, request_id=req.id)


def _send_batch(
    services: Services,
    transport: Transport,
    rows: list[Notification],
    token: str,
    report: NotifyReport,
    *,
    clock: Clock,
    actor: str,
) -> None:
    settings = services.settings
    claimed_at = clock()
    for index, row in enumerate(rows):
        now = clock()
        if now - claimed_at > outbox.CLAIM_FOR / 2:
            # A slow server: hand the rest back before our claim could expire under us (an
            # expired claim lets another sender take a row this one is about to send).
            with services.sessions() as session, session.begin():
                for rest in rows[index:]:
                    outbox.mark_retry(
                        session,
                        rest,
                        token,
                        error="released: slow server",
                        now=now,
                        actor=actor,
                        attempted=False,
                        at=now,
                    )
            return
        try:
            with services.readers() as session:
                address = _recipient(
                    session.get(RemovalRequest, row.request_id), row, services.keyring
                )
            message = messages.build(row.id, row.event, address, settings, when=now.timestamp())
            transport.send(message, address)
        except IntegrityError as exc:
            with services.sessions() as session, session.begin():
                outbox.mark_failed(
                    session, row, token, error=str(exc), now=now, actor=actor, attempted=False
                )
            report.failed += 1
            continue
        except Permanent as exc:
            with services.sessions() as session, session.begin():
                outbox.mark_failed(session, row, token, error=str(exc), now=now, actor=actor)
            report.failed += 1
            continue
        except Unavailable as exc:
            error = str(exc)
            retry_at = now + outbox.backoff(row.attempts + 1)
            with services.sessions() as session, session.begin():
                outbox.mark_retry(session, row, token, error=error, now=now, actor=actor)
                for rest in rows[index + 1 :]:
                    outbox.mark_retry(
                        session,
                        rest,
                        token,
                        error=error,
                        now=now,
                        actor=actor,
                        attempted=False,
                        at=retry_at,
                    )
            report.retried += 1
            report.unavailable = True
            report.errors.append(f"notification {row.id}: {error}"[:500])
            log.warning(
                "mail server unavailable (%s); %d message(s) wait", error, len(rows) - index
            )
            return
        except Temporary as exc:
            with services.sessions() as session, session.begin():
                outbox.mark_retry(session, row, token, error=str(exc), now=now, actor=actor)
            report.retried += 1
            continue
        # Accepted by the server. A crash before this commit sends it again (same Message-ID):
        # see ``retention.notify.outbox`` on why at-least-once.
        with services.sessions() as session, session.begin():
            done = outbox.mark_sent(session, row, token, now=clock(), actor=actor)
        if done:
            report.sent += 1
        else:
            report.lost_claims += 1
            log.warning("notification %s: sent, but its claim had expired", row.id)


def run_notify(
    services: Services,
    *,
    clock: Clock,
    actor: str,
    transport: Transport | None = None,
    stop: threading.Event | None = None,
    batch: int = BATCH,
) -> NotifyReport:
    """One pass over the due outbox (see the module docstring). ``transport`` defaults to an
    SMTP connection per ``services.settings``; a bad setting raises ``ConfigError``."""
    report = NotifyReport()
    now = clock()
    config = SmtpConfig.from_settings(services.settings)
    if config is None:
        with services.sessions() as session, session.begin():
            report.not_sent = outbox.mark_not_sent(session, now=now)
        return report
    with services.readers() as session:
        if not outbox.any_due(session, now):
            return report
    job_id = runs.start(services, KIND, actor=actor, now=now)
    report.job_id = job_id
    status = JobRunStatus.OK
    try:
        with transport if transport is not None else SmtpTransport(config) as conn:
            while not report.unavailable:
                if stop is not None and stop.is_set():
                    status = JobRunStatus.INTERRUPTED
                    break
                with services.sessions() as session, session.begin():
                    token, rows = outbox.claim(session, now=clock(), limit=batch)
                if not rows:
                    break
                _send_batch(services, conn, rows, token, report, clock=clock, actor=actor)
                runs.heartbeat(services, job_id, now=clock(), counts=report.counts())
        if report.unavailable:
            status = JobRunStatus.FAILED  # nothing lost (the messages wait), but say so
    except BaseException as exc:
        status = JobRunStatus.FAILED
        report.errors.append(f"{type(exc).__name__}: {exc}"[:500])
        raise
    finally:
        runs.finish(
            services,
            job_id,
            status=status,
            now=clock(),
            counts=report.counts(),
            errors=report.errors,
        )
    return report
