"""Enacting a new rule-pack version (``mugshot policy enact``).

Layer: ``retention.engine``. The new pack is validated completely, then every record it would govern
is evaluated under both the current and the new pack, and the difference — how many records
change fate, which way — is shown before anything is stored. Enactment needs a second person
(``approved_by``); it stores the pack's source verbatim and re-evaluates the records in batches,
so their stored next actions follow the new law at once.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from policies import Pack, load_pack
from retention.audit import chain as audit
from retention.db.models import EnactedPack, Record, RecordStatus
from retention.engine import decisions
from retention.engine.authority import same_person
from retention.errors import RetentionError
from retention.services import Services

Clock = Callable[[], dt.datetime]


@dataclass
class EnactPreview:
    """The difference a pack version makes."""

    pack_id: str
    version: str
    sha256: str
    jurisdictions: list[str]
    records: int = 0
    changed: int = 0
    transitions: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


def _load(path: Path) -> tuple[Pack, str]:
    pack = load_pack(path)  # PackError lists every problem
    if not pack.jurisdictions:
        raise RetentionError(
            f"pack {pack.id} names no jurisdiction; an enacted pack must say what it governs"
        )
    return pack, Path(path).read_text(encoding="utf-8")


def _records(
    services: Services, jurisdictions: list[str], batch_size: int, *, write: bool
) -> Iterator[tuple[Session, list[Record]]]:
    cursor = ""
    factory = services.sessions if write else services.readers
    while True:
        session = factory()
        session.begin()
        rows = list(
            session.execute(
                select(Record)
                .where(
                    Record.jurisdiction.in_(jurisdictions),
                    Record.status != RecordStatus.PURGED.value,
                    Record.id > cursor,
                )
                .order_by(Record.id)
                .limit(batch_size)
            ).scalars()
        )
        if not rows:
            session.rollback()
            session.close()
            return
        cursor = rows[-1].id
        yield session, rows


def preview(
    services: Services, path: Path, *, today: dt.date, batch_size: int = 1000
) -> EnactPreview:
    """Evaluate every affected record under the new pack without storing anything."""
    started = time.perf_counter()
    pack, source = _load(path)
    jurisdictions = [j.value for j in pack.jurisdictions]
    result = EnactPreview(pack.id, pack.version, decisions.pack_digest(source), jurisdictions)
    with services.readers() as session:
        if session.execute(
            select(EnactedPack.id).where(
                EnactedPack.pack_id == pack.id, EnactedPack.version == pack.version
            )
        ).first():
            raise RetentionError(f"pack {pack.id} version {pack.version} is already enacted")
        new = decisions.PackResolver(session).with_pack(pack)
    for session, rows in _records(services, jurisdictions, batch_size, write=False):
        try:
            facts = decisions.facts_for_batch(session, rows)
            for record in rows:
                decision = decisions.evaluate_only(session, record, today, new, facts[record.id])
                sched = decisions.schedule_for(decision, status=record.status)
                before = record.next_action or "none"
                after = sched.action or "none"
                result.records += 1
                if before != after:
                    result.changed += 1
                    result.transitions[f"{before} -> {after}"] += 1
        finally:
            session.rollback()
            session.close()
    result.seconds = time.perf_counter() - started
    return result


def enact(
    services: Services,
    path: Path,
    *,
    actor: str,
    approved_by: str,
    clock: Clock,
    batch_size: int = 1000,
) -> EnactPreview:
    """Store the pack version and re-evaluate every record it governs."""
    if not approved_by.strip() or same_person(actor, approved_by):
        raise RetentionError("enacting a pack needs a second person's approval (--approved-by)")
    started = time.perf_counter()
    pack, source = _load(path)
    today = clock().date()
    result = preview(services, path, today=today, batch_size=batch_size)
    with services.sessions() as session, session.begin():
        session.add(
            EnactedPack(
                pack_id=pack.id,
                version=pack.version,
                sha256=result.sha256,
                source=source,
                enacted_by=actor,
                approved_by=approved_by,
                enacted_at=clock(),
            )
        )
    with services.readers() as session:
        resolver = decisions.PackResolver(session)
    for session, rows in _records(services, result.jurisdictions, batch_size, write=True):
        try:
            facts = decisions.facts_for_batch(session, rows)
            for record in rows:
                decisions.reevaluate(session, record, today, resolver, facts[record.id])
            session.commit()
        finally:
            session.close()
    audit.record(
        services.sessions,
        now=clock(),
        actor=actor,
        action="policy.enacted",
        object_type="pack",
        object_id=f"{pack.id}@{pack.version}",
        details={
            "sha256": result.sha256,
            "approved_by": approved_by,
            "records": result.records,
            "changed": result.changed,
            "transitions": dict(result.transitions),
        },
    )
    result.seconds = time.perf_counter() - started
    return result
