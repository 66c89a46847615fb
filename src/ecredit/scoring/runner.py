"""``ecredit score run``: evaluate every shop, platform and logistics company with the indicator model,
columnar end to end (DESIGN.md §2: analytics jobs -> scoring indicators -> scores, grades, risk classes).

1. Register the lake (orders, parcels, parcel scans, reviews) and the store snapshots (``scoring.snapshots``)
   in the analytics engine; the model's bands and weights as small Arrow tables.
2. Per entity kind: list the population (its SQL), then per indicator run its SQL (one aggregate), normalise
   and weight it (``common/normalise.sql``), apply the overrides and combine (``common/combine.sql``).
3. Credit points of shops from the reviews (``points/seller_points.sql``).
4. Write the run, the scores, the contributions and the points with bulk inserts, in one transaction.

``evaluate`` (steps 1-3, returning Arrow tables) is separate from ``run`` (which also stores them), so the
benchmark and the tests can look at the tables a run would store.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ecredit.analytics.engine import Engine, load_sql, open_engine
from ecredit.analytics.lake import Lake
from ecredit.db import session_scope
from ecredit.intake import formats
from ecredit.kit.clock import LEGAL_TZ, today, utc_now
from ecredit.kit.ids import new_id
from ecredit.kit.policy import policy
from ecredit.scoring import snapshots, spec
from ecredit.scoring.models import CreditPoints, CreditScore, ScoreContribution, ScoreRun
from ecredit.subjects.repository import bulk_insert

LAKE_KINDS = ("orders", "parcels", "parcel_scans", "reviews")
# Lake kinds two SQL files read (credit points and the shop_reviews step): made once as a table of the newest
# versions with these columns, instead of a view de-duplicated again by each reader.
SHARED_COLUMNS = {"reviews": ["review_id", "shop_id", "buyer_id", "rating", "reviewed_at", "kind"]}
_PLACEHOLDER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
WRITE_ROWS = 50_000
Progress = Callable[[str], None]


def sql(path: str) -> str:
    """A SQL file of the scoring package: ``sql("shop/volume.sql")``."""
    return load_sql(f"ecredit.scoring/sql/{path}")


def _used(text: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters the SQL text uses (the engine refuses unused ones)."""
    names = set(_PLACEHOLDER.findall(text))
    return {k: v for k, v in params.items() if k in names}


def as_of_instant(day: dt.date) -> dt.datetime:
    """The last instant of ``day`` in China Standard Time, in UTC (what happened by the evaluation date)."""
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=LEGAL_TZ)
    return (midnight - dt.timedelta(microseconds=1)).astimezone(dt.UTC)


@dataclass
class Evaluation:
    """What a run computed: per entity kind, the scores and contributions; the shops' credit points."""

    model: spec.Model
    engine: str
    snapshot: str
    as_of: dt.date
    scores: dict[str, pa.Table] = field(default_factory=dict)
    contributions: dict[str, pa.Table] = field(default_factory=dict)
    points: pa.Table | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    def all_scores(self) -> Iterator[tuple[str, pa.Table]]:
        yield from self.scores.items()


def _bands_table(bands: tuple[spec.Band, ...], column: str) -> pa.Table:
    return pa.table(
        {
            column: pa.array([b.symbol for b in bands], pa.string()),
            "low": pa.array([b.low for b in bands], pa.int64()),
            "high": pa.array([b.high for b in bands], pa.int64()),
        }
    )


def _levels_table(rules: spec.PointsRules) -> pa.Table:
    lows = [lv.low for lv in rules.levels]
    lows[0] = -(2**62)  # below the first edge (negative points): the first level
    highs = [*lows[1:], 2**62]
    return pa.table(
        {
            "level": pa.array([lv.level for lv in rules.levels], pa.int64()),
            "low": pa.array(lows, pa.int64()),
            "high": pa.array(highs, pa.int64()),
        }
    )


def register_inputs(engine: Engine, model: spec.Model, tables: dict[str, pa.Table]) -> None:
    """The store snapshots and the model's small tables (bands, warning weights, point levels)."""
    for name, table in tables.items():
        engine.register_arrow(name, table)
    engine.register_arrow(
        "warning_weights",
        pa.table(
            {
                "kind": pa.array(list(model.warning_weights), pa.string()),
                "weight": pa.array(list(model.warning_weights.values()), pa.float64()),
            }
        ),
    )
    engine.register_arrow("grade_bands", _bands_table(model.grades, "grade"))
    engine.register_arrow("class_bands", _bands_table(model.classes, "risk_class"))
    engine.register_arrow("point_levels", _levels_table(model.points))


