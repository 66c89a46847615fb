"""Request and response models of the subject registry (personal fields are masked in every read model)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, WithJsonSchema

from ecredit import identifiers
from ecredit.kit.schemas import TEXT, ULID, InputSchema, Schema
from ecredit.subjects.models import ORGANISATION_KINDS, PERSON_KINDS, RelationKind, SubjectKind

_PHONE = re.compile(r"^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$")
_PLATFORM_CODE = r"^[a-z][a-z0-9_-]{1,31}$"


def _validated(kind: str):
    def check(value: str) -> str:
        result = identifiers.check(value, kind)
        if not result.valid:
            raise ValueError("; ".join(f.message for f in result.errors))
        return result.normalized

    return check


def normalize_phone(value: str) -> str:
    """NFKC, drop spaces, and require a mainland mobile or a landline with area code."""
    value = unicodedata.normalize("NFKC", value).replace(" ", "")
    if not _PHONE.match(value):
        raise ValueError("not a mainland mobile (11 digits starting 1[3-9]) or a landline with area code")
    return value


def _documented(fmt: str, description: str) -> WithJsonSchema:
    """The OpenAPI form of an identifier: a named ``format``, since a check character or a table look-up
    is beyond ``pattern``. Without it the document promised that any string up to the length was valid."""
    return WithJsonSchema({"type": "string", "format": fmt, "description": description})


_LENIENT = " Full-width characters and surrounding spaces are normalised (NFKC) first."
Uscc = Annotated[
    str,
    StringConstraints(max_length=40),
    AfterValidator(_validated("uscc")),
    _documented(
        "uscc", "Unified social credit code (GB 32100: 18 characters, valid check character)." + _LENIENT
    ),
]
IdNumber = Annotated[
    str,
    StringConstraints(max_length=40),
    AfterValidator(_validated("ric")),
    _documented(
        "ric",
        "Citizen ID number (GB 11643: 18 characters with a valid check character and birth date, "
        "or 15 digits)." + _LENIENT,
    ),
]
RegionCode = Annotated[
    str,
    StringConstraints(max_length=12),
    AfterValidator(_validated("region")),
    _documented("gb2260", "Administrative division code (GB/T 2260: 6 digits, a known division)." + _LENIENT),
]
Phone = Annotated[
    str,
    StringConstraints(max_length=20),
    AfterValidator(normalize_phone),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _PHONE.pattern,
            "description": "Mainland mobile, or landline with area code." + _LENIENT,
        }
    ),
]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=TEXT)]
Address = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=TEXT)]
PlatformCode = Annotated[str, StringConstraints(pattern=_PLATFORM_CODE)]
ShopKey = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]
Category = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=TEXT)]
RowId = Annotated[str, StringConstraints(min_length=26, max_length=26, pattern=ULID)]


def _kind_rule(kinds: frozenset[SubjectKind], required: str, forbidden: str) -> dict[str, object]:
    return {
        "if": {"required": ["kind"], "properties": {"kind": {"enum": sorted(k.value for k in kinds)}}},
        "then": {
            "required": [required],
            "properties": {required: {"type": "string"}, forbidden: {"type": "null"}},
        },
    }


class SubjectCreate(InputSchema):
    """Organisations carry a USCC and no ID number; natural persons an ID number and no USCC."""

    # Documents the rule the service enforces (``_check_identity_fields``), so a request the document
    # calls valid is one the server accepts.
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                _kind_rule(ORGANISATION_KINDS, "uscc", "id_number"),
                _kind_rule(PERSON_KINDS, "id_number", "uscc"),
            ]
        }
    )

    kind: SubjectKind
    name: Name
    uscc: Uscc | None = None
    id_number: IdNumber | None = None
    phone: Phone | None = None
    address: Address | None = None
    region_code: RegionCode | None = None


class SubjectUpdate(InputSchema):
    name: Name = None  # type: ignore[assignment]  # may be left out, never null
    phone: Phone | None = None
    address: Address | None = None
    region_code: RegionCode | None = None


class SubjectRead(Schema):
    id: str
    kind: SubjectKind
    name: str
    uscc: str | None = None
    id_number: str | None = Field(default=None, description="Masked: first 6 and last 4 characters.")
    phone: str | None = Field(default=None, description="Masked: 138****5678.")
    address: str | None = Field(default=None, description="Masked below county level.")
    region_code: str | None = None
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime


class PlatformCreate(InputSchema):
    code: PlatformCode
    name: Name
    uscc: Uscc


class PlatformRead(Schema):
    id: str
    code: str
    name: str
    uscc: str | None
    subject_id: str


class ShopCreate(InputSchema):
    platform: PlatformCode
    platform_shop_id: ShopKey
    name: Name
    category: Category | None = None
    operator_id: RowId
    region_code: RegionCode | None = None
    phone: Phone | None = None
    address: Address | None = None
    opened_date: dt.date | None = None


class ShopUpdate(InputSchema):
    name: Name = None  # type: ignore[assignment]  # may be left out, never null
    category: Category | None = None
    region_code: RegionCode | None = None
    phone: Phone | None = None
    address: Address | None = None
    status: Literal["open", "closed"] = None  # type: ignore[assignment]  # may be left out, never null


class ShopRead(Schema):
    id: str
    platform: str
    platform_shop_id: str
    name: str
    category: str | None
    operator_id: str
    region_code: str | None
    phone: str | None = Field(default=None, description="Masked.")
    address: str | None = Field(default=None, description="Masked below county level.")
    opened_date: dt.date | None
    status: str
    verification_status: str
    verified_until: dt.datetime | None


class RelationCreate(InputSchema):
    kind: RelationKind
    holder_id: RowId
    object_id: RowId
    started_date: dt.date | None = None


class RelationRead(Schema):
    id: str
    kind: RelationKind
    holder_id: str
    object_id: str
    started_date: dt.date | None
    ended_date: dt.date | None


class PersonalDataRead(Schema):
    """Personal fields in clear: only for an authorised role with a stated purpose, and audited."""

    subject_id: str
    purpose: str
    id_number: str | None
    phone: str | None
    address: str | None
