"""Staff pages: the removal-request queue, a request's detail and the clerk's decisions.

Layer: ``web.staff``. ``retention.requests`` decides everything (matching, deadlines, what approval
does to each record); this module parses forms, calls it and renders the answer. Routes (clerk
and supervisor only; auditors read requests' traces in the audit log):

- ``GET /staff/requests/`` — the queue: filter by state (open states by default), sort by
  response deadline or received date, keyset pagination (``?after=<date>|<id>``);
- ``GET /staff/requests/<id>`` — the request, its candidate records with their current
  decision, and the forms that ask why before an audited read. Decrypts nothing;
- ``POST /staff/requests/<id>/claims`` (``reason``) — the same page with the requester's claims
  decrypted: one audit entry quoting the reason;
- ``POST /staff/requests/<id>/photos`` (``reason``) — the same page with the candidates'
  thumbnails embedded (``web.staff.photos``): one audit entry per photo, quoting the reason and
  the request;
- ``POST /staff/requests/<id>/evidence`` (``reason``) — the evidence upload as a download: one
  audit entry quoting the reason;
- ``POST /staff/requests/<id>/search`` — find more records (audited search, stated reason);
- ``POST /staff/requests/<id>/match`` and ``.../match/<record>/confirm|remove`` — matching;
- ``GET /staff/requests/<id>/approve`` — what approval would do, record by record;
- ``POST /staff/requests/<id>/approve|confirm|refuse-approval|deny|ask|extend`` — decisions.

Destruction takes two people where the records' rules do not already say purge
(``retention.engine.authority``): approval then waits (``confirming``) for a supervisor who
neither approved nor matched, who confirms or refuses it on this page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
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

from retention.db.models import (
    ImageKind,
    RemovalRequest,
    Role,
)
from retention.engine import records
from retention.engine.authority import Limits, same_person
from retention.engine.purge import delete_blobs
from retention.engine.reasons import ReasonError
from retention.errors import (
    BlobNotFoundError,
    IntegrityError,
    NotFoundError,
    RestrictedError,
    RetentionError,
)
from retention.requests import approval, filing, replies, workflow
from retention.services import Services
from web.auth import login_required, signed_in_user
from web.services import get_services, now
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
from web.staff.request_views import (
    GROUND_TEXT,
    OPEN_STATES,
    QUEUE_OPEN,
    SORTS,
    STATE_FILTERS,
    Shown,
    deadline_badge,
    shows_photo,
)
from web.staff.request_views import (
    candidates as candidate_records,
)

bp = Blueprint(
    "staff_requests", __name__, template_folder="templates", url_prefix="/staff/requests"
)

# -- the queue --------------------------------------------------------------------------------


@bp.get("/")
@login_required(Role.CLERK, Role.SUPERVISOR)
def queue() -> ResponseReturnValue:
    """Removal requests: open ones by response deadline unless asked otherwise."""
    state = request.args.get("state", "open")
    sort = request.args.get("sort", "respond_by")
    if state not in dict(STATE_FILTERS) or sort not in dict(SORTS):
        abort(400)
    cursor = parse_cursor(request.args.get("after"))
    stmt = select(RemovalRequest)
    if state == "open":
        stmt = stmt.where(RemovalRequest.state.in_(QUEUE_OPEN))
    elif state != "all":
        stmt = stmt.where(RemovalRequest.state == state)
    key = RemovalRequest.received_on if sort == "received" else RemovalRequest.respond_by
    with get_services().readers() as db:
        rows = fetch_page(db, stmt, key, RemovalRequest.id, cursor)
    page: Page[RemovalRequest] = paginate(
        rows,
        (lambda r: (r.received_on, r.id))
        if sort == "received"
        else (lambda r: (r.respond_by, r.id)),
    )
    next_url = None
    if page.next_after:
        next_url = url_for("staff_requests.queue", state=state, sort=sort, after=page.next_after)
    today = now().date()
    return render_template(
        "staff/requests/queue.html",
        page=page,
        badges={r.id: deadline_badge(r, today) for r in page.rows},
        state=state,
        sort=sort,
        states=STATE_FILTERS,
        sorts=SORTS,
        grounds=GROUND_TEXT,
        next_url=next_url,
        paged=cursor is not None,
        today=today,
    )


# -- one request ------------------------------------------------------------------------------


def _render_detail(
    request_id: str,
    *,
    errors: dict[str, dict[str, str]] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
    searched: int | None = None,
    shown: Shown | None = None,
) -> ResponseReturnValue:
    """The detail page. It decrypts nothing: ``shown`` carries what a read POST decrypted."""
    user = signed_in_user()
    services = get_services()
    moment = now()
    with services.sessions() as db, db.begin():
        req = db.get(RemovalRequest, request_id)
        if req is None:
            abort(404)
        candidates = candidate_records(db, req, moment.date())
        certificates = workflow.certificates_for(db, req)
        waiting = approval.waiting_approval(db, req.id)
        matchers = {c.match.matched_by for c in candidates if c.match is not None}
    response = make_response(
        render_template(
            "staff/requests/detail.html",
            req=req,
            shown=shown or Shown(),
            claims_sealed=req.claims_sealed is not None and req.wrapped_key is not None,
            candidates=candidates,
            certificates=certificates,
            is_open=req.state in OPEN_STATES,
            badge=deadline_badge(req, moment.date()),
            grounds=GROUND_TEXT,
            max_reason=MAX_STATED_REASON,
            errors=errors or {},
            values=values or {},
            waiting=waiting,
            # Who may confirm what waits: a supervisor who neither approved nor matched.
            can_confirm=user.person.is_supervisor
            and (waiting is None or not same_person(user.actor, waiting.requested_by))
            and not any(same_person(user.actor, m) for m in matchers),
            user=user,
            match_limit=Limits.from_settings(services.settings).request_matches,
            searched=searched,
        ),
        status,
    )
    # Decrypted claims or photos: never kept by a browser or a proxy.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/<request_id>")
@login_required(Role.CLERK, Role.SUPERVISOR)
def detail(request_id: str) -> ResponseReturnValue:
    """A request: its candidate records and their decisions, the actions, and the forms that
    ask why before the claims, the evidence or the photos are decrypted."""
    return _render_detail(request_id)


def _refused_reason(request_id: str, form: str, reason_field: ReasonField) -> ResponseReturnValue:
    """The page again (400) with the reason field's error next to it; nothing was decrypted."""
    return _render_detail(request_id, shown=Shown(fields={form: reason_field}), status=400)


