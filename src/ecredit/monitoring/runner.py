"""``ecredit monitor run``: register the lake and the store snapshots in the engine, run the detectors in
order, store their findings as risk warnings (DESIGN.md §2: analytics jobs -> monitoring detectors -> risk
warnings)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import pyarrow as pa
from sqlalchemy import select

from ecredit.analytics.engine import STEP_LOG, open_engine
from ecredit.analytics.lake import Lake
from ecredit.db import session_scope
from ecredit.errors import BadRequest
from ecredit.intake import formats
from ecredit.monitoring import service, snapshots
from ecredit.monitoring.detectors import DETECTORS, Detector
from ecredit.monitoring.findings import DetectorRun, Finding, MemberRole
from ecredit.monitoring.models import RiskWarning, WarningMember


@dataclass
class DetectorResult:
    run: DetectorRun
    findings: list[Finding]
    seconds: float
    new: int = 0
    updated: int = 0


@dataclass
class MonitorRun:
    engine: str
    snapshot: str
    results: dict[str, DetectorResult] = field(default_factory=dict)
    seconds: float = 0.0


def plan(names: Iterable[str] | None) -> list[type[Detector]]:
    """The detectors to run, in running order, with the ones they require."""
    wanted = list(DETECTORS) if not names else list(names)
    unknown = [n for n in wanted if n not in DETECTORS]
    if unknown:
        raise BadRequest(f"unknown detector(s) {', '.join(unknown)}; known: {', '.join(DETECTORS)}")
    needed: set[str] = set()
    for name in wanted:
        needed.add(name)
        needed.update(getattr(DETECTORS[name], "requires", ()))
    return [cls for name, cls in DETECTORS.items() if name in needed]


def shared_columns(classes: Iterable[type[Detector]]) -> dict[str, list[str]]:
    """The lake tables that two or more of these detectors read, or that one reads more than once
    (``lake_rereads``), each with the columns they read.

    The runner has the engine make each of them once (``register_lake(columns=...)``): a view would
    de-duplicate the kind's files again for every query that reads it. A kind some reader does not declare
    columns of is left a view.
    """
    readers: dict[str, list[tuple[str, ...] | None]] = {}
    for cls in classes:
        for kind in cls.lake_kinds:
            readers.setdefault(kind, []).append(cls.lake_columns.get(kind))
            if kind in cls.lake_rereads:  # counts as a second reader
                readers[kind].append(cls.lake_columns.get(kind))
    out: dict[str, list[str]] = {}
    for kind, wanted in readers.items():
        used = [w for w in wanted if w != ()]  # () : the detector reads no column of the de-duplicated view
        if len(used) >= 2 and all(w is not None for w in used):
            out[kind] = sorted({c for w in used for c in w})  # type: ignore[union-attr]
    return out


def prior_misconduct(session: object) -> pa.Table:
    """Shops named in confirmed warnings: what re-opened shops are measured against."""
    rows = session.execute(  # type: ignore[attr-defined]
        select(WarningMember.platform, WarningMember.ref)
        .join(RiskWarning, RiskWarning.id == WarningMember.warning_id)
        .where(RiskWarning.status == "confirmed", WarningMember.role == MemberRole.shop.value)
        .distinct()
    ).all()
    return pa.table(
        {
            "platform": pa.array([r[0] for r in rows], pa.string()),
            "shop_id": pa.array([r[1] for r in rows], pa.string()),
        }
    )


def run(
    *,
    engine_name: str | None = None,
    detectors: Iterable[str] | None = None,
    progress: Callable[[str, str], None] | None = None,
    record: bool = True,
) -> MonitorRun:
    """Run the detectors over the committed lake; store their warnings unless ``record`` is False."""
    started = time.monotonic()
    classes = plan(detectors)
    note = progress or (lambda _d, _m: None)
    kinds = sorted({k for cls in classes for k in cls.lake_kinds})
    schemas = {k: formats.lake_schema(formats.KINDS[k]) for k in kinds}
    with open_engine(engine_name) as engine:
        with session_scope(read_only=True) as session:
            shared = shared_columns(classes)
            snapshot = engine.register_lake(session, Lake(), kinds, schemas=schemas, columns=shared)
            tables = {t for cls in classes for t in cls.store_tables}
            if "store_shop_links" in tables:
                engine.register_arrow("store_shop_links", snapshots.shop_links(session))
            if "prior_misconduct" in tables:
                engine.register_arrow("prior_misconduct", prior_misconduct(session))
        out = MonitorRun(engine=engine.name, snapshot=snapshot)
        # A lake table made for several detectors is dropped after the last of them (memory on DuckDB).
        last_reader = {kind: cls.name for cls in classes for kind in cls.lake_kinds if kind in shared}
        for cls in classes:
            detector = cls()
            t0 = time.monotonic()
            note(cls.name, "running")
            findings = detector.run(engine, lambda message, name=cls.name: note(name, message))
            provenance = DetectorRun(
                detector=cls.name,
                version=cls.version,
                engine=engine.name,
                snapshot=snapshot,
                parameters=detector.parameters(),
            )
            out.results[cls.name] = DetectorResult(provenance, findings, time.monotonic() - t0)
            STEP_LOG.debug("detector %s: %.1f s, %d findings", cls.name, time.monotonic() - t0, len(findings))
            for kind in [k for k, name in last_reader.items() if name == cls.name]:
                engine.drop(kind)
            note(cls.name, f"{len(findings)} findings")
    if record:
        for result in out.results.values():
            t0 = time.monotonic()
            with session_scope() as session:
                summary = service.record_findings(session, result.run, result.findings)
            result.new, result.updated = summary.new, summary.updated
            STEP_LOG.debug("recorded %s: %.1f s", result.run.detector, time.monotonic() - t0)
    out.seconds = time.monotonic() - started
    return out
