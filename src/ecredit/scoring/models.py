"""Credit evaluation results: runs, scores with their per-indicator contributions, credit points, and
random-inspection plans (DESIGN.md §6).

History is kept: every run adds one ``credit_score`` row per evaluated entity (a shop, a platform, a logistics
company) and never changes an earlier one; the latest evaluation of an entity is its row of the newest run
(``ix_credit_score_entity_key_computed_at``). The YAML model files are in the ``models/`` folder beside this
module (``scoring.spec``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ecredit.db import Base
from ecredit.kit.clock import utc_now
from ecredit.kit.ids import new_id
from ecredit.kit.types import UTCDateTime


class ScoreRun(Base):
    """One evaluation run: the model version, the engine, the data it saw and when. A full run evaluates
    everything; a refresh (``base_run_id`` set) re-evaluates one subject's entities after its credit records
    changed."""

    __tablename__ = "score_run"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    model: Mapped[str] = mapped_column(String(64))  # name@version of the YAML model
    engine: Mapped[str] = mapped_column(String(16))  # duckdb | spark
    snapshot: Mapped[str] = mapped_column(String(64))  # newest committed lake batch the run could see
    as_of: Mapped[dt.date] = mapped_column(Date)  # the evaluation date (records decided by then)
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # entities per kind, per grade
    # A refresh of one subject's evaluations (``scoring.refresh``) names the full run it starts from; a full
    # run (``ecredit score run``) has none.
    base_run_id: Mapped[str | None] = mapped_column(ForeignKey("score_run.id"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class CreditScore(Base):
    """The evaluation of one entity in one run."""

    __tablename__ = "credit_score"
    __table_args__ = (
        Index("ix_credit_score_entity_key_computed_at", "entity_key", "computed_at"),
        Index("ix_credit_score_subject_id_computed_at", "subject_id", "computed_at"),
    )

    run_id: Mapped[str] = mapped_column(ForeignKey("score_run.id"), primary_key=True)
    entity_key: Mapped[str] = mapped_column(String(26), primary_key=True)  # shop id, else subject id
    entity: Mapped[str] = mapped_column(String(16))  # shop | platform | logistics
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"))  # operator / platform / company
    shop_id: Mapped[str | None] = mapped_column(ForeignKey("shop.id"))
    score: Mapped[int] = mapped_column(Integer)  # 0-1000 after overrides
    base_score: Mapped[int] = mapped_column(Integer)  # before overrides
    grade: Mapped[str] = mapped_column(String(3))  # GB/T 22116: AAA ... C
    risk_class: Mapped[str] = mapped_column(String(1))  # A-D
    override: Mapped[str | None] = mapped_column(String(64))  # the hard override applied, if any
    points: Mapped[int | None] = mapped_column(BigInteger)  # credit points (shops)
    points_level: Mapped[int | None] = mapped_column(Integer)
    model: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class ScoreContribution(Base):
    """One indicator's part in one score: raw value, normalised value, weight and points."""

    __tablename__ = "score_contribution"

    run_id: Mapped[str] = mapped_column(ForeignKey("score_run.id"), primary_key=True)
    entity_key: Mapped[str] = mapped_column(String(26), primary_key=True)
    indicator: Mapped[str] = mapped_column(String(64), primary_key=True)
    raw: Mapped[float | None] = mapped_column(Float)  # None: no data (the neutral value applies)
    observations: Mapped[int] = mapped_column(BigInteger)
    normalised: Mapped[float] = mapped_column(Float)
    weight: Mapped[float] = mapped_column(Float)
    points: Mapped[float] = mapped_column(Float)


class CreditPoints(Base):
    """Credit points (信用积分) of one rated party in one run. ``side`` is who was rated: ``seller`` (from
    buyers' ratings, in the lake's reviews) or ``buyer`` (from sellers' ratings: not in record formats v1
    yet, the table takes them when they come)."""

    __tablename__ = "credit_points"

    run_id: Mapped[str] = mapped_column(ForeignKey("score_run.id"), primary_key=True)
    side: Mapped[str] = mapped_column(String(8), primary_key=True)
    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    party_ref: Mapped[str] = mapped_column(String(128), primary_key=True)  # the platform's own id
    shop_id: Mapped[str | None] = mapped_column(ForeignKey("shop.id"))
    points: Mapped[int] = mapped_column(BigInteger)
    level: Mapped[int] = mapped_column(Integer)
    ratings: Mapped[int] = mapped_column(BigInteger)
    voided_ratings: Mapped[int] = mapped_column(BigInteger)
    capped_points: Mapped[int] = mapped_column(BigInteger)
    # points deducted for confirmed brushing-ring warnings naming the shop (model points.brushing_deduction)
    deducted_points: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class InspectionPlan(Base):
    """A random-inspection plan (双随机抽查): who drew it, over which population, with which seed, rates."""

    __tablename__ = "inspection_plan"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    department: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(6))
    size: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[str] = mapped_column(ForeignKey("score_run.id"))
    policy_version: Mapped[str] = mapped_column(String(64))
    rates: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    population: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # entities per class
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class InspectionPlanItem(Base):
    """One drawn entity of a plan with the reason it was drawn."""

    __tablename__ = "inspection_plan_item"

    plan_id: Mapped[str] = mapped_column(ForeignKey("inspection_plan.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    entity_key: Mapped[str] = mapped_column(String(26))
    subject_id: Mapped[str] = mapped_column(ForeignKey("subject.id"))
    shop_id: Mapped[str | None] = mapped_column(ForeignKey("shop.id"))
    risk_class: Mapped[str] = mapped_column(String(1))
    score: Mapped[int] = mapped_column(Integer)
    rate: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
