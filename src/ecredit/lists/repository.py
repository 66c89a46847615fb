"""Queries of list entries, their history, documents, objections and repair applications."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ecredit.lists.models import (
    PENDING_STATES,
    EntryState,
    ListDocument,
    ListEntry,
    ListEntryEvent,
    Objection,
    ObjectionStatus,
    RepairApplication,
    RepairStatus,
)
from ecredit.records.models import CreditRecord
from ecredit.subjects import repository as subjects_repo
from ecredit.subjects.models import Subject

E = ListEntry
OPEN_STATES = [s.value for s in PENDING_STATES] + [EntryState.published.value]


def get_entry(session: Session, entry_id: str, *, for_update: bool = False) -> ListEntry | None:
    stmt = select(E).where(E.id == entry_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def open_entry(session: Session, subject_id: str, list_type: str) -> ListEntry | None:
    """The subject's pending or published entry on ``list_type`` (at most one is kept open)."""
    stmt = select(E).where(E.subject_id == subject_id, E.list_type == list_type, E.state.in_(OPEN_STATES))
    return session.scalars(stmt.order_by(E.created_at.desc())).first()


def _in_region(region_prefix: str):
    return (
        select(Subject.id)
        .where(
            Subject.id == E.subject_id,
            Subject.region_code.like(f"{subjects_repo.escape_like(region_prefix)}%", escape="\\"),
        )
        .exists()
    )


def has_source(session: Session, nomination_source: str) -> bool:
    stmt = select(E.id).where(E.nomination_source == nomination_source).limit(1)
    return session.scalar(stmt) is not None


def search_entries(
    session: Session,
    *,
    subject_id: str | None = None,
    list_type: str | None = None,
    state: str | None = None,
    region_prefix: str | None = None,
    limit: int = 50,
) -> Sequence[ListEntry]:
    stmt = select(E)
    if region_prefix:
        stmt = stmt.where(_in_region(region_prefix))
    if subject_id:
        stmt = stmt.where(E.subject_id == subject_id)
    if list_type:
        stmt = stmt.where(E.list_type == list_type)
    if state:
        stmt = stmt.where(E.state == state)
    return session.scalars(stmt.order_by(E.created_at.desc(), E.id.desc()).limit(limit)).all()


def in_force(session: Session, subject_id: str, today: dt.date) -> Sequence[ListEntry]:
    """Published entries of the subject inside their term on ``today`` (``ListEntry.is_in_force``)."""
    stmt = select(E).where(
        E.subject_id == subject_id,
        E.state == EntryState.published.value,
        or_(E.effective_until.is_(None), E.effective_until >= today),
    )
    return session.scalars(stmt.order_by(E.published_on.desc(), E.id)).all()


def past_term(session: Session, today: dt.date) -> Sequence[ListEntry]:
    """Published entries whose term ended before ``today`` (``run_expiry`` stores them expired)."""
    stmt = select(E).where(E.state == EntryState.published.value, E.effective_until < today)
    return session.scalars(stmt.order_by(E.effective_until, E.id)).all()


def published_of_type(session: Session, list_type: str, published_before: dt.date) -> Sequence[ListEntry]:
    stmt = select(E).where(
        E.state == EntryState.published.value, E.list_type == list_type, E.published_on <= published_before
    )
    return session.scalars(stmt.order_by(E.published_on, E.id)).all()


def with_basis_record(session: Session, record_id: str) -> Sequence[ListEntry]:
    """Open entries resting on the record (JSON lists are scanned in Python: a handful per subject)."""
    subject_id = session.scalar(select(CreditRecord.subject_id).where(CreditRecord.id == record_id))
    if subject_id is None:
        return []
    stmt = select(E).where(E.subject_id == subject_id, E.state.in_(OPEN_STATES))
    return [e for e in session.scalars(stmt) if record_id in (e.basis_record_ids or [])]


def events_of(session: Session, entry_id: str) -> Sequence[ListEntryEvent]:
    stmt = select(ListEntryEvent).where(ListEntryEvent.entry_id == entry_id)
    return session.scalars(stmt.order_by(ListEntryEvent.seq)).all()


def next_event_seq(session: Session, entry_id: str) -> int:
    stmt = select(func.coalesce(func.max(ListEntryEvent.seq), 0)).where(ListEntryEvent.entry_id == entry_id)
    return int(session.scalar(stmt) or 0) + 1


def documents_of(session: Session, entry_id: str) -> Sequence[ListDocument]:
    stmt = select(ListDocument).where(ListDocument.entry_id == entry_id)
    return session.scalars(stmt.order_by(ListDocument.created_at, ListDocument.id)).all()


def get_document(session: Session, document_id: str) -> ListDocument | None:
    return session.get(ListDocument, document_id)


def objections_of(session: Session, entry_id: str) -> Sequence[Objection]:
    stmt = select(Objection).where(Objection.entry_id == entry_id)
    return session.scalars(stmt.order_by(Objection.filed_on, Objection.id)).all()


def get_objection(session: Session, objection_id: str, *, for_update: bool = False) -> Objection | None:
    stmt = select(Objection).where(Objection.id == objection_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def get_application(session: Session, application_id: str, *, for_update: bool = False):
    stmt = select(RepairApplication).where(RepairApplication.id == application_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def applications_of_target(session: Session, target_id: str) -> Sequence[RepairApplication]:
    stmt = select(RepairApplication).where(RepairApplication.target_id == target_id)
    return session.scalars(stmt.order_by(RepairApplication.applied_on, RepairApplication.id)).all()


def open_application(session: Session, target_id: str) -> RepairApplication | None:
    stmt = select(RepairApplication).where(
        RepairApplication.target_id == target_id, RepairApplication.status == RepairStatus.submitted.value
    )
    return session.scalars(stmt).first()


def overdue_entries(session: Session, today: dt.date, region_prefix: str | None) -> Sequence[ListEntry]:
    """Open entries whose current step's deadline passed, or whose deadline is unknown."""
    stmt = select(E).where(
        E.state.in_(OPEN_STATES), or_(E.due_unknown.is_(True), and_(E.due_on.is_not(None), E.due_on < today))
    )
    if region_prefix:
        stmt = stmt.where(_in_region(region_prefix))
    return session.scalars(stmt.order_by(E.due_on, E.id)).all()


def overdue_objections(session: Session, today: dt.date) -> Sequence[Objection]:
    stmt = select(Objection).where(
        Objection.status.in_([ObjectionStatus.registered.value, ObjectionStatus.verifying.value]),
        or_(Objection.due_unknown.is_(True), and_(Objection.due_on.is_not(None), Objection.due_on < today)),
    )
    return session.scalars(stmt.order_by(Objection.due_on, Objection.id)).all()


def overdue_applications(session: Session, today: dt.date) -> Sequence[RepairApplication]:
    R = RepairApplication
    stmt = select(R).where(
        R.status == RepairStatus.submitted.value,
        or_(R.due_unknown.is_(True), and_(R.due_on.is_not(None), R.due_on < today)),
    )
    return session.scalars(stmt.order_by(R.due_on, R.id)).all()
