"""Queries of risk warnings and their members (all SQL of the warnings lives here)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import any_, bindparam, delete, exists, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from ecredit.monitoring.models import RiskWarning, WarningMember, WarningStatus
from ecredit.subjects import repository as subjects_repo
from ecredit.subjects.models import Shop

CHUNK = 5000  # values per IN list / ANY array of the batch look-ups

W = RiskWarning
M = WarningMember
_W = RiskWarning.__table__
PARTY_ROLES = ("shop", "account")


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _one_of(session: Session, column: Any, values: Sequence[str]) -> Any:
    """``column IN (values)``; on PostgreSQL one array parameter (``= ANY(:values)``), as in subjects."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))


# ---------------------------------------------------------------------------------------------- writing


def warnings_by_fingerprint(
    session: Session, detector: str, fingerprints: Iterable[str]
) -> dict[str, tuple[str, str]]:
    """fingerprint -> (warning id, status) of the detector's existing warnings among ``fingerprints``."""
    found: dict[str, tuple[str, str]] = {}
    for chunk in _chunks(sorted(set(fingerprints))):
        stmt = select(W.fingerprint, W.id, W.status).where(
            W.detector == detector, _one_of(session, W.fingerprint, chunk)
        )
        for fingerprint, warning_id, status in session.connection().execute(stmt):
            found[fingerprint] = (warning_id, status)
    return found


def insert_warnings(session: Session, rows: list[dict[str, Any]]) -> None:
    """One set-based INSERT (COPY on PostgreSQL) of new warnings."""
    subjects_repo.bulk_insert(session, RiskWarning, rows)


def insert_members(session: Session, rows: list[dict[str, Any]]) -> None:
    """One set-based INSERT (COPY on PostgreSQL) of warning members."""
    subjects_repo.bulk_insert(session, WarningMember, rows)


_UPDATE_SEEN = (
    update(_W)
    .where(_W.c.id == bindparam("w_id"))
    .values(
        detector_version=bindparam("w_detector_version"),
        engine=bindparam("w_engine"),
        snapshot=bindparam("w_snapshot"),
        platform=bindparam("w_platform"),
        score=bindparam("w_score"),
        confidence=bindparam("w_confidence"),
        summary=bindparam("w_summary"),
        details=bindparam("w_details"),
        last_seen_at=bindparam("w_last_seen_at"),
        seen_count=_W.c.seen_count + 1,
    )
)


def update_seen(session: Session, rows: list[dict[str, Any]]) -> None:
    """Refresh warnings found again (one executemany); status and triage are left as they are.

    Keys of each row: ``w_`` + id, detector_version, engine, snapshot, platform, score, confidence,
    summary, details, last_seen_at.
    """
    if not rows:
        return
    session.execute(_UPDATE_SEEN, rows)
    # The UPDATE bypasses the unit of work: warnings this session already holds must be read again.
    updated = {row["w_id"] for row in rows}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, RiskWarning) and obj.id in updated:
            session.expire(obj)


def delete_members(session: Session, warning_ids: Sequence[str]) -> None:
    for chunk in _chunks(list(warning_ids)):
        session.execute(delete(WarningMember).where(_one_of(session, M.warning_id, chunk)))


