"""Property: no sequence of holds, releases, outcome changes and sweeps ever purges a record
while a hold on it is pending or active (invariant 3)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from policies.vocabulary import HoldKind, Outcome
from retention.db.models import (
    AuditEntry,
    AuditHead,
    Certificate,
    Consent,
    DataKey,
    Image,
    JobRun,
    LegalHold,
    ProvenanceEvent,
    Record,
    ReviewDecision,
)
from retention.engine import changes
from retention.errors import FactError, HoldError
from retention.jobs.sweep import run_sweep
from retention.services import Services
from tests.conftest import FIXED_NOW
from tests.integration.engine_helpers import ingest, purge_due

PEOPLE = ["clerk:ann", "sup:bob", "sup:cy"]

ops = st.lists(
    st.one_of(
        st.tuples(st.just("place"), st.sampled_from(list(HoldKind)), st.sampled_from(PEOPLE)),
        st.tuples(st.just("approve"), st.integers(0, 3), st.sampled_from(PEOPLE)),
        st.tuples(st.just("release"), st.integers(0, 3), st.sampled_from(PEOPLE)),
        st.tuples(
            st.just("outcome"),
            st.sampled_from(
                [
                    Outcome.FACTUALLY_INNOCENT,
                    Outcome.CONVICTED,
                    Outcome.ACQUITTED,
                    Outcome.DISMISSED,
                ]
            ),
            st.just(""),
        ),
        st.tuples(st.just("sweep"), st.integers(0, 2000), st.just("")),
    ),
    min_size=1,
    max_size=12,
)


def _reset(services: Services) -> None:
    with services.sessions() as s, s.begin():
        for model in (
            Certificate,
            ReviewDecision,
            LegalHold,
            Consent,
            ProvenanceEvent,
            DataKey,
            Image,
            Record,
            AuditEntry,
            JobRun,
        ):
            s.execute(delete(model))
        s.execute(update(AuditHead).values(seq=0, hash="0" * 64))


def _unreleased_holds(services: Services, record_id: str) -> int:
    with services.readers() as s:
        return len(
            list(
                s.execute(
                    select(LegalHold.id).where(
                        LegalHold.record_id == record_id, LegalHold.state != "released"
                    )
                )
            )
        )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=ops)
def test_no_sequence_purges_a_held_record(
    tmp_path_factory, services: Services, steps: list[tuple[object, object, object]]
) -> None:  # type: ignore[no-untyped-def]
    _reset(services)
    folder: Path = tmp_path_factory.mktemp("held")
    rid = ingest(services, folder, [purge_due("H-1")])["H-1"]
    holds: list[str] = []
    today = FIXED_NOW.date()
    for kind, arg, who in steps:
        now = dt.datetime.combine(today, dt.time(12), dt.UTC)
        try:
            with services.sessions() as s, s.begin():
                if kind == "place":
                    holds.append(
                        changes.place_hold(
                            s,
                            services.keyring,
                            rid,
                            kind=arg,  # type: ignore[arg-type]
                            reason="r",
                            case_reference=None,
                            actor=who,  # type: ignore[arg-type]
                            now=now,
                        ).id  # type: ignore[arg-type]
                    )
                elif kind == "approve" and holds:
                    changes.approve_hold(s, holds[int(arg) % len(holds)], actor=who, now=now)  # type: ignore[arg-type]
                elif kind == "release" and holds:
                    changes.release_hold(s, holds[int(arg) % len(holds)], actor=who, now=now)  # type: ignore[arg-type]
                elif kind == "outcome":
                    changes.set_outcome(s, rid, outcome=arg, on=today, actor="clerk:ann", now=now)  # type: ignore[arg-type]
        except (HoldError, FactError):
            pass  # refused steps (four eyes, purged record) change nothing
        if kind == "sweep":
            today = today + dt.timedelta(days=int(arg))  # type: ignore[call-overload]
            now = dt.datetime.combine(today, dt.time(12), dt.UTC)
            held_before = _unreleased_holds(services, rid)
            run_sweep(services, today=today, clock=lambda now=now: now, actor="sweep")
            with services.readers() as s:
                rec = s.get(Record, rid)
                assert rec is not None
                if held_before:
                    assert rec.status != "purged", "a held record was purged"
        with services.readers() as s:
            rec = s.get(Record, rid)
            assert rec is not None
            if rec.status == "purged":
                assert _unreleased_holds(services, rid) == 0
