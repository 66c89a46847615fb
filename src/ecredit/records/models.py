"""Credit records (信用记录), their append-only history, and credit commitments (信用承诺).

A record is one fact about a subject: a penalty, a licence, a commitment and its fulfilment or breach, a
confirmed monitoring warning, a platform penalty, an award, a list entry. Its publicity window comes from
``policy/records.toml`` (DOMAIN.md §2.5); the rule and policy version used are stored with it.

The stored status is ``active``, ``repaired`` or ``withdrawn``. ``expired`` is never stored: a record is
expired when it is active and its ``publicity_until`` is before today (``expired_clause``), so a record
past its maximum leaves the public outputs by itself, with no job that could forget it.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ecredit.db import Base
from ecredit.kit.clock import utc_now
from ecredit.kit.ids import new_id
from ecredit.kit.types import UTCDateTime


class RecordKind(enum.StrEnum):
    administrative_penalty = "administrative_penalty"
    administrative_licence = "administrative_licence"
    commitment = "commitment"
    commitment_fulfilled = "commitment_fulfilled"
    commitment_breach = "commitment_breach"
    complaint_outcome = "complaint_outcome"
    confirmed_warning = "confirmed_warning"
    platform_penalty = "platform_penalty"
    award = "award"
    list_entry = "list_entry"


class Effect(enum.StrEnum):
    negative = "negative"
    positive = "positive"
    neutral = "neutral"


class Severity(enum.StrEnum):
    minor = "minor"  # 轻微
    general = "general"  # 一般
    serious = "serious"  # 严重


class RecordStatus(enum.StrEnum):
    """Stored statuses; ``expired`` is derived (``CreditRecord.display_status``)."""

    active = "active"
    repaired = "repaired"
    withdrawn = "withdrawn"


EXPIRED = "expired"  # the derived status: active and past publicity_until


class RecordAction(enum.StrEnum):
    created = "created"
    withdrawn = "withdrawn"
    repaired = "repaired"
    restored = "restored"
    corrected = "corrected"


class CreditRecord(Base):
    """One fact about a subject, with its class, legal basis, source, publicity window and status."""

    __tablename__ = "credit_record"
    __table_args__ = (
        # Idempotent imports and services: one record per document number, department and kind.
        UniqueConstraint("source_ref", "source_department", "kind"),
        Index("ix_credit_record_subject_id_status", "subject_id", "status"),
        Index("ix_credit_record_kind", "kind"),
        Index("ix_credit_record_publicity_until", "publicity_until"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # RecordKind
    effect: Mapped[str] = mapped_column(String(16))  # Effect, set by rules.classify
    severity: Mapped[str | None] = mapped_column(String(16))  # Severity (negative records)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")  # masked free text
    legal_basis: Mapped[str] = mapped_column(Text, default="")
    source_department: Mapped[str] = mapped_column(String(200))
    source_ref: Mapped[str | None] = mapped_column(String(128))  # e.g. 行政处罚决定书文号
    decided_on: Mapped[dt.date] = mapped_column(Date)
    publicity_from: Mapped[dt.date] = mapped_column(Date)
    publicity_min_until: Mapped[dt.date] = mapped_column(Date)
    publicity_until: Mapped[dt.date | None] = mapped_column(Date)  # null: not published as a rule
    rule: Mapped[str] = mapped_column(String(64))  # the policy entry that set the window
    policy_version: Mapped[str] = mapped_column(String(32))
    amount_cents: Mapped[int | None] = mapped_column(BigInteger)  # fines: 万元 × 1,000,000
    status: Mapped[str] = mapped_column(String(16), default=RecordStatus.active.value)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now, onupdate=utc_now)

    def status_on(self, today: dt.date) -> str:
        """The status to show on ``today``: the stored one, or ``expired`` when active and past its window."""
        if (
            self.status == RecordStatus.active
            and self.publicity_until is not None
            and self.publicity_until < today
        ):
            return EXPIRED
        return self.status

    @property
    def display_status(self) -> str:
        """``status_on`` today (the clock of ``kit.clock``)."""
        from ecredit.kit.clock import today

        return self.status_on(today())


class CreditRecordEvent(Base):
    """The append-only history of a record: who did what, in which role, why and when."""

    __tablename__ = "credit_record_event"

    record_id: Mapped[str] = mapped_column(ForeignKey("credit_record.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    action: Mapped[str] = mapped_column(String(16))  # RecordAction
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")  # masked
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class CommitmentStatus(enum.StrEnum):
    signed = "signed"
    fulfilled = "fulfilled"
    breached = "breached"


class CreditCommitment(Base):
    """A credit commitment a subject signed, of a configured type, and what became of it."""

    __tablename__ = "credit_commitment"
    __table_args__ = (Index("ix_credit_commitment_subject_id_status", "subject_id", "status"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"))
    type: Mapped[str] = mapped_column(String(64))  # a [commitment_types] key of policy/records.toml
    text: Mapped[str] = mapped_column(Text)  # what was promised (masked)
    signed_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=CommitmentStatus.signed.value)
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    close_reason: Mapped[str | None] = mapped_column(Text)
    record_id: Mapped[str | None] = mapped_column(ForeignKey("credit_record.id"))  # the signing record
    outcome_record_id: Mapped[str | None] = mapped_column(ForeignKey("credit_record.id"))
    policy_version: Mapped[str] = mapped_column(String(32))
    signed_by: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now, onupdate=utc_now)
