"""Audited reads on staff pages: a photo, a requester's claims or evidence, each only on a POST
that states why (DESIGN invariant 11); a GET shows the form and never decrypts or audits.

Layer: ``web.staff`` (a helper of the record and request pages). Imports Flask,
``retention.engine.reasons`` and ``web.security``.

A photo is sent back **inline, as a ``data:`` URI inside the POST's response** (marked
``no-store``), not as a URL to fetch. The decrypted thumbnail then exists in exactly one HTTP
response — the one the clerk's stated reason paid for, and whose single audit entry records it.
There is no second address that serves it: nothing another site can embed as
``<img src=...>``, nothing a history entry, a proxy log or a ``Referer`` can replay, and no
server-side handle to store, expire and clean up after a crash. The cost is size: base64 adds a
third to a thumbnail of a few kilobytes. ``data:`` images are allowed by the
Content-Security-Policy of these responses only (``allow_inline_images``); every other page
keeps ``img-src 'self'``.

The POST answers with the page itself (200), never a redirect: a redirect would carry the reason
in a URL or need somewhere to keep it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from flask import Response, request

from retention.engine.reasons import ReasonError, stated_reason
from web.security import INLINE_IMAGES_CONTENT_SECURITY_POLICY

# The stated reason, plus " (request <id>)", must fit ``retention.engine.records.MAX_REASON``.
MAX_STATED_REASON = 150
# The purpose staff view a thumbnail for: a restricted record shows it only if it permits this.
THUMBNAIL_PURPOSE = "identification"


@dataclass(frozen=True)
class ReasonField:
    """What a reason field shows when a page is re-rendered: what was typed and what is wrong."""

    value: str = ""
    error: str | None = None


@dataclass(frozen=True)
class ShownPhoto:
    """A decrypted photo as the page embeds it, and the reason it was shown for."""

    src: str
    reason: str
    full_size: bool = False


def posted_reason() -> tuple[str, ReasonField]:
    """The reason in the posted form's ``reason`` field, checked as a real sentence
    (``retention.engine.reasons.stated_reason``) of at most ``MAX_STATED_REASON`` characters.

    Returns (reason, field): the reason is ``""`` and ``field.error`` says what is wanted when
    it is not acceptable; ``field.value`` is what was typed, to show it again."""
    typed = request.form.get("reason", "")
    try:
        reason = stated_reason(typed)
    except ReasonError as exc:
        return "", ReasonField(typed, field_message(exc))
    if len(reason) > MAX_STATED_REASON:
        return "", ReasonField(typed, f"Keep the reason under {MAX_STATED_REASON} characters.")
    return reason, ReasonField(reason)


def field_message(exc: ReasonError) -> str:
    """A reason error as the text next to the field: without its ``reason:`` prefix."""
    _, sep, message = str(exc).partition(": ")
    text = message if sep else str(exc)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def data_uri(media_type: str, data: bytes) -> str:
    """The image as a ``data:`` URI, to embed in the one response that shows it."""
    return f"data:{media_type};base64,{base64.b64encode(data).decode('ascii')}"


def allow_inline_images(response: Response) -> Response:
    """Let this response (only) show ``data:`` images, and keep it out of every cache."""
    response.headers["Content-Security-Policy"] = INLINE_IMAGES_CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = "no-store"
    return response
