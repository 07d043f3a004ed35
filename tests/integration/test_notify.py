"""E-mails to requesters: one per change of their request, through a real SMTP server on
loopback, from an outbox that survives an outage and never sends a message twice."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text

from policies.vocabulary import HoldKind, Jurisdiction, RequestKind
from retention.db.models import AuditEntry, JobRun, Notification, RemovalRequest
from retention.engine import changes
from retention.engine.authority import Person
from retention.errors import ConfigError
from retention.jobs import status as status_mod
from retention.jobs.notify import NotifyReport, run_notify
from retention.jobs.scheduler import NOTIFY, build_scheduler
from retention.notify import messages, outbox
from retention.requests import approval, filing, workflow
from retention.services import Services
from tests.conftest import FIXED_NOW, free_port
from tests.helpers import clock_at
from tests.integration.engine_helpers import ingest, review_due
from tests.integration.smtp_helpers import (
    PASSWORD,
    USER,
    Mailbox,
    Received,
    make_certificate,
    smtp_server,
)

NAME = "Oriane Vasquez-Thorbjorn"
DOB = dt.date(1988, 7, 14)
ADDRESS = "inbox.7731+requests@example.org"
REASONS = "Refused-because-of-PENDING-TRIAL-9431"
ANSWER_BY = "Send-the-court-letter-XQ77"


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox()


@pytest.fixture
def mail(services: Services, port: int) -> Services:
    """The services with e-mail on: plain SMTP to 127.0.0.1:``port``."""
    settings = services.settings.with_overrides(
        smtp_url=f"smtp://127.0.0.1:{port}",
        smtp_from="Records Unit <records@agency.example>",
        smtp_timeout_seconds=5,
        public_url="https://requests.agency.example/",
    )
    return dataclasses.replace(services, settings=settings)


@pytest.fixture
def server(port: int, mailbox: Mailbox) -> Iterator[Mailbox]:
    with smtp_server(port, mailbox):
        yield mailbox


def _file(
    services: Services,
    *,
    contact: str = ADDRESS,
    booking: str | None = None,
    now: dt.datetime = FIXED_NOW,
    jurisdiction: Jurisdiction = Jurisdiction.GB_ENG,
) -> tuple[str, str]:
    with services.sessions() as s, s.begin():
        req, reference = filing.file_request(
            s,
            services.keyring,
            services.store,
            claims=filing.Claims(
                name=NAME,
                date_of_birth=DOB,
                contact=contact,
                booking_number=booking,
                details="I was acquitted.",
            ),
            kind=RequestKind.ERASURE,
            jurisdiction=jurisdiction,
            grounds=["acquitted"],
            evidence=None,
            now=now,
        )
        return req.id, reference


def _send(services: Services, now: dt.datetime = FIXED_NOW) -> NotifyReport:
    return run_notify(services, clock=clock_at(now), actor="test:scheduler")


def _rows(services: Services, request_id: str | None = None) -> list[Notification]:
    with services.readers() as s:
        stmt = select(Notification).order_by(Notification.created_at, Notification.id)
        if request_id is not None:
            stmt = stmt.where(Notification.request_id == request_id)
        return list(s.execute(stmt).scalars())


def _assert_discreet(mail: Received, reference: str, *extra: str) -> None:
    """Nothing in the message — headers or body — names the person or their request."""
    raw = mail.raw.decode("utf-8", "replace")
    compact = raw.replace("-", "").replace(" ", "").upper()
    assert reference.replace("-", "") not in compact
    for secret in (NAME, "Oriane", "Thorbjorn", DOB.isoformat(), "14/07/1988", "1988", *extra):
        assert secret.lower() not in raw.lower(), secret


def test_every_change_the_requester_hears_about_is_one_discreet_email(
    tmp_path: Path, mail: Services, server: Mailbox
) -> None:
    ids = ingest(
        mail, tmp_path, [review_due("GB-1") | {"name": NAME, "date_of_birth": "1988-07-14"}]
    )
    # Request A: information asked, answered, the deadline extended (GDPR Art 12(3): an EU
    # request; the DPA 2018 s.54(3A) extension is not applied), then refused.
    a_id, a_ref = _file(mail, booking="GB-1", jurisdiction=Jurisdiction.EU)
    with mail.sessions() as s, s.begin():
        workflow.ask_for_information(
            s, mail.keyring, a_id, actor="clerk:ann", message=ANSWER_BY, now=FIXED_NOW
        )
    with mail.sessions() as s, s.begin():
        workflow.answer(s, mail.keyring, a_ref, text="Here it is.", now=FIXED_NOW)
    with mail.sessions() as s, s.begin():
        workflow.extend(
            s,
            mail.keyring,
            a_id,
            actor="clerk:ann",
            reason="We need the court file.",
            now=FIXED_NOW,
        )
    with mail.sessions() as s, s.begin():
        workflow.deny(s, mail.keyring, a_id, actor="clerk:ann", reasons=REASONS, now=FIXED_NOW)
    # Request B: approved with a second person, carried out in that step (one e-mail).
    b_id, b_ref = _file(mail, booking="GB-1")
    with mail.sessions() as s, s.begin():
        workflow.match(s, mail.keyring, b_id, ids["GB-1"], actor="clerk:ann", now=FIXED_NOW)
        approval.approve(s, mail.keyring, b_id, actor="clerk:ann", reasons="Gone.", now=FIXED_NOW)
    with mail.sessions() as s, s.begin():
        approval.confirm(
            s,
            mail.keyring,
            b_id,
            supervisor=Person("supervisor:bo", "supervisor"),
            reason="Acquittal confirmed with the court record",
            now=FIXED_NOW,
        )

    report = _send(mail)

    assert report.sent == 4
    got = list(server.received)
    assert [m.rcpt_tos for m in got] == [[ADDRESS]] * 4
    texts = [m.text for m in got]
    expected = ["needs_info", "extended", "denied", "completed"]
    for event in expected:
        assert sum(messages.EVENTS[event].what_changed in t for t in texts) == 1, event
    for m in got:
        _assert_discreet(m, a_ref, REASONS, ANSWER_BY, "GB-1", a_id, b_id)
        _assert_discreet(m, b_ref)
        assert "https://requests.agency.example/status" in m.text
        assert m.message["Subject"] == messages.SUBJECT
        assert m.message["To"] == ADDRESS
        assert m.message["Auto-Submitted"] == "auto-generated"
    rows = _rows(mail)
    # Approved and completed in one step: the approval's row is superseded by the completion's.
    assert sorted((r.event, r.state) for r in rows) == sorted(
        [
            ("needs_info", "sent"),
            ("extended", "sent"),
            ("denied", "sent"),
            ("approved", "superseded"),
            ("completed", "sent"),
        ]
    )
    assert all(r.recipient_sealed is None for r in rows)  # cleared after delivery
    assert {m.message["Message-ID"] for m in got} == {
        messages.message_id(r.id, mail.settings) for r in rows if r.state == "sent"
    }
    with mail.readers() as s:
        told = s.execute(
            select(AuditEntry).where(AuditEntry.action == "request.notified")
        ).scalars()
        assert sorted(e.details["event"] for e in told) == sorted(expected)
    # Sent once: a second run finds nothing due and sends nothing.
    _send(mail, FIXED_NOW + dt.timedelta(hours=2))
    assert len(server.received) == 4


def test_a_held_record_puts_the_request_on_hold_and_the_requester_is_told_so(
    tmp_path: Path, mail: Services, server: Mailbox
) -> None:
    ids = ingest(
        mail, tmp_path, [review_due("GB-1") | {"name": NAME, "date_of_birth": "1988-07-14"}]
    )
    with mail.sessions() as s, s.begin():
        changes.place_hold(
            s,
            mail.keyring,
            ids["GB-1"],
            kind=HoldKind.EVIDENCE,
            reason="trial",
            case_reference=None,
            actor="clerk:ann",
            now=FIXED_NOW,
        )
    request_id, reference = _file(mail, booking="GB-1")
    with mail.sessions() as s, s.begin():
        workflow.match(s, mail.keyring, request_id, ids["GB-1"], actor="clerk:ann", now=FIXED_NOW)
        approval.approve(s, mail.keyring, request_id, actor="clerk:ann", reasons="", now=FIXED_NOW)
    with mail.readers() as s:
        assert s.get_one(RemovalRequest, request_id).state == "on_hold"
    _send(mail)
    # Approved and kept under the hold in one step: one e-mail, which says it must wait.
    assert len(server.received) == 1
    assert messages.EVENTS["on_hold"].what_changed in server.received[0].text
    _assert_discreet(server.received[0], reference)


def test_the_address_is_sealed_at_rest_and_gone_from_the_outbox_once_sent(
    mail: Services, server: Mailbox
) -> None:
    request_id, _ = _file(mail)
    with mail.sessions() as s, s.begin():
        workflow.ask_for_information(
            s, mail.keyring, request_id, actor="clerk:ann", message="?", now=FIXED_NOW
        )
    needle = ADDRESS.encode()
    with mail.engine.connect() as conn:
        for table in ("removal_requests", "notifications", "audit_entries", "job_runs"):
            for r in conn.execute(text(f"SELECT * FROM {table}")):  # noqa: S608
                raw = b" ".join(v if isinstance(v, bytes) else str(v).encode() for v in r)
                assert needle not in raw, table
                assert b"example.org" not in raw, table
    (row,) = _rows(mail, request_id)
    with mail.readers() as s:
        req = s.get(RemovalRequest, request_id)
        assert req is not None
        assert row.recipient_sealed == req.contact_sealed  # the request's key, its own binding
    _send(mail)
    (row,) = _rows(mail, request_id)
    assert (row.state, row.recipient_sealed, row.attempts) == ("sent", None, 1)
    assert row.sent_at == FIXED_NOW


def test_a_contact_that_is_not_an_email_address_is_left_to_the_clerk(
    mail: Services, server: Mailbox
) -> None:
    request_id, _ = _file(mail, contact="+44 20 7946 0000, or write to 1 High St")
    with mail.sessions() as s, s.begin():
        workflow.ask_for_information(
            s, mail.keyring, request_id, actor="clerk:ann", message="?", now=FIXED_NOW
        )
    with mail.readers() as s:
        req = s.get(RemovalRequest, request_id)
        assert req is not None
        assert req.contact_sealed is None
    (row,) = _rows(mail, request_id)
    assert (row.state, row.recipient_sealed) == ("manual", None)
    report = _send(mail)
    assert report.job_id is None
    assert server.received == []
    # The clerk still reads the contact in the sealed claims.
    with mail.sessions() as s, s.begin():
        claims = filing.open_claims(
            s, mail.keyring, req, actor="clerk:ann", reason="Phone the requester", now=FIXED_NOW
        )
    assert claims["contact"].startswith("+44 20")


def test_with_the_mail_server_down_the_outbox_keeps_every_message_and_sends_each_once_back(
    mail: Services, port: int, mailbox: Mailbox
) -> None:
    ids = [_file(mail)[0] for _ in range(3)]
    for request_id in ids:
        with mail.sessions() as s, s.begin():
            workflow.ask_for_information(
                s,
                mail.keyring,
                request_id,
                actor="clerk:ann",
                message="?",
                now=FIXED_NOW,
            )
    down = _send(mail)  # nothing listens on the port
    assert down.unavailable
    rows = _rows(mail)
    assert [r.state for r in rows] == ["pending"] * 3
    assert all(r.recipient_sealed is not None for r in rows)
    assert sorted(r.attempts for r in rows) == [0, 0, 1]  # one tried; the rest not counted
    retry_at = FIXED_NOW + outbox.backoff(1)
    assert {r.next_attempt_at for r in rows} == {retry_at}
    assert all("cannot reach the mail server" in (r.last_error or "") for r in rows)
    with mail.readers() as s:
        run = s.get(JobRun, down.job_id)
        assert run is not None
        assert run.status == "failed"
        assert run.counts["retried"] == 1
    with smtp_server(port, mailbox):
        early = _send(mail, retry_at - dt.timedelta(seconds=1))  # backoff not over: no attempt
        assert early.job_id is None
        assert mailbox.received == []
        back = _send(mail, retry_at)
        again = _send(mail, retry_at + dt.timedelta(hours=3))
    assert (back.sent, again.sent) == (3, 0)
    assert len(mailbox.received) == 3
    assert len({m.message["Message-ID"] for m in mailbox.received}) == 3
    assert [r.state for r in _rows(mail)] == ["sent"] * 3


def test_two_senders_at_once_send_every_message_exactly_once(mail: Services, port: int) -> None:
    for _ in range(12):
        request_id, _ = _file(mail)
        with mail.sessions() as s, s.begin():
            workflow.ask_for_information(
                s,
                mail.keyring,
                request_id,
                actor="clerk:ann",
                message="?",
                now=FIXED_NOW,
            )
    slow = Mailbox(delay=0.05)
    start = threading.Barrier(2)
    reports: list[NotifyReport] = []
    errors: list[BaseException] = []

    def sender() -> None:
        try:
            start.wait()
            reports.append(
                run_notify(mail, clock=clock_at(FIXED_NOW), actor="test:scheduler", batch=3)
            )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    with smtp_server(port, slow):
        threads = [threading.Thread(target=sender) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert errors == []
    assert len(slow.received) == 12
    assert len({m.message["Message-ID"] for m in slow.received}) == 12
    assert sum(r.sent for r in reports) == 12
    assert [r.state for r in _rows(mail)] == ["sent"] * 12


def test_a_crash_after_the_server_accepted_sends_again_with_the_same_message_id(
    mail: Services, server: Mailbox
) -> None:
    """The one duplicate the outbox allows (at-least-once): the sender died between the
    server's 250 and its commit. The claim expires and the message goes again, same Message-ID."""
    request_id, _ = _file(mail)
    with mail.sessions() as s, s.begin():
        workflow.deny(
            s,
            mail.keyring,
            request_id,
            actor="clerk:ann",
            reasons=REASONS,
            now=FIXED_NOW,
        )
    with mail.sessions() as s, s.begin():
        _token, (row,) = outbox.claim(s, now=FIXED_NOW, limit=10)
    from retention.notify.smtp import SmtpConfig, SmtpTransport

    config = SmtpConfig.from_settings(mail.settings)
    assert config is not None
    with SmtpTransport(config) as conn:
        conn.send(messages.build(row.id, row.event, ADDRESS, mail.settings, when=0.0), ADDRESS)
    # ... and the process dies here. Another sender waits for the claim to expire.
    assert _send(mail, FIXED_NOW + dt.timedelta(minutes=1)).job_id is None
    later = _send(mail, FIXED_NOW + outbox.CLAIM_FOR + dt.timedelta(seconds=1))
    assert later.sent == 1
    assert len(server.received) == 2
    assert len({m.message["Message-ID"] for m in server.received}) == 1
    assert _rows(mail)[0].state == "sent"


