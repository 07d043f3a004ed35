"""Staff pages: the audit chain — search it, verify it, export a filtered view as CSV, export a
signed checkpoint and check a saved one against the chain.

Layer: ``web.staff``. The chain is listed newest first with keyset pagination on ``seq`` (a page is
``seq < before ... LIMIT n``, so page 1,000 costs what page 1 costs). Verification and the
checkpoint are ``retention.audit``'s; the checkpoint download is a signed JSON file that an
auditor keeps outside the database and later checks with ``mugshot audit verify-checkpoint``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import Select, select

from retention.audit import chain as audit
from retention.db.models import AuditEntry, Role
from retention.files import neutralise
from web.auth import current_user, login_required, signed_in_user
from web.services import get_services, now
from web.staff.forms import date_arg

bp = Blueprint("staff_audit", __name__, template_folder="templates", url_prefix="/staff/audit")

PAGE_SIZE = 50
ROLES = (Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN)
ENTER_A_DATE = "Enter a date as YYYY-MM-DD."
# A signed checkpoint is a few hundred bytes; anything much larger is not one.
CHECKPOINT_MAX_BYTES = 4096
CSV_COLUMNS = (
    "seq",
    "occurred_at",
    "actor",
    "action",
    "object_type",
    "object_id",
    "rule",
    "details",
    "prev_hash",
    "hash",
)

# Where an entry's object can be opened, and for which roles (a link an auditor cannot follow
# would only add a refused-access entry to the chain).
_OBJECT_PAGES: dict[str, tuple[str, str, frozenset[Role]]] = {
    "record": (
        "staff_records.detail",
        "record_id",
        frozenset({Role.CLERK, Role.SUPERVISOR, Role.AUDITOR}),
    ),
    "request": ("staff_requests.detail", "request_id", frozenset({Role.CLERK, Role.SUPERVISOR})),
}


@dataclass(frozen=True)
class Filters:
    """The search form, parsed; ``errors`` names fields that could not be read."""

    action: str
    actor: str
    object_id: str
    date_from: dt.date | None
    date_to: dt.date | None
    before: int | None
    errors: dict[str, str]

    def query_args(self) -> dict[str, str]:
        """The filters as query-string arguments (for the next-page link)."""
        args = {
            "action": self.action,
            "actor": self.actor,
            "object_id": self.object_id,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
        }
        return {k: v for k, v in args.items() if v}


def parse_filters(args: Any) -> Filters:
    """Read the search form from ``request.args``."""
    errors: dict[str, str] = {}
    before_raw = str(args.get("before", "")).strip()
    before = int(before_raw) if before_raw.isdigit() else None
    date_from = date_arg(args, "from", errors, ENTER_A_DATE)
    date_to = date_arg(args, "to", errors, ENTER_A_DATE)
    if date_from and date_to and date_from > date_to:
        errors["to"] = "The end date must be on or after the start date."
    return Filters(
        action=str(args.get("action", "")).strip()[:64],
        actor=str(args.get("actor", "")).strip()[:64],
        object_id=str(args.get("object_id", "")).strip()[:64],
        date_from=date_from,
        date_to=date_to,
        before=before,
        errors=errors,
    )


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _matching(filters: Filters) -> Select[AuditEntry]:
    """Entries matching the search form (every page of it), newest first."""
    stmt = select(AuditEntry)
    if filters.action:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.actor:
        stmt = stmt.where(AuditEntry.actor == filters.actor)
    if filters.object_id:
        stmt = stmt.where(AuditEntry.object_id == filters.object_id)
    if filters.date_from:
        stmt = stmt.where(AuditEntry.occurred_at >= _midnight(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(AuditEntry.occurred_at < _midnight(filters.date_to + dt.timedelta(1)))
    return stmt.order_by(AuditEntry.seq.desc())


def object_url(object_type: str | None, object_id: str | None) -> str | None:
    """The staff page of an entry's object, where the signed-in role may open it."""
    page = _OBJECT_PAGES.get(object_type or "")
    user = current_user()
    if page is None or not object_id or user is None or user.role not in page[2]:
        return None
    endpoint, arg, _roles = page
    values: dict[str, Any] = {arg: object_id}
    return url_for(endpoint, **values)


def search(filters: Filters) -> tuple[list[AuditEntry], int | None, list[str]]:
    """One page of matching entries (newest first), the ``before`` of the next page, actions."""
    stmt = _matching(filters)
    if filters.before is not None:
        stmt = stmt.where(AuditEntry.seq < filters.before)
    stmt = stmt.limit(PAGE_SIZE + 1)
    with get_services().readers() as db:
        rows = list(db.execute(stmt).scalars())
        db.expunge_all()
        actions = list(
            db.execute(select(AuditEntry.action).group_by(AuditEntry.action).order_by("action"))
            .scalars()
            .all()
        )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, (rows[-1].seq if more and rows else None), actions


@dataclass(frozen=True)
class CheckpointCheck:
    """The outcome of checking an uploaded checkpoint: ``problem`` is None when it holds."""

    filename: str
    seq: int | None
    problem: str | None


