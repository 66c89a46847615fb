"""Queries of credit records and commitments.

The three clauses below are the one definition of what is expired, public and usable for scoring; every
query (and scoring's SQL, through ``public_clause`` / ``scoring_clause``) uses them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from ecredit.records.models import (
    CreditCommitment,
    CreditRecord,
    CreditRecordEvent,
    RecordStatus,
)
from ecredit.subjects import repository as subjects_repo
from ecredit.subjects.models import Platform, Subject

R = CreditRecord


def expired_clause(today: dt.date) -> ColumnElement[bool]:
    """Active and past its maximum publicity (the derived status ``expired``)."""
    return and_(
        R.status == RecordStatus.active.value, R.publicity_until.is_not(None), R.publicity_until < today
    )


def public_clause(today: dt.date) -> ColumnElement[bool]:
    """What a public output may show on ``today``: active, published as a rule, inside its window."""
    return and_(
        R.status == RecordStatus.active.value,
        R.publicity_until.is_not(None),
        R.publicity_from <= today,
        R.publicity_until >= today,
    )


def scoring_clause(as_of: dt.date) -> ColumnElement[bool]:
    """Records an evaluation on ``as_of`` may use: active or expired, decided by then; never repaired or
    withdrawn (NDRC Order 36 Art. 3: repaired information stops being used)."""
    return and_(R.status == RecordStatus.active.value, R.decided_on <= as_of)


def get_record(session: Session, record_id: str, *, for_update: bool = False) -> CreditRecord | None:
    stmt = select(R).where(R.id == record_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def get_by_source(
    session: Session, source_ref: str, source_department: str, kind: str
) -> CreditRecord | None:
    stmt = select(R).where(
        R.source_ref == source_ref, R.source_department == source_department, R.kind == kind
    )
    return session.scalars(stmt).one_or_none()


def by_sources(session: Session, kind: str, refs: Sequence[str]) -> dict[tuple[str, str], CreditRecord]:
    """(source_ref, source_department) -> record, for the records of ``kind`` with one of ``refs``."""
    found: dict[tuple[str, str], CreditRecord] = {}
    unique = sorted(set(refs))
    for start in range(0, len(unique), 500):
        stmt = select(R).where(R.kind == kind, R.source_ref.in_(unique[start : start + 500]))
        for record in session.scalars(stmt):
            found[(record.source_ref or "", record.source_department)] = record
    return found


def records_of(
    session: Session, subject_id: str, *, public_on: dt.date | None = None
) -> Sequence[CreditRecord]:
    """A subject's records, newest decision first (only the public ones on ``public_on`` when given)."""
    stmt = select(R).where(R.subject_id == subject_id)
    if public_on is not None:
        stmt = stmt.where(public_clause(public_on))
    return session.scalars(stmt.order_by(R.decided_on.desc(), R.id.desc())).all()


def search_records(
    session: Session,
    *,
    today: dt.date,
    subject_id: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    region_prefix: str | None = None,
    limit: int = 50,
) -> Sequence[CreditRecord]:
    """Records by subject, kind and status (``expired`` is the derived status), newest first; only those
    of subjects in the region when ``region_prefix`` is given."""
    stmt = select(R)
    if region_prefix:
        in_region = (
            select(Subject.id)
            .where(
                Subject.id == R.subject_id,
                Subject.region_code.like(f"{subjects_repo.escape_like(region_prefix)}%", escape="\\"),
            )
            .exists()
        )
        stmt = stmt.where(in_region)
    if subject_id:
        stmt = stmt.where(R.subject_id == subject_id)
    if kind:
        stmt = stmt.where(R.kind == kind)
    if status == "expired":
        stmt = stmt.where(expired_clause(today))
    elif status == RecordStatus.active.value:
        stmt = stmt.where(R.status == status, ~expired_clause(today))
    elif status:
        stmt = stmt.where(R.status == status)
    return session.scalars(stmt.order_by(R.decided_on.desc(), R.id.desc()).limit(limit)).all()


def scoring_records(session: Session, *, as_of: dt.date) -> Sequence[CreditRecord]:
    return session.scalars(select(R).where(scoring_clause(as_of)).order_by(R.subject_id, R.decided_on)).all()


def events_of(session: Session, record_id: str) -> Sequence[CreditRecordEvent]:
    stmt = select(CreditRecordEvent).where(CreditRecordEvent.record_id == record_id)
    return session.scalars(stmt.order_by(CreditRecordEvent.seq)).all()


def next_event_seq(session: Session, record_id: str) -> int:
    stmt = select(func.coalesce(func.max(CreditRecordEvent.seq), 0)).where(
        CreditRecordEvent.record_id == record_id
    )
    return int(session.scalar(stmt) or 0) + 1


def get_commitment(
    session: Session, commitment_id: str, *, for_update: bool = False
) -> CreditCommitment | None:
    stmt = select(CreditCommitment).where(CreditCommitment.id == commitment_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def commitments_of(session: Session, subject_id: str) -> Sequence[CreditCommitment]:
    stmt = select(CreditCommitment).where(CreditCommitment.subject_id == subject_id)
    return session.scalars(stmt.order_by(CreditCommitment.signed_on.desc(), CreditCommitment.id.desc())).all()


def platform_subject(session: Session, platform_id: str) -> Subject:
    """The subject (the operating company) of a platform."""
    stmt = select(Subject).join(Platform, Platform.subject_id == Subject.id).where(Platform.id == platform_id)
    return session.scalars(stmt).one()
