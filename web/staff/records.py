"""Staff pages: record search, record detail (the "why"), thumbnails and disposition reviews.

Layer: ``web.staff``. Every decision and every decrypting read is made by ``retention`` (records,
engine, changes, gallery, purge); this module only parses the request, calls the service and
renders the answer. Routes and roles:

- ``GET /staff/records/`` — search (clerk, supervisor, auditor); auditors may not search by
  name and date of birth (that would tell them who is held);
- ``GET /staff/records/reviews`` — moved: redirects to the batch review queue
  (``web.staff.reviews``);
- ``GET /staff/records/<id>`` — metadata, legal basis, decision trace, provenance, consents,
  holds, disclosures (clerk, supervisor, auditor); clerks and supervisors also get the "Show
  photo" form and, when the rule says review, the decide form. Decrypts nothing;
- ``POST /staff/records/<id>/review`` — decide a review (clerk, supervisor);
- ``POST /staff/records/<id>/photo`` (``reason``) — the same page with the decrypted thumbnail
  embedded, audited with the stated reason (clerk, supervisor; never auditors; see
  ``web.staff.photos`` for why inline);
- ``GET /staff/records/<id>/certificate`` — the signed deletion certificate of a purged record.

Lists use keyset pagination (``web.staff.paging``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from policies.vocabulary import Action, HoldKind, LegalBasis
from retention.db.models import (
    Certificate,
    ImageKind,
    LegalHold,
    Record,
    RecordStatus,
    ReviewDecision,
    Role,
    SecondApproval,
)
from retention.engine import certificates, gallery, records, sealing
from retention.engine import reviews as review_decisions
from retention.engine.authority import same_person
from retention.engine.purge import delete_blobs
from retention.engine.reasons import ReasonError
from retention.errors import (
    BlobNotFoundError,
    KeyShreddedError,
    NotFoundError,
    RestrictedError,
    RetentionError,
)
from retention.keys.indexes import name_dob_index
from retention.keys.keyring import Keyring
from retention.services import Services
from web.auth import login_required, signed_in_user
from web.services import get_services, now
from web.staff import holdform, labels
from web.staff.forms import date_arg, service_error
from web.staff.paging import Page, fetch_page, paginate, parse_cursor
from web.staff.photos import (
    MAX_STATED_REASON,
    THUMBNAIL_PURPOSE,
    ReasonField,
    ShownPhoto,
    allow_inline_images,
    data_uri,
    field_message,
    posted_reason,
)

bp = Blueprint("staff_records", __name__, template_folder="templates", url_prefix="/staff/records")

REVIEW_OUTCOMES = (
    (review_decisions.ReviewOutcome.KEEP, "Keep (the next review falls due by the rule)"),
    (
        review_decisions.ReviewOutcome.KEEP_EXCEPTIONAL,
        "Keep for an exceptional reason (a supervisor must confirm)",
    ),
    (review_decisions.ReviewOutcome.RESTRICT, "Restrict now"),
    (
        review_decisions.ReviewOutcome.PURGE,
        "Purge (crypto-shred with a certificate; where the rule does not say purge, a "
        "supervisor must confirm first)",
    ),
)
ENTER_A_DATE = "enter a date as YYYY-MM-DD, for example 2027-01-31."

# The dashboard links its counts here (``?action=purge&due_to=...``, ``?basis=arrest&status=...``).
NEXT_ACTIONS = tuple(a.value for a in Action)

# -- search ---------------------------------------------------------------------------------


@bp.get("/")
@login_required(Role.CLERK, Role.SUPERVISOR, Role.AUDITOR)
def search() -> ResponseReturnValue:
    """Find records by booking number, name + date of birth, status and due range."""
    user = signed_in_user()
    args = request.args
    can_search_identity = user.role is not Role.AUDITOR
    form = {
        k: args.get(k, "").strip()
        for k in ("booking", "name", "dob", "status", "due_from", "due_to", "action", "basis")
    }
    if not can_search_identity and (form["name"] or form["dob"]):
        abort(403)
    errors: dict[str, str] = {}
    dob = date_arg(args, "dob", errors, f"Date of birth: {ENTER_A_DATE}")
    due_from = date_arg(args, "due_from", errors, f"Due from: {ENTER_A_DATE}")
    due_to = date_arg(args, "due_to", errors, f"Due to: {ENTER_A_DATE}")
    if form["name"] and not form["dob"]:
        errors["dob"] = "Enter the date of birth too: names are matched with it, exactly."
    if form["dob"] and not form["name"]:
        errors["name"] = "Enter the name too: dates of birth are matched with it, exactly."
    if form["status"] and form["status"] not in {s.value for s in RecordStatus}:
        errors["status"] = "Choose a status from the list."
    if form["action"] and form["action"] not in NEXT_ACTIONS:
        errors["action"] = "Choose a next action from the list."
    if form["basis"] and form["basis"] not in {b.value for b in LegalBasis}:
        errors["basis"] = "Choose a legal basis from the list."
    if due_from and due_to and due_from > due_to:
        errors["due_to"] = "The end of the due range is before its start."
    cursor = parse_cursor(args.get("after"))
    page: Page[Record] = Page([], None)
    if not errors:
        keyring = get_services().keyring
        stmt = select(Record)
        if form["booking"]:
            stmt = stmt.where(records.booking_filter(keyring, form["booking"]))
        if form["name"] and dob is not None:
            stmt = stmt.where(Record.name_dob_bidx == name_dob_index(keyring, form["name"], dob))
        if form["status"]:
            stmt = stmt.where(Record.status == form["status"])
        if form["action"]:
            stmt = stmt.where(Record.next_action == form["action"])
        if form["basis"]:
            stmt = stmt.where(Record.legal_basis == form["basis"])
        if due_from is not None:
            stmt = stmt.where(Record.next_action_due >= due_from)
        if due_to is not None:
            stmt = stmt.where(Record.next_action_due <= due_to)
        key = Record.next_action_due
        with get_services().readers() as db:
            rows = fetch_page(db, stmt, key, Record.id, cursor)
        page = paginate(rows, lambda r: (r.next_action_due, r.id))
    filled: dict[str, Any] = {k: v for k, v in form.items() if v}
    next_url = None
    if page.next_after:
        next_url = url_for("staff_records.search", **filled, after=page.next_after)
    return render_template(
        "staff/records/search.html",
        form=form,
        errors=errors,
        page=page,
        next_url=next_url,
        first_url=url_for("staff_records.search", **filled),
        paged=cursor is not None,
        statuses=[s.value for s in RecordStatus],
        actions=NEXT_ACTIONS,
        bases=[b.value for b in LegalBasis],
        can_search_identity=can_search_identity,
        today=now().date(),
    ), (400 if errors else 200)


# -- disposition reviews --------------------------------------------------------------------


@bp.get("/reviews")
@login_required(Role.CLERK, Role.SUPERVISOR)
def reviews() -> ResponseReturnValue:
    """The review queue moved to ``/staff/reviews/`` (worked in batches); old links land there."""
    return redirect(url_for("staff_reviews.index"), code=301)


# -- record detail --------------------------------------------------------------------------


def _notes(
    db: Session,
    keyring: Keyring,
    record: Record,
    holds: Sequence[LegalHold],
    reviews: Sequence[ReviewDecision],
    waiting: SecondApproval | None,
) -> dict[str, Any]:
    """The staff notes of the record page, opened: they are sealed under the record's data key
    (gone with it on purge). Staff's own reasons, not the subject's identity or photo: shown to
    everyone who may open the page, like before sealing, without an audit entry."""
    opener = sealing.Opener(db, keyring)
    rid = record.id
    return {
        "restriction": opener.record(
            rid, sealing.record_field("restriction"), record.restriction_sealed
        ),
        "waiting": opener.record(
            rid, sealing.row_field("second_approvals", waiting.id, "reason"), waiting.reason_sealed
        )
        if waiting is not None
        else None,
        "holds": {
            h.id: (
                opener.record(
                    rid, sealing.row_field("legal_holds", h.id, "reason"), h.reason_sealed
                ),
                opener.record(
                    rid,
                    sealing.row_field("legal_holds", h.id, "case_reference"),
                    h.case_reference_sealed,
                ),
            )
            for h in holds
        },
        "reviews": {
            d.id: opener.record(
                rid, sealing.row_field("review_decisions", d.id, "reason"), d.reason_sealed
            )
            for d in reviews
        },
    }


def _render_detail(
    record_id: str,
    *,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    status: int = 200,
    photo: ShownPhoto | None = None,
    photo_field: ReasonField | None = None,
    hold_form: holdform.PlaceForm | None = None,
) -> ResponseReturnValue:
    """The record page; ``photo`` is embedded only by the photo POST that decrypted it;
    ``hold_form`` is a refused place-a-hold form, shown again with its errors."""
    user = signed_in_user()
    staff_can_see = user.role in (Role.CLERK, Role.SUPERVISOR)
    services = get_services()
    with services.readers() as db:
        record = db.get(Record, record_id)
        if record is None:
            abort(404)
        view = records.view(db, record)
        certificate = db.execute(
            select(Certificate).where(Certificate.record_id == record.id)
        ).scalar_one_or_none()
        review_history = list(
            db.execute(
                select(ReviewDecision)
                .where(ReviewDecision.record_id == record.id)
                .order_by(ReviewDecision.decided_at)
            ).scalars()
        )
        waiting = review_decisions.waiting_review(db, record.id)
        notes = _notes(db, services.keyring, record, view.holds, review_history, waiting)
    disclosed = gallery.disclosures(services, record.id)
    can_show_photo = (
        staff_can_see
        and view.has_key
        and (
            record.status == RecordStatus.ACTIVE.value
            or THUMBNAIL_PURPOSE in (record.permitted_purposes or [])
        )
        and any(i.kind == ImageKind.THUMBNAIL.value and i.destroyed_at is None for i in view.images)
    )
    return render_template(
        "staff/records/detail.html",
        record=record,
        view=view,
        trace=record.decision_trace or {},
        certificate=certificate,
        disclosures=disclosed,
        review_history=review_history,
        notes=notes,
        can_show_photo=can_show_photo,
        can_review=staff_can_see
        and waiting is None
        and record.status != RecordStatus.PURGED.value
        and record.next_action == "review",
        waiting=waiting,
        can_confirm=waiting is not None
        and user.person.is_supervisor
        and not same_person(user.actor, waiting.requested_by),
        staff_can_see=staff_can_see,
        photo=photo if can_show_photo else None,
        photo_field=photo_field,
        max_reason=MAX_STATED_REASON,
        outcomes=REVIEW_OUTCOMES,
        errors=errors or {},
        values=values or {},
        today=now().date(),
        decision_facts=labels.decision_facts,
        hold_form=hold_form,
        hold_kinds=[k.value for k in HoldKind],
        history_line=labels.history_line,
    ), status


@bp.get("/<record_id>")
@login_required(Role.CLERK, Role.SUPERVISOR, Role.AUDITOR)
def detail(record_id: str) -> ResponseReturnValue:
    """One record: metadata, legal basis, why the system decided, its history; no identity."""
    return _render_detail(record_id)


@bp.post("/<record_id>/review")
@login_required(Role.CLERK, Role.SUPERVISOR)
def decide(record_id: str) -> ResponseReturnValue:
    """Decide a disposition review: keep, keep for an exceptional reason, restrict or purge."""
    user = signed_in_user()
    raw = request.form.get("outcome", "")
    reason = request.form.get("reason", "")
    values = {"outcome": raw, "reason": reason}
    try:
        outcome = review_decisions.ReviewOutcome(raw)
    except ValueError:
        return _render_detail(
            record_id,
            errors={"outcome": "Choose what to do with the record."},
            values=values,
            status=400,
        )
    services = get_services()
    try:
        with services.sessions() as db, db.begin():
            if db.get(Record, record_id) is None:
                abort(404)
            result = review_decisions.decide_review(
                db,
                services.keyring,
                record_id,
                outcome=outcome,
                reason=reason,
                actor=user.actor,
                now=now(),
            )
    except RetentionError as exc:
        field, message = service_error(exc)
        if "reason" in message and field == "form" and not reason.strip():
            field = "reason"
        return _render_detail(record_id, errors={field: message}, values=values, status=400)
    _flash_review(services, result, outcome.value)
    return redirect(url_for("staff_records.detail", record_id=record_id), code=303)


def _flash_review(services: Services, result: review_decisions.ReviewResult, what: str) -> None:
    if result.purged is not None:
        # After the commit: the blobs are already noise (their key is gone); this tidies up.
        delete_blobs(services.store, list(result.purged.blob_keys))
        flash("The record was purged and a deletion certificate was issued.", "success")
    elif result.waiting is not None:
        flash(
            f"Decision recorded ({what.replace('_', ' ')}). It goes beyond what the record's "
            "rule says, so nothing happens until a supervisor who did not make it confirms it.",
            "success",
        )
    else:
        flash(f"Review decided: {what.replace('_', ' ')}.", "success")


@bp.post("/<record_id>/review/confirm")
@login_required(Role.SUPERVISOR)
def confirm_review(record_id: str) -> ResponseReturnValue:
    """A second supervisor confirms a review purge or exceptional keep: now it takes effect."""
    return _second_person(record_id, confirm=True)


@bp.post("/<record_id>/review/refuse")
@login_required(Role.SUPERVISOR)
def refuse_review(record_id: str) -> ResponseReturnValue:
    """A second supervisor refuses it: nothing happens; the record stays in review."""
    return _second_person(record_id, confirm=False)


def _second_person(record_id: str, *, confirm: bool) -> ResponseReturnValue:
    person = signed_in_user().person
    reason = request.form.get("reason", "")
    services = get_services()
    try:
        with services.sessions() as db, db.begin():
            if db.get(Record, record_id) is None:
                abort(404)
            if confirm:
                result = review_decisions.confirm_review(
                    db, services.keyring, record_id, supervisor=person, reason=reason, now=now()
                )
            else:
                review_decisions.refuse_review(
                    db, services.keyring, record_id, supervisor=person, reason=reason, now=now()
                )
    except RetentionError as exc:
        return _render_detail(
            record_id,
            errors={"confirm": str(exc)},
            values={"confirm_reason": reason},
            status=400,
        )
    if confirm:
        _flash_review(services, result, "confirmed")
    else:
        flash("Decision refused; nothing happened and the record stays in review.", "success")
    return redirect(url_for("staff_records.detail", record_id=record_id), code=303)


@bp.post("/<record_id>/photo")
@login_required(Role.CLERK, Role.SUPERVISOR)
def photo(record_id: str) -> ResponseReturnValue:
    """The record page with its thumbnail embedded, decrypted for the reason posted.

    One audit entry (``image.viewed``) and one provenance event quote the reason. A reason that
    is not a real sentence re-renders the page (400) with the error next to the field, having
    decrypted and audited nothing."""
    user = signed_in_user()
    reason, field = posted_reason()
    if field.error:
        return _render_detail(record_id, photo_field=field, status=400)
    # The thumbnail by default; the original capture, full size, to compare a face with a
    # requester's evidence. Either is one audited read for the stated reason.
    full_size = request.form.get("size") == "full"
    services = get_services()
    try:
        with services.sessions() as db, db.begin():
            record = db.get(Record, record_id)
            if record is None:
                abort(404)
            image, data = records.read_image(
                db,
                services.keyring,
                services.store,
                record,
                actor=user.actor,
                reason=reason,
                now=now(),
                kind=ImageKind.ORIGINAL if full_size else ImageKind.THUMBNAIL,
                purpose=THUMBNAIL_PURPOSE,
            )
            shown = ShownPhoto(data_uri(image.media_type, data), reason, full_size)
    except RestrictedError:
        abort(403)
    except (NotFoundError, KeyShreddedError, BlobNotFoundError):
        abort(404)
    except ReasonError as exc:
        return _render_detail(
            record_id, photo_field=ReasonField(reason, field_message(exc)), status=400
        )
    response = make_response(_render_detail(record_id, photo=shown))
    return allow_inline_images(response)


@bp.get("/<record_id>/certificate")
@login_required(Role.CLERK, Role.SUPERVISOR, Role.AUDITOR)
def certificate(record_id: str) -> ResponseReturnValue:
    """The signed deletion certificate of a purged record (with the key that verifies it)."""
    services = get_services()
    with services.readers() as db:
        cert = db.execute(
            select(Certificate).where(Certificate.record_id == record_id)
        ).scalar_one_or_none()
        if cert is None:
            abort(404)
        doc = certificates.document(cert, services.keyring.signing_public_key_pem())
    response = make_response(json.dumps(doc, indent=2) + "\n")
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = f'attachment; filename="certificate-{cert.id}.json"'
    return response


@bp.post("/<record_id>/hold")
@login_required(Role.CLERK, Role.SUPERVISOR)
def place_hold(record_id: str) -> ResponseReturnValue:
    """Place a hold on this record from its page (no booking number to retype); back to the
    page, where the new hold is listed."""
    user = signed_in_user()
    form = holdform.read_place_form(now().date())
    if form.values["record"] != record_id:
        abort(400)
    if form.errors:
        return _render_detail(record_id, hold_form=form, status=400)
    try:
        hold_id = holdform.place_from(form, user.actor)
    except RetentionError as exc:
        failed = holdform.PlaceForm(form.values, form.review_on, {"record": str(exc)})
        return _render_detail(record_id, hold_form=failed, status=409)
    flash(holdform.PLACED.format(hold_id[:8]), "message")
    return redirect(
        url_for("staff_records.detail", record_id=record_id) + "#holds-heading", code=303
    )
