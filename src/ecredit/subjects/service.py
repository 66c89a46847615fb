"""The subject registry: subjects, platforms, shops and relations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy.orm import Session

from ecredit.errors import FieldError, Forbidden
from ecredit.identifiers import check as check_identifier
from ecredit.kit.events import announce
from ecredit.kit.ids import new_id
from ecredit.kit.policy import policy
from ecredit.security import seclog
from ecredit.security.permissions import Grant, authorize
from ecredit.security.pii import blind_index, reveal, set_pii
from ecredit.security.principals import Principal
from ecredit.security.trail import append_change, prepare_change, record_change
from ecredit.subjects import repository as repo
from ecredit.subjects.errors import (
    DuplicatePlatform,
    DuplicateShop,
    DuplicateSubject,
    InvalidSubject,
    PlatformNotFound,
    ShopNotFound,
    SubjectNotFound,
)
from ecredit.subjects.events import ShopRegistered, SubjectRegistered
from ecredit.subjects.models import (
    ORGANISATION_KINDS,
    PERSON_KINDS,
    Platform,
    Relation,
    RelationKind,
    Shop,
    Subject,
    SubjectKind,
)
from ecredit.subjects.schemas import (
    PlatformCreate,
    PlatformRead,
    RelationCreate,
    ShopCreate,
    ShopRead,
    ShopUpdate,
    SubjectCreate,
    SubjectRead,
    SubjectUpdate,
)

_Row = TypeVar("_Row", Subject, Shop)

ID_NUMBER_KINDS = PERSON_KINDS


def _check_identity_fields(kind: SubjectKind, uscc: str | None, id_number: str | None) -> None:
    if kind in ORGANISATION_KINDS and not uscc:
        raise InvalidSubject(
            "this kind of subject needs its unified social credit code",
            errors=[FieldError("uscc", f"required for kind {kind.value}")],
        )
    if kind in PERSON_KINDS and uscc:
        raise InvalidSubject("a natural person has no USCC", errors=[FieldError("uscc", "not allowed")])
    if kind in PERSON_KINDS and not id_number:
        raise InvalidSubject(
            "a natural person needs a citizen ID number",
            errors=[FieldError("id_number", f"required for kind {kind.value}")],
        )
    if id_number and kind not in ID_NUMBER_KINDS:
        raise InvalidSubject(
            "only natural persons carry an ID number (a business's operator is its legal rep)",
            errors=[FieldError("id_number", f"not allowed for kind {kind.value}")],
        )


def create_subject(session: Session, principal: Principal, data: SubjectCreate) -> tuple[Subject, bool]:
    """Register a subject; returns it and whether it is new.

    A platform registering a subject that already exists (same USCC or ID number) is linked to it instead:
    several platforms' shops may have one operator. For staff, a duplicate is a conflict.
    """
    grant = authorize(principal, "subjects.create")
    _check_identity_fields(data.kind, data.uscc, data.id_number)
    # Without an explicit region: the registering authority's (USCC) or the household registration's (ID).
    region = data.region_code or (
        data.uscc[2:8] if data.uscc else data.id_number[:6] if data.id_number else None
    )
    if not grant.covers_region(region):
        raise Forbidden(
            "the subject is outside your region", errors=[FieldError("region_code", "outside region")]
        )
    existing = None
    if data.uscc:
        existing = repo.get_subject_by_uscc(session, data.uscc)
        field = "uscc"
    if existing is None and data.id_number:
        existing = repo.get_subject_by_id_number_bidx(session, blind_index("id_number", data.id_number))
        field = "id_number"
    if existing is not None:
        if grant.platform_id and existing.kind == data.kind.value:
            repo.link_subjects(session, grant.platform_id, [existing.id])
            session.flush()
            record_change(session, principal, "subjects.link", "subject", existing.id)
            return existing, False
        raise DuplicateSubject(
            "the subject is already registered", errors=[FieldError(field, "already registered")]
        )
    subject = Subject(id=new_id(), kind=data.kind.value, name=data.name, uscc=data.uscc, region_code=region)
    set_pii(subject, "id_number", data.id_number)
    set_pii(subject, "phone", data.phone)
    set_pii(subject, "address", data.address)
    session.add(subject)
    session.flush()
    if grant.platform_id:
        repo.link_subjects(session, grant.platform_id, [subject.id])
        session.flush()
    record_change(session, principal, "subjects.create", "subject", subject.id, {"kind": subject.kind})
    announce(session, SubjectRegistered(subject_id=subject.id, kind=subject.kind))
    return subject, True


def visible_subject(session: Session, grant: Grant, subject_id: str) -> Subject:
    """The subject if the grant covers it; ``SubjectNotFound`` otherwise (existence is not revealed)."""
    subject = repo.get_subject(session, subject_id)
    if (
        subject is None
        or (grant.platform_id and not repo.is_linked(session, grant.platform_id, subject.id))
        or not grant.covers_region(subject.region_code)
        or (grant.public_only and subject.kind not in ORGANISATION_KINDS)
    ):
        raise SubjectNotFound(f"no subject {subject_id}")
    return subject


def read_subject(session: Session, principal: Principal, subject_id: str) -> Subject:
    """One subject the caller may see."""
    return visible_subject(session, authorize(principal, "subjects.read"), subject_id)


def get_subject_or_raise(session: Session, subject_id: str) -> Subject:
    """The subject, or ``SubjectNotFound`` (internal: no access check)."""
    subject = repo.get_subject(session, subject_id)
    if subject is None:
        raise SubjectNotFound(f"no subject {subject_id}")
    return subject


def update_subject(session: Session, principal: Principal, subject_id: str, data: SubjectUpdate) -> Subject:
    """Change a subject's name, contacts or region; identifiers never change."""
    grant = authorize(principal, "subjects.update")
    subject = visible_subject(session, grant, subject_id)
    fields = data.model_dump(exclude_unset=True)
    if "region_code" in fields and not grant.covers_region(fields["region_code"]):
        raise Forbidden(
            "the new region is outside your region", errors=[FieldError("region_code", "outside region")]
        )
    record_change(session, principal, "subjects.update", "subject", subject.id, {"fields": sorted(fields)})
    for column in ("phone", "address"):
        if column in fields:
            set_pii(subject, column, fields.pop(column))
    for key, value in fields.items():
        if value is None and key == "name":
            raise InvalidSubject("name cannot be empty", errors=[FieldError("name", "must not be null")])
        setattr(subject, key, value)
    session.flush()
    return subject


