"""Staff pages: the disposition-review queue, worked in batches.

Layer: ``web.staff``. ``retention.engine.review_queue`` selects and counts; ``retention.engine
.reviews`` decides, record by record (each evaluated, locked and audited on its own; purges
through the two-person rule and the safety belt). This module parses forms, calls them and
says what happened. Routes (clerk and supervisor; sign-off supervisors only):

- ``GET /staff/reviews/`` — counts by jurisdiction, rule and age (each a link to that cut of
  the queue), filters (jurisdiction, rule, age, assignee, stage), one page of records with a
  checkbox each, and the batch forms;
- ``POST /staff/reviews/decide`` (``outcome``, ``reason``) — one decision for the records
  ticked (``record_id``), or for all the records the posted filter selects (``scope=all`` with
  the ``expected`` count the page showed: if the queue changed meanwhile nothing is done);
- ``POST /staff/reviews/sign-off`` (``decision`` confirm|refuse, or ``confirm:all`` for every
  record the filter selects; ``reason``) — a supervisor's answer to decisions waiting for a
  second person;
- ``POST /staff/reviews/assign`` (``assignee``: ``me``, ``none`` or a username) — who reviews
  them (a clerk takes reviews or gives back their own; a supervisor assigns anyone).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from retention.db.models import Record, Role, User
from retention.engine import review_queue
from retention.engine import reviews as review_decisions
from retention.engine.authority import Limits
from retention.engine.purge import delete_blobs
from retention.engine.reasons import ReasonError
from retention.errors import RetentionError
from retention.services import Services
from web.auth import StaffUser, login_required, signed_in_user
from web.services import get_services, now
from web.staff.paging import fetch_page, paginate, parse_cursor
from web.staff.photos import MAX_STATED_REASON

bp = Blueprint("staff_reviews", __name__, template_folder="templates", url_prefix="/staff/reviews")

OUTCOMES = (
    (review_decisions.ReviewOutcome.KEEP, "Keep (the next review falls due by the rule)"),
    (review_decisions.ReviewOutcome.RESTRICT, "Restrict now"),
    (
        review_decisions.ReviewOutcome.PURGE,
        "Purge (where the rule does not say purge today, or past the safety belt, a supervisor "
        "must confirm first)",
    ),
    (
        review_decisions.ReviewOutcome.KEEP_EXCEPTIONAL,
        "Keep for an exceptional reason (a supervisor must confirm)",
    ),
)
FILTER_FIELDS = ("jurisdiction", "rule", "age", "assignee", "stage")
# A filter value longer than this is not one the page offered.
MAX_FILTER = 120


def _filter(
    args: Mapping[str, str], user: StaffUser
) -> tuple[review_queue.ReviewFilter, dict[str, Any]]:
    """The filter from query (or posted ``f_``-prefixed) arguments, and those arguments as
    given (``assignee=me`` stays ``me`` in links). A value the page never offers is a 400."""
    raw = {k: str(args.get(k, "")).strip() for k in FILTER_FIELDS}
    raw["stage"] = raw["stage"] or "decide"
    if any(len(v) > MAX_FILTER for v in raw.values()):
        abort(400)
    if raw["age"] and raw["age"] not in review_queue.FILTER_AGE_VALUES:
        abort(400)
    if raw["stage"] not in dict(review_queue.STAGES):
        abort(400)
    assignee = user.actor if raw["assignee"] == "me" else raw["assignee"]
    flt = review_queue.ReviewFilter(
        jurisdiction=raw["jurisdiction"],
        rule=raw["rule"],
        age=raw["age"],
        assignee=assignee,
        stage=raw["stage"],
    )
    return flt, {k: v for k, v in raw.items() if v}


def _reviewers(db: Session) -> list[str]:
    """Active clerks and supervisors: the people reviews can be assigned to."""
    return list(
        db.execute(
            select(User.username)
            .where(User.active.is_(True), User.role.in_((Role.CLERK, Role.SUPERVISOR)))
            .order_by(User.username)
        ).scalars()
    )


def _render(
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
    args: Mapping[str, str] | None = None,
) -> ResponseReturnValue:
    user = signed_in_user()
    flt, chosen = _filter(args if args is not None else request.args, user)
    cursor = parse_cursor(request.args.get("after")) if args is None else None
    today = now().date()
    with get_services().readers() as db:
        counts = review_queue.counts(db, today)
        matching = review_queue.count(db, flt, today)
        ids = fetch_page(
            db, review_queue.id_statement(flt, today), Record.review_due_on, Record.id, cursor
        )
        rows = review_queue.records_by_id(db, ids)
        page = paginate(rows, lambda r: (r.review_due_on, r.id))
        waiting = review_queue.waiting_approvals(db, [r.id for r in page.rows])
        reviewers = _reviewers(db)
    next_url = (
        url_for("staff_reviews.index", **chosen, after=page.next_after) if page.next_after else None
    )
    return render_template(
        "staff/reviews/index.html",
        counts=counts,
        matching=matching,
        page=page,
        waiting=waiting,
        chosen=chosen,
        flt=flt,
        ages=review_queue.AGES,
        stages=review_queue.STAGES,
        outcomes=OUTCOMES,
        reviewers=reviewers,
        batch_limit=review_decisions.BATCH_LIMIT,
        next_url=next_url,
        first_url=url_for("staff_reviews.index", **chosen),
        paged=cursor is not None,
        link=lambda **change: url_for(
            "staff_reviews.index", **{k: v for k, v in {**chosen, **change}.items() if v}
        ),
        user=user,
        today=today,
        errors=errors or {},
        values=values or {},
        max_reason=MAX_STATED_REASON,
    ), status


@bp.get("/")
@login_required(Role.CLERK, Role.SUPERVISOR)
def index() -> ResponseReturnValue:
    """The review queue: counts, filters, a page of records and the batch forms."""
    return _render()


# -- batch actions ---------------------------------------------------------------------------


class _Refused(Exception):
    """The selection cannot be acted on (field, message); nothing was done."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _selected(db: Session, user: StaffUser, scope: str) -> list[str]:
    """The records a batch form names: the ticked ones, or (``scope`` all) every record the
    posted filter selects when the count the page showed still holds."""
    form = request.form
    if scope != "all":
        ids = [i for i in form.getlist("record_id") if i]
        if not ids:
            raise _Refused("selection", "Tick at least one record, or apply to all matching.")
        return ids
    posted = {k: form.get(f"f_{k}", "") for k in FILTER_FIELDS}
    flt, _ = _filter(posted, user)
    today = now().date()
    ids = review_queue.matching_ids(db, flt, today, review_decisions.BATCH_LIMIT)
    if len(ids) > review_decisions.BATCH_LIMIT:
        raise _Refused(
            "selection",
            f"More than {review_decisions.BATCH_LIMIT} records match; narrow the filter and act "
            "on each part.",
        )
    expected = form.get("expected", "")
    if not expected.isdigit() or int(expected) != len(ids):
        raise _Refused(
            "selection",
            f"The queue changed since the page was shown: {len(ids)} records match this filter "
            f"now. Nothing was done; check them and apply again.",
        )
    return ids