def member_tuples(session: Session, warning_ids: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
    """warning id -> its members as ``(seq, role, platform, ref, object_kind, linked, shop_id,
    subject_id)`` tuples in ``seq`` order (to tell whether a refreshed warning's members changed)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    columns = [M.seq, M.role, M.platform, M.ref, M.object_kind, M.linked, M.shop_id, M.subject_id]
    for chunk in _chunks(list(warning_ids)):
        stmt = select(M.warning_id, *columns).where(_one_of(session, M.warning_id, chunk))
        rows = session.connection().execute(stmt.order_by(M.warning_id, M.seq)).fetchall()  # fetched in C
        for row in rows:
            found.setdefault(row[0], []).append(tuple(row[1:]))
    return found


def shops_by_platform_ref(
    session: Session, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[str, str]]:
    """(platform code, platform shop id) -> (shop id, operator subject id), for the shops the registry
    knows (through the subjects repository)."""
    by_platform: dict[str, set[str]] = {}
    for code, ref in pairs:
        by_platform.setdefault(code, set()).add(ref)
    found: dict[tuple[str, str], tuple[str, str]] = {}
    for code, refs in sorted(by_platform.items()):
        platform = subjects_repo.get_platform_by_code(session, code)
        if platform is None:
            continue
        for chunk in _chunks(sorted(refs)):
            for ref, shop in subjects_repo.shops_by_platform_shop_ids(session, platform.id, chunk).items():
                found[(code, ref)] = (shop.id, shop.operator_id)
    return found


# ---------------------------------------------------------------------------------------------- reading


def get_warning(session: Session, warning_id: str, *, for_update: bool = False) -> RiskWarning | None:
    return session.get(RiskWarning, warning_id, with_for_update=True if for_update else None)


def _party_on(platform_code: str) -> Any:
    """The warning names a shop or account of the platform as a party (not as linked evidence)."""
    return exists().where(
        M.warning_id == W.id, M.platform == platform_code, M.role.in_(PARTY_ROLES), M.linked.is_(False)
    )


def _shop_in_region(region_prefix: str) -> Any:
    """One of the warning's shops (not linked evidence) lies in the region."""
    pattern = f"{subjects_repo.escape_like(region_prefix)}%"
    return (
        select(M.warning_id)
        .join(Shop, Shop.id == M.shop_id)
        .where(M.warning_id == W.id, M.linked.is_(False), Shop.region_code.like(pattern, escape="\\"))
        .exists()
    )


def _member_is(role: str, ref: str, platform: str | None) -> Any:
    """The warning names this shop or account: ``id IN`` the warnings found through the member index
    (a correlated EXISTS made SQLite probe every warning's members, 0.2 s at 5,000 warnings)."""
    conditions = [M.ref == ref, M.role == role]
    if platform:
        conditions.append(M.platform == platform)
    return W.id.in_(select(M.warning_id).where(*conditions))


def search_warnings(
    session: Session,
    *,
    kind: str | None = None,
    status: str | None = None,
    statuses: Sequence[str] | None = None,
    platform: str | None = None,
    shop_ref: str | None = None,
    account_ref: str | None = None,
    subject_id: str | None = None,
    min_score: float | None = None,
    created_from: dt.datetime | None = None,
    created_to: dt.datetime | None = None,
    before_id: str | None = None,
    limit: int,
    tenant_code: str | None = None,
    region_prefix: str | None = None,
) -> Sequence[RiskWarning]:
    """Warnings matching every filter given, newest first (``before_id``: the keyset cursor).

    ``tenant_code`` keeps the warnings naming a shop or account of that platform, ``region_prefix`` those
    with a shop in that region (a warning about accounts only has no region, so it is outside every one).
    """
    stmt = select(W)
    if tenant_code:
        stmt = stmt.where(_party_on(tenant_code))
    if region_prefix:
        stmt = stmt.where(_shop_in_region(region_prefix))
    if kind:
        stmt = stmt.where(W.kind == kind)
    if status:
        stmt = stmt.where(W.status == status)
    if statuses is not None:
        stmt = stmt.where(W.status.in_(list(statuses)))
    if platform:
        stmt = stmt.where(W.platform == platform)
    if shop_ref:
        stmt = stmt.where(_member_is("shop", shop_ref, platform))
    if account_ref:
        stmt = stmt.where(_member_is("account", account_ref, platform))
    if subject_id:
        stmt = stmt.where(
            W.id.in_(select(M.warning_id).where(M.subject_id == subject_id, M.linked.is_(False)))
        )
    if min_score is not None:
        stmt = stmt.where(W.score >= min_score)
    if created_from is not None:
        stmt = stmt.where(W.created_at >= created_from)
    if created_to is not None:
        stmt = stmt.where(W.created_at < created_to)
    if before_id:
        stmt = stmt.where(W.id < before_id)
    return session.scalars(stmt.order_by(W.id.desc()).limit(limit)).all()


def is_visible(
    session: Session, warning_id: str, *, tenant_code: str | None, region_prefix: str | None
) -> bool:
    """True when the warning is inside the tenant's or region's scope (True without either)."""
    if not tenant_code and not region_prefix:
        return True
    stmt = select(W.id).where(W.id == warning_id)
    if tenant_code:
        stmt = stmt.where(_party_on(tenant_code))
    if region_prefix:
        stmt = stmt.where(_shop_in_region(region_prefix))
    return session.scalar(stmt) is not None


def members_of(
    session: Session, warning_ids: Sequence[str], *, platform: str | None = None
) -> dict[str, list[Any]]:
    """The members of each warning in ``seq`` order, as plain rows (attributes named as the columns; only
    those on ``platform`` when given). Plain rows: an export reads hundreds of thousands."""
    found: dict[str, list[Any]] = {i: [] for i in warning_ids}
    columns = [
        M.warning_id,
        M.seq,
        M.role,
        M.platform,
        M.ref,
        M.object_kind,
        M.linked,
        M.shop_id,
        M.subject_id,
    ]
    for chunk in _chunks(list(warning_ids)):
        stmt = select(*columns).where(_one_of(session, M.warning_id, chunk))
        if platform:
            stmt = stmt.where(M.platform == platform)
        for member in session.connection().execute(stmt.order_by(M.warning_id, M.seq)):
            found[member.warning_id].append(member)
    return found


def foreign_refs(session: Session, warning_ids: Sequence[str], *, platform: str) -> dict[str, set[str]]:
    """warning id -> the refs and platform codes of its members on platforms other than ``platform`` (every
    role, linked too): what a platform's view of the warning must not show."""
    found: dict[str, set[str]] = {i: set() for i in warning_ids}
    for chunk in _chunks(list(warning_ids)):
        stmt = select(M.warning_id, M.ref, M.platform).where(
            _one_of(session, M.warning_id, chunk), M.platform != platform
        )
        for warning_id, ref, code in session.connection().execute(stmt):
            found[warning_id].update((ref, code))
    return found


def member_counts(
    session: Session, warning_ids: Sequence[str], *, platform: str | None = None
) -> dict[str, dict[str, int]]:
    """warning id -> role -> number of members (only those on ``platform`` when given)."""
    counts: dict[str, dict[str, int]] = {i: {} for i in warning_ids}
    for chunk in _chunks(list(warning_ids)):
        stmt = select(M.warning_id, M.role, func.count()).where(_one_of(session, M.warning_id, chunk))
        if platform:
            stmt = stmt.where(M.platform == platform)
        for warning_id, role, n in session.connection().execute(stmt.group_by(M.warning_id, M.role)):
            counts[warning_id][role] = n
    return counts


def subject_ids_of(
    session: Session, warning_ids: Sequence[str], *, platform: str | None = None
) -> dict[str, list[str]]:
    """warning id -> the distinct operator subjects of its shops (linked shops left out), sorted."""
    found: dict[str, set[str]] = {i: set() for i in warning_ids}
    for chunk in _chunks(list(warning_ids)):
        stmt = select(M.warning_id, M.subject_id).where(
            _one_of(session, M.warning_id, chunk), M.subject_id.is_not(None), M.linked.is_(False)
        )
        if platform:
            stmt = stmt.where(M.platform == platform)
        for warning_id, subject_id in session.connection().execute(stmt):
            found[warning_id].add(subject_id)
    return {k: sorted(v) for k, v in found.items()}


def party_shops(session: Session, warning_id: str) -> list[tuple[str, str]]:
    """(shop id, subject id) of the warning's shops the registry knows (linked shops left out)."""
    stmt = (
        select(M.shop_id, M.subject_id)
        .where(M.warning_id == warning_id, M.shop_id.is_not(None), M.linked.is_(False))
        .order_by(M.seq)
    )
    return [(shop_id, subject_id) for shop_id, subject_id in session.connection().execute(stmt)]


def evaluation_members(session: Session) -> dict[str, list[Any]]:
    """Columns ``kind, role, platform, ref, object_kind, linked`` of every member of every warning that is
    not dismissed (the predictions the evaluation scores)."""
    stmt = (
        select(W.kind, M.role, M.platform, M.ref, M.object_kind, M.linked)
        .join(W, W.id == M.warning_id)
        .where(W.status != WarningStatus.dismissed.value)
    )
    names = ("kind", "role", "platform", "ref", "object_kind", "linked")
    columns: dict[str, list[Any]] = {n: [] for n in names}
    for row in session.connection().execute(stmt):
        for name, value in zip(names, row, strict=True):
            columns[name].append(value)
    columns["linked"] = [bool(v) for v in columns["linked"]]
    return columns
