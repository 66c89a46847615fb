"""REST intake: ``POST /api/v1/intake/{kind}`` for platforms, one route per kind of record."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from ecredit.intake import loads
from ecredit.intake.formats import KINDS, Kind, record_json_schema
from ecredit.intake.schemas import IntakeAccepted
from ecredit.kit.http import DbSession, problem_responses
from ecredit.security.http import require, route_meta
from ecredit.security.principals import Principal

router = APIRouter(prefix="/api/v1/intake", tags=["intake"])

ACTION = "intake.submit"
_DESCRIPTION = """\
Send a batch of **{kind}** records (record formats v1, `docs/data-formats.md`) for the caller's platform.

- Body: a JSON array of records (`application/json`), or JSON Lines (`application/x-ndjson`, one record per
  line). At most {max_records} records.
- `Idempotency-Key` (required, scoped to the platform): the same key with the same body gets the first
  answer again (same status and body, with `Idempotent-Replayed: true`); the same key with another body or
  kind gets 422; while the first request is still being processed, 409 with `Retry-After`.
- The batch is all or nothing: if any record is invalid, nothing is loaded and the 422 lists every invalid
  record as `errors[].field = "records[<index>].<field>"` with the reason.
- 201 means the records are durably in the event lake: their files are synced and the batch's manifest
  row is committed. A retry of a request whose answer was lost is safe with the same key.
"""


def _openapi(kind: Kind, max_records: int) -> dict[str, Any]:
    return route_meta(ACTION) | {
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": True,
                "description": "Unique per batch and platform, e.g. a UUID (1-255 visible ASCII characters).",
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 255,
                    "pattern": loads.KEY_PATTERN,
                },
            }
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": max_records,
                        "items": record_json_schema(kind),
                    }
                }
            },
        },
    }


def _route(kind: Kind) -> Any:
    async def submit(
        request: Request, principal: Annotated[Principal, Depends(require(ACTION))], session: DbSession
    ) -> Response:
        body = await request.body()
        answer = await run_in_threadpool(
            loads.submit,
            session.get_bind(),
            principal,
            kind.name,
            request.headers.get("idempotency-key"),
            body,
            request.headers.get("content-type"),
        )
        return Response(
            answer.body, status_code=answer.status, media_type=answer.media_type, headers=answer.headers
        )

    submit.__name__ = f"submit_{kind.name}"
    return submit


_max = loads.intake_settings().max_records
_RETRY_AFTER = {
    "Retry-After": {"description": "Seconds to wait before retrying", "schema": {"type": "integer"}}
}
for _kind in KINDS.values():
    _responses: dict[int | str, dict[str, Any]] = problem_responses(400, 401, 403, 409, 413, 415, 422)
    _responses[201] = {"model": IntakeAccepted, "description": "Accepted: the batch is durably in the lake"}
    _responses[409] = {**_responses[409], "headers": _RETRY_AFTER}
    router.add_api_route(
        f"/{_kind.name}",
        _route(_kind),
        methods=["POST"],
        status_code=201,
        response_model=None,
        responses=_responses,
        summary=f"Send a batch of {_kind.name}",
        description=_DESCRIPTION.format(kind=_kind.name, max_records=_max),
        openapi_extra=_openapi(_kind, _max),
        name=f"intake_{_kind.name}",
    )