Batch = Callable[[Session, Services, list[str]], review_decisions.BatchResult]


def _batch(
    verb: str, run: Batch, values: dict[str, Any], scope: str | None = None
) -> ResponseReturnValue:
    """Select, run ``run`` in one transaction (each record in its own savepoint), delete what a
    purge left behind after the commit, say what happened, and go back to the same filter."""
    user = signed_in_user()
    services = get_services()
    posted = {k: request.form.get(f"f_{k}", "") for k in FILTER_FIELDS}
    _, chosen = _filter(posted, user)
    values = {**values, "record_id": request.form.getlist("record_id")}
    try:
        with services.sessions() as db, db.begin():
            ids = _selected(db, user, scope or request.form.get("scope", ""))
            result = run(db, services, ids)
    except _Refused as exc:
        return _render(errors={exc.field: str(exc)}, values=values, status=400, args=posted)
    except ReasonError as exc:
        return _render(errors={"reason": str(exc)}, values=values, status=400, args=posted)
    except RetentionError as exc:
        field, _, message = str(exc).partition(": ")
        if not message or field not in ("reason", "assignee", "outcome"):
            field, message = "form", str(exc)
        return _render(errors={field: message}, values=values, status=400, args=posted)
    delete_blobs(services.store, result.blob_keys)
    flash(_summary(verb, result), "success" if not result.refused else "error")
    return redirect(url_for("staff_reviews.index", **chosen), code=303)


