"""The business register (enterprise credit publicity system data), verification results and marks."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ecredit.db import Base
from ecredit.kit.clock import utc_now
from ecredit.kit.ids import new_id
from ecredit.kit.types import UTCDateTime


class RegisterEntry(Base):
    """One market entity as registered (国家企业信用信息公示系统 registration data)."""

    __tablename__ = "register_entry"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    legal_rep_name: Mapped[str | None] = mapped_column(String(100))
    entity_type: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    registered_date: Mapped[dt.date | None] = mapped_column(Date)
    region_code: Mapped[str | None] = mapped_column(String(6))
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    address_masked: Mapped[str | None] = mapped_column(String(200))
    authority: Mapped[str | None] = mapped_column(String(200))
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Verification(Base):
    """One real-name verification of a shop's operator: the outcome and every reason behind it."""

    __tablename__ = "verification"
    __table_args__ = (Index("ix_verification_shop_id_checked_at", "shop_id", "checked_at"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"))
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"))
    outcome: Mapped[str] = mapped_column(String(16))  # verified | rejected
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    checks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    policy_ref: Mapped[str] = mapped_column(String(64))
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class Mark(Base):
    """A trusted certification mark (可信认证标识) issued to a verified shop, with its signed token."""

    __tablename__ = "mark"
    __table_args__ = (Index("ix_mark_shop_id", "shop_id"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    shop_id: Mapped[str] = mapped_column(ForeignKey("shop.id"))
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"))
    platform_id: Mapped[str] = mapped_column(ForeignKey("platform.id"))
    verification_id: Mapped[str] = mapped_column(ForeignKey("verification.id"))
    level: Mapped[str] = mapped_column(String(8))
    key_id: Mapped[str] = mapped_column(String(40))
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(String(200))
    token: Mapped[str] = mapped_column(Text)
