"""Request and response models of credit records and commitments."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from ecredit.kit.policy import policy
from ecredit.kit.schemas import NO_NUL, TEXT, ULID, InputSchema, Int, Schema
from ecredit.records.models import CommitmentStatus, Effect, RecordAction, RecordKind, Severity
from ecredit.records.rules import PENALTY_TYPE_CODES

Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=TEXT)]
Text2000 = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=TEXT)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=TEXT)]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=TEXT)]
Id = Annotated[str, StringConstraints(min_length=26, max_length=26, pattern=ULID)]
Summary = Annotated[str, StringConstraints(max_length=4000, pattern=NO_NUL)]
EvidenceValue = Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)]

PenaltyType = enum.StrEnum("PenaltyType", {code: code for code in sorted(PENALTY_TYPE_CODES)})
CommitmentType = enum.StrEnum(
    "CommitmentType", {key: key for key in policy("records").value("commitment_types")}
)
"""The commitment types of ``policy/records.toml`` (``[commitment_types]``)."""


class CreatableKind(enum.StrEnum):
    """Kinds a regulator records directly; the others come from their own services (commitments,
    confirmed warnings, platform penalties)."""

    administrative_penalty = "administrative_penalty"
    administrative_licence = "administrative_licence"
    complaint_outcome = "complaint_outcome"
    award = "award"
    list_entry = "list_entry"


class RecordCreate(InputSchema):
    subject_id: Id
    kind: CreatableKind
    title: Text200
    source_department: Text200
    decided_on: dt.date
    legal_basis: Text2000 | None = None
    summary: Summary = ""
    source_ref: Ref | None = Field(default=None, description="Document number, e.g. 行政处罚决定书文号.")
    severity: Severity | None = Field(default=None, description="The class the source gives; wins.")
    regime: Literal["samr", "ndrc"] | None = Field(
        default=None, description="Publicity regime; by default from the department's name."
    )
    penalty_types: list[PenaltyType] = Field(default_factory=list, max_length=10)
    procedure: Literal["ordinary", "simplified"] = "ordinary"
    amount_cents: Int | None = Field(default=None, ge=0, le=10**15, description="Fine in fen (分).")
    ban_until: dt.date | None = None
    sector: Annotated[str, StringConstraints(max_length=32, pattern=r"^[a-z_]{1,32}$")] | None = None
    specific_serious: bool = False
    valid_until: dt.date | None = Field(default=None, description="A licence's 有效期至.")
    publicity_until: dt.date | None = Field(default=None, description="List entries: the list's term.")
    list_colour: Literal["red", "black"] | None = None
    outcome: Literal["upheld", "rejected", "settled"] | None = None
    evidence: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)], EvidenceValue
    ] = Field(default_factory=dict, max_length=20)


class RecordWithdraw(InputSchema):
    reason: Reason
    basis_revoked_on: dt.date = Field(description="When the decision was revoked, changed or found void.")


class RecordRepair(InputSchema):
    reason: Reason
    commitment_id: Id | None = Field(default=None, description="The subject's signed repair commitment.")


class RecordRestore(InputSchema):
    reason: Reason


class RecordCorrect(InputSchema):
    """A correction of a record's facts (the source corrected its decision data); fields left out keep
    their values. Class, rule and window are computed again."""

    reason: Reason
    title: Text200 | None = None
    summary: Summary | None = None
    legal_basis: Text2000 | None = None
    decided_on: dt.date | None = None
    severity: Severity | None = None
    penalty_types: list[PenaltyType] | None = Field(default=None, max_length=10)
    amount_cents: Int | None = Field(default=None, ge=0, le=10**15)
    ban_until: dt.date | None = None
    valid_until: dt.date | None = None
    publicity_until: dt.date | None = Field(default=None, description="List entries: the list's term.")


class PlatformPenaltyCreate(InputSchema):
    """A platform's own measure against one of its shops (电子商务法 Art. 36: announced promptly)."""

    shop_id: Id
    measure: Literal["warning", "suspension", "termination"]
    ref: Ref = Field(description="The platform's own id of the measure (idempotency).")
    decided_on: dt.date
    rule: Text200 = Field(description="The platform rule the shop broke.")
    reason: Text2000
    evidence: dict[
        Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)], EvidenceValue
    ] = Field(default_factory=dict, max_length=20)


class RecordEventRead(Schema):
    seq: int
    action: RecordAction
    actor: str
    role: str
    reason: str
    details: dict[str, Any]
    at: dt.datetime


class RecordRead(Schema):
    id: str
    subject_id: str
    kind: RecordKind
    effect: Effect
    severity: Severity | None
    title: str
    summary: str
    legal_basis: str
    source_department: str
    source_ref: str | None
    decided_on: dt.date
    publicity_from: dt.date
    publicity_min_until: dt.date
    publicity_until: dt.date | None
    rule: str
    policy_version: str
    amount_cents: int | None
    status: Literal["active", "expired", "repaired", "withdrawn"]
    evidence: dict[str, Any]
    details: dict[str, Any]
    created_at: dt.datetime
    updated_at: dt.datetime


class RecordDetail(RecordRead):
    history: list[RecordEventRead]


class PublicRecordRead(Schema):
    """What the public sees of a record inside its publicity window."""

    id: str
    kind: RecordKind
    effect: Effect
    severity: Severity | None
    title: str
    summary: str
    legal_basis: str
    source_department: str
    source_ref: str | None
    decided_on: dt.date
    publicity_until: dt.date | None
    amount_cents: int | None


class RecordList(Schema):
    """A subject's records: every record with its status for staff, the public ones for everyone else."""

    subject_id: str
    view: Literal["internal", "public"]
    items: list[RecordRead] | list[PublicRecordRead]


class CommitmentCreate(InputSchema):
    subject_id: Id
    type: CommitmentType
    text: Text2000
    source_department: Text200
    signed_on: dt.date
    due_on: dt.date | None = None


class CommitmentFulfil(InputSchema):
    on: dt.date
    note: Reason | None = None


class CommitmentBreach(InputSchema):
    on: dt.date
    reason: Reason
    legal_basis: Text2000 | None = None


class CommitmentRead(Schema):
    id: str
    subject_id: str
    type: str
    type_label: str
    text: str
    signed_on: dt.date
    due_on: dt.date | None
    status: CommitmentStatus
    closed_on: dt.date | None
    close_reason: str | None
    record_id: str | None
    outcome_record_id: str | None
    policy_version: str
    signed_by: str
    created_at: dt.datetime


class WithdrawalRead(Schema):
    record: RecordRead
    deadline: dt.date | None = Field(description="The legal deadline; null when the calendar is unknown.")
    late: bool
    deadline_unknown: str | None = None