def test_a_recipient_the_server_refuses_for_good_fails_and_is_shredded(
    mail: Services, port: int
) -> None:
    request_id, _ = _file(mail)
    with mail.sessions() as s, s.begin():
        workflow.deny(
            s,
            mail.keyring,
            request_id,
            actor="clerk:ann",
            reasons=REASONS,
            now=FIXED_NOW,
        )
    with smtp_server(port, Mailbox(refuse="550 5.1.1 No such user")):
        report = _send(mail)
    assert report.failed == 1
    (row,) = _rows(mail)
    assert (row.state, row.recipient_sealed, row.attempts) == ("failed", None, 1)
    assert row.last_error == "recipient refused: 550"
    with mail.readers() as s:
        entry = s.execute(
            select(AuditEntry).where(AuditEntry.action == "request.notification_failed")
        ).scalar_one()
    assert entry.details == {
        "notification_id": row.id,
        "event": "denied",
        "error": "recipient refused: 550",
    }


def test_a_temporary_refusal_waits_with_backoff(mail: Services, port: int) -> None:
    request_id, _ = _file(mail)
    with mail.sessions() as s, s.begin():
        workflow.deny(
            s,
            mail.keyring,
            request_id,
            actor="clerk:ann",
            reasons=REASONS,
            now=FIXED_NOW,
        )
    with smtp_server(port, Mailbox(refuse="450 4.2.1 Try later")):
        _send(mail)
    (row,) = _rows(mail)
    assert (row.state, row.attempts, row.next_attempt_at) == (
        "pending",
        1,
        FIXED_NOW + outbox.backoff(1),
    )
    assert row.recipient_sealed is not None
    late = FIXED_NOW + outbox.GIVE_UP_AFTER + dt.timedelta(minutes=1)
    with smtp_server(port, Mailbox(refuse="450 4.2.1 Try later")):
        _send(mail, late)
    (row,) = _rows(mail)
    assert (row.state, row.recipient_sealed) == ("failed", None)
    assert (row.last_error or "").startswith("gave up after 7 days")


