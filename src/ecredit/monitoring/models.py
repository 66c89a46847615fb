"""Risk warnings (风险预警) and their members: what the detectors found, and the regulators' triage.

A warning is identified across detector runs by its detector and fingerprint (``Finding.fingerprint``):
a later run that finds the same pattern updates the warning instead of adding a second one. Members name
shops, accounts and evidence records by the platforms' own ids; a shop member that the registry knows also
carries the store's shop id and its operator's subject id, so a warning can be found from a subject.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ecredit.db import Base
from ecredit.kit.clock import utc_now
from ecredit.kit.ids import new_id
from ecredit.kit.types import UTCDateTime


class WarningStatus(enum.StrEnum):
    open = "open"  # raised by a detector, not yet triaged
    confirmed = "confirmed"  # a regulator confirmed it: misconduct (credit records take it from here)
    dismissed = "dismissed"  # a regulator dismissed it, with a reason


class RiskWarning(Base):
    """One pattern a detector found: what, where, how strong, the evidence, and its triage."""

    __tablename__ = "risk_warning"
    __table_args__ = (
        UniqueConstraint("detector", "fingerprint"),
        Index("ix_risk_warning_status_kind", "status", "kind"),
        Index("ix_risk_warning_platform", "platform"),
    )

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(32))  # WarningKind
    platform: Mapped[str] = mapped_column(String(32))  # platform code the pattern happened on
    detector: Mapped[str] = mapped_column(String(64))
    detector_version: Mapped[str] = mapped_column(String(32))
    engine: Mapped[str] = mapped_column(String(16))  # duckdb | spark
    snapshot: Mapped[str] = mapped_column(String(64))  # newest committed lake batch the run could see
    fingerprint: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default=WarningStatus.open.value)
    triage_reason: Mapped[str | None] = mapped_column(String(500))
    triaged_by: Mapped[str | None] = mapped_column(String(200))
    triaged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    seen_count: Mapped[int] = mapped_column(Integer, default=1)


class WarningMember(Base):
    """A shop, account or evidence record of a warning (``seq``: its place in the warning's sorted list)."""

    __tablename__ = "warning_member"
    __table_args__ = (
        # Look-ups by a shop's or account's id, with or without its platform.
        Index("ix_warning_member_ref_platform", "ref", "platform"),
        Index("ix_warning_member_subject_id", "subject_id"),
    )

    warning_id: Mapped[str] = mapped_column(ForeignKey("risk_warning.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    role: Mapped[str] = mapped_column(String(16))  # MemberRole: shop | account | object
    platform: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(128))  # the platform's own id
    object_kind: Mapped[str | None] = mapped_column(String(16))  # orders | reviews | parcels | ...
    linked: Mapped[bool] = mapped_column(Boolean, default=False)  # evidence only (Member.linked)
    shop_id: Mapped[str | None] = mapped_column(ForeignKey("shop.id"))  # shops the registry knows
    subject_id: Mapped[str | None] = mapped_column(ForeignKey("subject.id"))  # the shop's operator
