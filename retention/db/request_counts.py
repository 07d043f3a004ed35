"""The removal-request queue's stored counts: candidates found, and requests by the same person.

Layer: ``retention.db`` (models and SQLAlchemy only). Sorting or filtering 50,000 requests by a
count computed per request (one index probe into a million records each) costs far more than
a page may take, so each request keeps two counts, recounted by whoever changes what they
count, in the same transaction:

- ``candidates_found``: live records that its blind indexes (booking number; name and date of
  birth) find, or that a search from its page found. Recounted when the request is filed or
  searched from (``retention.requests``), when records are imported (``retention.ingest``) and
  when records are purged (``retention.engine.purge``: a tombstone is no candidate).
- ``same_identity_requests``: *other* requests carrying the same name-and-date-of-birth blind
  index; recounted when a request is filed (requests are never deleted).

Both recounts are one ``UPDATE`` with a correlated count, restricted to the requests the change
can touch (found through their indexed blind-index columns).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, aliased

from retention.db.models import Record, RecordStatus, RemovalRequest, RequestSearchHit


def live_candidates() -> Any:
    """A count, correlated to ``RemovalRequest``, of the live records it finds.

    Three index-friendly parts that never count a record twice, instead of one ``OR`` that
    no index serves: records with its name-and-birth-date index; records with its booking
    index that the first part did not count; records its page search found that neither did.
    """
    req = RemovalRequest
    live = Record.status != RecordStatus.PURGED.value
    other_name = or_(
        Record.name_dob_bidx.is_(None),
        req.name_dob_bidx.is_(None),
        Record.name_dob_bidx != req.name_dob_bidx,
    )
    by_name = (
        select(func.count())
        .select_from(Record)
        .where(live, Record.name_dob_bidx == req.name_dob_bidx)
    )
    by_booking = (
        select(func.count())
        .select_from(Record)
        .where(live, Record.booking_bidx == req.booking_bidx, other_name)
    )
    by_search = (
        select(func.count())
        .select_from(RequestSearchHit)
        .join(Record, Record.id == RequestSearchHit.record_id)
        .where(
            RequestSearchHit.request_id == req.id,
            live,
            other_name,
            or_(req.booking_bidx.is_(None), Record.booking_bidx != req.booking_bidx),
        )
    )
    return (
        by_name.correlate(req).scalar_subquery()
        + by_booking.correlate(req).scalar_subquery()
        + by_search.correlate(req).scalar_subquery()
    )


def _expire(session: Session, attribute: str) -> None:
    """Loaded requests read the recounted value again on next access."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, RemovalRequest):
            session.expire(obj, [attribute])


def recount_candidates(
    session: Session,
    *,
    request_ids: Collection[str] = (),
    name_dob_bidxs: Collection[str | None] = (),
    booking_bidxs: Collection[str | None] = (),
    record_ids: Collection[str] = (),
) -> None:
    """Recount ``candidates_found`` of the requests named, of those whose blind indexes are
    among the ones given, and of those whose page search found one of ``record_ids``."""
    names = sorted({b for b in name_dob_bidxs if b})
    bookings = sorted({b for b in booking_bidxs if b})
    conditions = []
    if request_ids:
        conditions.append(RemovalRequest.id.in_(sorted(set(request_ids))))
    if names:
        conditions.append(RemovalRequest.name_dob_bidx.in_(names))
    if bookings:
        conditions.append(RemovalRequest.booking_bidx.in_(bookings))
    if record_ids:
        conditions.append(
            RemovalRequest.id.in_(
                select(RequestSearchHit.request_id).where(
                    RequestSearchHit.record_id.in_(sorted(set(record_ids)))
                )
            )
        )
    if not conditions:
        return
    session.flush()
    session.execute(
        update(RemovalRequest)
        .where(or_(*conditions))
        .values(candidates_found=live_candidates())
        .execution_options(synchronize_session=False)
    )
    _expire(session, "candidates_found")


def recount_same_identity(session: Session, name_dob_bidx: str | None) -> None:
    """Recount ``same_identity_requests`` of every request with this blind index."""
    if not name_dob_bidx:
        return
    other = aliased(RemovalRequest)
    count = (
        select(func.count())
        .select_from(other)
        .where(other.name_dob_bidx == RemovalRequest.name_dob_bidx, other.id != RemovalRequest.id)
        .correlate(RemovalRequest)
        .scalar_subquery()
    )
    session.flush()
    session.execute(
        update(RemovalRequest)
        .where(RemovalRequest.name_dob_bidx == name_dob_bidx)
        .values(same_identity_requests=count)
        .execution_options(synchronize_session=False)
    )
    _expire(session, "same_identity_requests")


def recount_everything(session: Session) -> None:
    """Both counts for every request (the migration that adds them; a repair)."""
    other = aliased(RemovalRequest)
    same = (
        select(func.count())
        .select_from(other)
        .where(other.name_dob_bidx == RemovalRequest.name_dob_bidx, other.id != RemovalRequest.id)
        .correlate(RemovalRequest)
        .scalar_subquery()
    )
    session.execute(
        update(RemovalRequest)
        .values(candidates_found=live_candidates(), same_identity_requests=same)
        .execution_options(synchronize_session=False)
    )
    _expire(session, "candidates_found")
    _expire(session, "same_identity_requests")
