"""Reading credit evaluations: a subject's latest evaluation with the explanation a person may ask for
(PIPL Art. 24), scoped by the permission table (``scores.read``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ecredit.scoring import repository as repo
from ecredit.scoring import spec
from ecredit.scoring.errors import EvaluationNotFound
from ecredit.scoring.models import CreditScore, ScoreContribution
from ecredit.scoring.schemas import (
    Contribution,
    CreditPointsRead,
    CreditRead,
    EvaluationRead,
    PublicEvaluation,
)
from ecredit.security.permissions import authorize
from ecredit.security.principals import Principal
from ecredit.subjects import repository as subjects_repo
from ecredit.subjects import service as subjects_service

NOTICE_ZH = (
    "本评价由信用评价模型自动计算，仅反映评价日可获得的数据；已修复或撤销的信用记录不计入。"
    "对评价结果有异议的，可向评价机关申请说明并要求人工复核（《个人信息保护法》第二十四条）。"
)
NOTICE_EN = (
    "This evaluation is computed automatically by the credit model from the data available on the evaluation "
    "date; repaired or withdrawn credit records do not count. You may ask the evaluating authority for an "
    "explanation and a review by a person (PIPL Art. 24)."
)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:,.0f}"


def explain(indicator: spec.Indicator | None, c: ScoreContribution) -> tuple[str, str]:
    """One indicator's contribution in words: (zh-CN, English)."""
    if indicator is None:  # an indicator of an older model version
        zh = f"{c.indicator}：得分 {c.points:.1f}/{c.weight:.0f}"
        return zh, f"{c.indicator}: {c.points:.1f} of {c.weight:.0f} points"
    if c.raw is None:
        zh = (
            f"{indicator.name_zh}：数据不足（{c.observations} 条），取中性值，"
            f"得 {c.points:.1f}/{c.weight:.0f} 分。"
            f"{indicator.explain_zh}"
        )
        en = (
            f"{indicator.name_en}: not enough data ({c.observations} observations), neutral value applied, "
            f"{c.points:.1f} of {c.weight:.0f} points. {indicator.explain_en}"
        )
        return zh, en
    zh = (
        f"{indicator.name_zh}：取值 {_number(c.raw)}（{c.observations} 条数据），"
        f"得 {c.points:.1f}/{c.weight:.0f} 分。{indicator.explain_zh}"
    )
    en = (
        f"{indicator.name_en}: value {_number(c.raw)} ({c.observations} observations), "
        f"{c.points:.1f} of {c.weight:.0f} points. {indicator.explain_en}"
    )
    return zh, en


def _evaluation(
    model: spec.Model | None,
    score: CreditScore,
    contributions: list[ScoreContribution],
    shop: tuple[str | None, str | None, str | None],
    points: CreditPointsRead | None,
) -> EvaluationRead:
    parts = []
    for c in contributions:
        indicator = model.indicator(c.indicator) if model else None
        zh, en = explain(indicator, c)
        parts.append(
            Contribution(
                indicator=c.indicator,
                dimension=indicator.dimension if indicator else "",
                category=indicator.category if indicator else "",
                name_zh=indicator.name_zh if indicator else c.indicator,
                name_en=indicator.name_en if indicator else c.indicator,
                raw=c.raw,
                observations=c.observations,
                normalised=round(c.normalised, 6),
                weight=c.weight,
                points=round(c.points, 3),
                lost=round(c.weight - c.points, 3),
                explanation_zh=zh,
                explanation_en=en,
            )
        )
    parts.sort(key=lambda p: (-p.lost, p.indicator))
    worst = [p for p in parts if p.lost > 0][:3]
    grade = model.grade_band(score.grade) if model else None
    klass = model.class_band(score.risk_class) if model else None
    override = next((o for o in model.overrides if o.key == score.override), None) if model else None
    summary_zh = f"综合得分 {score.score}（满分 {spec.SCORE_MAX}），等级 {score.grade}，"
    summary_zh += f"风险分类 {score.risk_class} 类。"
    summary_en = (
        f"Score {score.score} of {spec.SCORE_MAX}, grade {score.grade}, risk class {score.risk_class}."
    )
    if worst:
        summary_zh += "主要失分项：" + "、".join(f"{p.name_zh}（-{p.lost:.0f}）" for p in worst) + "。"
        summary_en += (
            " Most points lost on: " + ", ".join(f"{p.name_en} (-{p.lost:.0f})" for p in worst) + "."
        )
    if override is not None:
        summary_zh += override.explain_zh + "。"
        summary_en += " " + override.explain_en + "."
    return EvaluationRead(
        entity=score.entity,
        shop_id=score.shop_id,
        platform=shop[0],
        platform_shop_id=shop[1],
        shop_name=shop[2],
        score=score.score,
        base_score=score.base_score,
        grade=score.grade,
        grade_name_zh=grade.name_zh if grade else "",
        grade_name_en=grade.name_en if grade else "",
        risk_class=score.risk_class,
        risk_class_name_zh=klass.name_zh if klass else "",
        risk_class_name_en=klass.name_en if klass else "",
        override=score.override,
        override_explanation_zh=override.explain_zh if override else None,
        override_explanation_en=override.explain_en if override else None,
        points=points,
        summary_zh=summary_zh,
        summary_en=summary_en,
        contributions=parts,
    )


