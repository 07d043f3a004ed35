"""Keyset pagination for the staff lists (records, reviews, removal requests).

Layer: ``web.staff`` (a helper of its blueprints, no blueprint of its own). ``?after=<sort
key>|<id>`` names the last row shown, so a page costs the same however deep it is, and rows
added or removed meanwhile never shift a page. Reads the page size from the app config; imports
Flask and SQLAlchemy only.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import abort, current_app
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

DEFAULT_PAGE_SIZE = 25
# Rows without a due date sort after every real date (and the cursor can still name them).
FAR_FUTURE = dt.date(9999, 12, 31)
_ID = re.compile(r"[0-9a-f]{32}")

T = TypeVar("T")


@dataclass(frozen=True)
class Cursor:
    """The last row of a page: its sort key (a date) and its id."""

    key: dt.date
    id: str

    def encode(self) -> str:
        """The ``after`` query value."""
        return f"{self.key.isoformat()}|{self.id}"


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of rows and the cursor of the next page (None on the last)."""

    rows: list[T]
    next_after: str | None


def page_size() -> int:
    """Rows per page (``MUGSHOT_STAFF_PAGE_SIZE`` in the app config, default 25)."""
    return int(current_app.config.get("MUGSHOT_STAFF_PAGE_SIZE", DEFAULT_PAGE_SIZE))


def parse_cursor(raw: str | None) -> Cursor | None:
    """``YYYY-MM-DD|<id>`` from the query string; a mangled cursor is a bad request."""
    if not raw:
        return None
    key, sep, ident = raw.partition("|")
    if not sep or not _ID.fullmatch(ident):
        abort(400)
    try:
        day = dt.date.fromisoformat(key)
    except ValueError:
        abort(400)
    return Cursor(day, ident)


def fetch_page(
    db: Session,
    stmt: Select[Any],
    column: InstrumentedAttribute[dt.date | None],
    ident: InstrumentedAttribute[str],
    cursor: Cursor | None,
) -> list[Any]:
    """One page (plus one row) of ``stmt`` ordered by (``column``, id), missing dates last.

    Two index-friendly keyset scans instead of one ``ORDER BY coalesce(...)``, which would sort
    every matching row for every page: dated rows by (date, id), then undated rows by id. A
    cursor whose date is ``FAR_FUTURE`` is already in the undated part.
    """
    size = page_size() + 1
    rows: list[Any] = []
    if cursor is None or cursor.key != FAR_FUTURE:
        dated = stmt.where(column.is_not(None))
        if cursor is not None:
            dated = dated.where(
                or_(column > cursor.key, and_(column == cursor.key, ident > cursor.id))
            )
        rows = list(db.execute(dated.order_by(column, ident).limit(size)).scalars())
        after_id = None
    else:
        after_id = cursor.id
    if len(rows) < size:
        undated = stmt.where(column.is_(None))
        if after_id is not None:
            undated = undated.where(ident > after_id)
        rows += list(db.execute(undated.order_by(ident).limit(size - len(rows))).scalars())
    return rows


def paginate(rows: Sequence[T], key_of: Callable[[T], tuple[dt.date | None, str]]) -> Page[T]:
    """Cut the extra row off and name the cursor of the next page (``key_of`` gives a row's
    sort key and id)."""
    size = page_size()
    shown = list(rows[:size])
    if len(rows) <= size or not shown:
        return Page(shown, None)
    key, ident = key_of(shown[-1])
    return Page(shown, Cursor(key or FAR_FUTURE, ident).encode())
