"""Refreshing one subject's evaluations after its credit records changed (DESIGN.md §14: ``RecordRepaired`` ->
scores are refreshed), without a run over the province.

A refresh starts from the subject's latest evaluations (the rows of the newest run that evaluated it: a full
run or an earlier refresh) and recomputes what a change of records can move, with the model's own SQL on
DuckDB over that one subject:

- the indicators that read the records snapshot (``store_records``: penalties, commitments and awards), over
  the subject's records as they stand now (a repaired or withdrawn record no longer counts);
- the hard overrides (they read the records too);
- the combination into score, grade and risk class (``common/combine.sql``).

Every other contribution (the lake's trading indicators, monitoring risk, verification, years) and the credit
points are carried over unchanged from the evaluation it starts from: records do not enter them. The refresh
keeps that evaluation's evaluation date (records decided after it still do not count) and lake snapshot, and
is stored as a run of its own (``ScoreRun.base_run_id`` names the full run it refines), so history keeps both
the old and the new evaluation. A subject not evaluated yet, or evaluated by a model version no longer
shipped, is left to the next full run.
"""

from __future__ import annotations

import functools
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlalchemy.orm import Session
from sqlglot import exp

from ecredit.analytics.engine import open_engine
from ecredit.errors import ConfigurationError
from ecredit.scoring import repository as repo
from ecredit.scoring import runner, snapshots, spec

RECORDS = "store_records"
# What a records indicator or an override may read to be recomputed for one subject: the subject's entities
# and its records. One reading anything else (the lake, other snapshots) could not be refreshed alone.
REFRESHABLE_INPUTS = frozenset({"population", RECORDS})

CONTRIBUTIONS = pa.schema(
    [
        ("entity_key", pa.string()),
        ("indicator", pa.string()),
        ("raw", pa.float64()),
        ("n", pa.int64()),
        ("normalised", pa.float64()),
        ("weight", pa.float64()),
        ("points", pa.float64()),
    ]
)
POINTS = pa.schema(
    [
        ("entity_key", pa.string()),
        ("platform", pa.string()),
        ("party_ref", pa.string()),
        ("points", pa.int64()),
        ("level", pa.int64()),
        ("ratings", pa.int64()),
        ("voided_ratings", pa.int64()),
        ("capped_points", pa.int64()),
        ("deducted_points", pa.int64()),
    ]
)


@functools.cache
def tables_read(path: str) -> frozenset[str]:
    """The tables a SQL file of the model reads (its CTEs left out)."""
    tree = sqlglot.parse_one(runner.sql(path), read="duckdb")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return frozenset(t.name for t in tree.find_all(exp.Table)) - ctes


def _check(path: str, what: str) -> None:
    extra = tables_read(path) - REFRESHABLE_INPUTS
    if extra:
        raise ConfigurationError(
            f"scoring model: {what} reads {RECORDS} and also {sorted(extra)}: a refresh of one subject "
            f"can recompute only what reads {sorted(REFRESHABLE_INPUTS)}"
        )


def record_indicators(model: spec.Model) -> set[str]:
    """The keys of the indicators a change of records can move (their SQL reads the records snapshot)."""
    keys = set()
    for indicator in model.indicators:
        if RECORDS in tables_read(indicator.sql):
            _check(indicator.sql, f"indicator {indicator.key}")
            keys.add(indicator.key)
    for override in model.overrides:
        _check(override.sql, f"override {override.key}")
    return keys


def _carried(rows: list[Any]) -> pa.Table:
    return pa.table(
        {
            "entity_key": [c.entity_key for c in rows],
            "indicator": [c.indicator for c in rows],
            "raw": [c.raw for c in rows],
            "n": [c.observations for c in rows],
            "normalised": [c.normalised for c in rows],
            "weight": [c.weight for c in rows],
            "points": [c.points for c in rows],
        },
        schema=CONTRIBUTIONS,
    )


def _points(rows: list[Any]) -> pa.Table:
    return pa.table(
        {
            "entity_key": [p.shop_id for p in rows],
            "platform": [p.platform for p in rows],
            "party_ref": [p.party_ref for p in rows],
            "points": [p.points for p in rows],
            "level": [p.level for p in rows],
            "ratings": [p.ratings for p in rows],
            "voided_ratings": [p.voided_ratings for p in rows],
            "capped_points": [p.capped_points for p in rows],
            "deducted_points": [p.deducted_points for p in rows],
        },
        schema=POINTS,
    )


def refresh_subject(session: Session, subject_id: str, *, cause: str) -> str | None:
    """Re-evaluate the subject's entities with its records as they stand; the new run's id (None when the
    subject has no evaluation to refresh). A flush, no commit."""
    latest = repo.latest_scores_of_subject(session, subject_id)
    if not latest:
        return None
    model = spec.by_ref(latest[0].model)
    if model is None:
        return None
    source = repo.get_run(session, latest[0].run_id)
    recompute = record_indicators(model)
    keys = [x.entity_key for x in latest]
    carried = [c for c in repo.contributions(session, source.id, keys) if c.indicator not in recompute]
    shop_ids = [x.shop_id for x in latest if x.shop_id]
    points = _points(repo.points_of(session, source.id, shop_ids))
    tables = {RECORDS: snapshots.records_table(repo.counting_records(session, subject_id))}
    params = runner._params(model, source.as_of)
    evaluation = runner.Evaluation(
        model=model, engine="duckdb", snapshot=source.snapshot, as_of=source.as_of, points=points
    )
    with open_engine("duckdb") as engine:
        runner.register_inputs(engine, model, tables)
        engine.register_arrow("points", points)
        for entity in model.entities:
            mine = [x for x in latest if x.entity == entity]
            if not mine:
                continue
            population = pa.table(
                {
                    "entity_key": pa.array([x.entity_key for x in mine], pa.string()),
                    "subject_id": pa.array([x.subject_id for x in mine], pa.string()),
                }
            )
            engine.register_arrow("population", population)
            own = {x.entity_key for x in mine}
            parts = [_carried([c for c in carried if c.entity_key in own])]
            for indicator in model.for_entity(entity):
                if indicator.key in recompute:
                    parts.append(runner._indicator(engine, indicator, params).select(CONTRIBUTIONS.names))
            contributions = pa.concat_tables([p.cast(CONTRIBUTIONS) for p in parts]).sort_by(
                [("entity_key", "ascending"), ("indicator", "ascending")]
            )
            engine.register_arrow("contributions", contributions)
            engine.register_arrow("overrides", runner._overrides(engine, model, params))
            engine.run("scores", runner.sql("common/combine.sql"))
            evaluation.scores[entity] = engine.table(
                engine.run("final_scores", runner.sql("common/final.sql"))
            )
            evaluation.contributions[entity] = contributions
    evaluation.points = points.filter(pc.is_in(points.column("entity_key"), pa.array(shop_ids, pa.string())))
    return runner.store(
        session,
        evaluation,
        base_run_id=source.base_run_id or source.id,
        note={"subject_id": subject_id, "cause": cause, "from_run": source.id},
    )