@bp.post("/<request_id>/claims")
@login_required(Role.CLERK, Role.SUPERVISOR)
def claims(request_id: str) -> ResponseReturnValue:
    """The page with the requester's claims decrypted for the reason posted (one audit entry)."""
    user = signed_in_user()
    reason, reason_field = posted_reason()
    if reason_field.error:
        return _refused_reason(request_id, "claims", reason_field)
    services = get_services()
    opened: dict[str, Any] | None = None
    error = None
    try:
        with services.sessions() as db, db.begin():
            req = db.get(RemovalRequest, request_id)
            if req is None:
                abort(404)
            opened = filing.open_claims(
                db, services.keyring, req, actor=user.actor, reason=reason, now=now()
            )
    except ReasonError as exc:
        return _refused_reason(request_id, "claims", ReasonField(reason, field_message(exc)))
    except filing.RequestError as exc:
        error = str(exc)
    return _render_detail(request_id, shown=Shown(reason=reason, claims=opened, claims_error=error))


@bp.post("/<request_id>/photos")
@login_required(Role.CLERK, Role.SUPERVISOR)
def photos(request_id: str) -> ResponseReturnValue:
    """The page with each candidate's thumbnail embedded, decrypted for the reason posted.

    One audit entry (``image.viewed``) per photo shown, quoting the reason and this request; a
    candidate whose photo may not or cannot be shown is skipped with a note (nothing audited)."""
    user = signed_in_user()
    reason, reason_field = posted_reason()
    if reason_field.error:
        return _refused_reason(request_id, "photos", reason_field)
    services = get_services()
    moment = now()
    shown: dict[str, ShownPhoto] = {}
    notes: dict[str, str] = {}
    with services.sessions() as db, db.begin():
        req = db.get(RemovalRequest, request_id)
        if req is None:
            abort(404)
        found = filing.candidates(db, req)
        seen = {r.id for r in found}
        for record in [*found, *(r for r in filing.matched(db, req) if r.id not in seen)]:
            if not shows_photo(record):
                continue
            try:
                image, data = records.read_image(
                    db,
                    services.keyring,
                    services.store,
                    record,
                    actor=user.actor,
                    reason=f"{reason} (request {req.id})",
                    now=moment,
                    kind=ImageKind.THUMBNAIL,
                    purpose=THUMBNAIL_PURPOSE,
                )
            # Refused before anything is decrypted or written: the other photos still show.
            except (RestrictedError, NotFoundError, BlobNotFoundError, IntegrityError):
                notes[record.id] = "Photo not shown: it cannot be opened."
                continue
            shown[record.id] = ShownPhoto(data_uri(image.media_type, data), reason)
    response = make_response(
        _render_detail(request_id, shown=Shown(reason=reason, photos=shown, photo_notes=notes))
    )
    return allow_inline_images(response)