def test_starttls_with_a_login_delivers_and_a_wrong_password_keeps_the_message(
    tmp_path: Path, services: Services, port: int
) -> None:
    cert, key = make_certificate(tmp_path)
    base = services.settings.with_overrides(
        smtp_url=f"smtp+starttls://{USER}:{PASSWORD}@127.0.0.1:{port}",
        smtp_from="records@agency.example",
        smtp_ca_file=cert,
        smtp_timeout_seconds=5,
    )
    request_id, _ = _file(services)
    with services.sessions() as s, s.begin():
        workflow.deny(
            s,
            services.keyring,
            request_id,
            actor="clerk:ann",
            reasons=REASONS,
            now=FIXED_NOW,
        )
    box = Mailbox()
    wrong = dataclasses.replace(services, settings=base.with_overrides(smtp_password="nope"))
    right = dataclasses.replace(services, settings=base)
    with smtp_server(port, box, tls=(cert, key), mode="starttls"):
        refused = run_notify(wrong, clock=clock_at(FIXED_NOW), actor="t")
        assert refused.unavailable
        assert box.received == []
        sent = run_notify(right, clock=clock_at(FIXED_NOW + dt.timedelta(hours=1)), actor="t")
    assert sent.sent == 1
    assert box.received[0].rcpt_tos == [ADDRESS]


