"""REST routes of credit evaluations under /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from ecredit.kit.http import ReadSession, RowIdPath, problem_responses
from ecredit.scoring import service
from ecredit.scoring.schemas import CreditRead
from ecredit.security.http import require, route_meta
from ecredit.security.principals import Principal

router = APIRouter(prefix="/api/v1", tags=["credit"], responses=problem_responses(400, 401, 403, 422))

SubjectId = RowIdPath


@router.get(
    "/subjects/{subject_id}/credit",
    response_model=CreditRead,
    responses=problem_responses(404),
    openapi_extra=route_meta("scores.read"),
)
def get_credit(
    principal: Annotated[Principal, Depends(require("scores.read"))],
    subject_id: SubjectId,
    session: ReadSession,
) -> CreditRead:
    """A subject's latest credit evaluation (信用评价): score 0-1000, grade (GB/T 22116), risk class A-D,
    and per indicator its raw value, normalised value, weight, points and an explanation in words (PIPL
    Art. 24), with the model version and data snapshot.

    The public, banks, departments and agencies see the grades of market entities only (``detail: public``);
    a platform sees its own shops' evaluations, a regulator those in its region (``detail: full``). 404 when
    the subject is not visible to the caller or has not been evaluated yet.
    """
    return service.read_credit(session, principal, subject_id)
