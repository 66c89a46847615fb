"""Request and response models of risk warnings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import Field

from ecredit.kit.schemas import TEXT, InputSchema, Schema
from ecredit.monitoring.findings import MemberRole, WarningKind
from ecredit.monitoring.models import WarningStatus

REASON_MAX = 500


class MemberRead(Schema):
    role: MemberRole
    platform: str = Field(description="Code of the platform the member belongs to.")
    ref: str = Field(description="The platform's own id of the shop, account or record.")
    object_kind: str | None = Field(
        default=None, description="For evidence records: orders, reviews, parcels, payments, parcel_scans."
    )
    linked: bool = Field(
        default=False,
        description="Named only because the warning's subject links to it (the earlier shop of a "
        "re-opened shop), not a party to the pattern.",
    )
    shop_id: str | None = Field(default=None, description="The registry's id of a shop member.")
    subject_id: str | None = Field(default=None, description="The operator of a shop member.")


class MemberCounts(Schema):
    shops: int
    accounts: int
    objects: int


class WarningRead(Schema):
    """A risk warning as listed: what, where, how strong, its provenance and triage."""

    id: str
    kind: WarningKind
    platform: str
    score: float = Field(description="Strength of the pattern on the detector's scale (higher = worse).")
    confidence: float = Field(description="The detector's estimate (0..1) that the pattern is misconduct.")
    summary: str = Field(description="The pattern in words.")
    status: WarningStatus
    detector: str
    detector_version: str
    engine: str
    snapshot: str = Field(description="The newest committed lake batch the detector run could see.")
    triage_reason: str | None
    triaged_by: str | None
    triaged_at: dt.datetime | None
    created_at: dt.datetime
    last_seen_at: dt.datetime = Field(description="When a detector run last found the pattern.")
    seen_count: int = Field(description="How many detector runs found the pattern.")
    subject_ids: list[str] = Field(
        description="Operators of the warning's shops, as the registry knows them."
    )
    member_counts: MemberCounts


class WarningDetail(WarningRead):
    """A risk warning with its evidence: structured details and every member."""

    details: dict[str, Any]
    members: list[MemberRead]


class WarningConfirm(InputSchema):
    reason: str | None = Field(default=None, min_length=1, max_length=REASON_MAX, pattern=TEXT)


class WarningDismiss(InputSchema):
    reason: str = Field(min_length=1, max_length=REASON_MAX, pattern=TEXT)


class WarningReopen(InputSchema):
    reason: str = Field(min_length=1, max_length=REASON_MAX, pattern=TEXT)