def test_smtps_delivers_over_tls_from_the_first_byte(
    tmp_path: Path, services: Services, port: int
) -> None:
    cert, key = make_certificate(tmp_path)
    settings = services.settings.with_overrides(
        smtp_url=f"smtps://127.0.0.1:{port}",
        smtp_from="records@agency.example",
        smtp_ca_file=cert,
        smtp_timeout_seconds=5,
    )
    request_id, _ = _file(services)
    with services.sessions() as s, s.begin():
        workflow.deny(
            s,
            services.keyring,
            request_id,
            actor="clerk:ann",
            reasons=REASONS,
            now=FIXED_NOW,
        )
    box = Mailbox()
    with smtp_server(port, box, tls=(cert, key), mode="smtps"):
        report = run_notify(
            dataclasses.replace(services, settings=settings), clock=clock_at(FIXED_NOW), actor="t"
        )
    assert report.sent == 1
    assert len(box.received) == 1


def test_without_a_mail_server_configured_nothing_is_sent_and_the_address_is_cleared(
    services: Services, server: Mailbox
) -> None:
    assert services.settings.smtp_url is None
    request_id, _ = _file(services)
    with services.sessions() as s, s.begin():
        workflow.deny(
            s,
            services.keyring,
            request_id,
            actor="clerk:ann",
            reasons=REASONS,
            now=FIXED_NOW,
        )
    report = run_notify(services, clock=clock_at(FIXED_NOW), actor="t")
    assert report.not_sent == 1
    assert report.job_id is None
    (row,) = _rows(services)
    assert (row.state, row.recipient_sealed) == ("not_sent", None)
    assert server.received == []


