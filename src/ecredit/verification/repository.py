"""Queries of the business register, verifications and marks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecredit.subjects.models import Relation, Shop, Subject
from ecredit.verification.models import Mark, RegisterEntry, Verification


def get_register_entry(session: Session, uscc: str) -> RegisterEntry | None:
    return session.scalars(select(RegisterEntry).where(RegisterEntry.uscc == uscc)).one_or_none()


def register_entries_by_uscc(session: Session, usccs: Iterable[str]) -> dict[str, RegisterEntry]:
    usccs = list(set(usccs))
    if not usccs:
        return {}
    return {e.uscc: e for e in session.scalars(select(RegisterEntry).where(RegisterEntry.uscc.in_(usccs)))}


def legal_representatives(session: Session, subject_id: str) -> Sequence[Subject]:
    stmt = (
        select(Subject)
        .join(Relation, Relation.holder_id == Subject.id)
        .where(
            Relation.object_id == subject_id,
            Relation.kind == "legal_representative",
            Relation.ended_date.is_(None),
        )
    )
    return session.scalars(stmt).all()


def shops_due(session: Session, now: dt.datetime, *, include_unverified: bool, limit: int) -> Sequence[str]:
    cond = (Shop.verification_status == "verified") & (Shop.verified_until <= now)
    if include_unverified:
        cond = cond | (Shop.verification_status == "unverified")
    stmt = select(Shop.id).where(cond, Shop.status == "open").order_by(Shop.id).limit(limit)
    return session.scalars(stmt).all()


def count_due(session: Session, now: dt.datetime, *, include_unverified: bool) -> int:
    from sqlalchemy import func

    cond = (Shop.verification_status == "verified") & (Shop.verified_until <= now)
    if include_unverified:
        cond = cond | (Shop.verification_status == "unverified")
    return session.scalar(select(func.count()).select_from(Shop).where(cond, Shop.status == "open")) or 0


def verifications_of(session: Session, shop_id: str) -> Sequence[Verification]:
    stmt = (
        select(Verification).where(Verification.shop_id == shop_id).order_by(Verification.checked_at.desc())
    )
    return session.scalars(stmt).all()


def get_mark(session: Session, mark_id: str) -> Mark | None:
    return session.get(Mark, mark_id)


def active_marks_of_shop(session: Session, shop_id: str) -> Sequence[Mark]:
    stmt = select(Mark).where(Mark.shop_id == shop_id, Mark.revoked_at.is_(None)).order_by(Mark.issued_at)
    return session.scalars(stmt).all()


def latest_mark_of_shop(session: Session, shop_id: str) -> Mark | None:
    stmt = select(Mark).where(Mark.shop_id == shop_id).order_by(Mark.issued_at.desc()).limit(1)
    return session.scalars(stmt).first()
