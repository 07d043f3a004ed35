"""What each e-mail says: one short text per change of a request, and nothing about the person.

Layer: ``retention.notify``. A message says what changed and where to look — never the
reference (a bearer secret), names, dates of birth, booking numbers or the decision's reasons:
the e-mail may be read by whoever shares the mailbox, so it stays vague on purpose and sends the
reader to the status page, where the reference opens the details.

``EVENTS`` is the hook's whole vocabulary: a change whose name is a key here is e-mailed, any
other (``received``, ``under_review``, ``confirming``) is not. A new state that the requester
should hear about is one more line here, keyed by its ``RequestState`` value.
"""

from __future__ import annotations

import email.utils
import uuid
from dataclasses import dataclass
from email.message import EmailMessage

from retention.settings import Settings

SUBJECT = "An update on your request"


@dataclass(frozen=True)
class Event:
    """One kind of change a requester is told about."""

    what_changed: str


EVENTS: dict[str, Event] = {
    "needs_info": Event("We need more information from you before we can go on with it."),
    "extended": Event(
        "We have extended the time we need to answer it. The new date and our reason are on "
        "the status page."
    ),
    "approved": Event("We have agreed to it and are carrying it out."),
    "denied": Event(
        "We have made a decision: we have refused it. Our reasons, and how to complain or "
        "appeal, are on the status page."
    ),
    "completed": Event(
        "We have carried it out. A certificate that proves it is on the status page."
    ),
    # RequestState.ON_HOLD (issue 13 item 5): approved, but a matched record is under a hold.
    "on_hold": Event(
        "Part of it must wait: a record is kept under a legal hold, and we will finish when the "
        "hold ends."
    ),
}


def where_to_look(settings: Settings) -> str:
    """The sentence that sends the reader to the status page."""
    if settings.public_url:
        page = settings.public_url.rstrip("/") + "/status"
        return f"To see the details, open {page} and enter the reference you were given."
    return (
        'To see the details, open the "Check your request" page of the website where you made '
        "the request, and enter the reference you were given."
    )


def body(event: str, settings: Settings) -> str:
    """The plain-text body for ``event`` (a key of ``EVENTS``)."""
    return (
        "Hello,\n\n"
        "There is news about the request you made to us.\n\n"
        f"{EVENTS[event].what_changed}\n\n"
        f"{where_to_look(settings)} For your safety we never put the reference, your name or "
        "the details of our decision in an e-mail.\n\n"
        "If you did not make this request, you can ignore this message.\n\n"
        "This message was sent automatically; replies are not read.\n"
    )


def message_id(notification_id: str, settings: Settings) -> str:
    """A Message-ID fixed per outbox row: a message sent again after a crash carries the same
    one, so mail systems that de-duplicate by Message-ID show it once."""
    domain = email.utils.parseaddr(settings.smtp_from)[1].rpartition("@")[2] or "localhost"
    return f"<{uuid.UUID(notification_id)}@{domain}>"


def build(
    notification_id: str, event: str, recipient: str, settings: Settings, *, when: float
) -> EmailMessage:
    """The e-mail for one outbox row (``when``: a POSIX time, for the Date header)."""
    msg = EmailMessage()
    msg["From"] = settings.smtp_from
    msg["To"] = recipient
    msg["Subject"] = SUBJECT
    msg["Date"] = email.utils.formatdate(when, usegmt=True)
    msg["Message-ID"] = message_id(notification_id, settings)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body(event, settings))
    return msg