def test_status_shows_the_backlog_and_warns_when_mail_waits_too_long(
    mail: Services, port: int
) -> None:
    request_id, _ = _file(mail)
    with mail.sessions() as s, s.begin():
        workflow.deny(
            s,
            mail.keyring,
            request_id,
            actor="clerk:ann",
            reasons=REASONS,
            now=FIXED_NOW,
        )
    _send(mail)  # server down
    soon = status_mod.status(mail, FIXED_NOW + dt.timedelta(minutes=30))
    assert soon.notifications is not None
    assert soon.notifications.by_state["pending"] == 1
    assert soon.notifications.oldest_waiting == FIXED_NOW
    assert not any("e-mails to requesters" in w for w in soon.warnings)
    assert any(line.startswith("e-mails to requesters: ") for line in soon.lines())
    late = status_mod.status(mail, FIXED_NOW + dt.timedelta(hours=2))
    assert any("1 e-mails to requesters are waiting" in w for w in late.warnings)
    assert late.to_json()["notifications"]["by_state"]["pending"] == 1


def test_the_scheduler_sends_the_outbox_while_it_leads_and_refuses_a_bad_smtp_url(
    mail: Services, server: Mailbox
) -> None:
    request_id, _ = _file(mail)
    with mail.sessions() as s, s.begin():
        workflow.deny(
            s,
            mail.keyring,
            request_id,
            actor="clerk:ann",
            reasons=REASONS,
            now=FIXED_NOW,
        )
    sched = build_scheduler(mail, clock=clock_at(FIXED_NOW), holder="host:1:a")
    job = sched.scheduler.get_job(NOTIFY)
    job.func()  # a standby sends nothing
    assert server.received == []
    assert sched.tick()
    job.func()
    assert len(server.received) == 1
    with mail.readers() as s:
        (run,) = s.execute(select(JobRun).where(JobRun.kind == "notify")).scalars()
    assert (run.status, run.counts["sent"]) == ("ok", 1)
    sched.shutdown()
    bad = dataclasses.replace(
        mail, settings=mail.settings.with_overrides(smtp_url="smtp://u:p@mail.example")
    )
    with pytest.raises(ConfigError, match="password in clear"):
        build_scheduler(bad, holder="host:1:b")


