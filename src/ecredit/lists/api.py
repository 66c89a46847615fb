"""REST routes of the red and black lists under /api/v1: the catalogue, entries and one route per step,
objections, repair applications, the overdue queue, and the public read of a subject's entries in force."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from ecredit.kit.http import DbSession, ReadSession, RowIdPath, problem_responses
from ecredit.kit.schemas import ULID
from ecredit.lists import service
from ecredit.lists.models import EntryState
from ecredit.lists.schemas import (
    CatalogueRead,
    DefenceRecord,
    DocumentRead,
    EntryDetail,
    EntryDrop,
    EntryNominate,
    EntryRead,
    EntryWithdraw,
    ExpiryResult,
    ObjectionAnswer,
    ObjectionAnswered,
    ObjectionCreate,
    ObjectionRead,
    ObjectionVerify,
    PublicEntryList,
    QueueItemRead,
    RepairCreate,
    RepairDecide,
    RepairRead,
    StepBody,
    StepResult,
    WithdrawalResult,
)
from ecredit.security.http import caller, route_meta
from ecredit.security.principals import Role
from ecredit.security.ratelimit import limit

router = APIRouter(prefix="/api/v1", tags=["lists"], responses=problem_responses(400, 401, 403, 422))


RowId = RowIdPath
_STEP = problem_responses(404, 409)


def _step(entry, document=None) -> StepResult:
    return StepResult(
        entry=service.entry_read(entry), document=DocumentRead.model_validate(document) if document else None
    )


@router.get("/lists/types", response_model=CatalogueRead, openapi_extra=route_meta("lists.types"))
def list_types(principal: caller("lists.types")) -> CatalogueRead:
    """The list types (criteria, legal basis, procedure, term, repair rules) and their measures, each
    with its source, and the procedure's time limits."""
    return service.catalogue_read()


@router.get("/lists/entries", response_model=list[EntryRead], openapi_extra=route_meta("lists.read"))
def search_entries(
    principal: caller("lists.read"),
    session: ReadSession,
    subject_id: Annotated[str | None, Query(min_length=26, max_length=26, pattern=ULID)] = None,
    list_type: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = None,
    state: EntryState | None = None,
    limit: Annotated[int, Query(ge=1, le=200, description="At most this many, newest first.")] = 50,
) -> list[EntryRead]:
    """Entries of the archive by subject, list type and state (staff)."""
    found = service.search_entries(
        session,
        principal,
        subject_id=subject_id,
        list_type=list_type,
        state=state.value if state else None,
        limit=limit,
    )
    return [service.entry_read(e) for e in found]


@router.post(
    "/lists/entries",
    status_code=201,
    response_model=EntryRead,
    responses=problem_responses(404, 409),
    openapi_extra=route_meta("lists.nominate"),
)
def nominate(principal: caller("lists.nominate"), body: EntryNominate, session: DbSession) -> EntryRead:
    """Nominate a subject for a list with the basis records and evidence; 409 when it already has an
    open entry on that list."""
    entry = service.nominate(
        session,
        principal,
        service.Nomination(
            subject_id=body.subject_id,
            list_type=body.list_type,
            reason=body.reason,
            basis_record_ids=body.basis_record_ids,
            evidence=body.evidence,
        ),
    )
    return service.entry_read(entry)


@router.get(
    "/lists/entries/{entry_id}",
    response_model=EntryDetail,
    responses=problem_responses(404),
    openapi_extra=route_meta("lists.read"),
)
def get_entry(principal: caller("lists.read"), entry_id: RowId, session: ReadSession) -> EntryDetail:
    """One entry with its history, documents, objections and repair applications (staff)."""
    return service.entry_detail(session, service.get_entry(session, principal, entry_id))


@router.post(
    "/lists/entries/{entry_id}/notify",
    response_model=StepResult,
    responses=_STEP,
    openapi_extra=route_meta("lists.notify"),
)
def notify(
    principal: caller("lists.notify"), entry_id: RowId, body: StepBody, session: DbSession
) -> StepResult:
    """Serve the prior notice (告知书, returned as a document); the defence window starts."""
    entry, notice = service.notify(session, principal, entry_id, reason=body.reason)
    return _step(entry, notice)


@router.post(
    "/lists/entries/{entry_id}/record-defence",
    response_model=StepResult,
    responses=_STEP,
    openapi_extra=route_meta("lists.record_defence"),
)
def record_defence(
    principal: caller("lists.record_defence"), entry_id: RowId, body: DefenceRecord, session: DbSession
) -> StepResult:
    """Record the party's statement and defence (陈述申辩) filed inside the window."""
    entry = service.record_defence(
        session,
        principal,
        entry_id,
        statement=body.statement,
        filed_on=body.filed_on,
        hearing_requested=body.hearing_requested,
    )
    return _step(entry)


