"""REST routes of the subject registry under /api/v1."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from ecredit.kit.http import DbSession, ReadSession, RowIdPath, problem_responses
from ecredit.kit.policy import policy
from ecredit.kit.schemas import NO_NUL, ULID, Page
from ecredit.security.http import caller, route_meta
from ecredit.security.ratelimit import limit
from ecredit.subjects import service
from ecredit.subjects.models import SubjectKind
from ecredit.subjects.schemas import (
    PersonalDataRead,
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

router = APIRouter(prefix="/api/v1", tags=["registry"], responses=problem_responses(400, 401, 403, 422))


SubjectId = RowIdPath
ShopId = SubjectId
Limit = Annotated[int, Query(ge=1, le=200, description="Page size (at most 200).")]
Cursor = Annotated[
    str | None,
    Query(min_length=26, max_length=26, pattern=ULID, description="`next_cursor` of the previous page."),
]


@router.post(
    "/subjects",
    status_code=201,
    response_model=SubjectRead,
    responses={200: {"model": SubjectRead, "description": "Existing subject, now linked to the platform"}}
    | problem_responses(409),
    openapi_extra=route_meta("subjects.create"),
)
def create_subject(
    principal: caller("subjects.create"), body: SubjectCreate, session: DbSession, response: Response
) -> SubjectRead:
    """Register a subject (organisation, individual business, person, logistics company, courier).

    201 when new. A platform registering a subject that already exists is linked to it: 200.
    """
    subject, created = service.create_subject(session, principal, body)
    if not created:
        response.status_code = 200
    return service.subject_read(subject)


@router.get(
    "/subjects",
    response_model=Page[SubjectRead],
    responses=problem_responses(429),
    dependencies=[Depends(limit("public", anonymous_only=True))],
    openapi_extra=route_meta("subjects.read"),
)
def search_subjects(
    principal: caller("subjects.read"),
    session: ReadSession,
    q: Annotated[
        str | None,
        Query(min_length=1, max_length=100, pattern=NO_NUL, description="Name fragment, USCC or ID number."),
    ] = None,
    kind: SubjectKind | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[SubjectRead]:
    """Search subjects by name fragment, or exactly by USCC or citizen ID number.

    Without credentials this is the public directory: market entities only (never natural persons), by
    name or USCC, personal fields masked.
    """
    rows, next_cursor = service.search_subjects(
        session, principal, q=q, kind=kind, cursor=cursor, limit=limit
    )
    return Page[SubjectRead](items=[service.subject_read(s) for s in rows], next_cursor=next_cursor)


@router.get(
    "/subjects/{subject_id}",
    response_model=SubjectRead,
    responses=problem_responses(404, 429),
    dependencies=[Depends(limit("public", anonymous_only=True))],
    openapi_extra=route_meta("subjects.read"),
)
def get_subject(
    principal: caller("subjects.read"), subject_id: SubjectId, session: ReadSession
) -> SubjectRead:
    """One subject, personal fields masked."""
    return service.subject_read(service.read_subject(session, principal, subject_id))


@router.patch(
    "/subjects/{subject_id}",
    response_model=SubjectRead,
    responses=problem_responses(404),
    openapi_extra=route_meta("subjects.update"),
)
def update_subject(
    principal: caller("subjects.update"), subject_id: SubjectId, body: SubjectUpdate, session: DbSession
) -> SubjectRead:
    """Change a subject's name, contacts or region."""
    return service.subject_read(service.update_subject(session, principal, subject_id, body))


@router.get(
    "/subjects/{subject_id}/shops",
    response_model=Page[ShopRead],
    responses=problem_responses(404),
    openapi_extra=route_meta("shops.read"),
)
def list_subject_shops(
    principal: caller("shops.read"),
    subject_id: SubjectId,
    session: ReadSession,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ShopRead]:
    """The shops a subject operates, on every platform."""
    rows, next_cursor = service.list_shops(
        session, principal, subject_id=subject_id, cursor=cursor, limit=limit
    )
    return Page[ShopRead](items=service.shop_reads(session, rows), next_cursor=next_cursor)


@router.get(
    "/subjects/{subject_id}/relations",
    response_model=list[RelationRead],
    responses=problem_responses(404),
    openapi_extra=route_meta("subjects.read"),
)
def list_subject_relations(
    principal: caller("subjects.read"), subject_id: SubjectId, session: ReadSession
) -> list[RelationRead]:
    """Relations (legal representative, officer, courier employer) on either side of the subject."""
    return [RelationRead.model_validate(r) for r in service.list_relations(session, principal, subject_id)]