def search_subjects(
    session: Session,
    principal: Principal,
    *,
    q: str | None,
    kind: SubjectKind | None,
    cursor: str | None,
    limit: int,
) -> tuple[Sequence[Subject], str | None]:
    """Search by name fragment, or exactly by USCC or citizen ID number when ``q`` is one."""
    grant = authorize(principal, "subjects.read")
    uscc = id_bidx = name = None
    if q:
        kind_guess = check_identifier(q, "auto")
        if kind_guess.valid and kind_guess.kind == "uscc":
            uscc = kind_guess.normalized
        elif kind_guess.valid and kind_guess.kind == "ric" and not grant.public_only:
            id_bidx = blind_index("id_number", kind_guess.normalized)
        else:
            name = q
    rows = repo.search_subjects(
        session,
        name_fragment=name,
        uscc=uscc,
        id_number_bidx=id_bidx,
        kind=kind.value if kind else None,
        after_id=cursor,
        limit=limit + 1,
        platform_id=grant.platform_id,
        region_prefix=grant.region_prefix,
        kinds=sorted(ORGANISATION_KINDS) if grant.public_only else None,
    )
    return _page(rows, limit)


def _page(rows: Sequence[_Row], limit: int) -> tuple[Sequence[_Row], str | None]:
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].id
    return rows, None


def register_platform(
    session: Session, principal: Principal, data: PlatformCreate
) -> tuple[Platform, Subject]:
    """Register an e-commerce platform (a subject of kind platform with a short code)."""
    authorize(principal, "platforms.create")
    if repo.get_platform_by_code(session, data.code):
        raise DuplicatePlatform(
            f"platform {data.code} exists", errors=[FieldError("code", "already registered")]
        )
    subject = repo.get_subject_by_uscc(session, data.uscc)
    if subject is None:
        subject, _ = create_subject(
            session, principal, SubjectCreate(kind=SubjectKind.platform, name=data.name, uscc=data.uscc)
        )
    elif subject.kind != SubjectKind.platform:
        raise DuplicateSubject(
            "this USCC belongs to a subject that is not a platform",
            errors=[FieldError("uscc", f"registered as {subject.kind}")],
        )
    elif (other := repo.get_platform_by_subject(session, subject.id)) is not None:
        # One platform per operator: a second code for the same USCC was a 500 (unique constraint).
        raise DuplicatePlatform(
            f"this USCC is already registered as platform {other.code}",
            errors=[FieldError("uscc", "already registered")],
        )
    platform = Platform(id=new_id(), code=data.code, subject_id=subject.id)
    session.add(platform)
    session.flush()
    record_change(session, principal, "platforms.create", "platform", platform.id, {"code": platform.code})
    return platform, subject


def get_platform_or_raise(session: Session, code: str) -> Platform:
    """The platform with this code, or ``PlatformNotFound``."""
    platform = repo.get_platform_by_code(session, code)
    if platform is None:
        raise PlatformNotFound(
            f"no platform {code}", errors=[FieldError("platform", "unknown platform code")]
        )
    return platform


