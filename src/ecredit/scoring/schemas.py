"""API schemas of credit evaluations: what the public sees (the grade) and the full explanation (PIPL 24)."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from ecredit.kit.schemas import Schema


class Contribution(Schema):
    """One indicator's part in a score, with the explanation in words (zh-CN first, English beside it)."""

    indicator: str
    dimension: str
    category: str
    name_zh: str
    name_en: str
    raw: float | None  # None: no data, the neutral value applied
    observations: int
    normalised: float
    weight: float
    points: float
    lost: float  # weight - points
    explanation_zh: str
    explanation_en: str


class CreditPointsRead(Schema):
    points: int
    level: int
    level_name_zh: str
    level_icon: str
    ratings: int
    voided_ratings: int
    capped_points: int
    deducted_points: int  # for confirmed brushing-ring warnings naming the shop


class EvaluationRead(Schema):
    """One evaluated entity (a shop of the subject, or the subject as platform or logistics company)."""

    entity: str  # shop | platform | logistics
    shop_id: str | None
    platform: str | None
    platform_shop_id: str | None
    shop_name: str | None
    score: int
    base_score: int
    grade: str
    grade_name_zh: str
    grade_name_en: str
    risk_class: str
    risk_class_name_zh: str
    risk_class_name_en: str
    override: str | None
    override_explanation_zh: str | None
    override_explanation_en: str | None
    points: CreditPointsRead | None
    summary_zh: str
    summary_en: str
    contributions: list[Contribution]


class PublicEvaluation(Schema):
    entity: str
    shop_id: str | None
    shop_name: str | None
    grade: str
    grade_name_zh: str
    grade_name_en: str


class CreditRead(Schema):
    """A subject's latest credit evaluation. ``detail`` is ``full`` (score, class, contributions and their
    explanation) or ``public`` (grades only: what the law lets anyone see)."""

    subject_id: str
    subject_name: str
    detail: str
    model: str
    snapshot: str
    run_id: str
    computed_at: dt.datetime
    grade: str  # the subject's grade: its lowest-graded evaluation
    grade_name_zh: str
    grade_name_en: str
    score: int | None = None  # full detail only: the lowest score of its evaluations
    risk_class: str | None = None  # full detail only: the worst class of its evaluations
    evaluations: list[EvaluationRead] = Field(default_factory=list)
    public_evaluations: list[PublicEvaluation] = Field(default_factory=list)
    notice_zh: str
    notice_en: str
