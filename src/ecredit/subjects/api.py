"""REST routes of the subject registry under /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from ecredit.kit.http import DbSession, ReadSession, problem_responses
from ecredit.kit.schemas import Page
from ecredit.subjects import service
from ecredit.subjects.models import SubjectKind
from ecredit.subjects.schemas import (
    PlatformCreate,
    PlatformRead,
    RelationCreate,
    RelationRead,
    ShopCreate,
    ShopRead,
    ShopUpdate,
    SubjectCreate,
    SubjectRead,
    SubjectUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["registry"], responses=problem_responses(400, 422))

SubjectId = Annotated[str, Path(min_length=26, max_length=26, pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")]
ShopId = SubjectId
Limit = Annotated[int, Query(ge=1, le=200, description="Page size (at most 200).")]
Cursor = Annotated[
    str | None, Query(min_length=26, max_length=26, description="`next_cursor` of the previous page.")
]


@router.post("/subjects", status_code=201, response_model=SubjectRead, responses=problem_responses(409))
def create_subject(body: SubjectCreate, session: DbSession) -> SubjectRead:
    """Register a subject (organisation, individual business, person, logistics company, courier)."""
    return service.subject_read(service.create_subject(session, body))


@router.get("/subjects", response_model=Page[SubjectRead])
def search_subjects(
    session: ReadSession,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, description="Name fragment, USCC or ID number.")
    ] = None,
    kind: SubjectKind | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[SubjectRead]:
    """Search subjects by name fragment, or exactly by USCC or citizen ID number."""
    rows, next_cursor = service.search_subjects(session, q=q, kind=kind, cursor=cursor, limit=limit)
    return Page[SubjectRead](items=[service.subject_read(s) for s in rows], next_cursor=next_cursor)


@router.get("/subjects/{subject_id}", response_model=SubjectRead, responses=problem_responses(404))
def get_subject(subject_id: SubjectId, session: ReadSession) -> SubjectRead:
    """One subject, personal fields masked."""
    return service.subject_read(service.get_subject_or_raise(session, subject_id))


@router.patch("/subjects/{subject_id}", response_model=SubjectRead, responses=problem_responses(404))
def update_subject(subject_id: SubjectId, body: SubjectUpdate, session: DbSession) -> SubjectRead:
    """Change a subject's name, contacts or region."""
    return service.subject_read(service.update_subject(session, subject_id, body))


@router.get("/subjects/{subject_id}/shops", response_model=Page[ShopRead], responses=problem_responses(404))
def list_subject_shops(
    subject_id: SubjectId, session: ReadSession, limit: Limit = 50, cursor: Cursor = None
) -> Page[ShopRead]:
    """The shops a subject operates, on every platform."""
    rows, next_cursor = service.list_shops(session, subject_id=subject_id, cursor=cursor, limit=limit)
    return Page[ShopRead](items=service.shop_reads(session, rows), next_cursor=next_cursor)


@router.get(
    "/subjects/{subject_id}/relations", response_model=list[RelationRead], responses=problem_responses(404)
)
def list_subject_relations(subject_id: SubjectId, session: ReadSession) -> list[RelationRead]:
    """Relations (legal representative, officer, courier employer) on either side of the subject."""
    return [RelationRead.model_validate(r) for r in service.list_relations(session, subject_id)]


@router.post("/relations", status_code=201, response_model=RelationRead, responses=problem_responses(404))
def add_relation(body: RelationCreate, session: DbSession) -> RelationRead:
    """Record a relation between two subjects (idempotent)."""
    return RelationRead.model_validate(service.add_relation(session, body))


@router.post("/platforms", status_code=201, response_model=PlatformRead, responses=problem_responses(409))
def register_platform(body: PlatformCreate, session: DbSession) -> PlatformRead:
    """Register an e-commerce platform."""
    platform, subject = service.register_platform(session, body)
    return PlatformRead(
        id=platform.id, code=platform.code, name=subject.name, uscc=subject.uscc, subject_id=subject.id
    )


@router.get("/platforms", response_model=list[PlatformRead])
def list_platforms(session: ReadSession) -> list[PlatformRead]:
    """Every registered platform."""
    return service.list_platforms(session)


@router.post("/shops", status_code=201, response_model=ShopRead, responses=problem_responses(404, 409))
def create_shop(body: ShopCreate, session: DbSession) -> ShopRead:
    """Register a platform's shop and its operator."""
    return service.shop_reads(session, [service.create_shop(session, body)])[0]


@router.get("/shops", response_model=Page[ShopRead], responses=problem_responses(404))
def search_shops(
    session: ReadSession,
    platform: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_-]{1,31}$")] = None,
    q: Annotated[str | None, Query(min_length=1, max_length=100, description="Name fragment.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ShopRead]:
    """List shops by platform and name fragment."""
    rows, next_cursor = service.list_shops(session, platform_code=platform, q=q, cursor=cursor, limit=limit)
    return Page[ShopRead](items=service.shop_reads(session, rows), next_cursor=next_cursor)


@router.get("/shops/{shop_id}", response_model=ShopRead, responses=problem_responses(404))
def get_shop(shop_id: ShopId, session: ReadSession) -> ShopRead:
    """One shop."""
    return service.shop_reads(session, [service.get_shop_or_raise(session, shop_id)])[0]


@router.patch("/shops/{shop_id}", response_model=ShopRead, responses=problem_responses(404))
def update_shop(shop_id: ShopId, body: ShopUpdate, session: DbSession) -> ShopRead:
    """Change a shop's name, category, contacts or status."""
    return service.shop_reads(session, [service.update_shop(session, shop_id, body)])[0]


@router.get(
    "/platforms/{platform}/shops/{platform_shop_id}",
    response_model=ShopRead,
    responses=problem_responses(404),
)
def get_shop_by_platform_id(
    platform: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{1,31}$")],
    platform_shop_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")],
    session: ReadSession,
) -> ShopRead:
    """A shop as its platform knows it."""
    return service.shop_reads(
        session, [service.get_shop_by_key_or_raise(session, platform, platform_shop_id)]
    )[0]
