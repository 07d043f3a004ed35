"""Row look-ups every layer above needs: one row by id, locked for the unit of work.

Layer: ``retention.db`` (bottom). Imports only SQLAlchemy, ``retention.db.models`` and
``retention.errors``; takes the caller's session and never commits.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from retention.db.models import Base
from retention.errors import NotFoundError

_Row = TypeVar("_Row", bound=Base)


def locked(session: Session, model: type[_Row], row_id: str, noun: str) -> _Row:
    """The ``model`` row with this id, locked until the transaction ends (``FOR UPDATE``);
    ``NotFoundError`` ("no ``noun`` ``row_id``") when there is none."""
    found = session.execute(
        select(model).filter_by(id=row_id).with_for_update()
    ).scalar_one_or_none()
    if found is None:
        raise NotFoundError(f"no {noun} {row_id}")
    return found
