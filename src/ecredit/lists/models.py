"""Red and black lists (守信红名单 / 失信黑名单): entries and their append-only history, the documents of the
procedure, objections (异议), platform enforcement orders and credit-repair applications (信用修复).

The list types, their steps, time limits, durations and measures are configuration (``policy/lists.toml``);
a row names its list type by key and stores the policy version it was decided under.

States (DOMAIN.md §2.3; the transition table is ``lists/rules.py``)::

    nominated → notified (告知) → defence_recorded (陈述申辩) → reviewed → decided → approved → published
              ↘ dropped (at any step before publication: no basis, no intent proven, …)
    published → expired | repaired (early removal, 信用修复) | withdrawn (basis revoked)

``expired`` is stored by ``lists run-expiry``; public outputs never wait for it: an entry is out of
public view once ``effective_until`` has passed (``is_in_force``), so a job that did not run cannot keep a
listing public past its term.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ecredit.db import Base
from ecredit.kit.clock import utc_now
from ecredit.kit.ids import new_id
from ecredit.kit.types import UTCDateTime


class Colour(enum.StrEnum):
    red = "red"  # 守信红名单: incentives
    black = "black"  # 失信黑名单 and other punitive lists: joint punishment


class EntryState(enum.StrEnum):
    nominated = "nominated"
    notified = "notified"  # 告知书 served; the defence window (陈述申辩) runs
    defence_recorded = "defence_recorded"  # the subject's statement recorded (or the window closed unused)
    reviewed = "reviewed"  # a second regulator reviewed the file
    decided = "decided"  # the listing decision
    approved = "approved"  # the next level up approved the decision (types with higher_approval)
    published = "published"
    expired = "expired"
    repaired = "repaired"  # early removal after credit repair
    withdrawn = "withdrawn"  # the basis was revoked, found unlawful or void
    dropped = "dropped"  # the procedure ended without a listing


PENDING_STATES = frozenset(
    {
        EntryState.nominated,
        EntryState.notified,
        EntryState.defence_recorded,
        EntryState.reviewed,
        EntryState.decided,
        EntryState.approved,
    }
)
TERMINAL_STATES = frozenset(
    {EntryState.expired, EntryState.repaired, EntryState.withdrawn, EntryState.dropped}
)


class ListEntry(Base):
    """One subject on (or on its way onto) one list, with the basis, evidence and dates of its procedure."""

    __tablename__ = "list_entry"
    __table_args__ = (
        Index("ix_list_entry_subject_id_state", "subject_id", "state"),
        Index("ix_list_entry_list_type_state", "list_type", "state"),
        Index("ix_list_entry_state_due_on", "state", "due_on"),
        # The lists data stamp of every check answer (lists/check.py): the newest change, one index probe
        Index("ix_list_entry_updated_at", "updated_at"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    list_type: Mapped[str] = mapped_column(String(64))  # a list type key of policy/lists.toml
    colour: Mapped[str] = mapped_column(String(8))  # Colour, copied from the list type
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"))
    state: Mapped[str] = mapped_column(String(24), default=EntryState.nominated.value)
    # Who put it in motion: "rule:<rule key>" or "regulator"; the basis records and the evidence
    nominated_by: Mapped[str] = mapped_column(String(200))
    nomination_source: Mapped[str] = mapped_column(String(64))
    basis_record_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")  # masked
    department: Mapped[str] = mapped_column(String(64))  # the deciding department (e.g. "market")
    region_code: Mapped[str | None] = mapped_column(String(6))  # the deciding authority's region
    # The deadline of the current step (working days on the Chinese calendar), null when none runs or
    # when the calendar has no data for the year it reaches into (due_unknown is then true)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    due_unknown: Mapped[bool] = mapped_column(Boolean, default=False)
    nominated_on: Mapped[dt.date] = mapped_column(Date)
    notified_on: Mapped[dt.date | None] = mapped_column(Date)
    defence_until: Mapped[dt.date | None] = mapped_column(Date)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    higher_approval_by: Mapped[str | None] = mapped_column(String(200))
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    effective_until: Mapped[dt.date | None] = mapped_column(Date)  # the end of the list's term
    early_removal_from: Mapped[dt.date | None] = mapped_column(Date)  # repair may be asked from this day
    closed_on: Mapped[dt.date | None] = mapped_column(Date)  # expired, repaired, withdrawn or dropped
    close_reason: Mapped[str | None] = mapped_column(Text)
    record_id: Mapped[str | None] = mapped_column(ForeignKey("credit_record.id"))  # the list_entry record
    policy_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now, onupdate=utc_now)

    def is_in_force(self, today: dt.date) -> bool:
        """True when the entry is published and inside its term on ``today`` (what public outputs show)."""
        return self.state == EntryState.published and (
            self.effective_until is None or today <= self.effective_until
        )


class ListEntryEvent(Base):
    """The append-only history of an entry: every step with actor, role, reason and time."""

    __tablename__ = "list_entry_event"

    entry_id: Mapped[str] = mapped_column(ForeignKey("list_entry.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    action: Mapped[str] = mapped_column(String(32))  # an action of lists/rules.py
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")  # masked
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class DocumentKind(enum.StrEnum):
    notice = "notice"  # 列入告知书: reasons, legal basis, the right to a statement, defence and hearing
    decision = "decision"  # 列入决定书
    objection_answer = "objection_answer"  # 异议答复
    removal = "removal"  # 移出决定书 (expiry, repair, withdrawal)
    repair_decision = "repair_decision"  # 信用修复决定书


class ListDocument(Base):
    """A document the procedure generated (rendered once, kept byte for byte with its digest)."""

    __tablename__ = "list_document"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    entry_id: Mapped[str] = mapped_column(ForeignKey("list_entry.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # DocumentKind
    number: Mapped[str] = mapped_column(String(64), unique=True)  # document number (文号)
    media_type: Mapped[str] = mapped_column(String(64))  # e.g. application/pdf, text/html
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class ObjectionStatus(enum.StrEnum):
    registered = "registered"
    verifying = "verifying"
    upheld = "upheld"  # the objection is right: the entry is corrected or withdrawn
    rejected = "rejected"  # the entry stands


class Objection(Base):
    """An objection (异议) to a published entry, verified and answered within the configured limit."""

    __tablename__ = "list_objection"
    __table_args__ = (Index("ix_list_objection_status_due_on", "status", "due_on"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    entry_id: Mapped[str] = mapped_column(ForeignKey("list_entry.id"), index=True)
    filed_on: Mapped[dt.date] = mapped_column(Date)
    filed_by: Mapped[str] = mapped_column(String(200))
    grounds: Mapped[str] = mapped_column(Text)  # masked
    status: Mapped[str] = mapped_column(String(16), default=ObjectionStatus.registered.value)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    due_unknown: Mapped[bool] = mapped_column(Boolean, default=False)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_on: Mapped[dt.date | None] = mapped_column(Date)
    answered_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class OrderStatus(enum.StrEnum):
    issued = "issued"
    completed = "completed"  # the platform reported the measure carried out
    lifted = "lifted"  # the entry left the list: the platform must undo the measure
    lift_confirmed = "lift_confirmed"  # the platform reported the measure undone


class EnforcementOrder(Base):
    """A platform enforcement order: one measure of a published black-list entry on one platform."""

    __tablename__ = "enforcement_order"
    __table_args__ = (
        # Publishing twice (a retry) issues nothing twice
        UniqueConstraint("entry_id", "platform_id", "measure", "shop_id"),
        Index("ix_enforcement_order_platform_id_status", "platform_id", "status"),
        Index("ix_enforcement_order_status_due_on", "status", "due_on"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    entry_id: Mapped[str] = mapped_column(ForeignKey("list_entry.id"), index=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("platform.id"))
    shop_id: Mapped[str | None] = mapped_column(ForeignKey("shop.id"))  # null: every account of the subject
    measure: Mapped[str] = mapped_column(String(64))  # a measure key of policy/lists.toml
    order_kind: Mapped[str] = mapped_column(String(32))  # downgrade | revoke_mark | shield_shop | …
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.issued.value)
    issued_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    due_unknown: Mapped[bool] = mapped_column(Boolean, default=False)
    reported_on: Mapped[dt.date | None] = mapped_column(Date)
    report: Mapped[str | None] = mapped_column(Text)
    lifted_on: Mapped[dt.date | None] = mapped_column(Date)
    lift_due_on: Mapped[dt.date | None] = mapped_column(Date)
    lift_reported_on: Mapped[dt.date | None] = mapped_column(Date)
    legal_basis: Mapped[str] = mapped_column(Text)
    policy_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now, onupdate=utc_now)


class RepairStatus(enum.StrEnum):
    submitted = "submitted"
    approved = "approved"
    rejected = "rejected"


class RepairApplication(Base):
    """A credit-repair application (信用修复) for a list entry or a credit record, checked against the
    conditions of DOMAIN.md §2.6 and decided by the responsible department (谁认定、谁修复)."""

    __tablename__ = "repair_application"
    __table_args__ = (Index("ix_repair_application_status", "status"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    target_type: Mapped[str] = mapped_column(String(16))  # list_entry | record
    target_id: Mapped[str] = mapped_column(String(26), index=True)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # api | portal_staff | cli
    applied_on: Mapped[dt.date] = mapped_column(Date)
    applied_by: Mapped[str] = mapped_column(String(200))
    statement: Mapped[str] = mapped_column(Text)  # masked: what was corrected, which duties fulfilled
    commitment_id: Mapped[str | None] = mapped_column(ForeignKey("credit_commitment.id"))
    conditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # each condition: met, why
    status: Mapped[str] = mapped_column(String(16), default=RepairStatus.submitted.value)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    due_unknown: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    policy_version: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