@bp.post("/<request_id>/evidence")
@bp.post("/<request_id>/evidence/<attachment_id>")
@login_required(Role.CLERK, Role.SUPERVISOR)
def evidence(request_id: str, attachment_id: str | None = None) -> ResponseReturnValue:
    """Download the requester's evidence (or a file sent later with an answer or a reply),
    decrypted for the reason posted (one audit entry; never cached)."""
    user = signed_in_user()
    reason, reason_field = posted_reason()
    if reason_field.error:
        return _refused_reason(request_id, "evidence", reason_field)
    services = get_services()
    try:
        with services.sessions() as db, db.begin():
            req = db.get(RemovalRequest, request_id)
            if req is None:
                abort(404)
            if attachment_id is None:
                media_type, data = filing.evidence(
                    db, services.keyring, services.store, req, actor=user.actor, reason=reason,
                    now=now(),
                )  # fmt: skip
            else:
                media_type, data = replies.open_attachment(
                    db, services.keyring, services.store, req, attachment_id, actor=user.actor,
                    reason=reason, now=now(),
                )  # fmt: skip
    except ReasonError as exc:
        return _refused_reason(request_id, "evidence", ReasonField(reason, field_message(exc)))
    except (NotFoundError, filing.RequestError):
        abort(404)
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
    response = make_response(data)
    response.mimetype = media_type
    response.headers["Content-Disposition"] = (
        f'attachment; filename="evidence-{request_id[:8]}.{extension.get(media_type, "bin")}"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


# A decision: runs inside the transaction and returns the message to flash, or a callable
# that does what must wait for the commit (deleting blobs) and then returns it.
Decide = Callable[[Session, Services, str, dt.datetime], str | Callable[[], str]]


def _act(request_id: str, form: str, values: dict[str, str], decide: Decide) -> ResponseReturnValue:
    """Run one decision in its own transaction; a refusal is shown next to its form."""
    user = signed_in_user()
    services = get_services()
    try:
        with services.sessions() as db, db.begin():
            if db.get(RemovalRequest, request_id) is None:
                abort(404)
            outcome = decide(db, services, user.actor, now())
    except RetentionError as exc:
        field, text = service_error(exc)
        return _render_detail(
            request_id, errors={form: {field: text}}, values={"form": form, **values}, status=400
        )
    flash(outcome() if callable(outcome) else outcome, "success")
    return redirect(url_for("staff_requests.detail", request_id=request_id), code=303)


@bp.post("/<request_id>/search")
@login_required(Role.CLERK, Role.SUPERVISOR)
def search(request_id: str) -> ResponseReturnValue:
    """Find records by booking number, or name and date of birth, for this request (audited as a
    search, with the stated reason; the values searched for are not kept). What it finds is
    listed with the candidates and can be matched."""
    form = request.form
    values = {k: form.get(k, "") for k in ("booking_number", "name", "date_of_birth", "reason")}
    field_errors: dict[str, str] = {}
    born = date_arg(form, "date_of_birth", field_errors, "Write the date as YYYY-MM-DD.")
    if field_errors:
        return _render_detail(
            request_id,
            errors={"search": field_errors},
            values={"form": "search", **values},
            status=400,
        )
    user = signed_in_user()
    services = get_services()
    try:
        with services.sessions() as db, db.begin():
            if db.get(RemovalRequest, request_id) is None:
                abort(404)
            found = workflow.search(
                db,
                services.keyring,
                request_id,
                booking_number=values["booking_number"],
                name=values["name"],
                date_of_birth=born,
                actor=user.actor,
                reason=values["reason"],
                now=now(),
            )
    except RetentionError as exc:
        field, text = service_error(exc)
        return _render_detail(
            request_id,
            errors={"search": {"reason" if isinstance(exc, ReasonError) else field: text}},
            values={"form": "search", **values},
            status=400,
        )
    return _render_detail(request_id, searched=len(found))


@bp.post("/<request_id>/match")
@login_required(Role.CLERK, Role.SUPERVISOR)
def match(request_id: str) -> ResponseReturnValue:
    """Match a candidate (or a record found by a search) as the requester's. Another identity,
    or a match past the limit, needs a reason and waits for a supervisor."""
    record_id = request.form.get("record_id", "")
    reason = request.form.get("reason", "")
    limits = Limits.from_settings(get_services().settings)

    def run(db: Session, services: Services, actor: str, moment: dt.datetime) -> str:
        row = workflow.match(
            db, request_id, record_id, actor=actor, now=moment, reason=reason, limits=limits
        )
        if row.pending:
            return (
                f"Record {record_id[:8]} matched; the match waits for a supervisor's "
                "confirmation before the request can be approved."
            )
        return f"Record {record_id[:8]} matched to the request."

    return _act(request_id, "match", {"record_id": record_id, "reason": reason}, run)


@bp.post("/<request_id>/match/<record_id>/confirm")
@login_required(Role.SUPERVISOR)
def confirm_match(request_id: str, record_id: str) -> ResponseReturnValue:
    """A supervisor who did not make it confirms a pending match."""
    reason = request.form.get("reason", "")
    person = signed_in_user().person

    def run(db: Session, services: Services, actor: str, moment: dt.datetime) -> str:
        workflow.confirm_match(
            db, request_id, record_id, supervisor=person, reason=reason, now=moment
        )
        return f"Match of record {record_id[:8]} confirmed."

    return _act(request_id, "confirm-match", {"record_id": record_id, "reason": reason}, run)


@bp.post("/<request_id>/match/<record_id>/remove")
@login_required(Role.CLERK, Role.SUPERVISOR)
def remove_match(request_id: str, record_id: str) -> ResponseReturnValue:
    """Take a match back."""
    reason = request.form.get("reason", "")

    def run(db: Session, services: Services, actor: str, moment: dt.datetime) -> str:
        workflow.unmatch(db, request_id, record_id, actor=actor, reason=reason, now=moment)
        return f"Record {record_id[:8]} is no longer matched to the request."

    return _act(request_id, "remove-match", {"record_id": record_id, "reason": reason}, run)


@bp.get("/<request_id>/approve")
@login_required(Role.CLERK, Role.SUPERVISOR)
def approve_page(request_id: str) -> ResponseReturnValue:
    """What approving would do, record by record, before anyone presses the button."""
    return _render_approve(request_id)


def _render_approve(
    request_id: str, *, error: str | None = None, reasons: str = "", status: int = 200
) -> ResponseReturnValue:
    services = get_services()
    with services.readers() as db:
        req = db.get(RemovalRequest, request_id)
        if req is None:
            abort(404)
        the_plan = approval.plan(db, req, now().date(), Limits.from_settings(services.settings))
        response = make_response(
            render_template(
                "staff/requests/approve.html",
                req=req,
                plan=the_plan,
                effects=approval.Effect,
                is_open=req.state in OPEN_STATES,
                error=error,
                reasons=reasons,
            ),
            status,
        )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<request_id>/approve")
@login_required(Role.CLERK, Role.SUPERVISOR)
def approve(request_id: str) -> ResponseReturnValue:
    """Approve: every matched record is purged (or restricted) now where its rule says so; a
    purge outside the rule, or past the safety belt, waits for a second person."""
    reasons = request.form.get("reasons", "")
    user = signed_in_user()
    services = get_services()
    try:
        with services.sessions() as db, db.begin():
            if db.get(RemovalRequest, request_id) is None:
                abort(404)
            done = approval.approve(
                db,
                services.keyring,
                request_id,
                actor=user.actor,
                reasons=reasons,
                now=now(),
                limits=Limits.from_settings(services.settings),
            )
    except RetentionError as exc:
        return _render_approve(request_id, error=str(exc), reasons=reasons, status=400)
    flash(_carried_out(services, done), "success")
    return redirect(url_for("staff_requests.detail", request_id=request_id), code=303)


def _carried_out(services: Services, done: approval.Approval) -> str:
    """After the commit: delete the purged blobs (already noise) and say what happened."""
    if done.waiting is not None:
        return (
            "Approval recorded. It destroys records outside their rules (or more than the "
            "safety belt allows), so nothing is destroyed until a supervisor who neither "
            "approved nor matched confirms it."
        )
    delete_blobs(services.store, [k for p in done.purged for k in p.blob_keys])
    parts = [f"{len(done.purged)} record(s) purged"]
    if done.restricted:
        parts.append(f"{len(done.restricted)} restricted")
    if done.held:
        parts.append(f"{len(done.held)} under a legal hold (restricted, not purged)")
    return "Request approved: " + ", ".join(parts) + "."


@bp.post("/<request_id>/confirm")
@login_required(Role.SUPERVISOR)
def confirm(request_id: str) -> ResponseReturnValue:
    """The second person confirms an approval: now the records are purged."""
    return _second_person(request_id, confirm=True)


@bp.post("/<request_id>/refuse-approval")
@login_required(Role.SUPERVISOR)
def refuse_approval(request_id: str) -> ResponseReturnValue:
    """The second person refuses the approval: nothing is destroyed, back under review."""
    return _second_person(request_id, confirm=False)


def _second_person(request_id: str, *, confirm: bool) -> ResponseReturnValue:
    reason = request.form.get("reason", "")
    person = signed_in_user().person

    def run(db: Session, services: Services, actor: str, moment: dt.datetime) -> Callable[[], str]:
        if not confirm:
            approval.refuse(db, request_id, supervisor=person, reason=reason, now=moment)
            return lambda: (
                "Approval refused; nothing was destroyed and the request is under review again."
            )
        done = approval.confirm(
            db, services.keyring, request_id, supervisor=person, reason=reason, now=moment
        )
        return lambda: _carried_out(services, done)

    return _act(request_id, "confirm", {"reason": reason}, run)


@bp.post("/<request_id>/deny")
@login_required(Role.CLERK, Role.SUPERVISOR)
def deny(request_id: str) -> ResponseReturnValue:
    """Refuse the request; the reasons are shown to the requester."""
    reasons = request.form.get("reasons", "")

    def run(db: Session, services: Services, actor: str, moment: dt.datetime) -> str:
        workflow.deny(db, request_id, actor=actor, reasons=reasons, now=moment)
        return "Request refused; the requester sees the reasons on their status page."

    return _act(request_id, "deny", {"reasons": reasons}, run)


@bp.post("/<request_id>/ask")
@login_required(Role.CLERK, Role.SUPERVISOR)
def ask(request_id: str) -> ResponseReturnValue:
    """Ask the requester for more information (pauses the clock where the law allows)."""
    message = request.form.get("message", "")

    def run(db: Session, services: Services, actor: str, moment: dt.datetime) -> str:
        workflow.ask_for_information(db, request_id, actor=actor, message=message, now=moment)
        return "The requester was asked for more information."

    return _act(request_id, "ask", {"message": message}, run)


@bp.post("/<request_id>/extend")
@login_required(Role.CLERK, Role.SUPERVISOR)
def extend(request_id: str) -> ResponseReturnValue:
    """Give notice that the response deadline is extended, once, with a reason the requester
    sees (only where the law that sets the deadline allows it; a refusal says why)."""
    reason = request.form.get("reason", "")

    def run(db: Session, services: Services, actor: str, moment: dt.datetime) -> str:
        terms = workflow.extend(db, request_id, actor=actor, reason=reason, now=moment)
        moved = terms.respond_by.isoformat() if terms.respond_by else "—"
        return f"Extension notice given; the response deadline is now {moved}."

    return _act(request_id, "extend", {"reason": reason}, run)
