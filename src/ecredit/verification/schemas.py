"""Response models of verification, the business register and marks."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import Field

from ecredit.kit.schemas import TEXT, InputSchema, Schema


class CheckRead(Schema):
    code: str
    passed: bool
    message: str
    blocking: bool


class VerificationRead(Schema):
    id: str
    shop_id: str
    subject_id: str
    outcome: Literal["verified", "rejected"]
    reasons: list[CheckRead]
    checks: list[CheckRead]
    policy_ref: str
    checked_at: dt.datetime
    expires_at: dt.datetime | None
    mark_token: str | None = None


class RegisterEntryRead(Schema):
    uscc: str
    name: str
    legal_rep_name: str | None
    entity_type: str | None
    status: str
    registered_date: dt.date | None
    region_code: str | None
    address: str | None = Field(default=None, description="Masked below county level.")
    authority: str | None


class MarkRead(Schema):
    id: str
    shop_id: str
    subject_id: str
    level: str
    key_id: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    revoked_reason: str | None
    token: str


class MarkCheckRead(Schema):
    """The public answer about a presented mark."""

    status: Literal["valid", "revoked", "expired", "forged"]
    reason: str
    payload: dict[str, Any] | None = None
    shop_name: str | None = None
    subject_name: str | None = None
    issued_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


class MarkRevoke(InputSchema):
    reason: str = Field(min_length=1, max_length=200, pattern=TEXT)
