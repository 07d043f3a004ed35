"""Staff pages: legal holds — place, approve, request and confirm release.

Layer: ``web.staff``. The four-eyes rules live in ``retention.engine.changes`` (the placer cannot
approve, the person who asked for a release cannot confirm it); this module only maps their
``HoldError`` messages onto the page. Clerks and supervisors place holds; only supervisors approve
and release them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from policies.vocabulary import HoldKind
from retention.db.models import HoldState, LegalHold, Record, Role
from retention.engine import changes, records
from retention.errors import RetentionError
from web.auth import login_required, signed_in_user
from web.services import get_services, now

bp = Blueprint("staff_holds", __name__, template_folder="templates", url_prefix="/staff/holds")

MAX_REASON = 2000
MAX_CASE_REF = 120


def _holds() -> list[Any]:
    """Holds not released, newest first, with their record's booking number (one query)."""
    with get_services().readers() as db:
        return list(
            db.execute(
                select(LegalHold, Record.booking_number, Record.agency)
                .join(Record, Record.id == LegalHold.record_id)
                .where(LegalHold.state != HoldState.RELEASED.value)
                .order_by(LegalHold.placed_at.desc(), LegalHold.id)
            ).all()
        )


def _page(
    *, errors: dict[str, str] | None = None, form: dict[str, str] | None = None, code: int = 200
) -> ResponseReturnValue:
    user = signed_in_user()
    return (
        render_template(
            "staff/holds/index.html",
            holds=_holds(),
            kinds=[k.value for k in HoldKind],
            errors=errors or {},
            form=form or {},
            is_supervisor=user.role is Role.SUPERVISOR,
        ),
        code,
    )


@bp.get("/")
@login_required(Role.CLERK, Role.SUPERVISOR)
def index() -> ResponseReturnValue:
    """Holds not yet released, and the form to place one."""
    return _page()


@bp.post("/")
@login_required(Role.CLERK, Role.SUPERVISOR)
def place() -> ResponseReturnValue:
    """Place a hold on a record named by booking number or id (it blocks purge at once)."""
    user = signed_in_user()
    form = {
        "record": request.form.get("record", "").strip()[:64],
        "kind": request.form.get("kind", ""),
        "reason": request.form.get("reason", "").strip(),
        "case_reference": request.form.get("case_reference", "").strip(),
    }
    errors: dict[str, str] = {}
    if not form["record"]:
        errors["record"] = "Enter the booking number or record id."
    if form["kind"] not in {k.value for k in HoldKind}:
        errors["kind"] = "Choose the kind of hold."
    if not form["reason"]:
        errors["reason"] = "Give the reason for the hold."
    elif len(form["reason"]) > MAX_REASON:
        errors["reason"] = f"The reason can be at most {MAX_REASON} characters."
    if len(form["case_reference"]) > MAX_CASE_REF:
        errors["case_reference"] = f"The case reference can be at most {MAX_CASE_REF} characters."
    if errors:
        return _page(errors=errors, form=form, code=400)
    services = get_services()
    try:
        with services.sessions() as db, db.begin():
            record = records.resolve(db, services.keyring, form["record"])
            hold = changes.place_hold(
                db,
                record.id,
                kind=HoldKind(form["kind"]),
                reason=form["reason"],
                case_reference=form["case_reference"] or None,
                actor=user.actor,
                now=now(),
            )
            hold_id = hold.id
    except RetentionError as exc:
        return _page(errors={"record": str(exc)}, form=form, code=409)
    flash(f"Hold {hold_id[:8]} placed; it blocks purge now and needs a supervisor's approval.")
    return redirect(url_for(".index"))


def _act(hold_id: str, verb: str) -> ResponseReturnValue:
    user = signed_in_user()
    try:
        with get_services().sessions() as db, db.begin():
            if verb == "approve":
                changes.approve_hold(db, hold_id, actor=user.actor, now=now())
                message = "Hold approved."
            else:
                _, decision = changes.release_hold(db, hold_id, actor=user.actor, now=now())
                message = (
                    "Release requested: another supervisor must confirm it."
                    if decision is None
                    else "Hold released; the record's next action was re-evaluated."
                )
    except RetentionError as exc:
        return _page(errors={"action": str(exc)}, code=409)
    flash(message, "success")
    return redirect(url_for(".index"))


@bp.post("/<hold_id>/approve")
@login_required(Role.SUPERVISOR)
def approve(hold_id: str) -> ResponseReturnValue:
    """Approve a pending hold (a supervisor other than the one who placed it)."""
    return _act(hold_id, "approve")


@bp.post("/<hold_id>/release")
@login_required(Role.SUPERVISOR)
def release(hold_id: str) -> ResponseReturnValue:
    """Ask for a hold's release, or confirm someone else's request to release it."""
    return _act(hold_id, "release")
