"""Staff pages: the removal-request queue, a request's detail and the clerk's decisions.

Layer: ``web.staff``. ``retention.requests`` decides everything (matching, deadlines, what approval
does to each record); this module parses forms, calls it and renders the answer. Routes (clerk
and supervisor only; auditors read requests' traces in the audit log):

- ``GET /staff/requests/`` — the queue (``retention.requests.queue``): deadline with an overdue
  badge, state, candidates found, matched, evidence, other requests by the same identity (blind
  index), assignee; each column filters and sorts (``?sort=…&order=reverse``), numbered pages;
- ``POST /staff/requests/<id>/assign`` (``assignee``: ``me``, ``none`` or a username) — who
  works on it ("assign to me" from the queue and the request page);
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
from sqlalchemy.orm import Session

from retention.db.models import (
    ImageKind,
    RemovalRequest,
    RequestMatch,
    Role,
)
from retention.engine import records, sealing
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
from retention.requests import queue as request_queue
from retention.services import Services
from web.auth import login_required, signed_in_user
from web.services import get_services, now
from web.staff.forms import date_arg, service_error
from web.staff.paging import page_size
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
    COLUMN_FILTERS,
    GROUND_TEXT,
    OPEN_STATES,
    SORTS,
    STATE_FILTERS,
    Shown,
    deadline_badge,
    same_identity,
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
    """Removal requests as a clerk triages them: deadline, state, candidates found, matched,
    evidence, other requests by the same identity (blind index) and who is on it; every column
    filters and sorts. Open ones by response deadline unless asked otherwise."""
    user = signed_in_user()
    args = request.args
    flt = request_queue.QueueFilter(
        state=args.get("state", "open"),
        sort=args.get("sort", "respond_by"),
        reverse=args.get("order", "") == "reverse",
        **{name: args.get(name, "").strip() for name, _, _ in COLUMN_FILTERS},
    )
    page_arg = args.get("page", "1")
    if flt.problems() or not page_arg.isdigit() or not 1 <= int(page_arg) <= MAX_PAGE:
        abort(400)
    number = int(page_arg)
    size = page_size()
    today = now().date()
    with get_services().readers() as db:
        rows, more = request_queue.page(
            db, flt, today, me=user.actor, offset=(number - 1) * size, size=size
        )
        total, capped = request_queue.count(db, flt, today, me=user.actor)
    chosen = _queue_args(flt)
    return render_template(
        "staff/requests/queue.html",
        rows=rows,
        total=total,
        capped=capped,
        badges={r.request.id: deadline_badge(r.request, today) for r in rows},
        flt=flt,
        chosen=chosen,
        states=STATE_FILTERS,
        sorts=SORTS,
        column_filters=COLUMN_FILTERS,
        grounds=GROUND_TEXT,
        number=number,
        next_url=url_for("staff_requests.queue", **chosen, page=number + 1) if more else None,
        prev_url=url_for("staff_requests.queue", **chosen, page=number - 1) if number > 1 else None,
        here=url_for("staff_requests.queue", **chosen, page=number),
        sort_urls={
            key: url_for(
                "staff_requests.queue",
                **{**chosen, "sort": key, "order": "reverse" if _sorted_by(flt, key) else None},
            )
            for key, _ in SORTS
        },
        today=today,
        user=user,
    )


MAX_PAGE = 10_000


def _queue_args(flt: request_queue.QueueFilter) -> dict[str, Any]:
    """The filter and sort as query arguments (the defaults left out)."""
    chosen: dict[str, Any] = {
        name: getattr(flt, name) for name, _, _ in COLUMN_FILTERS if getattr(flt, name)
    }
    chosen["state"] = flt.state
    chosen["sort"] = flt.sort
    if flt.reverse:
        chosen["order"] = "reverse"
    return chosen


def _sorted_by(flt: request_queue.QueueFilter, key: str) -> bool:
    """True when the queue is sorted by ``key`` in its first direction (the next click reverses)."""
    return flt.sort == key and not flt.reverse


@bp.post("/<request_id>/assign")
@login_required(Role.CLERK, Role.SUPERVISOR)
def assign(request_id: str) -> ResponseReturnValue:
    """Say who works on the request: ``assignee`` is ``me``, ``none`` (give it back) or, for a
    supervisor, a clerk's username. Goes back to the queue page it came from (``back``)."""
    user = signed_in_user()
    raw = request.form.get("assignee", "").strip()
    assignee = user.actor if raw == "me" else (None if raw in ("", "none") else raw)
    back = request.form.get("back", "")
    if not back.startswith("/staff/requests/") or "//" in back:
        back = url_for("staff_requests.detail", request_id=request_id)
    services = get_services()
    try:
        with services.sessions() as db, db.begin():
            if db.get(RemovalRequest, request_id) is None:
                abort(404)
            workflow.assign(db, request_id, assignee=assignee, actor=user.person, now=now())
    except RetentionError as exc:
        flash(f"Request {request_id[:8]} was not assigned: {service_error(exc)[1]}", "error")
        return redirect(back, code=303)
    who = "you" if assignee == user.actor else (assignee or "nobody")
    flash(f"Request {request_id[:8]} is assigned to {who}.", "success")
    return redirect(back, code=303)


