"""RELIABILITY C11 for credit records: any sequence of withdraw / repair / restore / correct follows the
transition table; an illegal step is refused (409) and changes nothing; every legal step leaves one
history row and one audit entry; the public and scoring views follow the status."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from ecredit.records import repository as repo
from ecredit.records import service
from ecredit.records.errors import InvalidTransition
from ecredit.records.schemas import CommitmentCreate, RecordCorrect
from ecredit.security.audit import AuditEntry
from tests.builders import ADMIN, make_record, make_subject

D26 = dt.date(2026, 5, 6)
DAY = dt.date(2026, 9, 1)  # past the general class's 3-month minimum
ALLOWED = {
    "withdraw": {"active": "withdrawn", "repaired": "withdrawn"},
    "repair": {"active": "repaired"},
    "restore": {"repaired": "active"},
    "correct": {"active": "active"},
}


def _audited(session, record_id) -> int:
    stmt = select(func.count()).select_from(AuditEntry).where(AuditEntry.object_id == record_id)
    return int(session.scalar(stmt) or 0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.sampled_from(sorted(ALLOWED)), min_size=1, max_size=6))
def test_steps_follow_the_transition_table(session, steps):
    savepoint = session.begin_nested()
    try:
        subject = make_subject(session)
        record = make_record(session, subject, today=D26, decided_on=D26)
        commitment = service.sign_commitment(
            session,
            ADMIN,
            CommitmentCreate(
                subject_id=subject.id,
                type="repair",
                text="承诺",
                source_department="济南市商务局",
                signed_on=DAY,
            ),
            today=DAY,
        )
        state, legal = "active", 1
        for n, step in enumerate(steps):
            before = (record.status, len(repo.events_of(session, record.id)), _audited(session, record.id))
            target = ALLOWED[step].get(state)
            try:
                if step == "withdraw":
                    service.withdraw_record(
                        session, ADMIN, record.id, reason="撤销", basis_revoked_on=DAY, today=DAY
                    )
                elif step == "repair":
                    service.repair_record(
                        session, ADMIN, record.id, reason="修复", commitment_id=commitment.id, today=DAY
                    )
                elif step == "restore":
                    service.restore_record(session, ADMIN, record.id, reason="恢复", today=DAY)
                else:
                    service.correct_record(
                        session, ADMIN, record.id, RecordCorrect(reason="更正", title=f"更正{n}"), today=DAY
                    )
            except InvalidTransition:
                assert target is None, f"{step} from {state} was refused"
                assert (
                    record.status,
                    len(repo.events_of(session, record.id)),
                    _audited(session, record.id),
                ) == before
                continue
            assert target is not None, f"{step} from {state} was allowed"
            state, legal = target, legal + 1
            assert record.status == state
            assert len(repo.events_of(session, record.id)) == legal
            assert _audited(session, record.id) == legal
            public = record.id in [
                r.id for r in service.public_records(session, subject_id=subject.id, today=DAY)
            ]
            scored = record.id in [r.id for r in service.scoring_records(session, as_of=DAY)]
            assert public == scored == (state == "active")
    finally:
        savepoint.rollback()
