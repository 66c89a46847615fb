"""REST routes of the platform enforcement orders: a platform lists and answers its own, staff follow the
overdue ones."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ecredit.kit.clock import today
from ecredit.kit.http import DbSession, ReadSession, RowIdPath, problem_responses
from ecredit.kit.schemas import ULID, Page
from ecredit.lists import enforcement as service
from ecredit.lists.check_schemas import OrderRead, OrderReport
from ecredit.lists.models import OrderStatus
from ecredit.security.http import caller, route_meta

router = APIRouter(prefix="/api/v1", tags=["orders"], responses=problem_responses(400, 401, 403, 422))


Limit = Annotated[int, Query(ge=1, le=200, description="Page size (at most 200).")]
Cursor = Annotated[
    str | None,
    Query(min_length=26, max_length=26, pattern=ULID, description="`next_cursor` of the previous page."),
]


@router.get("/orders", response_model=Page[OrderRead], openapi_extra=route_meta("orders.read"))
def list_orders(
    principal: caller("orders.read"),
    session: ReadSession,
    status: OrderStatus | None = None,
    overdue: Annotated[bool, Query(description="Only orders past a deadline with no report.")] = False,
    entry_id: Annotated[str | None, Query(min_length=26, max_length=26, pattern=ULID)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[OrderRead]:
    """Enforcement orders, oldest first: a platform sees its own, staff every platform's."""
    items, next_cursor = service.list_orders(
        session,
        principal,
        today=today(),
        status=status.value if status else None,
        overdue=overdue,
        entry_id=entry_id,
        cursor=cursor,
        limit=limit,
    )
    return Page[OrderRead](items=[OrderRead.model_validate(i) for i in items], next_cursor=next_cursor)


@router.get("/orders/overdue", response_model=Page[OrderRead], openapi_extra=route_meta("orders.overdue"))
def overdue_orders(
    principal: caller("orders.overdue"), session: ReadSession, limit: Limit = 50, cursor: Cursor = None
) -> Page[OrderRead]:
    """Every platform's orders past their deadline (to carry out, or to undo) with no report yet."""
    items, next_cursor = service.overdue_orders(session, principal, today=today(), cursor=cursor, limit=limit)
    return Page[OrderRead](items=[OrderRead.model_validate(i) for i in items], next_cursor=next_cursor)


@router.post(
    "/orders/{order_id}/report",
    response_model=OrderRead,
    responses=problem_responses(404, 409),
    openapi_extra=route_meta("orders.report"),
)
def report_completion(
    principal: caller("orders.report"), order_id: RowIdPath, body: OrderReport, session: DbSession
) -> OrderRead:
    """The platform reports the measure carried out (a repeat answers the first report; a report after
    the deadline is recorded and marked `late`)."""
    view = service.report_completion(session, principal, order_id, report=body.report, today=today())
    return OrderRead.model_validate(view)


@router.post(
    "/orders/{order_id}/report-lift",
    response_model=OrderRead,
    responses=problem_responses(404, 409),
    openapi_extra=route_meta("orders.report"),
)
def report_lift(
    principal: caller("orders.report"), order_id: RowIdPath, body: OrderReport, session: DbSession
) -> OrderRead:
    """The platform reports the measure of a lifted order undone (idempotent; late reports marked)."""
    view = service.report_lift(session, principal, order_id, report=body.report, today=today())
    return OrderRead.model_validate(view)
