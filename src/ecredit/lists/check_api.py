"""REST routes of the check API (``POST /api/v1/check``) and the red-list incentives a platform's merchants
and a bank's customers get (``GET /api/v1/lists/incentives``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ecredit.kit.clock import today
from ecredit.kit.http import DbSession, ReadSession, problem_responses
from ecredit.kit.schemas import ULID
from ecredit.lists import check as service
from ecredit.lists.check_schemas import CheckRequest, CheckResponse, IncentivePage
from ecredit.security.http import caller, route_meta

router = APIRouter(prefix="/api/v1", tags=["lists"], responses=problem_responses(400, 401, 403, 422))


@router.post(
    "/check",
    response_model=CheckResponse,
    responses=problem_responses(413),
    openapi_extra=route_meta("lists.check"),
)
def check(principal: caller("lists.check"), body: CheckRequest, session: DbSession) -> CheckResponse:
    """May these subjects do this action? (联合奖惩: the "may subject X do Y?" check.)

    One subject or up to 10,000 (`check_batch_limit`), each by `uscc`, `id_number` (in the body only,
    answered masked) or `subject_id`. Each answer is `allowed`, `restricted` (a punishment measure of an
    entry in force names the action; it wins), `rewarded` (a red-list incentive names it) or `unknown` (no
    such subject), with the entries in force, the measures behind the answer and their legal basis, and for
    a person the listed companies that restrict it as legal representative. Every response carries the
    data version (catalogue version, lists data stamp, day) it was answered on. A bad item is refused with
    its index, field and reason (`subjects.3.uscc`), and nothing is answered.
    """
    result = service.check(session, principal, body.subjects, body.action.value, today())
    return CheckResponse.model_validate(result)


Limit = Annotated[int, Query(ge=1, le=200, description="Page size (at most 200).")]
Cursor = Annotated[
    str | None,
    Query(min_length=26, max_length=26, pattern=ULID, description="`next_cursor` of the previous page."),
]


@router.get(
    "/lists/incentives",
    response_model=IncentivePage,
    openapi_extra=route_meta("lists.incentives"),
)
def incentives(
    principal: caller("lists.incentives"), session: ReadSession, limit: Limit = 50, cursor: Cursor = None
) -> IncentivePage:
    """Red-list entries in force (守信激励) with their incentive measures: for a platform, its own
    merchants (priority in traffic, search and promotion); for banks, departments and staff, all of them."""
    items, next_cursor, version = service.incentives(session, principal, today(), cursor=cursor, limit=limit)
    return IncentivePage.model_validate({"items": items, "next_cursor": next_cursor, "data_version": version})
