"""Staff pages: the audit chain — search it, verify it, export a signed checkpoint.

Layer: ``web.staff``. The chain is listed newest first with keyset pagination on ``seq`` (a page is
``seq < before ... LIMIT n``, so page 1,000 costs what page 1 costs). Verification and the
checkpoint are ``retention.audit``'s; the checkpoint download is a signed JSON file that an
auditor keeps outside the database and later checks with ``mugshot audit verify-checkpoint``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from retention.audit import chain as audit
from retention.db.models import AuditEntry, Role
from web.auth import login_required
from web.services import get_services, now
from web.staff.forms import date_arg

bp = Blueprint("staff_audit", __name__, template_folder="templates", url_prefix="/staff/audit")

PAGE_SIZE = 50
ROLES = (Role.AUDITOR, Role.SUPERVISOR, Role.ADMIN)
ENTER_A_DATE = "Enter a date as YYYY-MM-DD."


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


def search(filters: Filters) -> tuple[list[AuditEntry], int | None, list[str]]:
    """One page of matching entries (newest first), the ``before`` of the next page, actions."""
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
    if filters.before is not None:
        stmt = stmt.where(AuditEntry.seq < filters.before)
    stmt = stmt.order_by(AuditEntry.seq.desc()).limit(PAGE_SIZE + 1)
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


def _page(verify_result: audit.VerifyResult | None = None, code: int = 200) -> ResponseReturnValue:
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
            page_size=PAGE_SIZE,
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
