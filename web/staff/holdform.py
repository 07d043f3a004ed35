"""The place-a-hold form, shared by the holds page and the record page (which posts the same
fields with the record's id), and placing the hold it describes.

Layer: ``web.staff`` (a helper shared by two features, like ``forms``). Imports Flask,
``policies.vocabulary``, ``retention.engine`` and ``web.services``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import request

from policies.vocabulary import HoldKind
from retention.engine import changes, records
from web.services import get_services, now
from web.staff.forms import date_arg

MAX_REASON = 2000
MAX_CASE_REF = 120
ENTER_A_DATE = "Enter the review date as YYYY-MM-DD."


@dataclass(frozen=True)
class PlaceForm:
    """The place-a-hold form, read and checked (``errors`` by field name)."""

    values: dict[str, str]
    review_on: dt.date | None
    errors: dict[str, str]


def read_place_form(today: dt.date) -> PlaceForm:
    """The posted place-a-hold fields (the holds page and the record page post the same ones)."""
    values = {
        "record": request.form.get("record", "").strip()[:64],
        "kind": request.form.get("kind", ""),
        "reason": request.form.get("reason", "").strip(),
        "case_reference": request.form.get("case_reference", "").strip(),
        "review_on": request.form.get("review_on", "").strip()[:10],
    }
    errors: dict[str, str] = {}
    if not values["record"]:
        errors["record"] = "Enter the booking number or record id."
    if values["kind"] not in {k.value for k in HoldKind}:
        errors["kind"] = "Choose the kind of hold."
    if not values["reason"]:
        errors["reason"] = "Give the reason for the hold."
    elif len(values["reason"]) > MAX_REASON:
        errors["reason"] = f"The reason can be at most {MAX_REASON} characters."
    if len(values["case_reference"]) > MAX_CASE_REF:
        errors["case_reference"] = f"The case reference can be at most {MAX_CASE_REF} characters."
    review_on = date_arg(values, "review_on", errors, ENTER_A_DATE)
    if review_on is not None and review_on <= today:
        errors["review_on"] = "The review date must be after today."
    return PlaceForm(values, review_on, errors)


def place_from(form: PlaceForm, actor: str) -> str:
    """Place the hold the form describes, in its own transaction; returns the hold's id.
    ``RetentionError`` when the core refuses (no such record, a purged one)."""
    services = get_services()
    with services.sessions() as db, db.begin():
        record = records.resolve(db, services.keyring, form.values["record"])
        hold = changes.place_hold(
            db,
            services.keyring,
            record.id,
            kind=HoldKind(form.values["kind"]),
            reason=form.values["reason"],
            case_reference=form.values["case_reference"] or None,
            actor=actor,
            now=now(),
            review_on=form.review_on,
        )
        return hold.id


PLACED = "Hold {} placed; it blocks purge now and needs a supervisor's approval."
