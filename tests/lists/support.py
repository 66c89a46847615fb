"""Helpers of the list tests: principals, and entries driven to a given step through the service."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from ecredit.lists import service
from ecredit.lists.catalogue import catalogue
from ecredit.lists.models import ListEntry
from ecredit.lists.rules import Action
from ecredit.security.principals import Principal, Role
from tests.builders import make_record, make_subject

COUNTY = Principal(actor="user:county-a", role=Role.regulator, department="market", region_prefix="370102")
COUNTY_B = Principal(actor="user:county-b", role=Role.regulator, department="market", region_prefix="370102")
CITY = Principal(actor="user:city", role=Role.regulator, department="market", region_prefix="3701")
PROVINCE = Principal(actor="user:province", role=Role.regulator, department="market", region_prefix="37")
COMMERCE = Principal(
    actor="user:commerce", role=Role.regulator, department="commerce", region_prefix="370102"
)
ADMIN = Principal(actor="cli:ops", role=Role.admin)

DAY = dt.date(2026, 6, 1)  # a Monday


def nominate(session: Session, list_type: str = "ecommerce_fake_trading", subject=None, **kw) -> ListEntry:
    subject = subject or make_subject(session)
    record = make_record(session, subject, today=kw.pop("today", DAY))
    return service.nominate(
        session,
        kw.pop("principal", COUNTY),
        service.Nomination(
            subject_id=subject.id,
            list_type=list_type,
            reason=kw.pop("reason", "组织刷单炒信，情节严重"),
            basis_record_ids=[record.id],
            evidence=kw.pop("evidence", {"warning": "W-1"}),
        ),
        today=DAY,
    )


def drive(
    session: Session, entry: ListEntry, until: Action | None = None, *, today: dt.date = DAY
) -> ListEntry:
    """Take the entry along its type's path up to and including ``until`` (default: publish)."""
    from ecredit.lists import rules

    lt = catalogue().list_type(entry.list_type)
    for step in rules.path(lt)[1:]:
        if step is Action.notify:
            service.notify(session, COUNTY, entry.id, reason="告知", today=today)
        elif step is Action.record_defence:
            service.record_defence(session, COUNTY, entry.id, statement="无异议", filed_on=today, today=today)
        elif step is Action.review:
            service.review(session, COUNTY_B, entry.id, reason="复核属实", today=today)
        elif step is Action.decide:
            service.decide(session, COUNTY, entry.id, reason="决定列入", today=today)
        elif step is Action.approve_higher:
            service.approve_higher(session, CITY, entry.id, reason="同意", today=today)
        elif step is Action.publish:
            service.publish(session, COUNTY, entry.id, reason="公示", today=today)
        if step is until:
            break
    return entry