# -- one request ------------------------------------------------------------------------------


def _match_reasons(opener: sealing.Opener, m: RequestMatch) -> tuple[str | None, str | None]:
    """A match's reason and its confirmation's, opened (sealed under the record's data key)."""
    pair = f"{m.request_id}/{m.record_id}"
    return (
        opener.record(
            m.record_id, sealing.row_field("request_matches", pair, "reason"), m.reason_sealed
        ),
        opener.record(
            m.record_id,
            sealing.row_field("request_matches", pair, "confirm_reason"),
            m.confirm_reason_sealed,
        ),
    )


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
        opener = sealing.Opener(db, services.keyring)
        notes = {
            "decision_reasons": opener.request(
                req.id, sealing.request_field("decision_reasons"), req.decision_reasons_sealed
            ),
            "matches": {
                c.record.id: _match_reasons(opener, c.match)
                for c in candidates
                if c.match is not None
            },
        }
        others = same_identity(db, req)
    response = make_response(
        render_template(
            "staff/requests/detail.html",
            req=req,
            notes=notes,
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
            others=others,
            here=url_for("staff_requests.detail", request_id=req.id),
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
            db,
            services.keyring,
            request_id,
            record_id,
            actor=actor,
            now=moment,
            reason=reason,
            limits=limits,
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
            db,
            services.keyring,
            request_id,
            record_id,
            supervisor=person,
            reason=reason,
            now=moment,
        )
        return f"Match of record {record_id[:8]} confirmed."

    return _act(request_id, "confirm-match", {"record_id": record_id, "reason": reason}, run)


@bp.post("/<request_id>/match/<record_id>/remove")
@login_required(Role.CLERK, Role.SUPERVISOR)
def remove_match(request_id: str, record_id: str) -> ResponseReturnValue:
    """Take a match back."""
    reason = request.form.get("reason", "")

    def run(db: Session, services: Services, actor: str, moment: dt.datetime) -> str:
        workflow.unmatch(
            db, services.keyring, request_id, record_id, actor=actor, reason=reason, now=moment
        )
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
            approval.refuse(
                db, services.keyring, request_id, supervisor=person, reason=reason, now=moment
            )
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
        workflow.deny(db, services.keyring, request_id, actor=actor, reasons=reasons, now=moment)
        return "Request refused; the requester sees the reasons on their status page."

    return _act(request_id, "deny", {"reasons": reasons}, run)


@bp.post("/<request_id>/ask")
@login_required(Role.CLERK, Role.SUPERVISOR)
def ask(request_id: str) -> ResponseReturnValue:
    """Ask the requester for more information (pauses the clock where the law allows)."""
    message = request.form.get("message", "")

    def run(db: Session, services: Services, actor: str, moment: dt.datetime) -> str:
        workflow.ask_for_information(
            db, services.keyring, request_id, actor=actor, message=message, now=moment
        )
        return "The requester was asked for more information."

    return _act(request_id, "ask", {"message": message}, run)


@bp.post("/<request_id>/extend")
@login_required(Role.CLERK, Role.SUPERVISOR)
def extend(request_id: str) -> ResponseReturnValue:
    """Give notice that the response deadline is extended, once, with a reason the requester
    sees (only where the law that sets the deadline allows it; a refusal says why)."""
    reason = request.form.get("reason", "")

    def run(db: Session, services: Services, actor: str, moment: dt.datetime) -> str:
        terms = workflow.extend(
            db, get_services().keyring, request_id, actor=actor, reason=reason, now=moment
        )
        moved = terms.respond_by.isoformat() if terms.respond_by else "—"
        return f"Extension notice given; the response deadline is now {moved}."

    return _act(request_id, "extend", {"reason": reason}, run)
