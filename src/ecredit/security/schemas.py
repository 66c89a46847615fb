"""API models of the security module."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field

from ecredit.kit.schemas import TEXT, InputSchema, Schema


class ApprovalRead(Schema):
    """A request that waits for (or got) a second person's decision."""

    id: str
    action: str
    object_type: str
    object_id: str
    params: dict[str, Any]
    reason: str
    state: Literal["pending", "approved", "rejected", "lapsed"]
    requested_by: str
    requested_at: dt.datetime
    expires_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_note: str | None


class ApprovalDecision(InputSchema):
    note: str | None = Field(default=None, min_length=1, max_length=500, pattern=TEXT)


class ApprovalRejection(InputSchema):
    note: str = Field(min_length=1, max_length=500, pattern=TEXT)
