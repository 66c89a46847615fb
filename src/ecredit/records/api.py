"""REST routes of credit records and commitments under /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from ecredit.kit.http import DbSession, ReadSession, problem_responses
from ecredit.kit.schemas import ULID
from ecredit.records import service
from ecredit.records.models import RecordKind
from ecredit.records.schemas import (
    CommitmentBreach,
    CommitmentCreate,
    CommitmentFulfil,
    CommitmentRead,
    PlatformPenaltyCreate,
    RecordCorrect,
    RecordCreate,
    RecordDetail,
    RecordList,
    RecordRead,
    RecordRepair,
    RecordRestore,
    RecordWithdraw,
    WithdrawalRead,
)
from ecredit.security.http import require, route_meta
from ecredit.security.principals import Principal
from ecredit.security.ratelimit import limit

router = APIRouter(prefix="/api/v1", tags=["records"], responses=problem_responses(400, 401, 403, 422))


def _as(action: str):
    """The caller, authorised for ``action`` before anything else of the request is looked at."""
    return Annotated[Principal, Depends(require(action))]


RowId = Annotated[str, Path(min_length=26, max_length=26, pattern=ULID)]
_CREATED = {200: {"model": RecordRead, "description": "The same record was already there (a retry)"}}


@router.get(
    "/subjects/{subject_id}/records",
    response_model=RecordList,
    responses=problem_responses(404, 429),
    dependencies=[Depends(limit("public", anonymous_only=True))],
    openapi_extra=route_meta("records.read"),
)
def subject_records(principal: _as("records.read"), subject_id: RowId, session: ReadSession) -> RecordList:
    """A subject's credit records.

    Staff see the archive: every record with its status (`active`, `expired`, `repaired`, `withdrawn`).
    Everyone else, credentials or not, sees the public records: active and inside their publicity window,
    of market entities only (never natural persons).
    """
    internal, items = service.subject_records(session, principal, subject_id)
    return RecordList(subject_id=subject_id, view="internal" if internal else "public", items=items)


@router.get(
    "/records",
    response_model=list[RecordRead],
    openapi_extra=route_meta("records.read_archive"),
)
def search_records(
    principal: _as("records.read_archive"),
    session: ReadSession,
    subject_id: Annotated[str | None, Query(min_length=26, max_length=26, pattern=ULID)] = None,
    kind: RecordKind | None = None,
    status: Annotated[str | None, Query(pattern=r"^(active|expired|repaired|withdrawn)$")] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many, newest first.")] = 50,
) -> list[RecordRead]:
    """Records of the archive by subject, kind and status (`expired` is derived from the window)."""
    return service.search_records(
        session,
        principal,
        subject_id=subject_id,
        kind=kind.value if kind else None,
        status=status,
        limit=limit,
    )


@router.get(
    "/records/{record_id}",
    response_model=RecordDetail,
    responses=problem_responses(404),
    openapi_extra=route_meta("records.read_archive"),
)
def get_record(
    principal: _as("records.read_archive"), record_id: RowId, session: ReadSession
) -> RecordDetail:
    """One record with its whole history (created, withdrawn, repaired, restored)."""
    return service.get_record_detail(session, principal, record_id)


@router.post(
    "/records",
    status_code=201,
    response_model=RecordRead,
    responses=_CREATED | problem_responses(404, 409),
    openapi_extra=route_meta("records.create"),
)
def create_record(
    principal: _as("records.create"), body: RecordCreate, session: DbSession, response: Response
) -> RecordRead:
    """Record a fact about a subject; its class, effect and publicity window come from the records policy.

    201 when new; 200 when the same document (`source_ref`, department, kind) was already recorded with
    the same content; 409 when with other content.
    """
    record, created = service.create_record(session, principal, body)
    if not created:
        response.status_code = 200
    return service.record_read(record, service.clock.today())


@router.post(
    "/records/{record_id}/withdraw",
    response_model=WithdrawalRead,
    responses=problem_responses(404, 409),
    openapi_extra=route_meta("records.withdraw"),
)
def withdraw_record(
    principal: _as("records.withdraw"), record_id: RowId, body: RecordWithdraw, session: DbSession
) -> WithdrawalRead:
    """Withdraw a record whose basis was revoked, changed or found void; `late` says whether the legal
    deadline (3 working days, SAMR Order 45 Art. 11; 3 days, 行政处罚法 Art. 48) had passed."""
    record, timing = service.withdraw_record(
        session, principal, record_id, reason=body.reason, basis_revoked_on=body.basis_revoked_on
    )
    return WithdrawalRead(
        record=service.record_read(record, service.clock.today()),
        deadline=timing["deadline"],
        late=timing["late"],
        deadline_unknown=timing.get("deadline_unknown"),
    )


@router.post(
    "/records/{record_id}/repair",
    response_model=RecordRead,
    responses=problem_responses(404, 409),
    openapi_extra=route_meta("records.repair"),
)
def repair_record(
    principal: _as("records.repair"), record_id: RowId, body: RecordRepair, session: DbSession
) -> RecordRead:
    """Repair a record (信用修复): it leaves every public output and score and stays in the archive.
    409 before the minimum period, for a rule that forbids repair, or without a signed repair commitment."""
    record = service.repair_record(
        session, principal, record_id, reason=body.reason, commitment_id=body.commitment_id
    )
    return service.record_read(record, service.clock.today())


@router.post(
    "/records/{record_id}/correct",
    response_model=RecordRead,
    responses=problem_responses(404, 409),
    openapi_extra=route_meta("records.correct"),
)
def correct_record(
    principal: _as("records.correct"), record_id: RowId, body: RecordCorrect, session: DbSession
) -> RecordRead:
    """Correct an active record's facts (fields left out keep their values); class, rule and window are
    computed again and the history keeps what changed. 409 for a record that is not active."""
    record = service.correct_record(session, principal, record_id, body)
    return service.record_read(record, service.clock.today())


@router.post(
    "/records/{record_id}/restore",
    response_model=RecordRead,
    responses=problem_responses(404, 409),
    openapi_extra=route_meta("records.repair"),
)
def restore_record(
    principal: _as("records.repair"), record_id: RowId, body: RecordRestore, session: DbSession
) -> RecordRead:
    """Revoke a repair: the record is active again."""
    record = service.restore_record(session, principal, record_id, reason=body.reason)
    return service.record_read(record, service.clock.today())


@router.post(
    "/platform-penalties",
    status_code=201,
    response_model=RecordRead,
    responses=_CREATED | problem_responses(404, 409),
    openapi_extra=route_meta("records.platform_penalty"),
)
def record_platform_penalty(
    principal: _as("records.platform_penalty"),
    body: PlatformPenaltyCreate,
    session: DbSession,
    response: Response,
) -> RecordRead:
    """A platform reports its own measure against one of its shops (电子商务法 Art. 36); it becomes a
    `platform_penalty` record of the shop's operator. Idempotent on the platform's `ref`."""
    record, created = service.record_platform_penalty(session, principal, body)
    if not created:
        response.status_code = 200
    return service.record_read(record, service.clock.today())


@router.post(
    "/commitments",
    status_code=201,
    response_model=CommitmentRead,
    openapi_extra=route_meta("commitments.write"),
)
def sign_commitment(
    principal: _as("commitments.write"), body: CommitmentCreate, session: DbSession
) -> CommitmentRead:
    """A subject signs a credit commitment (信用承诺) of a configured type; it is recorded."""
    return service.commitment_read(service.sign_commitment(session, principal, body))


@router.get(
    "/subjects/{subject_id}/commitments",
    response_model=list[CommitmentRead],
    responses=problem_responses(404),
    openapi_extra=route_meta("commitments.read"),
)
def subject_commitments(
    principal: _as("commitments.read"), subject_id: RowId, session: ReadSession
) -> list[CommitmentRead]:
    """A subject's commitments, newest first."""
    return service.subject_commitments(session, principal, subject_id)