def _page(
    verify_result: audit.VerifyResult | None = None,
    code: int = 200,
    checkpoint_check: CheckpointCheck | None = None,
) -> ResponseReturnValue:
    filters = parse_filters(request.args)
    entries: list[AuditEntry] = []
    next_before: int | None = None
    actions: list[str] = []
    if filters.errors:
        code = 400
    else:
        entries, next_before, actions = search(filters)
    return (
        render_template(
            "staff/audit/index.html",
            filters=filters,
            entries=entries,
            next_before=next_before,
            actions=actions,
            verify=verify_result,
            checkpoint_check=checkpoint_check,
            page_size=PAGE_SIZE,
            object_url=object_url,
        ),
        code,
    )


@bp.get("/")
@login_required(*ROLES)
def index() -> ResponseReturnValue:
    """The chain as a searchable table, newest first."""
    return _page()


@bp.post("/verify")
@login_required(*ROLES)
def verify() -> ResponseReturnValue:
    """Walk the whole chain and show the result (or the first entry that fails, and why)."""
    with get_services().readers() as db:
        result = audit.verify(db)
    return _page(result, 200 if result.ok else 409)


@bp.post("/checkpoint")
@login_required(*ROLES)
def checkpoint() -> Response:
    """Download a signed checkpoint of the chain's head (keep it outside the database)."""
    services = get_services()
    moment = now()
    with services.readers() as db:
        body = audit.export_checkpoint(db, services.keyring, moment)
    name = f"audit-checkpoint-{body['seq']}-{moment.strftime('%Y%m%dT%H%M%SZ')}.json"
    response = Response(
        json.dumps(body, indent=2, sort_keys=True) + "\n", mimetype="application/json"
    )
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()


@bp.post("/export.csv")
@login_required(*ROLES)
def export_csv() -> ResponseReturnValue:
    """Every entry matching the search form (all pages, newest first) as CSV, with the chain
    columns, so an auditor can re-check links outside this system. The export is audited, so it
    is a POST (no GET route writes to the chain); the filters come as form fields."""
    filters = parse_filters(request.form)
    if filters.errors:
        return _page()
    user = signed_in_user()
    services = get_services()
    audit.record(
        services.sessions,
        now=now(),
        actor=user.actor,
        action="audit.exported",
        object_type="export",
        object_id=None,
        details={"filters": ",".join(sorted(filters.query_args())) or "none"},
    )
    stmt = _matching(filters)
    if filters.before is not None:
        stmt = stmt.where(AuditEntry.seq < filters.before)

    def rows() -> Iterator[str]:
        yield _csv_line(list(CSV_COLUMNS))
        with services.readers() as db:
            for e in db.execute(stmt.execution_options(yield_per=1000)).scalars():
                yield _csv_line(
                    [
                        e.seq,
                        e.occurred_at.isoformat(),
                        neutralise(e.actor),
                        neutralise(e.action),
                        e.object_type or "",
                        neutralise(e.object_id or ""),
                        neutralise(e.rule or ""),
                        neutralise(json.dumps(e.details, sort_keys=True, separators=(",", ":"))),
                        e.prev_hash,
                        e.hash,
                    ]
                )

    # The generator needs no request context (it holds the services and the statement), so the
    # response streams without keeping one open.
    response = Response(rows(), mimetype="text/csv")
    stamp = now().strftime("%Y%m%dT%H%M%SZ")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/checkpoint/check")
@login_required(*ROLES)
def check_checkpoint() -> ResponseReturnValue:
    """Check a saved checkpoint file against the chain: its signature under this deployment's
    key, and that the entry it names still has the hash it recorded."""
    upload = request.files.get("checkpoint")
    filename = (upload.filename or "") if upload is not None else ""
    filename = filename.rsplit("/", 1)[-1][:120]
    raw = upload.stream.read(CHECKPOINT_MAX_BYTES + 1) if upload is not None else b""
    seq: int | None = None
    problem: str | None
    if not raw:
        problem = "Choose the checkpoint file (a .json file downloaded from this page)."
    elif len(raw) > CHECKPOINT_MAX_BYTES:
        problem = "That file is too large to be a checkpoint (they are under 1 KB)."
    else:
        try:
            doc = json.loads(raw)
        except (ValueError, RecursionError):
            doc = None
        if not isinstance(doc, dict):
            problem = "That file is not a checkpoint: it is not a JSON object."
        else:
            seq = doc.get("seq") if isinstance(doc.get("seq"), int) else None
            services = get_services()
            with services.readers() as db:
                problem = audit.verify_checkpoint(
                    db, doc, services.keyring.signing_public_key_pem()
                )
    user = signed_in_user()
    audit.record(
        get_services().sessions,
        now=now(),
        actor=user.actor,
        action="audit.checkpoint_checked",
        object_type="checkpoint",
        object_id=str(seq) if seq is not None else None,
        details={"ok": problem is None},
    )
    check = CheckpointCheck(filename, seq, problem)
    return _page(checkpoint_check=check, code=200 if problem is None else 409)
