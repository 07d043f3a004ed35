"""Sealed fields: no booking number or free text in plaintext; minimal tombstones.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

Reviewed by hand. Seals what was stored in plaintext and drops the plaintext columns:

- ``records.booking_number`` joins the sealed identity document (``identity_sealed``) under the
  record's data key; lookup stays through ``booking_bidx``.
- Free text under the data key of the record or request it belongs to: ``records.offence`` →
  ``offence_sealed``, ``records.restriction_reason`` → ``restriction_sealed``,
  ``legal_holds.reason``/``case_reference``, ``review_decisions.reason``,
  ``request_matches.reason``/``confirm_reason`` (the matched record's key),
  ``second_approvals.reason``/``decision_reason`` (the subject's key) and
  ``removal_requests.decision_reasons`` (the request's key) → ``*_sealed``.
- The reasons of audited reads go to the new ``audit_notes`` table (sealed); provenance events
  that quoted one get it sealed in place (``reason_sealed``, base64).
- Facts a tombstone no longer keeps become nullable (``holder``, ``data_kind``, ``outcome``,
  ``legal_basis``; ``images.content_hmac``).

Sealing needs the keys: ``mugshot init`` passes its key provider as
``config.attributes["keyring"]``; a database with values to seal and no keyring is refused with a
message, before anything changes. Rows of purged records (no data key) lose their text — the key
that would seal it is gone, and a tombstone keeps none. Uses ``retention.keys.crypto`` (pure
functions) with the associated data the application uses (``retention.engine.sealing``), written
out here so that this revision does not change when the application does.

Downgrade refuses once any row holds a sealed value or a tombstone without its facts: going back
would need the plaintext this revision destroyed (restore the pre-upgrade backup instead). On a
database with no such rows (a fresh one) it restores the old columns.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from alembic import context, op

from retention.keys import crypto

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (table, old plaintext column, new sealed column)
_MOVED = (
    ("records", "offence", "offence_sealed"),
    ("records", "restriction_reason", "restriction_sealed"),
    ("legal_holds", "reason", "reason_sealed"),
    ("legal_holds", "case_reference", "case_reference_sealed"),
    ("review_decisions", "reason", "reason_sealed"),
    ("request_matches", "reason", "reason_sealed"),
    ("request_matches", "confirm_reason", "confirm_reason_sealed"),
    ("second_approvals", "reason", "reason_sealed"),
    ("second_approvals", "decision_reason", "decision_reason_sealed"),
    ("removal_requests", "decision_reasons", "decision_reasons_sealed"),
)
_OLD_TYPES: dict[tuple[str, str], tuple[sa.types.TypeEngine[Any], bool]] = {
    ("records", "offence"): (sa.String(200), True),
    ("records", "restriction_reason"): (sa.String(200), True),
    ("legal_holds", "reason"): (sa.Text(), False),
    ("legal_holds", "case_reference"): (sa.String(120), True),
    ("review_decisions", "reason"): (sa.Text(), False),
    ("request_matches", "reason"): (sa.Text(), True),
    ("request_matches", "confirm_reason"): (sa.Text(), True),
    ("second_approvals", "reason"): (sa.Text(), False),
    ("second_approvals", "decision_reason"): (sa.Text(), True),
    ("removal_requests", "decision_reasons"): (sa.Text(), True),
}
_FACTS = (("holder", 24), ("data_kind", 24), ("outcome", 24), ("legal_basis", 16))


class _Keys:
    """Data keys of records and requests, unwrapped once each through the caller's keyring."""

    def __init__(self, conn: sa.Connection, keyring: Any) -> None:
        self._keyring = keyring
        self._record: dict[str, tuple[str, int, bytes]] = {
            rid: (kid, ver, wrapped)
            for kid, rid, ver, wrapped in conn.execute(
                sa.text("SELECT id, record_id, kek_version, wrapped FROM data_keys")
            )
        }
        self._request: dict[str, tuple[str, int, bytes]] = {
            rid: (kid, ver, wrapped)
            for rid, kid, ver, wrapped in conn.execute(
                sa.text(
                    "SELECT id, key_id, kek_version, wrapped_key FROM removal_requests "
                    "WHERE wrapped_key IS NOT NULL AND key_id IS NOT NULL "
                    "AND kek_version IS NOT NULL"
                )
            )
        }
        self._open: dict[str, bytes] = {}

    def _unwrap(self, entry: tuple[str, int, bytes] | None) -> bytes | None:
        if entry is None:
            return None
        kid, ver, wrapped = entry
        if kid not in self._open:
            self._open[kid] = self._keyring.unwrap(bytes(wrapped), key_id=kid, version=ver)
        return self._open[kid]

    def record(self, record_id: str) -> bytes | None:
        return self._unwrap(self._record.get(record_id))

    def request(self, request_id: str) -> bytes | None:
        return self._unwrap(self._request.get(request_id))


