"""Domain events announced by credit records (scoring, lists and disclosure subscribe in ``wiring.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from ecredit.kit.events import DomainEvent


@dataclass(frozen=True)
class RecordCreated(DomainEvent):
    """A credit record was created."""

    record_id: str
    subject_id: str
    kind: str
    effect: str
    severity: str | None


@dataclass(frozen=True)
class RecordRepaired(DomainEvent):
    """A record was repaired (信用修复): it leaves every public output, export and score."""

    record_id: str
    subject_id: str
    kind: str
    repaired_by: str


@dataclass(frozen=True)
class RecordWithdrawn(DomainEvent):
    """A record was withdrawn (its basis was revoked, changed, found unlawful or void)."""

    record_id: str
    subject_id: str
    kind: str
    withdrawn_by: str
    late: bool  # withdrawn after the legal deadline


@dataclass(frozen=True)
class RecordRestored(DomainEvent):
    """A repair was revoked: the record is active again (public again while inside its window)."""

    record_id: str
    subject_id: str
    kind: str
    restored_by: str


@dataclass(frozen=True)
class RecordCorrected(DomainEvent):
    """A record's facts were corrected: its class, rule and window may have changed."""

    record_id: str
    subject_id: str
    kind: str
    corrected_by: str