def _summary(verb: str, result: review_decisions.BatchResult) -> str:
    parts = [f"{verb}: {len(result.decided)} record{'s' if len(result.decided) != 1 else ''}"]
    if result.purged:
        parts.append(f"{len(result.purged)} purged with a deletion certificate each")
    if result.waiting:
        parts.append(
            f"{len(result.waiting)} wait for a supervisor's sign-off (nothing happens to them "
            "until a supervisor who did not decide confirms)"
        )
    if result.refused:
        shown = "; ".join(f"{rid[:8]}: {why}" for rid, why in list(result.refused.items())[:10])
        more = len(result.refused) - 10
        parts.append(
            f"{len(result.refused)} not done ({shown}{f'; and {more} more' if more > 0 else ''})"
        )
    return ". ".join(parts) + "."


@bp.post("/decide")
@login_required(Role.CLERK, Role.SUPERVISOR)
def decide() -> ResponseReturnValue:
    """One decision, one reason, many records: each decided and audited on its own."""
    user = signed_in_user()
    raw, reason = request.form.get("outcome", ""), request.form.get("reason", "")
    try:
        outcome = review_decisions.ReviewOutcome(raw)
    except ValueError:
        posted = {k: request.form.get(f"f_{k}", "") for k in FILTER_FIELDS}
        return _render(
            errors={"outcome": "Choose what to do with the records."},
            values={"reason": reason, "record_id": request.form.getlist("record_id")},
            status=400,
            args=posted,
        )

    def run(db: Session, services: Services, ids: list[str]) -> review_decisions.BatchResult:
        return review_decisions.decide_reviews(
            db,
            services.keyring,
            ids,
            outcome=outcome,
            reason=reason,
            actor=user.actor,
            now=now(),
            limits=Limits.from_settings(services.settings),
            sign_off=review_decisions.sign_off_of(services.settings),
        )

    return _batch(
        f"Decided ({outcome.value.replace('_', ' ')})",
        run,
        {"outcome": raw, "reason": reason},
    )


@bp.post("/sign-off")
@login_required(Role.SUPERVISOR)
def sign_off() -> ResponseReturnValue:
    """A supervisor confirms or refuses decisions waiting for a second person."""
    person = signed_in_user().person
    decision, _, scope = request.form.get("decision", "").partition(":")
    reason = request.form.get("reason", "")
    if decision not in ("confirm", "refuse") or scope not in ("", "all"):
        abort(400)

    def run(db: Session, services: Services, ids: list[str]) -> review_decisions.BatchResult:
        return review_decisions.confirm_reviews(
            db,
            services.keyring,
            ids,
            supervisor=person,
            reason=reason,
            now=now(),
            confirm=decision == "confirm",
        )

    verb = "Confirmed" if decision == "confirm" else "Refused (nothing happened to them)"
    return _batch(verb, run, {"reason": reason}, scope or "selected")


@bp.post("/assign")
@login_required(Role.CLERK, Role.SUPERVISOR)
def assign() -> ResponseReturnValue:
    """Assign reviews to a reviewer (``me``, ``none`` or a username)."""
    user = signed_in_user()
    raw = request.form.get("assignee", "").strip()
    assignee = user.actor if raw == "me" else (None if raw in ("", "none") else raw)

    def run(db: Session, services: Services, ids: list[str]) -> review_decisions.BatchResult:
        return review_decisions.assign_reviews(
            db, ids, assignee=assignee, actor=user.person, now=now()
        )

    who = "you" if assignee == user.actor else (assignee or "nobody")
    return _batch(f"Assigned to {who}", run, {"assignee": raw})
