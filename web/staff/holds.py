"""Staff pages: legal holds — place, approve, review, request and confirm release; auditors read.

Layer: ``web.staff``. The four-eyes rules live in ``retention.engine.changes`` (the placer cannot
approve, the person who asked for a release cannot confirm it); this module only maps their
``HoldError`` messages onto the page. Clerks and supervisors place holds (here or from the record
page); only supervisors approve, review and release them, each with a comment (a stated reason,
sealed under the record's data key, audited by digest); auditors see every hold, read only.

Every row says what the supervisor needs to decide without opening anything else: the record (a
link), the kind and case, the reason, who placed it and when, who approved it and why, the
release request and its reason, and the review date. Holds whose review date has come are listed
first.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from policies.vocabulary import HoldKind
from retention.db.models import HoldState, LegalHold, Record, Role, booking_ref
from retention.engine import changes, sealing
from retention.engine.reasons import ReasonError, stated_reason
from retention.errors import RetentionError
from web.auth import login_required, signed_in_user
from web.services import get_services, now
from web.staff.forms import date_arg, run_action
from web.staff.holdform import PLACED, place_from, read_place_form

bp = Blueprint("staff_holds", __name__, template_folder="templates", url_prefix="/staff/holds")

MAX_COMMENT = 500
ENTER_A_DATE = "Enter the review date as YYYY-MM-DD."
# Which holds the list shows: ?show=open (default), due, released, all.
SHOW = ("open", "due", "released", "all")


@dataclass(frozen=True)
class HoldRow:
    """One hold as the list shows it, its sealed texts opened."""

    hold: LegalHold
    booking: str
    agency: str
    reason: str | None
    case_reference: str | None
    approval_comment: str | None
    release_request_comment: str | None
    release_comment: str | None
    review_due: bool


def _opened(
    opener: sealing.Opener, hold: LegalHold, column: str, sealed: bytes | None
) -> str | None:
    return opener.record(hold.record_id, sealing.row_field("legal_holds", hold.id, column), sealed)


def holds_list(show: str, today: dt.date) -> list[HoldRow]:
    """The holds ``show`` names: those due for review first, then pending, then newest."""
    due = LegalHold.review_on.is_not(None) & (LegalHold.review_on <= today)
    stmt = select(LegalHold, Record.booking_bidx, Record.agency).join(
        Record, Record.id == LegalHold.record_id
    )
    if show == "open":
        stmt = stmt.where(LegalHold.state != HoldState.RELEASED.value)
    elif show == "due":
        stmt = stmt.where(LegalHold.state != HoldState.RELEASED.value, due)
    elif show == "released":
        stmt = stmt.where(LegalHold.state == HoldState.RELEASED.value)
    stmt = stmt.order_by(
        case((due & (LegalHold.state != HoldState.RELEASED.value), 0), else_=1),
        case((LegalHold.state == HoldState.PENDING.value, 0), else_=1),
        LegalHold.placed_at.desc(),
        LegalHold.id,
    ).limit(500)
    services = get_services()
    with services.readers() as db:
        opener = sealing.Opener(db, services.keyring)
        rows = []
        for hold, bidx, agency in db.execute(stmt).all():
            rows.append(
                HoldRow(
                    hold=hold,
                    booking=booking_ref(bidx),
                    agency=agency,
                    reason=_opened(opener, hold, "reason", hold.reason_sealed),
                    case_reference=_opened(
                        opener, hold, "case_reference", hold.case_reference_sealed
                    ),
                    approval_comment=_opened(
                        opener, hold, "approval_comment", hold.approval_comment_sealed
                    ),
                    release_request_comment=_opened(
                        opener,
                        hold,
                        "release_request_comment",
                        hold.release_request_comment_sealed,
                    ),
                    release_comment=_opened(
                        opener, hold, "release_comment", hold.release_comment_sealed
                    ),
                    review_due=hold.state != HoldState.RELEASED.value
                    and hold.review_on is not None
                    and hold.review_on <= today,
                )
            )
        db.expunge_all()
    return rows


def _show() -> str:
    show = request.args.get("show", "open")
    return show if show in SHOW else "open"


def _page(
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    code: int = 200,
    acting_on: str | None = None,
) -> ResponseReturnValue:
    user = signed_in_user()
    show = _show()
    return (
        render_template(
            "staff/holds/index.html",
            holds=holds_list(show, now().date()),
            show=show,
            kinds=[k.value for k in HoldKind],
            errors=errors or {},
            form=form or {},
            acting_on=acting_on,
            is_supervisor=user.role is Role.SUPERVISOR,
            can_place=user.role in (Role.CLERK, Role.SUPERVISOR),
            today=now().date(),
            max_comment=MAX_COMMENT,
        ),
        code,
    )


@bp.get("/")
@login_required(Role.CLERK, Role.SUPERVISOR, Role.AUDITOR)
def index() -> ResponseReturnValue:
    """Holds (not yet released by default), and for clerks and supervisors the form to place
    one; auditors read."""
    return _page()


@bp.post("/")
@login_required(Role.CLERK, Role.SUPERVISOR)
def place() -> ResponseReturnValue:
    """Place a hold on a record named by booking number or id (it blocks purge at once)."""
    user = signed_in_user()
    form = read_place_form(now().date())
    if form.errors:
        return _page(errors=form.errors, form=form.values, code=400)
    try:
        hold_id = place_from(form, user.actor)
    except RetentionError as exc:
        return _page(errors={"record": str(exc)}, form=form.values, code=409)
    flash(PLACED.format(hold_id[:8]), "message")
    return redirect(url_for(".index"))


def _comment(hold_id: str) -> tuple[str | None, ResponseReturnValue | None]:
    """The posted comment as a stated reason, or the page with the error at the hold's form."""
    typed = request.form.get("comment", "")
    try:
        comment = stated_reason(typed)
    except ReasonError as exc:
        _, _, message = str(exc).partition(": ")
        text = message or str(exc)
        return None, _page(
            errors={"comment": text[:1].upper() + text[1:], "comment_value": typed},
            code=400,
            acting_on=hold_id,
        )
    if len(comment) > MAX_COMMENT:
        return None, _page(
            errors={
                "comment": f"Keep the comment under {MAX_COMMENT} characters.",
                "comment_value": typed,
            },
            code=400,
            acting_on=hold_id,
        )
    return comment, None


