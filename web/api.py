"""``/api/v1``: booking systems push bookings with their images and read decisions.

Layer: ``web.api``. Token-authenticated (``Authorization: Bearer mgs_…``, tokens from
``mugshot token add NAME --agency A``); CSRF does not apply (no cookies are read). Documented in
``web/openapi.yaml``, served at ``/api/v1/openapi.yaml``. Errors are JSON
``{"error": "...", "field": "..."}`` and name the field; nothing is stored on any error.

A token acts for its agencies only (``retention.accounts.tokens``): a push for another agency is
refused before anything is looked up (403), and every read goes through
``tokens.visible_record``. A record of another agency, an unknown id and a purged record get
the very same answer (``NO_SUCH_RECORD``: status, body and headers), and a push that cannot be
stored — a different booking under that number, or a destroyed one — gets one answer too
(``NOT_STORABLE``): a token cannot learn what another agency holds or what was destroyed. Any
new endpoint that reads a record must use ``visible_record`` and ``_no_such_record``.
"""

from __future__ import annotations

from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, Response, g, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import IntegrityError as DBIntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

from policies.bounded import StructureError, loads_json
from policies.decision import narrowed_purposes
from retention.accounts import tokens
from retention.accounts.tokens import TokenGrant
from retention.db.models import Record
from retention.engine.decisions import PackResolver
from retention.errors import ImageRejectedError, ManifestError, RetentionError
from retention.ingest import bookings
from retention.ingest.importer import remove_unreferenced_blobs, storage_fault
from retention.ingest.manifest import ALL_COLUMNS, parse_booking
from web.services import get_services, now

bp = Blueprint("api", __name__, url_prefix="/api/v1")
F = TypeVar("F")
OPENAPI = Path(__file__).with_name("openapi.yaml")
MAX_IMAGES = 10
NO_SUCH_RECORD = "no such record"
NOT_STORABLE = (
    "this booking cannot be stored: the agency already holds a different or a destroyed record "
    "under this booking number"
)
NO_AGENCY = (
    "this token acts for no agency (it was issued before tokens had agencies): ask for a new "
    "one, issued with `mugshot token add NAME --agency AGENCY`"
)
# A booking is one flat object of at most 21 short columns (a few KiB): anything much larger or
# nested at all is refused before it is parsed (``policies.bounded``).
MAX_BOOKING_BYTES = 64 * 1024
MAX_BOOKING_DEPTH = 2


def _error(status: int, message: str, field: str | None = None) -> tuple[Response, int]:
    body: dict[str, Any] = {"error": message}
    if field:
        body["field"] = field
    return jsonify(body), status


def _no_such_record() -> tuple[Response, int]:
    """The one answer for a record this token may not read: unknown, another agency's or
    purged."""
    return _error(404, NO_SUCH_RECORD)


def _grant() -> TokenGrant:
    grant = g.api_token
    assert isinstance(grant, TokenGrant)
    return grant


def token_required(view: F) -> F:
    """Refuse (401) a request without a live bearer token; the token (a ``TokenGrant``, with
    its agencies) is ``g.api_token``."""

    @wraps(view)  # type: ignore[arg-type]
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        secret = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        with get_services().readers() as session:
            token = tokens.authenticate(session, secret) if secret else None
        if token is None:
            response, status = _error(401, "a valid API token is required")
            response.headers["WWW-Authenticate"] = 'Bearer realm="mugshot"'
            return response, status
        g.api_token = token
        return view(*args, **kwargs)  # type: ignore[operator]

    return wrapped  # type: ignore[return-value]


@bp.errorhandler(RequestEntityTooLarge)
def too_large(_exc: RequestEntityTooLarge) -> tuple[Response, int]:
    """A request body or form field over the limits: a JSON error like every other refusal."""
    return _error(413, "the request is too large (see the limits in the API description)")


@bp.get("/openapi.yaml")
def openapi() -> Response:
    """The OpenAPI description of this API."""
    return Response(OPENAPI.read_bytes(), mimetype="application/yaml")


