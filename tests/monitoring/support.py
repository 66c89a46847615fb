"""Findings and detector runs for the warning tests: ``ring(...)``, ``run(...)``, ``record(...)``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ecredit.monitoring import service
from ecredit.monitoring.findings import DetectorRun, Finding, Member, MemberRole, WarningKind
from ecredit.monitoring.models import RiskWarning

SNAPSHOT = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def run(detector: str = "brushing_ring", version: str = "1.0", snapshot: str = SNAPSHOT) -> DetectorRun:
    return DetectorRun(detector=detector, version=version, engine="duckdb", snapshot=snapshot)


def shop(platform: str, ref: str, *, linked: bool = False) -> Member:
    return Member(MemberRole.shop, platform, ref, linked=linked)


def account(platform: str, ref: str) -> Member:
    return Member(MemberRole.account, platform, ref)


def record_of(platform: str, ref: str, kind: str = "orders") -> Member:
    return Member(MemberRole.object, platform, ref, kind)


def finding(
    members: list[Member],
    *,
    kind: WarningKind = WarningKind.brushing_ring,
    platform: str | None = None,
    score: float = 10.0,
    confidence: float = 0.9,
    summary: str = "3 accounts bought 20 times from 2 shops in 5 days",
    details: dict[str, Any] | None = None,
) -> Finding:
    return Finding(
        kind=kind,
        platform=platform or members[0].platform,
        score=score,
        confidence=confidence,
        summary=summary,
        members=members,
        details=details if details is not None else {"orders": 20},
    )


def ring(platform: str, shops: list[str], accounts: list[str], orders: list[str] = (), **kw: Any) -> Finding:
    members = [shop(platform, s) for s in shops] + [account(platform, a) for a in accounts]
    members += [record_of(platform, o) for o in orders]
    return finding(members, platform=platform, **kw)


def stored(session: Session, *findings: Finding, detector: str = "brushing_ring") -> list[RiskWarning]:
    """The stored warnings of the findings, in the order given."""
    from sqlalchemy import select

    by_fp = {
        w.fingerprint: w for w in session.scalars(select(RiskWarning).where(RiskWarning.detector == detector))
    }
    return [by_fp[f.fingerprint(detector)] for f in findings]


def record(
    session: Session, *findings: Finding, detector_run: DetectorRun | None = None
) -> list[RiskWarning]:
    """Record the findings and return their warnings, in the order given."""
    detector_run = detector_run or run()
    service.record_findings(session, detector_run, list(findings))
    return stored(session, *findings, detector=detector_run.detector)
