"""Request and response models of the check API and the enforcement orders (no personal data in any read
model: an ID number only ever comes back masked, a natural person's name never)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, WithJsonSchema, model_validator

from ecredit import identifiers
from ecredit.kit.schemas import TEXT, ULID, InputSchema, Schema
from ecredit.lists.catalogue import catalogue
from ecredit.subjects.schemas import Uscc

CHECK_LIMIT = int(catalogue().settings["check_batch_limit"])


def _id_number(value: str) -> str:
    # The reasons by code only: the validator's messages quote parts of the number (its birth date).
    result = identifiers.check_ric(value)
    if not result.valid:
        raise ValueError("not a valid citizen ID number (" + ", ".join(f.code for f in result.errors) + ")")
    return result.normalized  # type: ignore[return-value]


IdNumber = Annotated[
    str,
    StringConstraints(max_length=40),
    AfterValidator(_id_number),
    WithJsonSchema(
        {
            "type": "string",
            "format": "ric",
            "writeOnly": True,
            "description": "Citizen ID number (GB 11643), sent in the body only; answered masked.",
        }
    ),
]
SubjectId = Annotated[str, StringConstraints(min_length=26, max_length=26, pattern=ULID)]


class CheckItem(InputSchema):
    """One subject to check: exactly one of ``uscc``, ``id_number`` and ``subject_id``."""

    uscc: Uscc | None = None
    id_number: IdNumber | None = None
    subject_id: SubjectId | None = None

    @model_validator(mode="after")
    def _one_key(self) -> CheckItem:
        given = [k for k in ("uscc", "id_number", "subject_id") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of uscc, id_number, subject_id")
        return self


CheckAction = enum.StrEnum("CheckAction", {key: key for key in sorted(catalogue().actions)})  # type: ignore[misc]
"""The check actions of ``policy/lists.toml`` (``check_actions``), as the document's enum."""


class CheckRequest(InputSchema):
    """The action and one or more subjects (ID numbers travel here, in the body, never in the URL)."""

    action: CheckAction = Field(description="A check action of policy/lists.toml `check_actions`.")
    subjects: list[CheckItem] = Field(min_length=1, max_length=CHECK_LIMIT)


class EntryRead(Schema):
    id: str
    subject_id: str
    list_type: str
    list_name_zh: str
    list_name_en: str
    colour: Literal["red", "black"]
    issuing_body: str
    legal_basis: str = Field(description="The list's legal basis.")
    published_on: dt.date | None
    effective_until: dt.date | None
    relation: str | None = Field(
        description="Null: the subject's own entry; else how a company's entry reaches it."
    )


class MeasureRead(Schema):
    measure: str
    name_zh: str
    name_en: str
    effect: Literal["punish", "reward"]
    target: str
    answer: Literal["restricted", "rewarded"]
    legal_basis: str = Field(description="The measure's legal basis.")
    entry_id: str
    list_type: str
    list_legal_basis: str
    via_subject_id: str | None
    relation: str | None


class RelatedRead(Schema):
    subject_id: str
    name: str | None
    uscc: str | None
    relation: str
    entry_ids: list[str]


class AnswerRead(Schema):
    index: int = Field(description="The subject's place in the request.")
    key: Literal["uscc", "id_number", "subject_id"]
    ref: str = Field(description="The key as given; an ID number masked.")
    answer: Literal["allowed", "restricted", "rewarded", "unknown"]
    subject_id: str | None
    kind: str | None
    name: str | None = Field(description="Market entities only; never a natural person's name.")
    uscc: str | None
    entries: list[EntryRead]
    measures: list[MeasureRead]
    related: list[RelatedRead]
    explanation: str


class DataVersionRead(Schema):
    catalogue: str
    lists_data: str
    as_of: dt.date
    stamp: str


class CheckCounts(Schema):
    allowed: int
    restricted: int
    rewarded: int
    unknown: int


class CheckResponse(Schema):
    action: str
    action_name: str
    data_version: DataVersionRead
    counts: CheckCounts
    results: list[AnswerRead]


class IncentiveRead(Schema):
    entry_id: str
    list_type: str
    list_name_zh: str
    published_on: dt.date | None
    effective_until: dt.date | None
    subject_id: str
    name: str | None
    uscc: str | None
    measures: list[MeasureRead]


class IncentivePage(Schema):
    items: list[IncentiveRead]
    next_cursor: str | None = None
    data_version: DataVersionRead


# ---------------------------------------------------------------- enforcement orders

Report = Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=TEXT)]


class OrderReport(InputSchema):
    """A platform's report: what it did (or undid), in words."""

    report: Report


class OrderRead(Schema):
    id: str
    entry_id: str
    list_type: str | None
    subject_id: str | None
    subject_name: str | None = Field(description="Market entities only.")
    platform: str
    shop_id: str | None
    platform_shop_id: str | None
    measure: str
    measure_name_zh: str | None
    order_kind: str
    status: Literal["issued", "completed", "lifted", "lift_confirmed"]
    issued_on: dt.date
    due_on: dt.date | None
    due_unknown: bool
    reported_on: dt.date | None
    late: bool | None = Field(description="Completion reported after the deadline (null: not reported).")
    overdue: bool = Field(description="Today is past a deadline with no report.")
    report: str | None
    lifted_on: dt.date | None
    lift_due_on: dt.date | None
    lift_reported_on: dt.date | None
    lift_late: bool | None
    legal_basis: str
    policy_version: str
