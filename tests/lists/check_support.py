"""Builders of the check and enforcement tests: published list entries made directly (the workflow that
publishes them is tested on its own), and the announcement the workflow makes when it publishes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from ecredit.kit.events import announce
from ecredit.lists.catalogue import catalogue
from ecredit.lists.events import ListEntryPublished, ListEntryRemoved
from ecredit.lists.models import EntryState, ListEntry
from ecredit.subjects.models import Subject

TODAY = dt.date(2026, 6, 15)  # a Monday, with calendar data around it


def make_list_entry(session: Session, subject: Subject, **overrides: Any) -> ListEntry:
    """A published entry of ``list_type`` (the SAMR serious list unless told), in force on ``TODAY``."""
    list_type = overrides.pop("list_type", "samr_serious")
    lt = catalogue().list_type(list_type)
    published_on = overrides.pop("published_on", dt.date(2026, 3, 2))
    data: dict[str, Any] = {
        "list_type": list_type,
        "colour": lt.colour,
        "subject_id": subject.id,
        "state": EntryState.published.value,
        "nominated_by": "regulator",
        "nomination_source": "regulator",
        "department": lt.department,
        "nominated_on": published_on - dt.timedelta(days=40),
        "decided_on": published_on - dt.timedelta(days=5),
        "published_on": published_on,
        "effective_until": dt.date(published_on.year + lt.duration_months // 12, published_on.month, 1),
        "policy_version": catalogue().version,
    } | overrides
    entry = ListEntry(**data)
    session.add(entry)
    session.flush()
    return entry


def publish(session: Session, entry: ListEntry) -> None:
    """What the workflow announces when it publishes an entry."""
    announce(
        session,
        ListEntryPublished(
            entry_id=entry.id,
            subject_id=entry.subject_id,
            list_type=entry.list_type,
            colour=entry.colour,
            published_by="user:test",
        ),
    )


def remove(session: Session, entry: ListEntry, reason: str = "withdrawn") -> None:
    """What the workflow does and announces when an entry leaves the list."""
    entry.state = reason
    entry.closed_on = TODAY
    session.flush()
    announce(
        session,
        ListEntryRemoved(
            entry_id=entry.id,
            subject_id=entry.subject_id,
            list_type=entry.list_type,
            colour=entry.colour,
            reason=reason,
            removed_by="user:test",
        ),
    )
