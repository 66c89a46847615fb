"""Queries of the scoring module (SQLAlchemy 2 ``select``): the store snapshots' rows, and reading results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Boolean, Date, Float, Row, String, and_, column, false, func, or_, select, table
from sqlalchemy.orm import Session

from ecredit.records.models import CreditRecord, RecordStatus
from ecredit.scoring.models import CreditPoints, CreditScore, ScoreContribution, ScoreRun
from ecredit.subjects.models import Platform, Shop, Subject, SubjectKind

# ---------------------------------------------------------------- snapshots


def shop_rows(session: Session) -> Sequence[Row[Any]]:
    return session.execute(
        select(
            Shop.id,
            Shop.operator_id,
            Platform.code,
            Shop.platform_shop_id,
            Shop.verification_status,
            Shop.verified_until,
            Shop.opened_date,
            Shop.status,
            Shop.region_code,
        )
        .join(Platform, Platform.id == Shop.platform_id)
        .order_by(Shop.id)
    ).all()


def platform_rows(session: Session) -> Sequence[Row[Any]]:
    return session.execute(
        select(Platform.subject_id, Platform.subject_id, Platform.code, Subject.region_code)
        .join(Subject, Subject.id == Platform.subject_id)
        .order_by(Platform.subject_id)
    ).all()


def logistics_rows(session: Session) -> Sequence[Row[Any]]:
    return session.execute(
        select(Subject.id, Subject.id, Subject.uscc, Subject.region_code)
        .where(Subject.kind == SubjectKind.logistics_company.value, Subject.uscc.is_not(None))
        .order_by(Subject.id)
    ).all()


def counting_records(session: Session, subject_id: str | None = None) -> Sequence[Row[Any]]:
    """Records that count in evaluations: stored status active (so active or expired), never repaired or
    withdrawn (of one subject when ``subject_id`` is given)."""
    stmt = select(
        CreditRecord.subject_id,
        CreditRecord.kind,
        CreditRecord.effect,
        CreditRecord.severity,
        CreditRecord.decided_on,
        CreditRecord.details,
    ).where(CreditRecord.status == RecordStatus.active.value)
    if subject_id is not None:
        stmt = stmt.where(CreditRecord.subject_id == subject_id)
    return session.execute(stmt.order_by(CreditRecord.id)).all()


# Risk warnings belong to ``monitoring``, on the same floor as scoring (DESIGN.md §14: no import between
# them): the two tables are read through light Core descriptions of the columns used (monitoring/models.py).
_warning = table(
    "risk_warning",
    column("id", String),
    column("kind", String),
    column("confidence", Float),
    column("status", String),
)
_member = table(
    "warning_member",
    column("warning_id", String),
    column("seq", String),
    column("role", String),
    column("platform", String),
    column("ref", String),
    column("object_kind", String),
    column("linked", Boolean),
)
_LIVE = _warning.c.status != "dismissed"


def warned_shops(session: Session) -> Sequence[Row[Any]]:
    """(platform, shop ref, kind, confidence, status) of every shop a live warning names as a party."""
    m, w = _member.c, _warning.c
    return session.execute(
        select(m.platform, m.ref, w.kind, w.confidence, w.status)
        .join(_warning, w.id == m.warning_id)
        .where(_LIVE, m.role == "shop", m.linked == false())
        .order_by(m.warning_id, m.seq)
    ).all()


def flagged_accounts(session: Session) -> Sequence[Row[Any]]:
    """(platform, account, kind, confirmed?) of accounts live warnings name."""
    m, w = _member.c, _warning.c
    rows = session.execute(
        select(m.platform, m.ref, w.kind, w.status)
        .join(_warning, w.id == m.warning_id)
        .where(_LIVE, m.role == "account")
        .order_by(m.platform, m.ref, w.kind)
    ).all()
    merged: dict[tuple[str, str, str], bool] = {}
    for platform, ref, kind, status in rows:
        key = (platform, ref, kind)
        merged[key] = merged.get(key, False) or status == "confirmed"
    return [(*key, confirmed) for key, confirmed in merged.items()]


def flagged_objects(session: Session, kind: str, object_kind: str) -> Sequence[Row[Any]]:
    """(platform, ref) of the records of ``object_kind`` that live warnings of ``kind`` name."""
    m, w = _member.c, _warning.c
    return session.execute(
        select(m.platform, m.ref)
        .join(_warning, w.id == m.warning_id)
        .where(_LIVE, w.kind == kind, m.role == "object", m.object_kind == object_kind)
        .distinct()
        .order_by(m.platform, m.ref)
    ).all()


# Enforcement orders belong to ``lists`` (floor 5, above scoring): the table is read through a light Core
# description of the columns used (lists/models.py ``EnforcementOrder``), never by importing lists.
_order = table(
    "enforcement_order",
    column("id", String),
    column("platform_id", String),
    column("due_on", Date),
    column("reported_on", Date),
    column("lift_due_on", Date),
    column("lift_reported_on", Date),
)


def enforcement_rows(session: Session) -> Sequence[Row[Any]]:
    """(platform subject id, due_on, reported_on, lift_due_on, lift_reported_on) of every enforcement order
    sent to a platform (the platform evaluation's feedback indicator counts the deadlines that came)."""
    o = _order.c
    return session.execute(
        select(Platform.subject_id, o.due_on, o.reported_on, o.lift_due_on, o.lift_reported_on)
        .join(Platform, Platform.id == o.platform_id)
        .order_by(o.id)
    ).all()


# ---------------------------------------------------------------- results


def get_run(session: Session, run_id: str) -> ScoreRun | None:
    return session.get(ScoreRun, run_id)


def latest_run(session: Session) -> ScoreRun | None:
    """The newest finished full run (refreshes of one subject are not runs of the whole population)."""
    return session.scalars(
        select(ScoreRun)
        .where(ScoreRun.finished_at.is_not(None), ScoreRun.base_run_id.is_(None))
        .order_by(ScoreRun.id.desc())
        .limit(1)
    ).first()


def refreshes_of(session: Session, run_id: str) -> list[str]:
    """The ids of the finished refreshes based on the full run ``run_id``, oldest first."""
    return list(
        session.scalars(
            select(ScoreRun.id)
            .where(ScoreRun.base_run_id == run_id, ScoreRun.finished_at.is_not(None))
            .order_by(ScoreRun.id)
        )
    )


def latest_scores_of_subject(session: Session, subject_id: str) -> list[CreditScore]:
    """The newest run's evaluations of the subject (its shops, or the subject as platform or company)."""
    newest = session.scalars(
        select(CreditScore.run_id)
        .where(CreditScore.subject_id == subject_id)
        .order_by(CreditScore.computed_at.desc(), CreditScore.run_id.desc())
        .limit(1)
    ).first()
    if newest is None:
        return []
    return list(
        session.scalars(
            select(CreditScore)
            .where(CreditScore.subject_id == subject_id, CreditScore.run_id == newest)
            .order_by(CreditScore.score, CreditScore.entity_key)
        )
    )


def score_history(session: Session, entity_key: str, limit: int = 20) -> list[CreditScore]:
    return list(
        session.scalars(
            select(CreditScore)
            .where(CreditScore.entity_key == entity_key)
            .order_by(CreditScore.computed_at.desc(), CreditScore.run_id.desc())
            .limit(limit)
        )
    )


def contributions(session: Session, run_id: str, entity_keys: Sequence[str]) -> list[ScoreContribution]:
    if not entity_keys:
        return []
    return list(
        session.scalars(
            select(ScoreContribution)
            .where(ScoreContribution.run_id == run_id, ScoreContribution.entity_key.in_(list(entity_keys)))
            .order_by(ScoreContribution.entity_key, ScoreContribution.indicator)
        )
    )


def points_of(session: Session, run_id: str, shop_ids: Sequence[str]) -> list[CreditPoints]:
    if not shop_ids:
        return []
    return list(
        session.scalars(
            select(CreditPoints).where(
                CreditPoints.run_id == run_id, CreditPoints.shop_id.in_(list(shop_ids))
            )
        )
    )


def _scores_stmt(runs: Any, region_prefix: str | None):
    region = func.coalesce(Shop.region_code, Subject.region_code)
    stmt = (
        select(
            CreditScore.entity_key,
            CreditScore.entity,
            CreditScore.subject_id,
            CreditScore.shop_id,
            CreditScore.score,
            CreditScore.grade,
            CreditScore.risk_class,
            CreditScore.override,
            region,
            CreditScore.run_id,
        )
        .join(Subject, Subject.id == CreditScore.subject_id)
        .outerjoin(Shop, Shop.id == CreditScore.shop_id)
        .where(runs)
        .order_by(CreditScore.run_id, CreditScore.entity_key)
    )
    if region_prefix:
        stmt = stmt.where(
            or_(
                and_(CreditScore.shop_id.is_not(None), Shop.region_code.like(f"{region_prefix}%")),
                and_(CreditScore.shop_id.is_(None), Subject.region_code.like(f"{region_prefix}%")),
            )
        )
    return stmt


def scores_of_run(session: Session, run_id: str, *, region_prefix: str | None) -> list[tuple[Any, ...]]:
    """(entity_key, entity, subject_id, shop_id, score, grade, risk_class, override, region, run_id) of a
    full run's evaluations as they stand: an entity re-evaluated by refreshes based on the run has the
    newest refresh's row (``run_id`` says which). In the entity key's order, restricted to a region prefix
    (the shop's region for shops, else the subject's)."""
    rows = {
        row[0]: tuple(row)
        for row in session.execute(_scores_stmt(CreditScore.run_id == run_id, region_prefix))
    }
    refreshes = select(ScoreRun.id).where(ScoreRun.base_run_id == run_id, ScoreRun.finished_at.is_not(None))
    for row in session.execute(_scores_stmt(CreditScore.run_id.in_(refreshes), region_prefix)):
        if row[0] in rows:  # ordered by run id: the newest refresh comes last and wins
            rows[row[0]] = tuple(row)
    return [rows[key] for key in sorted(rows)]


def weakest_contributions(session: Session, runs: dict[str, str]) -> dict[str, list[Row[Any]]]:
    """Per entity (``runs``: entity key -> the run of its evaluation), its contributions by the points lost,
    largest first."""
    out: dict[str, list[Row[Any]]] = {}
    by_run: dict[str, list[str]] = {}
    for key, run_id in runs.items():
        by_run.setdefault(run_id, []).append(key)
    for run_id, keys in sorted(by_run.items()):
        for start in range(0, len(keys), 500):
            rows = session.execute(
                select(
                    ScoreContribution.entity_key,
                    ScoreContribution.indicator,
                    ScoreContribution.raw,
                    ScoreContribution.weight - ScoreContribution.points,
                )
                .where(
                    ScoreContribution.run_id == run_id,
                    ScoreContribution.entity_key.in_(keys[start : start + 500]),
                )
                .order_by(
                    ScoreContribution.entity_key,
                    (ScoreContribution.weight - ScoreContribution.points).desc(),
                    ScoreContribution.indicator,
                )
            ).all()
            for row in rows:
                out.setdefault(row[0], []).append(row)
    return out


def subjects_by_ids(session: Session, ids: set[str]) -> list[Subject]:
    out: list[Subject] = []
    keys = sorted(ids)
    for start in range(0, len(keys), 500):
        out.extend(session.scalars(select(Subject).where(Subject.id.in_(keys[start : start + 500]))))
    return out