@bp.post("/<hold_id>/approve")
@login_required(Role.SUPERVISOR)
def approve(hold_id: str) -> ResponseReturnValue:
    """Approve a pending hold (a supervisor other than the one who placed it), with a comment."""
    actor = signed_in_user().actor
    comment, refused = _comment(hold_id)
    if refused is not None:
        return refused

    def run(db: Session) -> str:
        changes.approve_hold(
            db, hold_id, actor=actor, now=now(), comment=comment, keyring=get_services().keyring
        )
        return "Hold approved."

    return run_action(run, lambda m: _page(errors={"action": m}, code=409, acting_on=hold_id))


@bp.post("/<hold_id>/release")
@login_required(Role.SUPERVISOR)
def release(hold_id: str) -> ResponseReturnValue:
    """Ask for a hold's release, or confirm someone else's request to release it; with a
    comment each time."""
    actor = signed_in_user().actor
    comment, refused = _comment(hold_id)
    if refused is not None:
        return refused

    def run(db: Session) -> str:
        _, decision = changes.release_hold(
            db, hold_id, actor=actor, now=now(), comment=comment, keyring=get_services().keyring
        )
        if decision is None:
            return "Release requested: another supervisor must confirm it."
        return "Hold released; the record's next action was re-evaluated."

    return run_action(run, lambda m: _page(errors={"action": m}, code=409, acting_on=hold_id))


@bp.post("/<hold_id>/review")
@login_required(Role.SUPERVISOR)
def review(hold_id: str) -> ResponseReturnValue:
    """A supervisor looked at the hold again and keeps it: why, and when to look next."""
    actor = signed_in_user().actor
    comment, refused = _comment(hold_id)
    if refused is not None:
        return refused
    errors: dict[str, str] = {}
    next_on = date_arg(request.form, "next_review_on", errors, ENTER_A_DATE)
    if errors:
        return _page(errors={"action": errors["next_review_on"]}, code=400, acting_on=hold_id)
    assert comment is not None

    def run(db: Session) -> str:
        changes.review_hold(
            db,
            get_services().keyring,
            hold_id,
            comment=comment,
            next_review_on=next_on,
            actor=actor,
            now=now(),
        )
        return "Hold reviewed: it stands" + (
            f"; next review on {next_on.isoformat()}." if next_on else "."
        )

    return run_action(run, lambda m: _page(errors={"action": m}, code=409, acting_on=hold_id))
