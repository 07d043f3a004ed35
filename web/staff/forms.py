"""What the staff forms share: reading a date field, placing a refusal next to its field, and
running a posted action (one transaction, a flash, back to the blueprint's index).

Layer: ``web.staff`` (a helper of its blueprints, no blueprint of its own). Imports Flask,
``retention.errors`` and ``web.services``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping

from flask import flash, redirect, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from retention.errors import RetentionError
from web.services import get_services


def date_arg(
    args: Mapping[str, str], name: str, errors: dict[str, str], message: str
) -> dt.date | None:
    """The date in field ``name`` (``YYYY-MM-DD``), or None when it is empty or unreadable (then
    ``errors[name]`` is set to ``message``)."""
    raw = str(args.get(name, "")).strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        errors[name] = message
        return None


def service_error(exc: RetentionError) -> tuple[str, str]:
    """A service error as (field, message): services say ``"field: message"`` when they can."""
    text = str(exc)
    field, sep, message = text.partition(": ")
    if sep and re.fullmatch(r"[a-z_]+", field):
        return field, message
    return "form", text


def run_action(
    action: Callable[[Session], str],
    refused: Callable[[str], ResponseReturnValue],
    *,
    category: str = "success",
) -> ResponseReturnValue:
    """Run ``action`` in one transaction, flash the message it returns and redirect to the
    current blueprint's ``index``; when the core refuses (``RetentionError``) nothing is
    committed and ``refused(message)`` renders the page instead."""
    try:
        with get_services().sessions() as db, db.begin():
            message = action(db)
    except RetentionError as exc:
        return refused(str(exc))
    flash(message, category)
    return redirect(url_for(".index"))
