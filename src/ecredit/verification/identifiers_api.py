"""REST route of the identifier checker (pure; no database)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import Field, StringConstraints

from ecredit import identifiers
from ecredit.kit.http import problem_responses
from ecredit.kit.schemas import TEXT, InputSchema, Schema
from ecredit.security.http import require, route_meta
from ecredit.security.masking import find_pii, mask_id_number
from ecredit.security.principals import Principal
from ecredit.security.ratelimit import limit

router = APIRouter(prefix="/api/v1", tags=["identifiers"], responses=problem_responses(400, 401, 422))


class IdentifierCheckRequest(InputSchema):
    values: list[Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=TEXT)]] = Field(
        min_length=1, max_length=1000
    )
    kind: Literal["auto", "uscc", "ric", "gtin", "region"] = "auto"


class FindingRead(Schema):
    code: str
    message: str


class IdentifierCheckRead(Schema):
    value: str
    kind: str
    valid: bool
    normalized: str | None
    errors: list[FindingRead]
    warnings: list[FindingRead]


@router.post(
    "/identifiers/check",
    response_model=list[IdentifierCheckRead],
    responses=problem_responses(429),
    dependencies=[Depends(limit("public"))],
    openapi_extra=route_meta("identifiers.check"),
)
def check_identifiers(
    principal: Annotated[Principal, Depends(require("identifiers.check"))], body: IdentifierCheckRequest
) -> list[IdentifierCheckRead]:
    """Validate USCCs, citizen ID numbers, GTINs or region codes: validity, normal form, reasons, warnings.

    Answers come in the order of `values`. Citizen ID numbers are personal data: the answer masks them
    (first 6 and last 4 characters), like every other output.
    """
    return [_read(identifiers.check(v, body.kind).to_dict()) for v in body.values]


def _read(answer: dict) -> IdentifierCheckRead:
    if answer["kind"] == "ric" or find_pii(answer["value"]):
        answer["value"] = (
            mask_id_number(answer["value"]) if answer["kind"] == "ric" else "*" * len(answer["value"])
        )
        if answer["normalized"]:
            answer["normalized"] = mask_id_number(answer["normalized"])
    return IdentifierCheckRead(**answer)
