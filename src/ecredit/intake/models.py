"""The idempotency records of REST intake (RELIABILITY.md C8).

One row per (platform, Idempotency-Key). A request first *claims* its key in a short committed transaction
(state ``processing``, an owner token and a lease); it then validates, writes its files and, in one
transaction, completes the claim with its answer and the lake manifest rows. Completion is fenced by the
owner token, so a request whose lease was taken over after it stalled can never commit a second copy.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ecredit.db import Base
from ecredit.kit.clock import utc_now
from ecredit.kit.ids import new_id
from ecredit.kit.types import UTCDateTime


class IntakeRequest(Base):
    __tablename__ = "intake_request"
    __table_args__ = (UniqueConstraint("platform_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    platform_id: Mapped[str] = mapped_column(ForeignKey("platform.id"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of kind, media type and body
    state: Mapped[str] = mapped_column(String(16))  # processing | done
    owner: Mapped[str] = mapped_column(String(32))  # the token of the request holding the claim
    lease_until: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[str | None] = mapped_column(Text)  # the JSON body of the first answer
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("lake_batch.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
