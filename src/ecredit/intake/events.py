"""Domain events announced by intake (DESIGN.md §14); monitoring's real-time checks subscribe (wiring.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecredit.kit.events import DomainEvent


@dataclass(frozen=True, eq=False)
class RecordsAccepted(DomainEvent):
    """A batch of records was accepted into the lake: announced in the transaction that commits its manifest.

    ``records`` is the batch's valid rows as validated (an Arrow table, formats v1 columns, normalised;
    personal fields still in clear: handlers must not store them). It lives in memory only.
    """

    kind: str
    platform: str  # platform code
    batch_id: str
    source: str  # rest | file
    records: Any  # pyarrow.Table
    lake_root: str  # the lake the batch was written to (its committed files are visible in this transaction)
