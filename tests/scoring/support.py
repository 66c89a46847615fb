"""Helpers of the scoring tests: credit records as the records contract stores them, and a score run inside
the test's transaction (``score(session)``)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pyarrow.compute as pc
from sqlalchemy.orm import Session

from ecredit.analytics.engine import open_engine
from ecredit.analytics.lake import Lake
from ecredit.intake import formats
from ecredit.records.models import CreditRecord
from ecredit.scoring import runner, snapshots, spec
from ecredit.subjects.models import Subject

AS_OF = dt.date(2026, 6, 30)
_seq = itertools.count(1)


def add_record(session: Session, subject: Subject, **overrides: Any) -> CreditRecord:
    """A credit record row of the records contract (a general administrative penalty unless told)."""
    n = next(_seq)
    data: dict[str, Any] = {
        "subject_id": subject.id,
        "kind": "administrative_penalty",
        "effect": "negative",
        "severity": "general",
        "title": "虚构交易",
        "summary": "",
        "legal_basis": "《中华人民共和国电子商务法》第十七条、第八十五条",
        "source_department": "济南市市场监督管理局",
        "source_ref": f"济市监罚〔2026〕{n}号",
        "decided_on": dt.date(2026, 3, 1),
        "publicity_from": dt.date(2026, 3, 1),
        "publicity_min_until": dt.date(2026, 6, 1),
        "publicity_until": dt.date(2027, 3, 1),
        "rule": "test",
        "policy_version": "test",
        "status": "active",
        "evidence": {},
        "details": {},
    } | overrides
    record = CreditRecord(**data)
    session.add(record)
    session.flush()
    return record


def black_list_entry(session: Session, subject: Subject, *, serious: bool = True, colour: str = "black"):
    return add_record(
        session,
        subject,
        kind="list_entry",
        severity="serious" if serious else "general",
        title="严重违法失信名单",
        details={"list_type": "samr_serious_illegal", "colour": colour, "serious": serious},
    )


def evaluate(
    session: Session, *, as_of: dt.date = AS_OF, model: spec.Model | None = None
) -> runner.Evaluation:
    """Evaluate everything the test's session holds (its lake may be empty) on DuckDB."""
    model = model or spec.load()
    schemas = {k: formats.lake_schema(formats.KINDS[k]) for k in runner.LAKE_KINDS}
    with open_engine("duckdb") as engine:
        snapshot = engine.register_lake(session, Lake(), runner.LAKE_KINDS, schemas=schemas)
        tables = snapshots.take(session)
        return runner.evaluate(engine, model, tables, as_of=as_of, snapshot=snapshot)


def score(session: Session, *, as_of: dt.date = AS_OF) -> str:
    """Evaluate and store the results in the test's transaction; the run id."""
    return runner.store(session, evaluate(session, as_of=as_of))


def score_of(evaluation: runner.Evaluation, entity_key: str, entity: str = "shop") -> dict[str, Any]:
    table = evaluation.scores[entity]
    rows = table.filter(pc.equal(table.column("entity_key"), entity_key)).to_pylist()
    assert len(rows) == 1, rows
    return rows[0]


def contribution(evaluation: runner.Evaluation, entity_key: str, indicator: str, entity: str = "shop"):
    table = evaluation.contributions[entity]
    mask = pc.and_(
        pc.equal(table.column("entity_key"), entity_key), pc.equal(table.column("indicator"), indicator)
    )
    rows = table.filter(mask).to_pylist()
    assert len(rows) == 1, rows
    return rows[0]