@router.post(
    "/lists/entries/{entry_id}/close-defence",
    response_model=StepResult,
    responses=_STEP,
    openapi_extra=route_meta("lists.close_defence"),
)
def close_defence(
    principal: caller("lists.close_defence"), entry_id: RowId, body: StepBody, session: DbSession
) -> StepResult:
    """Close a defence window that passed unused (409 while it runs)."""
    return _step(service.close_defence(session, principal, entry_id, reason=body.reason))


@router.post(
    "/lists/entries/{entry_id}/review",
    response_model=StepResult,
    responses=_STEP,
    openapi_extra=route_meta("lists.review"),
)
def review(
    principal: caller("lists.review"), entry_id: RowId, body: StepBody, session: DbSession
) -> StepResult:
    """A second regulator reviews the file (409 for the nominator)."""
    return _step(service.review(session, principal, entry_id, reason=body.reason))


@router.post(
    "/lists/entries/{entry_id}/decide",
    response_model=StepResult,
    responses=_STEP,
    openapi_extra=route_meta("lists.decide"),
)
def decide(
    principal: caller("lists.decide"), entry_id: RowId, body: StepBody, session: DbSession
) -> StepResult:
    """The listing decision (决定书); publication becomes due."""
    entry, decision = service.decide(session, principal, entry_id, reason=body.reason)
    return _step(entry, decision)


@router.post(
    "/lists/entries/{entry_id}/approve",
    response_model=StepResult,
    responses=_STEP,
    openapi_extra=route_meta("lists.approve_higher"),
)
def approve(
    principal: caller("lists.approve_higher"), entry_id: RowId, body: StepBody, session: DbSession
) -> StepResult:
    """Higher-level approval of the decision: a regulator of the next level up, or an admin."""
    return _step(service.approve_higher(session, principal, entry_id, reason=body.reason))


@router.post(
    "/lists/entries/{entry_id}/publish",
    response_model=StepResult,
    responses=_STEP,
    openapi_extra=route_meta("lists.publish"),
)
def publish(
    principal: caller("lists.publish"), entry_id: RowId, body: StepBody, session: DbSession
) -> StepResult:
    """Publish the entry: its credit record is created and its measures take effect."""
    return _step(service.publish(session, principal, entry_id, reason=body.reason))


@router.post(
    "/lists/entries/{entry_id}/withdraw",
    response_model=WithdrawalResult,
    responses=_STEP,
    openapi_extra=route_meta("lists.withdraw"),
)
def withdraw(
    principal: caller("lists.withdraw"), entry_id: RowId, body: EntryWithdraw, session: DbSession
) -> WithdrawalResult:
    """Withdraw a published entry whose basis was revoked (out of public view at once; `late` says
    whether the 3 working days of SAMR Order 44 Art. 19 had passed)."""
    entry, timing = service.withdraw(
        session, principal, entry_id, reason=body.reason, basis_revoked_on=body.basis_revoked_on
    )
    return WithdrawalResult(
        entry=service.entry_read(entry),
        deadline=timing["deadline"],
        late=timing["late"],
        deadline_unknown=timing.get("deadline_unknown"),
    )


@router.post(
    "/lists/entries/{entry_id}/drop",
    response_model=StepResult,
    responses=_STEP,
    openapi_extra=route_meta("lists.drop"),
)
def drop(principal: caller("lists.drop"), entry_id: RowId, body: EntryDrop, session: DbSession) -> StepResult:
    """End a pending procedure without a listing (no basis; no intent proven)."""
    return _step(service.drop(session, principal, entry_id, reason=body.reason, ground=body.ground))


@router.post(
    "/lists/entries/{entry_id}/objections",
    status_code=201,
    response_model=ObjectionRead,
    responses=_STEP,
    openapi_extra=route_meta("lists.object"),
)
def file_objection(
    principal: caller("lists.object"), entry_id: RowId, body: ObjectionCreate, session: DbSession
) -> ObjectionRead:
    """Register an objection (异议) to a published entry; it is due for an answer within the limit."""
    objection = service.file_objection(
        session, principal, entry_id, grounds=body.grounds, filed_on=body.filed_on
    )
    return ObjectionRead.model_validate(objection)


@router.post(
    "/lists/objections/{objection_id}/verify",
    response_model=ObjectionRead,
    responses=_STEP,
    openapi_extra=route_meta("lists.answer_objection"),
)
def verify_objection(
    principal: caller("lists.answer_objection"),
    objection_id: RowId,
    body: ObjectionVerify,
    session: DbSession,
) -> ObjectionRead:
    """Start verifying an objection (核查)."""
    return ObjectionRead.model_validate(
        service.verify_objection(session, principal, objection_id, note=body.note)
    )