@router.post(
    "/relations",
    status_code=201,
    response_model=RelationRead,
    responses=problem_responses(404),
    openapi_extra=route_meta("relations.create"),
)
def add_relation(
    principal: caller("relations.create"), body: RelationCreate, session: DbSession
) -> RelationRead:
    """Record a relation between two subjects (idempotent)."""
    return RelationRead.model_validate(service.add_relation(session, principal, body))


@router.post(
    "/platforms",
    status_code=201,
    response_model=PlatformRead,
    responses=problem_responses(409),
    openapi_extra=route_meta("platforms.create"),
)
def register_platform(
    principal: caller("platforms.create"), body: PlatformCreate, session: DbSession
) -> PlatformRead:
    """Register an e-commerce platform."""
    platform, subject = service.register_platform(session, principal, body)
    return PlatformRead(
        id=platform.id, code=platform.code, name=subject.name, uscc=subject.uscc, subject_id=subject.id
    )


@router.get("/platforms", response_model=list[PlatformRead], openapi_extra=route_meta("platforms.read"))
def list_platforms(principal: caller("platforms.read"), session: ReadSession) -> list[PlatformRead]:
    """Every registered platform."""
    return service.list_platforms(session, principal)


@router.post(
    "/shops",
    status_code=201,
    response_model=ShopRead,
    responses=problem_responses(404, 409),
    openapi_extra=route_meta("shops.create"),
)
def create_shop(principal: caller("shops.create"), body: ShopCreate, session: DbSession) -> ShopRead:
    """Register a platform's shop and its operator."""
    return service.shop_reads(session, [service.create_shop(session, principal, body)])[0]


@router.get(
    "/shops",
    response_model=Page[ShopRead],
    responses=problem_responses(404),
    openapi_extra=route_meta("shops.read"),
)
def search_shops(
    principal: caller("shops.read"),
    session: ReadSession,
    platform: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_-]{1,31}$")] = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=100, pattern=NO_NUL, description="Name fragment.")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ShopRead]:
    """List shops by platform and name fragment."""
    rows, next_cursor = service.list_shops(
        session, principal, platform_code=platform, q=q, cursor=cursor, limit=limit
    )
    return Page[ShopRead](items=service.shop_reads(session, rows), next_cursor=next_cursor)


@router.get(
    "/shops/{shop_id}",
    response_model=ShopRead,
    responses=problem_responses(404),
    openapi_extra=route_meta("shops.read"),
)
def get_shop(principal: caller("shops.read"), shop_id: ShopId, session: ReadSession) -> ShopRead:
    """One shop."""
    return service.shop_reads(session, [service.read_shop(session, principal, shop_id)])[0]


@router.patch(
    "/shops/{shop_id}",
    response_model=ShopRead,
    responses=problem_responses(404),
    openapi_extra=route_meta("shops.update"),
)
def update_shop(
    principal: caller("shops.update"), shop_id: ShopId, body: ShopUpdate, session: DbSession
) -> ShopRead:
    """Change a shop's name, category, contacts or status."""
    return service.shop_reads(session, [service.update_shop(session, principal, shop_id, body)])[0]


@router.get(
    "/platforms/{platform}/shops/{platform_shop_id}",
    response_model=ShopRead,
    responses=problem_responses(404),
    openapi_extra=route_meta("shops.read"),
)
def get_shop_by_platform_id(
    principal: caller("shops.read"),
    platform: Annotated[str, Path(pattern=r"^[a-z][a-z0-9_-]{1,31}$")],
    platform_shop_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")],
    session: ReadSession,
) -> ShopRead:
    """A shop as its platform knows it."""
    return service.shop_reads(
        session, [service.get_shop_by_key_or_raise(session, principal, platform, platform_shop_id)]
    )[0]


@router.get(
    "/subjects/{subject_id}/personal-data",
    response_model=PersonalDataRead,
    responses=problem_responses(404),
    openapi_extra=route_meta("subjects.read_personal_data"),
)
def read_personal_data(
    principal: caller("subjects.read_personal_data"),
    subject_id: SubjectId,
    purpose: Annotated[
        str,
        Query(
            min_length=1,
            max_length=64,
            description="Why the clear values are needed: one of the purposes of policy/security.toml.",
            # Documented so a caller (and a fuzzer) knows the only values the service accepts.
            json_schema_extra={"enum": list(policy("security").value("clear_read_purposes"))},
        ),
    ],
    session: DbSession,
) -> PersonalDataRead:
    """Clear ID number, phone and address of a subject, for a stated purpose (audited)."""
    fields = service.read_personal_data(session, principal, subject_id, purpose=purpose)
    return PersonalDataRead(subject_id=subject_id, purpose=purpose, **fields)