def read_credit(session: Session, principal: Principal, subject_id: str) -> CreditRead:
    """A subject's latest evaluation: grades only for the public scope, else the full explanation."""
    grant = authorize(principal, "scores.read")
    subject = subjects_service.visible_subject(session, grant, subject_id)
    scores = repo.latest_scores_of_subject(session, subject.id)
    shops = {s.id: s for s in (subjects_repo.get_shop(session, x.shop_id) for x in scores if x.shop_id) if s}
    if grant.platform_id:  # a platform sees its own shops' evaluations, and its own as a platform
        own = subjects_repo.get_platform_by_subject(session, subject.id)
        scores = [
            x
            for x in scores
            if (x.shop_id and shops[x.shop_id].platform_id == grant.platform_id)
            or (x.entity == "platform" and own is not None and own.id == grant.platform_id)
        ]
    if not scores:
        raise EvaluationNotFound(f"subject {subject_id} has no credit evaluation yet")
    newest = scores[0]
    model = spec.by_ref(newest.model)
    codes = subjects_repo.platform_codes(session, {s.platform_id for s in shops.values()})
    worst = min(scores, key=lambda x: (x.score, x.entity_key))
    grade = model.grade_band(worst.grade) if model else None
    base = {
        "subject_id": subject.id,
        "subject_name": subject.name,
        "model": newest.model,
        "snapshot": newest.snapshot,
        "run_id": newest.run_id,
        "computed_at": newest.computed_at,
        "grade": worst.grade,
        "grade_name_zh": grade.name_zh if grade else "",
        "grade_name_en": grade.name_en if grade else "",
        "notice_zh": NOTICE_ZH,
        "notice_en": NOTICE_EN,
    }

    def shop_of(x: CreditScore) -> tuple[str | None, str | None, str | None]:
        shop = shops.get(x.shop_id) if x.shop_id else None
        if shop is None:
            return (None, None, None)
        return (codes.get(shop.platform_id), shop.platform_shop_id, shop.name)

    if grant.public_only:
        public = []
        for x in scores:
            band = model.grade_band(x.grade) if model else None
            public.append(
                PublicEvaluation(
                    entity=x.entity,
                    shop_id=x.shop_id,
                    shop_name=shop_of(x)[2],
                    grade=x.grade,
                    grade_name_zh=band.name_zh if band else "",
                    grade_name_en=band.name_en if band else "",
                )
            )
        return CreditRead(detail="public", public_evaluations=public, **base)
    keys = [x.entity_key for x in scores]
    by_key: dict[str, list[ScoreContribution]] = {}
    for c in repo.contributions(session, newest.run_id, keys):
        by_key.setdefault(c.entity_key, []).append(c)
    points = {
        p.shop_id: p for p in repo.points_of(session, newest.run_id, [x.shop_id for x in scores if x.shop_id])
    }
    evaluations = []
    for x in scores:
        p = points.get(x.shop_id) if x.shop_id else None
        points_read = None
        if p is not None:
            level = model.points.level_of(p.points) if model else None
            points_read = CreditPointsRead(
                points=p.points,
                level=p.level,
                level_name_zh=level.name_zh if level else "",
                level_icon=level.icon if level else "",
                ratings=p.ratings,
                voided_ratings=p.voided_ratings,
                capped_points=p.capped_points,
                deducted_points=p.deducted_points,
            )
        evaluations.append(_evaluation(model, x, by_key.get(x.entity_key, []), shop_of(x), points_read))
    return CreditRead(
        detail="full",
        score=worst.score,
        risk_class=max(x.risk_class for x in scores),
        evaluations=evaluations,
        **base,
    )