def _params(model: spec.Model, as_of: dt.date) -> dict[str, Any]:
    rules = policy("scoring")
    params: dict[str, Any] = {
        "as_of": as_of,
        "as_of_ts": as_of_instant(as_of),
        "confirmed_factor": model.confirmed_factor,
        "utc_offset_s": int(rules.value("local_utc_offset")) * 3600,
        "period_days": model.points.period_days,
        "pair_cap": model.points.pair_cap,
        "void_fake_reviews": model.points.void_detected_fake_reviews,
        "brushing_deduction": model.points.brushing_deduction,
    }
    params |= {f"w_{k}": v for k, v in model.record_weights.items()}
    params |= {f"p{k}": v for k, v in model.points.rating_points.items()}
    return params


def _indicator(engine: Engine, indicator: spec.Indicator, params: dict[str, Any]) -> pa.Table:
    text = sql(indicator.sql)
    engine.run("indicator_raw", text, **_used(text, params | indicator.params))
    norm = indicator.normaliser
    engine.run(
        "indicator_points",
        sql("common/normalise.sql"),
        indicator=indicator.key,
        min_count=indicator.min_count,
        kind=str(norm["kind"]),
        low=float(norm.get("low", 0.0)),
        high=float(norm.get("high", 1.0)),
        mid=float(norm.get("mid", 0.0)),
        scale=float(norm.get("scale", 1.0)),
        higher_better=indicator.higher_better,
        neutral=indicator.neutral,
        default_raw=indicator.default_raw,
        weight=indicator.weight,
    )
    return engine.table("indicator_points")


def _overrides(engine: Engine, model: spec.Model, params: dict[str, Any]) -> pa.Table:
    parts = []
    for override in model.overrides:
        text = sql(override.sql)
        hits = engine.query(text, **_used(text, params))
        n = hits.num_rows
        parts.append(
            pa.table(
                {
                    "entity_key": hits.column("entity_key").cast(pa.string()),
                    "override": pa.array([override.key] * n, pa.string()),
                    "score_max": pa.array([override.score_max] * n, pa.int64()),
                    "risk_class": pa.array([override.risk_class] * n, pa.string()),
                }
            )
        )
    if not parts:
        return pa.schema(
            [
                ("entity_key", pa.string()),
                ("override", pa.string()),
                ("score_max", pa.int64()),
                ("risk_class", pa.string()),
            ]
        ).empty_table()
    return pa.concat_tables(parts)


def _points(
    engine: Engine, model: spec.Model, params: dict[str, Any], tables: dict[str, pa.Table]
) -> pa.Table:
    flagged = tables["store_flagged_accounts"]
    kind = flagged.column("kind")
    ring = pc.and_(pc.equal(kind, "brushing_ring"), flagged.column("confirmed"))
    extortion = pc.equal(kind, "extortion_reviewer")
    keep = pc.or_(
        pc.and_(ring, pa.scalar(model.points.void_confirmed_brushing)),
        pc.and_(extortion, pa.scalar(model.points.void_detected_extortion)),
    )
    engine.register_arrow("voided_accounts", flagged.filter(keep).select(["platform", "account_id"]))
    text = sql(model.points.sql)
    engine.run("seller_points", text, **_used(text, params))
    engine.run("points", sql("points/levels.sql"))
    return engine.table("points")


def evaluate(
    engine: Engine,
    model: spec.Model,
    tables: dict[str, pa.Table],
    *,
    as_of: dt.date,
    snapshot: str,
    progress: Progress | None = None,
) -> Evaluation:
    """Run the model over what is registered in ``engine`` (the lake and ``tables``)."""
    note = progress or (lambda _m: None)
    params = _params(model, as_of)
    register_inputs(engine, model, tables)
    out = Evaluation(model=model, engine=engine.name, snapshot=snapshot, as_of=as_of)
    t0 = time.monotonic()
    note("credit points")
    out.points = _points(engine, model, params, tables)
    out.seconds["points"] = time.monotonic() - t0
    done: set[str] = set()
    for entity, info in model.entities.items():
        t0 = time.monotonic()
        engine.run("population", sql(info["population"]))
        if engine.count("population") == 0:
            continue
        for step in model.steps:  # shared passes, once per run, before the first entity kind needing them
            if entity in step.entities and step.name not in done:
                note(f"{entity}: {step.name}")
                t1 = time.monotonic()
                text = sql(step.sql)
                engine.run(step.name, text, **_used(text, params | step.params))
                out.seconds[step.name] = time.monotonic() - t1
                done.add(step.name)
        parts = []
        for indicator in model.for_entity(entity):
            note(f"{entity}: {indicator.key}")
            parts.append(_indicator(engine, indicator, params))
        contributions = pa.concat_tables(parts)
        engine.register_arrow("contributions", contributions)
        engine.register_arrow("overrides", _overrides(engine, model, params))
        engine.run("scores", sql("common/combine.sql"))
        out.scores[entity] = engine.table(engine.run("final_scores", sql("common/final.sql")))
        out.contributions[entity] = contributions
        out.seconds[entity] = time.monotonic() - t0
    return out


