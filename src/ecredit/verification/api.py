"""REST routes of real-name verification, the business register and trusted certification marks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse

from ecredit.identifiers import check as check_identifier
from ecredit.kit.http import DbSession, ReadSession, RowIdPath, problem_responses
from ecredit.kit.schemas import NO_NUL
from ecredit.security.approvals import Approval
from ecredit.security.http import caller, route_meta
from ecredit.security.ratelimit import limit
from ecredit.security.schemas import ApprovalRead
from ecredit.verification import repository as repo
from ecredit.verification import service
from ecredit.verification.models import Mark, Verification
from ecredit.verification.schemas import (
    CheckRead,
    MarkCheckRead,
    MarkRead,
    MarkRevoke,
    RegisterEntryRead,
    VerificationRead,
)

router = APIRouter(prefix="/api/v1", tags=["verification"], responses=problem_responses(400, 401, 403, 422))


Id = RowIdPath


def _verification_read(v: Verification, mark: Mark | None = None) -> VerificationRead:
    return VerificationRead(
        id=v.id,
        shop_id=v.shop_id,
        subject_id=v.subject_id,
        outcome=v.outcome,  # type: ignore[arg-type]
        reasons=[CheckRead(**r) for r in v.reasons],
        checks=[CheckRead(**c) for c in v.checks.get("checks", [])],
        policy_ref=v.policy_ref,
        checked_at=v.checked_at,
        expires_at=v.expires_at,
        mark_token=mark.token if mark else None,
    )


def _mark_read(m: Mark) -> MarkRead:
    return MarkRead.model_validate(m)


@router.post(
    "/shops/{shop_id}/verify",
    response_model=VerificationRead,
    responses=problem_responses(404),
    openapi_extra=route_meta("verification.run"),
)
def verify_shop(principal: caller("verification.run"), shop_id: Id, session: DbSession) -> VerificationRead:
    """Verify the shop's operator now (format, checksums, region, register, legal representative)."""
    verification = service.verify_shop(session, principal, shop_id)
    mark = repo.latest_mark_of_shop(session, shop_id) if verification.outcome == "verified" else None
    return _verification_read(verification, mark)


@router.get(
    "/shops/{shop_id}/verifications",
    response_model=list[VerificationRead],
    responses=problem_responses(404),
    openapi_extra=route_meta("verification.read"),
)
def list_verifications(
    principal: caller("verification.read"), shop_id: Id, session: ReadSession
) -> list[VerificationRead]:
    """The shop's verification history, newest first, each with every check."""
    return [_verification_read(v) for v in service.list_verifications(session, principal, shop_id)]


@router.get(
    "/shops/{shop_id}/mark",
    response_model=MarkRead,
    responses=problem_responses(404),
    openapi_extra=route_meta("marks.read"),
)
def shop_mark(principal: caller("marks.read"), shop_id: Id, session: ReadSession) -> MarkRead:
    """The shop's newest trusted certification mark and its token."""
    return _mark_read(service.current_mark(session, principal, shop_id))


@router.post(
    "/marks/{mark_id}/revoke",
    response_model=MarkRead,
    responses={202: {"model": ApprovalRead, "description": "Requested: waits for a second regulator"}}
    | problem_responses(404),
    openapi_extra=route_meta("marks.revoke"),
)
def revoke_mark(
    principal: caller("marks.revoke"), mark_id: Id, body: MarkRevoke, session: DbSession
) -> MarkRead | JSONResponse:
    """Revoke a mark, with the reason.

    Under dual control (policy/security.toml) a regulator's revocation is filed as a request (202) and
    takes effect when a second regulator approves it (`POST /api/v1/approvals/{id}/approve`).
    """
    result = service.revoke_mark(session, principal, mark_id, reason=body.reason)
    if isinstance(result, Approval):
        return JSONResponse(ApprovalRead.model_validate(result).model_dump(mode="json"), status_code=202)
    return _mark_read(result)


@router.get(
    "/marks/{token}",
    response_model=MarkCheckRead,
    responses=problem_responses(429),
    dependencies=[Depends(limit("public"))],
    openapi_extra=route_meta("marks.check"),
)
def check_mark(
    principal: caller("marks.check"),
    token: Annotated[str, Path(min_length=1, max_length=4096)],
    session: ReadSession,
) -> MarkCheckRead:
    """Public check of a presented mark: valid, revoked, expired or forged."""
    result = service.check_mark(session, token)
    mark = result.mark
    return MarkCheckRead(
        status=result.status,  # type: ignore[arg-type]
        reason=result.reason,
        payload=result.payload if result.status != "forged" else None,
        shop_name=result.shop_name,
        subject_name=result.subject_name,
        issued_at=mark.issued_at if mark else None,
        expires_at=mark.expires_at if mark else None,
        revoked_at=mark.revoked_at if mark else None,
    )


@router.get(
    "/register/{uscc}",
    response_model=RegisterEntryRead,
    responses=problem_responses(404, 429),
    dependencies=[Depends(limit("public"))],
    openapi_extra=route_meta("register.read"),
)
def register_entry(
    principal: caller("register.read"),
    uscc: Annotated[str, Path(min_length=18, max_length=40, pattern=NO_NUL)],
    session: ReadSession,
) -> RegisterEntryRead:
    """A business-register entry by USCC (address masked)."""
    checked = check_identifier(uscc, "uscc")
    entry = service.get_register_entry_or_raise(session, checked.normalized if checked.valid else uscc)
    return RegisterEntryRead(
        uscc=entry.uscc,
        name=entry.name,
        legal_rep_name=entry.legal_rep_name,
        entity_type=entry.entity_type,
        status=entry.status,
        registered_date=entry.registered_date,
        region_code=entry.region_code,
        address=entry.address_masked,
        authority=entry.authority,
    )