@router.get(
    "/commitments/{commitment_id}",
    response_model=CommitmentRead,
    responses=problem_responses(404),
    openapi_extra=route_meta("commitments.read"),
)
def get_commitment(
    principal: _as("commitments.read"), commitment_id: RowId, session: ReadSession
) -> CommitmentRead:
    """One commitment."""
    return service.get_commitment(session, principal, commitment_id)


@router.post(
    "/commitments/{commitment_id}/fulfil",
    response_model=CommitmentRead,
    responses=problem_responses(404, 409),
    openapi_extra=route_meta("commitments.write"),
)
def fulfil_commitment(
    principal: _as("commitments.write"), commitment_id: RowId, body: CommitmentFulfil, session: DbSession
) -> CommitmentRead:
    """The commitment was kept: a `commitment_fulfilled` record. 409 when it is already closed."""
    return service.commitment_read(service.fulfil_commitment(session, principal, commitment_id, body))


@router.post(
    "/commitments/{commitment_id}/breach",
    response_model=CommitmentRead,
    responses=problem_responses(404, 409),
    openapi_extra=route_meta("commitments.write"),
)
def breach_commitment(
    principal: _as("commitments.write"), commitment_id: RowId, body: CommitmentBreach, session: DbSession
) -> CommitmentRead:
    """The commitment was broken: a `commitment_breach` record. 409 when it is already closed."""
    return service.commitment_read(service.breach_commitment(session, principal, commitment_id, body))