def test_a_state_named_in_the_table_is_told_by_the_same_hook(
    mail: Services, server: Mailbox
) -> None:
    """``on_hold`` (added to RequestState by the legal-hold change) needs only its line in
    ``messages.EVENTS``: the hook in ``move_state`` passes every state's value."""
    request_id, reference = _file(mail)
    with mail.sessions() as s, s.begin():
        req = s.get(RemovalRequest, request_id)
        assert req is not None
        outbox.state_changed(s, req, "on_hold", now=FIXED_NOW)
        outbox.state_changed(s, req, "under_review", now=FIXED_NOW)  # not in the table
    _send(mail)
    (got,) = server.received
    assert messages.EVENTS["on_hold"].what_changed in got.text
    _assert_discreet(got, reference)
    assert [r.event for r in _rows(mail)] == ["on_hold"]


def test_a_slow_server_makes_the_sender_hand_back_its_claim_before_it_expires(
    mail: Services, server: Mailbox
) -> None:
    for _ in range(4):
        request_id, _ = _file(mail)
        with mail.sessions() as s, s.begin():
            workflow.deny(
                s,
                mail.keyring,
                request_id,
                actor="clerk:ann",
                reasons=REASONS,
                now=FIXED_NOW,
            )
    ticks = iter(range(10_000))

    def clock() -> dt.datetime:  # every look at the clock is two minutes later
        return FIXED_NOW + dt.timedelta(minutes=2 * next(ticks))

    report = run_notify(mail, clock=clock, actor="test:scheduler")
    assert report.sent == 4
    assert len(server.received) == 4
    rows = _rows(mail)
    assert [r.state for r in rows] == ["sent"] * 4
    assert all(r.attempts == 1 for r in rows)  # handing back is not an attempt