@dataclass
class RunResult:
    run_id: str
    evaluation: Evaluation
    counts: dict[str, Any]
    seconds: float


def _batches(table: pa.Table, extra: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    for batch in table.to_batches(max_chunksize=WRITE_ROWS):
        rows = batch.to_pylist()
        for row in rows:
            row.update(extra)
        yield rows


def _counts(evaluation: Evaluation) -> dict[str, Any]:
    counts: dict[str, Any] = {}
    for entity, table in evaluation.scores.items():
        grades = table.group_by("grade").aggregate([("entity_key", "count")]).to_pylist()
        classes = table.group_by("risk_class").aggregate([("entity_key", "count")]).to_pylist()
        counts[entity] = {
            "entities": table.num_rows,
            "grades": {g["grade"]: g["entity_key_count"] for g in sorted(grades, key=lambda g: g["grade"])},
            "classes": {
                c["risk_class"]: c["entity_key_count"] for c in sorted(classes, key=lambda c: c["risk_class"])
            },
            "overrides": table.num_rows - table.column("override").null_count,
        }
    return counts


def store(
    session: Any,
    evaluation: Evaluation,
    *,
    run_id: str | None = None,
    base_run_id: str | None = None,
    note: dict[str, Any] | None = None,
) -> str:
    """Write a run's results with bulk inserts (the caller's transaction; nothing committed here). A refresh
    of one subject (``scoring.refresh``) names its full run (``base_run_id``) and what caused it (``note``,
    kept in the run's counts under ``refresh``)."""
    run_id = run_id or new_id()
    now = utc_now()
    counts = _counts(evaluation) | ({"refresh": note} if note else {})
    session.add(
        ScoreRun(
            id=run_id,
            model=evaluation.model.ref,
            engine=evaluation.engine,
            snapshot=evaluation.snapshot,
            as_of=evaluation.as_of,
            counts=counts,
            base_run_id=base_run_id,
            started_at=now,
        )
    )
    session.flush()
    common = {
        "run_id": run_id,
        "model": evaluation.model.ref,
        "snapshot": evaluation.snapshot,
        "computed_at": now,
    }
    for entity, table in evaluation.scores.items():
        shop = entity == "shop"
        for rows in _batches(table, common | {"entity": entity}):
            for row in rows:
                row["shop_id"] = row["entity_key"] if shop else None
            bulk_insert(session, CreditScore, rows)
        columns = ["entity_key", "indicator", "raw", "n", "normalised", "weight", "points"]
        contributions = (
            evaluation.contributions[entity]
            .select(columns)
            .rename_columns(
                ["entity_key", "indicator", "raw", "observations", "normalised", "weight", "points"]
            )
        )
        for rows in _batches(contributions, {"run_id": run_id}):
            bulk_insert(session, ScoreContribution, rows)
    if evaluation.points is not None and evaluation.points.num_rows:
        points = evaluation.points.select(
            [
                "entity_key",
                "platform",
                "party_ref",
                "points",
                "level",
                "ratings",
                "voided_ratings",
                "capped_points",
                "deducted_points",
            ]
        ).rename_columns(
            [
                "shop_id",
                "platform",
                "party_ref",
                "points",
                "level",
                "ratings",
                "voided_ratings",
                "capped_points",
                "deducted_points",
            ]
        )
        for rows in _batches(points, {"run_id": run_id, "side": "seller"}):
            bulk_insert(session, CreditPoints, rows)
    run = session.get(ScoreRun, run_id)
    run.finished_at = utc_now()
    session.flush()
    return run_id


def run(
    *,
    engine_name: str | None = None,
    model_name: str = spec.DEFAULT_MODEL,
    as_of: dt.date | None = None,
    progress: Progress | None = None,
    record: bool = True,
) -> RunResult:
    """Evaluate everything over the committed lake and the store; store the results unless ``record`` is
    False (one transaction)."""
    started = time.monotonic()
    model = spec.load(model_name)
    as_of = as_of or today()
    note = progress or (lambda _m: None)
    schemas = {k: formats.lake_schema(formats.KINDS[k]) for k in LAKE_KINDS}
    with open_engine(engine_name) as engine:
        note("reading the store")
        with session_scope(read_only=True) as session:
            snapshot = engine.register_lake(
                session, Lake(), LAKE_KINDS, schemas=schemas, columns=SHARED_COLUMNS
            )
            tables = snapshots.take(session)
        evaluation = evaluate(engine, model, tables, as_of=as_of, snapshot=snapshot, progress=note)
    run_id = new_id()
    if record:
        note("writing scores")
        with session_scope() as session:
            store(session, evaluation, run_id=run_id)
    return RunResult(run_id, evaluation, _counts(evaluation), time.monotonic() - started)
