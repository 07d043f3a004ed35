"""Purpose-gated export: a face-recognition (or other) gallery holds only what the law allows.

Layer: ``retention.engine``. A record is exported only if its decision *today* permits the purpose
in the requested jurisdiction (a restricted record, a record under a ban such as San Francisco's or
PC 832.19, a record without the consent BIPA 15(b) requires — none is). Every exported record gets
a provenance ``disclosed`` event naming the export, so a later purge can list the copies to recall,
and one audit entry.

The export is a folder (mode 0700) of the original images as captured (mode 0600) and a
``manifest.json`` naming, for each file, the record id, image id, SHA-256 and the deciding rule.
The folder holds plaintext images by design — it is what the receiving system ingests — so it
belongs on an encrypted volume and should be deleted once the receiving system confirms receipt.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from policies.vocabulary import Jurisdiction, Purpose
from retention.audit import chain as audit
from retention.db.models import (
    Image,
    ImageKind,
    ProvenanceEvent,
    ProvenanceKind,
    Record,
    RecordStatus,
)
from retention.engine import decisions, records
from retention.errors import RetentionError
from retention.keys import crypto
from retention.services import Services

Clock = Callable[[], dt.datetime]
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png"}


@dataclass
class GalleryReport:
    """What an export wrote and what it withheld."""

    export_id: str
    purpose: str
    jurisdiction: str
    folder: Path
    exported: int = 0
    withheld: int = 0
    files: int = 0
    withheld_by_rule: dict[str, int] = field(default_factory=dict)


def export_gallery(
    services: Services,
    *,
    purpose: Purpose,
    jurisdiction: Jurisdiction,
    out: Path,
    today: dt.date,
    clock: Clock,
    actor: str,
    batch_size: int = 200,
) -> GalleryReport:
    """Write every record permitted for ``purpose`` today to ``out`` (a new, empty folder)."""
    if out.exists() and any(out.iterdir()):
        raise RetentionError(f"export folder {out} is not empty; refusing to mix exports")
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(out, 0o700)
    export_id = uuid.uuid4().hex
    report = GalleryReport(export_id, purpose.value, jurisdiction.value, out)
    items: list[dict[str, Any]] = []
    with services.readers() as session:
        resolver = decisions.PackResolver(session)
    cursor = ""
    while True:
        with services.sessions() as session, session.begin():
            rows = list(
                session.execute(
                    select(Record)
                    .where(
                        Record.jurisdiction == jurisdiction.value,
                        Record.status != RecordStatus.PURGED.value,
                        Record.id > cursor,
                    )
                    .order_by(Record.id)
                    .limit(batch_size)
                ).scalars()
            )
            if not rows:
                break
            cursor = rows[-1].id
            now = clock()
            facts = decisions.facts_for_batch(session, rows)
            events: list[audit.Event] = []
            for record in rows:
                decision = decisions.evaluate_only(
                    session, record, today, resolver, facts[record.id]
                )
                if purpose not in decision.purposes:
                    report.withheld += 1
                    report.withheld_by_rule[decision.rule] = (
                        report.withheld_by_rule.get(decision.rule, 0) + 1
                    )
                    continue
                key = records.data_key(session, services.keyring, record)
                originals = session.execute(
                    select(Image)
                    .where(Image.record_id == record.id, Image.kind == ImageKind.ORIGINAL.value)
                    .order_by(Image.ordinal)
                ).scalars()
                written = 0
                for image in originals:
                    data = crypto.open_blob(
                        key, services.store.get(image.id), record_id=record.id, image_id=image.id
                    )
                    name = image.id + EXTENSIONS.get(image.media_type, ".bin")
                    fd = os.open(out / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                    with os.fdopen(fd, "wb") as fh:
                        fh.write(data)
                    items.append(
                        {
                            "file": name,
                            "record_id": record.id,
                            "image_id": image.id,
                            "sha256": hashlib.sha256(data).hexdigest(),
                            "media_type": image.media_type,
                            "rule": decision.rule,
                        }
                    )
                    session.add(
                        ProvenanceEvent(
                            record_id=record.id,
                            image_id=image.id,
                            kind=ProvenanceKind.DISCLOSED.value,
                            occurred_at=now,
                            actor=actor,
                            details={
                                "to": f"gallery:{export_id}",
                                "purpose": purpose.value,
                                "rule": decision.rule,
                            },
                        )
                    )
                    written += 1
                report.files += written
                report.exported += 1
                events.append(
                    audit.Event(
                        action="gallery.disclosed",
                        object_type="record",
                        object_id=record.id,
                        rule=decision.rule,
                        details={
                            "export_id": export_id,
                            "purpose": purpose.value,
                            "images": written,
                        },
                    )
                )
            audit.append_many(session, events, now=now, actor=actor)
    manifest = {
        "export_id": export_id,
        "purpose": purpose.value,
        "jurisdiction": jurisdiction.value,
        "decided_on": today.isoformat(),
        "created_at": clock().isoformat(),
        "items": items,
    }
    fd = os.open(out / "manifest.json", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(manifest, fh, indent=2)
    audit.record(
        services.sessions,
        now=clock(),
        actor=actor,
        action="gallery.exported",
        object_type="export",
        object_id=export_id,
        details={
            "purpose": purpose.value,
            "jurisdiction": jurisdiction.value,
            "records": report.exported,
            "withheld": report.withheld,
            "files": report.files,
        },
    )
    return report


def disclosures(services: Services, record_id: str) -> list[ProvenanceEvent]:
    """Where copies of a record went (what a purge must recall)."""
    with services.readers() as session:
        return list(
            session.execute(
                select(ProvenanceEvent)
                .where(
                    ProvenanceEvent.record_id == record_id,
                    ProvenanceEvent.kind == ProvenanceKind.DISCLOSED.value,
                )
                .order_by(ProvenanceEvent.occurred_at)
            ).scalars()
        )
