"""REST routes of risk warnings under /api/v1: list, read, confirm, dismiss, re-open."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BeforeValidator

from ecredit.kit.http import DbSession, ReadSession, RowIdPath, problem_responses
from ecredit.kit.schemas import NO_NUL, ULID, Page
from ecredit.monitoring import service
from ecredit.monitoring.findings import WarningKind
from ecredit.monitoring.models import WarningStatus
from ecredit.monitoring.schemas import (
    WarningConfirm,
    WarningDetail,
    WarningDismiss,
    WarningRead,
    WarningReopen,
)
from ecredit.security.http import caller, route_meta

router = APIRouter(prefix="/api/v1", tags=["warnings"], responses=problem_responses(400, 401, 403, 422))


WarningId = RowIdPath
Limit = Annotated[int, Query(ge=1, le=200, description="Page size (at most 200).")]
Cursor = Annotated[
    str | None,
    Query(min_length=26, max_length=26, pattern=ULID, description="`next_cursor` of the previous page."),
]
PlatformCode = r"^[a-z][a-z0-9_-]{1,31}$"
# RFC 3339 date-time with its offset, as the document's ``format: date-time`` says; pydantic alone would
# also take a number ("0.5") as a Unix time.
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: object) -> object:
    if isinstance(value, str) and not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 date-time with its offset, e.g. 2026-01-31T08:00:00+08:00")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]


def _ref(description: str):
    return Annotated[str | None, Query(min_length=1, max_length=128, pattern=NO_NUL, description=description)]


@router.get(
    "/warnings",
    response_model=Page[WarningRead],
    openapi_extra=route_meta("warnings.read"),
)
def list_warnings(
    principal: caller("warnings.read"),
    session: ReadSession,
    kind: WarningKind | None = None,
    status: WarningStatus | None = None,
    platform: Annotated[
        str | None, Query(pattern=PlatformCode, description="The platform the pattern happened on.")
    ] = None,
    shop: _ref("A member shop's platform id (on `platform` when given).") = None,
    account: _ref("A member account's platform id (on `platform` when given).") = None,
    subject_id: Annotated[
        str | None,
        Query(min_length=26, max_length=26, pattern=ULID, description="The operator of one of its shops."),
    ] = None,
    min_score: Annotated[float | None, Query(allow_inf_nan=False, description="Score at least.")] = None,
    created_from: Annotated[Instant | None, Query(description="Created at or after.")] = None,
    created_to: Annotated[Instant | None, Query(description="Created before.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[WarningRead]:
    """Risk warnings, newest first, filtered by every parameter given.

    A regulator sees the warnings with a shop in the regulator's region, a platform those that name one
    of its own shops or accounts (and only its own members), an administrator all of them.
    """
    filters = service.WarningFilters(
        kind=kind,
        status=status,
        platform=platform,
        shop=shop,
        account=account,
        subject_id=subject_id,
        min_score=min_score,
        created_from=created_from,
        created_to=created_to,
    )
    items, next_cursor = service.list_warnings(session, principal, filters, cursor=cursor, limit=limit)
    return Page[WarningRead](items=items, next_cursor=next_cursor)


@router.get(
    "/warnings/{warning_id}",
    response_model=WarningDetail,
    responses=problem_responses(404),
    openapi_extra=route_meta("warnings.read"),
)
def get_warning(
    principal: caller("warnings.read"), warning_id: WarningId, session: ReadSession
) -> WarningDetail:
    """One warning with its evidence: the structured details and every shop, account and record."""
    return service.get_warning(session, principal, warning_id)


@router.post(
    "/warnings/{warning_id}/confirm",
    response_model=WarningDetail,
    responses=problem_responses(404, 409),
    openapi_extra=route_meta("warnings.triage"),
)
def confirm_warning(
    principal: caller("warnings.triage"), warning_id: WarningId, body: WarningConfirm, session: DbSession
) -> WarningDetail:
    """Confirm an open warning as misconduct (the reason is optional); 409 when it is already triaged."""
    warning = service.confirm_warning(session, principal, warning_id, reason=body.reason)
    return service.get_warning(session, principal, warning.id)


@router.post(
    "/warnings/{warning_id}/dismiss",
    response_model=WarningDetail,
    responses=problem_responses(404, 409),
    openapi_extra=route_meta("warnings.triage"),
)
def dismiss_warning(
    principal: caller("warnings.triage"), warning_id: WarningId, body: WarningDismiss, session: DbSession
) -> WarningDetail:
    """Dismiss an open warning; the reason is required. 409 when it is already triaged."""
    warning = service.dismiss_warning(session, principal, warning_id, reason=body.reason)
    return service.get_warning(session, principal, warning.id)


@router.post(
    "/warnings/{warning_id}/reopen",
    response_model=WarningDetail,
    responses=problem_responses(404, 409),
    openapi_extra=route_meta("warnings.triage"),
)
def reopen_warning(
    principal: caller("warnings.triage"), warning_id: WarningId, body: WarningReopen, session: DbSession
) -> WarningDetail:
    """Re-open a confirmed or dismissed warning; the reason is required. 409 when it is open."""
    warning = service.reopen_warning(session, principal, warning_id, reason=body.reason)
    return service.get_warning(session, principal, warning.id)