def _seal(key: bytes | None, owner: str, field: str, text: str | None) -> bytes | None:
    if key is None or text is None:
        return None
    return crypto.seal_field(key, text.encode(), record_id=owner, field=field)


def _set(table: str, column: str) -> sa.Select[Any]:
    """A query for any row of ``table`` whose ``column`` is set."""
    col = sa.column(column)
    return sa.select(sa.literal(1)).select_from(sa.table(table, col)).where(col.is_not(None))


def _has_rows(conn: sa.Connection, query: sa.Select[Any]) -> bool:
    return conn.execute(query.limit(1)).first() is not None


def _needs_keys(conn: sa.Connection) -> bool:
    details = sa.column("details")
    checks = [_set(t, c) for t, c, _ in _MOVED]
    checks += [
        _set("records", "booking_number"),
        sa.select(sa.literal(1))
        .select_from(sa.table("provenance_events", details))
        .where(sa.cast(details, sa.Text()).like('%"reason"%')),
    ]
    return any(_has_rows(conn, query) for query in checks)


def upgrade() -> None:
    conn = op.get_bind()
    keyring = context.config.attributes.get("keyring")
    if keyring is None and _needs_keys(conn):
        raise RuntimeError(
            "revision 0007 seals booking numbers and free text stored in plaintext, which "
            "needs the keyring: run `mugshot init` (it passes the keyring to the migration) "
            "instead of alembic directly; nothing was changed"
        )
    for table, _, new in _MOVED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(new, sa.LargeBinary(), nullable=True))
    op.create_table(
        "audit_notes",
        sa.Column("audit_seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("owner_type", sa.String(16), nullable=False),
        sa.Column("owner_id", sa.String(32), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_seq"], ["audit_entries.seq"], name="fk_audit_notes_audit_seq_audit_entries"
        ),
        sa.PrimaryKeyConstraint("audit_seq", name="pk_audit_notes"),
    )
    op.create_index("ix_audit_notes_owner_id", "audit_notes", ["owner_id"])
    if keyring is not None:
        _seal_existing(conn, _Keys(conn, keyring))
    for table, old, _ in _MOVED:
        with op.batch_alter_table(table) as batch:
            batch.drop_column(old)
    with op.batch_alter_table("records") as batch:
        batch.drop_column("booking_number")
        for column, length in _FACTS:
            batch.alter_column(column, existing_type=sa.String(length), nullable=True)
    with op.batch_alter_table("images") as batch:
        batch.alter_column("content_hmac", existing_type=sa.String(64), nullable=True)


def _update(conn: sa.Connection, table: str, key: str, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    columns = [c for c in rows[0] if c != key]
    target = sa.table(table, *(sa.column(c) for c in [key, *columns]))
    stmt = (
        sa.update(target)
        .where(target.c[key] == sa.bindparam("_key"))
        .values({c: sa.bindparam(f"_{c}") for c in columns})
    )
    conn.execute(stmt, [{f"_{c}" if c != key else "_key": v for c, v in r.items()} for r in rows])


def _seal_rows(
    conn: sa.Connection,
    table: str,
    key_column: str,
    select_sql: str,
    seal_row: Callable[[Mapping[str, Any]], dict[str, Any]],
) -> None:
    rows = [dict(r._mapping) for r in conn.execute(sa.text(select_sql))]
    _update(conn, table, key_column, [{key_column: r[key_column], **seal_row(r)} for r in rows])


def _seal_existing(conn: sa.Connection, keys: _Keys) -> None:
    # Records: the booking number into the identity document; offence and restriction sealed.
    updates = []
    for rid, booking, identity, offence, restriction in conn.execute(
        sa.text(
            "SELECT id, booking_number, identity_sealed, offence, restriction_reason FROM records"
        )
    ):
        key = keys.record(rid)
        row: dict[str, Any] = {
            "id": rid,
            "offence_sealed": _seal(key, rid, "records:offence", offence),
            "restriction_sealed": _seal(key, rid, "records:restriction", restriction),
            "identity_sealed": identity,
        }
        if key is not None and identity is not None:
            doc = json.loads(
                crypto.open_field(key, bytes(identity), record_id=rid, field="identity")
            )
            doc["booking_number"] = booking
            row["identity_sealed"] = crypto.seal_field(
                key, json.dumps(doc).encode(), record_id=rid, field="identity"
            )
        updates.append(row)
    _update(conn, "records", "id", updates)

    def hold(r: Mapping[str, Any]) -> dict[str, Any]:
        key, owner = keys.record(r["record_id"]), r["record_id"]
        return {
            "reason_sealed": _seal(key, owner, f"legal_holds:{r['id']}:reason", r["reason"]),
            "case_reference_sealed": _seal(
                key, owner, f"legal_holds:{r['id']}:case_reference", r["case_reference"]
            ),
        }

    _seal_rows(
        conn,
        "legal_holds",
        "id",
        "SELECT id, record_id, reason, case_reference FROM legal_holds",
        hold,
    )

    def review(r: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "reason_sealed": _seal(
                keys.record(r["record_id"]),
                r["record_id"],
                f"review_decisions:{r['id']}:reason",
                r["reason"],
            )
        }

    _seal_rows(
        conn, "review_decisions", "id", "SELECT id, record_id, reason FROM review_decisions", review
    )

    def match(r: Mapping[str, Any]) -> dict[str, Any]:
        key, owner = keys.record(r["record_id"]), r["record_id"]
        pair = f"{r['request_id']}/{r['record_id']}"
        return {
            "reason_sealed": _seal(key, owner, f"request_matches:{pair}:reason", r["reason"]),
            "confirm_reason_sealed": _seal(
                key, owner, f"request_matches:{pair}:confirm_reason", r["confirm_reason"]
            ),
        }

    _seal_rows(
        conn,
        "request_matches",
        "id",
        "SELECT id, request_id, record_id, reason, confirm_reason FROM request_matches",
        match,
    )

    def approval(r: Mapping[str, Any]) -> dict[str, Any]:
        owner = r["subject_id"]
        key = keys.request(owner) if r["subject_type"] == "request" else keys.record(owner)
        return {
            "reason_sealed": _seal(key, owner, f"second_approvals:{r['id']}:reason", r["reason"]),
            "decision_reason_sealed": _seal(
                key, owner, f"second_approvals:{r['id']}:decision_reason", r["decision_reason"]
            ),
        }

    _seal_rows(
        conn,
        "second_approvals",
        "id",
        "SELECT id, subject_type, subject_id, reason, decision_reason FROM second_approvals",
        approval,
    )

    def request(r: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "decision_reasons_sealed": _seal(
                keys.request(r["id"]),
                r["id"],
                "removal_requests:decision_reasons",
                r["decision_reasons"],
            )
        }

    _seal_rows(
        conn, "removal_requests", "id", "SELECT id, decision_reasons FROM removal_requests", request
    )
    _seal_provenance_reasons(conn, keys)


def _seal_provenance_reasons(conn: sa.Connection, keys: _Keys) -> None:
    """Viewed/disclosed events quoted the stated reason: seal it in place (or drop it when the
    record's key is gone)."""
    updates = []
    for event_id, record_id, details in conn.execute(
        sa.text("SELECT id, record_id, details FROM provenance_events")
    ):
        doc = details if isinstance(details, dict) else json.loads(details)
        if "reason" not in doc:
            continue
        reason = doc.pop("reason")
        sealed = _seal(
            keys.record(record_id),
            record_id,
            f"provenance_events:{event_id}:reason",
            str(reason),
        )
        if sealed is not None:
            doc["reason_sealed"] = base64.b64encode(sealed).decode()
        updates.append({"id": event_id, "details": json.dumps(doc)})
    if updates:
        stmt = sa.text("UPDATE provenance_events SET details = :details WHERE id = :id")
        if conn.dialect.name == "postgresql":
            stmt = sa.text(
                "UPDATE provenance_events SET details = CAST(:details AS JSON) WHERE id = :id"
            )
        conn.execute(stmt, updates)


def downgrade() -> None:
    conn = op.get_bind()
    checks = [_set(t, new) for t, _, new in _MOVED]
    checks += [_set("audit_notes", "audit_seq"), _set("records", "id")]
    if any(_has_rows(conn, query) for query in checks):
        raise RuntimeError(
            "revision 0007 cannot be downgraded on a database with records or sealed values: "
            "the old schema stored booking numbers and free text in plaintext, which this "
            "revision destroyed or sealed; restore the backup taken before the upgrade instead"
        )
    with op.batch_alter_table("images") as batch:
        batch.alter_column("content_hmac", existing_type=sa.String(64), nullable=False)
    with op.batch_alter_table("records") as batch:
        for column, length in _FACTS:
            batch.alter_column(column, existing_type=sa.String(length), nullable=False)
        batch.add_column(sa.Column("booking_number", sa.String(64), nullable=True))
    for table, old, new in _MOVED:
        kind, nullable = _OLD_TYPES[(table, old)]
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column(old, kind, nullable=nullable))
            batch.drop_column(new)
    op.drop_index("ix_audit_notes_owner_id", table_name="audit_notes")
    op.drop_table("audit_notes")