@router.post(
    "/lists/objections/{objection_id}/answer",
    response_model=ObjectionAnswered,
    responses=_STEP,
    openapi_extra=route_meta("lists.answer_objection"),
)
def answer_objection(
    principal: caller("lists.answer_objection"),
    objection_id: RowId,
    body: ObjectionAnswer,
    session: DbSession,
) -> ObjectionAnswered:
    """Answer an objection with an answer document; an upheld one withdraws or corrects the entry."""
    objection, document = service.answer_objection(
        session,
        principal,
        objection_id,
        upheld=body.upheld,
        answer=body.answer,
        remedy=body.remedy,
        correction=body.correction,
    )
    return ObjectionAnswered(
        objection=ObjectionRead.model_validate(objection), document=DocumentRead.model_validate(document)
    )


@router.post(
    "/lists/repair-applications",
    status_code=201,
    response_model=RepairRead,
    responses=_STEP,
    openapi_extra=route_meta("lists.repair_apply"),
)
def apply_for_repair(
    principal: caller("lists.repair_apply"), body: RepairCreate, session: DbSession
) -> RepairRead:
    """Apply for credit repair (信用修复) of a published entry or a credit record; the conditions are
    checked and stored with their reasons. A platform applies for its own merchants."""
    application = service.apply_for_repair(
        session,
        principal,
        service.RepairRequest(
            target_type=body.target_type,
            target_id=body.target_id,
            statement=body.statement,
            duties_fulfilled=body.duties_fulfilled,
            duties_evidence=body.duties_evidence,
            commitment_id=body.commitment_id,
            channel="api" if principal.role is Role.platform else "portal_staff",
        ),
    )
    return RepairRead.model_validate(application)


@router.get(
    "/lists/repair-applications/{application_id}",
    response_model=RepairRead,
    responses=problem_responses(404),
    openapi_extra=route_meta("lists.read"),
)
def get_application(
    principal: caller("lists.read"), application_id: RowId, session: ReadSession
) -> RepairRead:
    """One repair application with its conditions."""
    return RepairRead.model_validate(service.get_application(session, principal, application_id))


@router.post(
    "/lists/repair-applications/{application_id}/decide",
    response_model=RepairRead,
    responses=_STEP,
    openapi_extra=route_meta("lists.repair"),
)
def decide_repair(
    principal: caller("lists.repair"), application_id: RowId, body: RepairDecide, session: DbSession
) -> RepairRead:
    """The responsible department decides; approval (every condition met) removes the entry from every
    public output and score, keeping it in the archive."""
    application = service.decide_repair(
        session, principal, application_id, approve=body.approve, reason=body.reason
    )
    return RepairRead.model_validate(application)


@router.get("/lists/queue", response_model=list[QueueItemRead], openapi_extra=route_meta("lists.queue"))
def overdue_queue(principal: caller("lists.queue"), session: ReadSession) -> list[QueueItemRead]:
    """Steps whose deadline passed and steps whose deadline is unknown (no calendar for the year)."""
    return [QueueItemRead.model_validate(i, from_attributes=True) for i in service.queue(session, principal)]


@router.post("/lists/run-expiry", response_model=ExpiryResult, openapi_extra=route_meta("lists.expire"))
def run_expiry(principal: caller("lists.expire"), session: DbSession) -> ExpiryResult:
    """Store `expired` for entries past their term and escalate long abnormal-operation listings."""
    return ExpiryResult.model_validate(service.run_expiry(session, principal))


@router.get(
    "/lists/documents/{document_id}",
    response_class=Response,
    responses={200: {"content": {"text/html": {}}, "description": "The document, byte for byte"}}
    | problem_responses(404),
    openapi_extra=route_meta("lists.documents"),
)
def get_document(principal: caller("lists.documents"), document_id: RowId, session: ReadSession) -> Response:
    """A document of the procedure as issued; `ETag` is its SHA-256."""
    document = service.get_document(session, principal, document_id)
    return Response(
        content=document.content,
        media_type=document.media_type,
        headers={"ETag": f'"{document.sha256}"'},
    )


@router.get(
    "/subjects/{subject_id}/list-entries",
    response_model=PublicEntryList,
    responses=problem_responses(404, 429),
    dependencies=[Depends(limit("public", anonymous_only=True))],
    openapi_extra=route_meta("lists.read_public"),
)
def public_entries(
    principal: caller("lists.read_public"), subject_id: RowId, session: ReadSession
) -> PublicEntryList:
    """A market entity's list entries in force (public): never pending, repaired, withdrawn or expired
    ones, never a natural person."""
    items = service.public_entries(session, principal, subject_id)
    return PublicEntryList(subject_id=subject_id, items=[service.public_entry_read(e) for e in items])
