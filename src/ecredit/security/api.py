"""REST routes of staff login sessions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import Field

from ecredit.kit.http import DbSession, ReadSession, RowIdPath, problem, problem_responses
from ecredit.kit.schemas import TEXT, InputSchema, Schema
from ecredit.security import approvals, credentials, seclog
from ecredit.security.http import bearer, request_id, require, route_meta
from ecredit.security.principals import Principal
from ecredit.security.ratelimit import limit
from ecredit.security.schemas import ApprovalDecision, ApprovalRead, ApprovalRejection

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], responses=problem_responses(400, 401, 422, 429))


class LoginRequest(InputSchema):
    username: str = Field(min_length=1, max_length=64, pattern=TEXT)
    password: str = Field(min_length=1, max_length=256, pattern=TEXT)


class LoginRead(Schema):
    token: str
    token_type: str = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_at: dt.datetime
    role: str


@router.post(
    "/login",
    response_model=LoginRead,
    openapi_extra=route_meta("auth.login"),
    dependencies=[Depends(limit("login"))],
)
def login(body: LoginRequest, session: DbSession, request: Request) -> LoginRead:
    """Exchange a username and password for a session token (locked after repeated failures)."""
    rid = request_id(request)
    try:
        result = credentials.login(session, username=body.username, password=body.password)
    except credentials.InvalidCredentials as exc:
        seclog.auth_failure(exc.detail, "password", rid)
        # Answer without raising, so the transaction commits and the failed attempt counts.
        return problem(exc.status, exc.title, exc.detail, exc.code)  # type: ignore[return-value]
    seclog.auth_success(result.principal.actor, result.principal.role.value, "password", rid)
    return LoginRead(token=result.token, expires_at=result.expires_at, role=result.principal.role.value)


@router.post("/logout", status_code=204, openapi_extra=route_meta("auth.logout"))
def logout(
    session: DbSession, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """End the session whose token is presented (idempotent)."""
    if creds is not None:
        credentials.logout(session, creds.credentials)


approvals_router = APIRouter(
    prefix="/api/v1/approvals", tags=["approvals"], responses=problem_responses(400, 401, 403, 422)
)
ApprovalId = RowIdPath


@approvals_router.get("", response_model=list[ApprovalRead], openapi_extra=route_meta("approvals.read"))
def pending_approvals(
    principal: Annotated[Principal, Depends(require("approvals.read"))], session: ReadSession
) -> list[ApprovalRead]:
    """Requests waiting for a second person, on objects in the caller's scope."""
    return [ApprovalRead.model_validate(a) for a in approvals.pending(session, principal)]


@approvals_router.post(
    "/{approval_id}/approve",
    response_model=ApprovalRead,
    responses=problem_responses(404, 409),
    openapi_extra=route_meta("approvals.decide"),
)
def approve(
    principal: Annotated[Principal, Depends(require("approvals.decide"))],
    approval_id: ApprovalId,
    body: ApprovalDecision,
    session: DbSession,
) -> ApprovalRead:
    """Approve a request as a second person: the action takes effect now (403 for the requester)."""
    return ApprovalRead.model_validate(approvals.approve(session, principal, approval_id, note=body.note))


@approvals_router.post(
    "/{approval_id}/reject",
    response_model=ApprovalRead,
    responses=problem_responses(404, 409),
    openapi_extra=route_meta("approvals.decide"),
)
def reject(
    principal: Annotated[Principal, Depends(require("approvals.decide"))],
    approval_id: ApprovalId,
    body: ApprovalRejection,
    session: DbSession,
) -> ApprovalRead:
    """Turn a request down (or withdraw one's own), with a note."""
    return ApprovalRead.model_validate(approvals.reject(session, principal, approval_id, note=body.note))