def list_platforms(session: Session, principal: Principal) -> list[PlatformRead]:
    """Every registered platform."""
    authorize(principal, "platforms.read")
    return [
        PlatformRead(id=p.id, code=p.code, name=s.name, uscc=s.uscc, subject_id=s.id)
        for p, s in repo.list_platforms(session)
    ]


def create_shop(session: Session, principal: Principal, data: ShopCreate) -> Shop:
    """Register a shop of a platform, operated by a subject the caller may see."""
    grant = authorize(principal, "shops.create")
    platform = get_platform_or_raise(session, data.platform)
    if grant.platform_id and platform.id != grant.platform_id:
        raise Forbidden(
            "a platform registers only its own shops", errors=[FieldError("platform", "not yours")]
        )
    try:
        operator = visible_subject(session, grant, data.operator_id)
    except SubjectNotFound:
        # 404 like an unknown platform code here and an unknown subject in add_relation (documented).
        raise SubjectNotFound(
            "unknown operator", errors=[FieldError("operator_id", "no such subject")]
        ) from None
    if operator.kind not in {SubjectKind.organisation, SubjectKind.individual_business, SubjectKind.person}:
        raise InvalidSubject(
            "a shop is operated by an organisation, individual business or person",
            errors=[FieldError("operator_id", f"subject is a {operator.kind}")],
        )
    region = data.region_code or operator.region_code
    if not grant.covers_region(region):
        raise Forbidden(
            "the shop is outside your region", errors=[FieldError("region_code", "outside region")]
        )
    if repo.get_shop_by_platform_shop_id(session, platform.id, data.platform_shop_id):
        raise DuplicateShop(
            "the platform already registered this shop id",
            errors=[FieldError("platform_shop_id", "already registered")],
        )
    shop = Shop(
        id=new_id(),
        platform_id=platform.id,
        platform_shop_id=data.platform_shop_id,
        name=data.name,
        category=data.category,
        operator_id=operator.id,
        region_code=region,
        opened_date=data.opened_date,
    )
    set_pii(shop, "phone", data.phone)
    set_pii(shop, "address", data.address)
    session.add(shop)
    repo.link_subjects(session, platform.id, [operator.id])
    session.flush()
    record_change(session, principal, "shops.create", "shop", shop.id, {"platform": platform.code})
    announce(session, ShopRegistered(shop_id=shop.id, platform_id=platform.id, operator_id=operator.id))
    return shop


def visible_shop(session: Session, grant: Grant, shop_id: str) -> Shop:
    """The shop if the grant covers it; ``ShopNotFound`` otherwise."""
    shop = repo.get_shop(session, shop_id)
    if (
        shop is None
        or (grant.platform_id and shop.platform_id != grant.platform_id)
        or not grant.covers_region(shop.region_code)
    ):
        raise ShopNotFound(f"no shop {shop_id}")
    return shop


def read_shop(session: Session, principal: Principal, shop_id: str) -> Shop:
    """One shop the caller may see."""
    return visible_shop(session, authorize(principal, "shops.read"), shop_id)


def get_shop_or_raise(session: Session, shop_id: str) -> Shop:
    """The shop, or ``ShopNotFound`` (internal: no access check)."""
    shop = repo.get_shop(session, shop_id)
    if shop is None:
        raise ShopNotFound(f"no shop {shop_id}")
    return shop


def get_shop_by_key_or_raise(
    session: Session, principal: Principal, platform_code: str, platform_shop_id: str
) -> Shop:
    """A shop as its platform knows it (by the platform's own shop id)."""
    grant = authorize(principal, "shops.read")
    platform = get_platform_or_raise(session, platform_code)
    shop = repo.get_shop_by_platform_shop_id(session, platform.id, platform_shop_id)
    if shop is None:
        raise ShopNotFound(f"platform {platform_code} has no shop {platform_shop_id}")
    return visible_shop(session, grant, shop.id)


def update_shop(session: Session, principal: Principal, shop_id: str, data: ShopUpdate) -> Shop:
    """Change a shop's name, category, contacts or open/closed status."""
    grant = authorize(principal, "shops.update")
    fields = data.model_dump(exclude_unset=True)
    # The audit entry is checked and formatted before the first statement, which takes SQLite's write
    # lock: inside the lock it costs its two statements only.
    entry = prepare_change(principal, "shops.update", "shop", shop_id, {"fields": sorted(fields)})
    shop = visible_shop(session, grant, shop_id)
    if "region_code" in fields and not grant.covers_region(fields["region_code"]):
        raise Forbidden(
            "the new region is outside your region", errors=[FieldError("region_code", "outside region")]
        )
    append_change(session, entry)
    for column in ("phone", "address"):
        if column in fields:
            set_pii(shop, column, fields.pop(column))
    for key, value in fields.items():
        if value is None and key in {"name", "status"}:
            raise InvalidSubject(f"{key} cannot be empty", errors=[FieldError(key, "must not be null")])
        setattr(shop, key, value)
    session.flush()
    return shop


