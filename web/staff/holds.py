"""Staff pages: legal holds — place, approve, request and confirm release.

Layer: ``web.staff``. The four-eyes rules live in ``retention.engine.changes`` (the placer cannot
approve, the person who asked for a release cannot confirm it); this module only maps their
``HoldError`` messages onto the page. Clerks and supervisors place holds; only supervisors approve
and release them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from policies.vocabulary import HoldKind
from retention.db.models import HoldState, LegalHold, Record, Role, booking_ref
from retention.engine import changes, records, sealing
from web.auth import login_required, signed_in_user
from web.services import get_services, now
from web.staff.forms import run_action

bp = Blueprint("staff_holds", __name__, template_folder="templates", url_prefix="/staff/holds")

MAX_REASON = 2000
MAX_CASE_REF = 120


def _holds() -> list[Any]:
    """Holds not released, newest first, with their record's booking short form (the number is
    sealed; the page needs no identity) and the case reference opened (staff's own note)."""
    services = get_services()
    with services.readers() as db:
        opener = sealing.Opener(db, services.keyring)
        return [
            (
                hold,
                booking_ref(bidx),
                agency,
                opener.record(
                    hold.record_id,
                    sealing.row_field("legal_holds", hold.id, "case_reference"),
                    hold.case_reference_sealed,
                ),
            )
            for hold, bidx, agency in db.execute(
                select(LegalHold, Record.booking_bidx, Record.agency)
                .join(Record, Record.id == LegalHold.record_id)
                .where(LegalHold.state != HoldState.RELEASED.value)
                .order_by(LegalHold.placed_at.desc(), LegalHold.id)
            ).all()
        ]


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

    def run(db: Session) -> str:
        record = records.resolve(db, services.keyring, form["record"])
        hold = changes.place_hold(
            db,
            services.keyring,
            record.id,
            kind=HoldKind(form["kind"]),
            reason=form["reason"],
            case_reference=form["case_reference"] or None,
            actor=user.actor,
            now=now(),
        )
        return f"Hold {hold.id[:8]} placed; it blocks purge now and needs a supervisor's approval."

    return run_action(
        run,
        lambda message: _page(errors={"record": message}, form=form, code=409),
        category="message",
    )


def _refused(message: str) -> ResponseReturnValue:
    return _page(errors={"action": message}, code=409)


@bp.post("/<hold_id>/approve")
@login_required(Role.SUPERVISOR)
def approve(hold_id: str) -> ResponseReturnValue:
    """Approve a pending hold (a supervisor other than the one who placed it)."""
    actor = signed_in_user().actor

    def run(db: Session) -> str:
        changes.approve_hold(db, hold_id, actor=actor, now=now())
        return "Hold approved."

    return run_action(run, _refused)


@bp.post("/<hold_id>/release")
@login_required(Role.SUPERVISOR)
def release(hold_id: str) -> ResponseReturnValue:
    """Ask for a hold's release, or confirm someone else's request to release it."""
    actor = signed_in_user().actor

    def run(db: Session) -> str:
        _, decision = changes.release_hold(db, hold_id, actor=actor, now=now())
        if decision is None:
            return "Release requested: another supervisor must confirm it."
        return "Hold released; the record's next action was re-evaluated."

    return run_action(run, _refused)