@bp.post("/records")
@token_required
def push_record() -> tuple[Response, int]:
    """Push one booking: form field ``booking`` (JSON object with the manifest columns) and one
    or more files ``images``. 201 with the record id and its decision; 200 if the identical
    booking is already stored; 409 (one answer) if it is stored with other data or was purged;
    403 if the booking's agency is not one of the token's."""
    services = get_services()
    raw = request.form.get("booking")
    if not raw:
        return _error(400, "form field 'booking' (a JSON object) is required", "booking")
    try:
        doc = loads_json(
            raw, what="'booking'", max_bytes=MAX_BOOKING_BYTES, max_depth=MAX_BOOKING_DEPTH
        )
    except StructureError as exc:
        return _error(400, f"{exc}: it must be one flat JSON object", "booking")
    except ValueError:
        return _error(400, "'booking' is not valid JSON", "booking")
    if not isinstance(doc, dict):
        return _error(400, "'booking' must be a JSON object", "booking")
    unknown = sorted(k for k in doc if k not in ALL_COLUMNS or k == "images")
    if unknown:
        return _error(400, f"unknown field(s): {', '.join(unknown)[:300]}", unknown[0][:64])
    nested = sorted(k for k, v in doc.items() if isinstance(v, dict | list))
    if nested:
        return _error(400, f"field {nested[0]} must be a string, number or null", nested[0])
    files = request.files.getlist("images")
    if not files:
        return _error(400, "at least one file 'images' is required", "images")
    if len(files) > MAX_IMAGES:
        return _error(400, f"at most {MAX_IMAGES} images", "images")
    clock_now = now()
    row = {k: "" if v is None else str(v) for k, v in doc.items()}
    row["images"] = ";".join(f.filename or f"image-{n}" for n, f in enumerate(files))
    try:
        booking = parse_booking(row, today=clock_now.date())
        checked = bookings.check_images([f.read() for f in files], services.settings)
    except ManifestError as exc:
        field = str(exc).split(":", 1)[0].removeprefix("column ").strip()
        return _error(400, str(exc), field if field in ALL_COLUMNS else None)
    except ImageRejectedError as exc:
        return _error(400, f"images: {exc}", "images")
    token = _grant()
    if not token.may_write(booking.agency):
        if not token.agencies:
            return _error(403, NO_AGENCY, "agency")
        return _error(403, "this token may not store bookings of that agency", "agency")
    with services.readers() as session:
        resolver = PackResolver(session)
    prepared = bookings.prepare(
        booking,
        checked,
        keyring=services.keyring,
        source=bookings.Source("api", f"token:{token.name}"),
        pack_for=resolver.pack_for,
        today=clock_now.date(),
    )
    written: list[str] = []
    try:
        with services.sessions() as session, session.begin():
            existing = session.execute(
                select(Record).where(
                    Record.agency == booking.agency, Record.booking_bidx == prepared.booking_bidx
                )
            ).scalar_one_or_none()
            if existing is not None:
                refusal = bookings.refusal_against_stored(
                    prepared, fingerprint=existing.import_fingerprint, status=existing.status
                )
                if refusal is not None:
                    # Conflicting or purged: one answer, so a push cannot probe for purges.
                    return _error(409, NOT_STORABLE)
                return jsonify({"id": existing.id, "status": "already_present"}), 200
            bookings.stage_many(session, [prepared], now=clock_now, actor=f"api:{token.name}")
            written = [image.id for image in prepared.images]
            bookings.write_blobs(services.store, [prepared])
    except DBIntegrityError:
        # Stored by another request at the same moment: pushing again answers 200 or 409.
        remove_unreferenced_blobs(services, written)
        return _error(409, NOT_STORABLE)
    except (OSError, RetentionError, DBAPIError) as exc:
        fault = storage_fault(exc)
        if fault is None:
            raise
        # Nothing was stored: the blobs written before the failure go at once.
        remove_unreferenced_blobs(services, written)
        response, _ = _error(503, f"{fault}; nothing was stored — push again once it is fixed")
        response.headers["Retry-After"] = "60"
        return response, 503
    decision = prepared.decision.to_json() if prepared.decision else None
    return jsonify({"id": prepared.record_id, "status": "created", "decision": decision}), 201


@bp.get("/records/<record_id>/decision")
@token_required
def record_decision(record_id: str) -> tuple[Response, int]:
    """The stored decision of a record of the token's agencies: next action, due date, rule,
    citation, purposes. Unknown, another agency's and purged records: one 404."""
    with get_services().readers() as session:
        record = tokens.visible_record(session, _grant(), record_id)
        if record is None:
            return _no_such_record()
        return (
            jsonify(
                {
                    "id": record.id,
                    "status": record.status,
                    "next_action": record.next_action,
                    "next_action_due": record.next_action_due.isoformat()
                    if record.next_action_due
                    else None,
                    # Narrowed on the day a held-back destruction duty falls due, and emptied
                    # once a purge is due, even if no sweep has acted yet (issue 16 item 3).
                    "permitted_purposes": narrowed_purposes(record.decision_trace, now().date())
                    if record.decision_trace
                    else record.permitted_purposes or [],
                    "decision": record.decision_trace,
                    "evaluated_on": record.evaluated_on.isoformat()
                    if record.evaluated_on
                    else None,
                }
            ),
            200,
        )