def list_shops(
    session: Session,
    principal: Principal,
    *,
    subject_id: str | None = None,
    platform_code: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int,
) -> tuple[Sequence[Shop], str | None]:
    """Shops filtered by operator, platform and name fragment, in id order."""
    grant = authorize(principal, "shops.read")
    platform_id = get_platform_or_raise(session, platform_code).id if platform_code else None
    if subject_id:
        visible_subject(session, authorize(principal, "subjects.read"), subject_id)
    rows = repo.search_shops(
        session,
        platform_id=platform_id,
        operator_id=subject_id,
        name_fragment=q,
        after_id=cursor,
        limit=limit + 1,
        tenant_id=grant.platform_id,
        region_prefix=grant.region_prefix,
    )
    return _page(rows, limit)


def add_relation(session: Session, principal: Principal, data: RelationCreate) -> Relation:
    """Record a relation (legal representative, officer, courier employer) between two subjects."""
    grant = authorize(principal, "relations.create")
    holder = visible_subject(session, grant, data.holder_id)
    obj = visible_subject(session, grant, data.object_id)
    if (
        data.kind in {RelationKind.legal_representative, RelationKind.officer}
        and holder.kind != SubjectKind.person
    ):
        raise InvalidSubject(
            "the holder must be a natural person", errors=[FieldError("holder_id", holder.kind)]
        )
    if data.kind == RelationKind.courier_employer and (
        holder.kind != SubjectKind.courier or obj.kind != SubjectKind.logistics_company
    ):
        raise InvalidSubject(
            "courier_employer links a courier to a logistics company",
            errors=[FieldError("kind", "holder must be a courier and object a logistics company")],
        )
    existing = repo.get_relation(session, data.kind.value, holder.id, obj.id)
    if existing is not None:
        return existing
    relation = Relation(
        id=new_id(),
        kind=data.kind.value,
        holder_id=holder.id,
        object_id=obj.id,
        started_date=data.started_date,
    )
    session.add(relation)
    session.flush()
    record_change(session, principal, "relations.create", "relation", relation.id, {"kind": relation.kind})
    return relation


def list_relations(session: Session, principal: Principal, subject_id: str) -> Sequence[Relation]:
    """Every relation the subject takes part in, on either side (a platform sees those among its subjects)."""
    grant = authorize(principal, "subjects.read")
    visible_subject(session, grant, subject_id)
    return repo.relations_of(session, subject_id, platform_id=grant.platform_id)


def subject_read(subject: Subject) -> SubjectRead:
    """The masked view of a subject."""
    return SubjectRead(
        id=subject.id,
        kind=SubjectKind(subject.kind),
        name=subject.name,
        uscc=subject.uscc,
        id_number=subject.id_number_masked,
        phone=subject.phone_masked,
        address=subject.address_masked,
        region_code=subject.region_code,
        status=subject.status,
        created_at=subject.created_at,
        updated_at=subject.updated_at,
    )


def shop_reads(session: Session, shops: Sequence[Shop]) -> list[ShopRead]:
    """The masked views of shops, with their platform codes."""
    codes = repo.platform_codes(session, (s.platform_id for s in shops))
    return [
        ShopRead(
            id=s.id,
            platform=codes[s.platform_id],
            platform_shop_id=s.platform_shop_id,
            name=s.name,
            category=s.category,
            operator_id=s.operator_id,
            region_code=s.region_code,
            phone=s.phone_masked,
            address=s.address_masked,
            opened_date=s.opened_date,
            status=s.status,
            verification_status=s.verification_status,
            verified_until=s.verified_until,
        )
        for s in shops
    ]


def read_personal_data(
    session: Session, principal: Principal, subject_id: str, *, purpose: str
) -> dict[str, str | None]:
    """The subject's personal fields in clear, for a stated purpose; audited and security-logged."""
    grant = authorize(principal, "subjects.read_personal_data")
    purposes = policy("security").value("clear_read_purposes")
    if purpose not in purposes:
        raise InvalidSubject(
            "a clear read needs one of the configured purposes",
            errors=[FieldError("purpose", f"must be one of {', '.join(purposes)}")],
        )
    subject = visible_subject(session, grant, subject_id)
    fields = {column: reveal(subject, column) for column in ("id_number", "phone", "address")}
    read = sorted(k for k, v in fields.items() if v is not None)
    record_change(
        session, principal, "pii.clear_read", "subject", subject.id, {"fields": read, "purpose": purpose}
    )
    for column in read:
        seclog.clear_read(
            principal.actor, principal.role.value, column, subject.id, purpose, principal.request_id
        )
    return fields
