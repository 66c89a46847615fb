"""Request and response models of the red and black lists."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from ecredit.kit.schemas import NO_NUL, TEXT, ULID, InputSchema, Schema
from ecredit.lists.models import DocumentKind, EntryState, ObjectionStatus, RepairStatus

Reason = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=TEXT)]
Text2000 = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=TEXT)]
Id = Annotated[str, StringConstraints(min_length=26, max_length=26, pattern=ULID)]
TypeKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]{0,63}$")]
EvidenceKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_NUL)]
EvidenceValue = Annotated[str, StringConstraints(max_length=500, pattern=NO_NUL)]
Evidence = dict[EvidenceKey, EvidenceValue]


# ------------------------------------------------------------------------------------------- inputs


class EntryNominate(InputSchema):
    subject_id: Id
    list_type: TypeKey = Field(description="A list type key of GET /api/v1/lists/types.")
    reason: Text2000
    basis_record_ids: list[Id] = Field(default_factory=list, max_length=50)
    evidence: Evidence = Field(default_factory=dict, max_length=20)


class StepBody(InputSchema):
    reason: Reason


class DefenceRecord(InputSchema):
    statement: Text2000 = Field(description="The party's statement and defence (陈述申辩), masked.")
    filed_on: dt.date
    hearing_requested: bool = False


class EntryWithdraw(InputSchema):
    reason: Reason
    basis_revoked_on: dt.date = Field(description="When the basis was revoked, changed or found void.")


class EntryDrop(InputSchema):
    reason: Reason
    ground: Literal["no_basis", "no_intent", "other"] = Field(
        description="no_intent: the party proved there was no subjective intent (SAMR Order 44 Art. 12)."
    )


class ObjectionCreate(InputSchema):
    grounds: Text2000
    filed_on: dt.date


class ObjectionVerify(InputSchema):
    note: Reason


class ObjectionAnswer(InputSchema):
    upheld: bool
    answer: Text2000
    remedy: Literal["withdraw", "correct"] | None = Field(
        default=None, description="Upheld objections: withdraw the entry or correct its reasons."
    )
    correction: Text2000 | None = Field(default=None, description="The corrected reasons (remedy correct).")


class RepairCreate(InputSchema):
    target_type: Literal["list_entry", "record"]
    target_id: Id
    statement: Text2000 = Field(description="What was corrected and which duties were fulfilled.")
    duties_fulfilled: bool
    duties_evidence: Evidence = Field(default_factory=dict, max_length=20)
    commitment_id: Id | None = Field(default=None, description="The subject's signed repair commitment.")


class RepairDecide(InputSchema):
    approve: bool
    reason: Reason


# ------------------------------------------------------------------------------------------- outputs


class MeasureRead(Schema):
    key: str
    name_zh: str
    name_en: str
    effect: str
    target: str
    actions: dict[str, str]
    legal_basis: str
    source: str
    platform_order: str | None
    order_deadline_workdays: int | None


class ListTypeRead(Schema):
    key: str
    name_zh: str
    name_en: str
    colour: str
    issuing_body: str
    department: str
    legal_basis: str
    criteria: str
    source: str
    steps: list[str]
    procedure: list[str] = Field(description="The steps from nomination to publication, in order.")
    hearing: bool
    defence_window_workdays: int
    duration_months: int
    early_removal_after_months: int | None
    repairable: bool
    repair_conditions: list[str]
    rule: dict[str, Any] | None
    escalates_to: str | None
    escalate_after_months: int | None
    measures: list[MeasureRead]


class CatalogueRead(Schema):
    version: str
    settings: dict[str, Any]
    types: list[ListTypeRead]


class EntryEventRead(Schema):
    seq: int
    action: str
    from_state: str | None
    to_state: str
    actor: str
    role: str
    reason: str
    details: dict[str, Any]
    at: dt.datetime


class DocumentRead(Schema):
    id: str
    kind: DocumentKind
    number: str
    media_type: str
    sha256: str
    created_by: str
    created_at: dt.datetime


class ObjectionRead(Schema):
    id: str
    entry_id: str
    filed_on: dt.date
    filed_by: str
    grounds: str
    status: ObjectionStatus
    due_on: dt.date | None
    due_unknown: bool
    answer: str | None
    answered_on: dt.date | None
    answered_by: str | None


class ObjectionAnswered(Schema):
    objection: ObjectionRead
    document: DocumentRead


class RepairRead(Schema):
    id: str
    target_type: str
    target_id: str
    subject_id: str
    channel: str
    applied_on: dt.date
    applied_by: str
    statement: str
    commitment_id: str | None
    conditions: dict[str, Any]
    status: RepairStatus
    due_on: dt.date | None
    due_unknown: bool
    decided_on: dt.date | None
    decided_by: str | None
    decision_reason: str | None
    policy_version: str


class EntryRead(Schema):
    id: str
    list_type: str
    colour: str
    subject_id: str
    state: EntryState
    nominated_by: str
    nomination_source: str
    basis_record_ids: list[str]
    evidence: dict[str, Any]
    reason: str
    department: str
    region_code: str | None
    due_on: dt.date | None
    due_unknown: bool
    nominated_on: dt.date
    notified_on: dt.date | None
    defence_until: dt.date | None
    decided_on: dt.date | None
    higher_approval_by: str | None
    published_on: dt.date | None
    effective_until: dt.date | None
    early_removal_from: dt.date | None
    closed_on: dt.date | None
    close_reason: str | None
    record_id: str | None
    policy_version: str
    next_steps: list[str] = Field(description="The steps the entry's list type allows from its state.")
    created_at: dt.datetime
    updated_at: dt.datetime


class EntryDetail(EntryRead):
    history: list[EntryEventRead]
    documents: list[DocumentRead]
    objections: list[ObjectionRead]
    repair_applications: list[RepairRead]


class StepResult(Schema):
    entry: EntryRead
    document: DocumentRead | None = None


class WithdrawalResult(Schema):
    entry: EntryRead
    deadline: dt.date | None = Field(description="The legal deadline; null when the calendar is unknown.")
    late: bool
    deadline_unknown: str | None = None


class PublicEntryRead(Schema):
    """What the public sees of an entry in force: the list, its basis and term, never the procedure."""

    id: str
    list_type: str
    list_name: str
    colour: str
    issuing_body: str
    legal_basis: str
    reason: str
    published_on: dt.date
    effective_until: dt.date | None


class PublicEntryList(Schema):
    subject_id: str
    items: list[PublicEntryRead]


class QueueItemRead(Schema):
    kind: str
    object_type: str
    object_id: str
    entry_id: str | None
    subject_id: str
    state: str
    due_on: dt.date | None
    due_unknown: bool
    overdue_workdays: int | None


class ExpiryResult(Schema):
    today: dt.date
    expired: list[str]
    escalated: list[dict[str, str]]
