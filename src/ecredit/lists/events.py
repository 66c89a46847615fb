"""Domain events announced by the lists (``wiring.py`` subscribes enforcement orders, verification marks,
scores and disclosure to them)."""

from __future__ import annotations

from dataclasses import dataclass

from ecredit.kit.events import DomainEvent


@dataclass(frozen=True)
class ListEntryPublished(DomainEvent):
    """An entry was published: its measures take effect (black lists: enforcement orders go out)."""

    entry_id: str
    subject_id: str
    list_type: str
    colour: str  # red | black
    published_by: str


@dataclass(frozen=True)
class ListEntryRemoved(DomainEvent):
    """A published entry left the list: its measures are lifted and every public trace goes."""

    entry_id: str
    subject_id: str
    list_type: str
    colour: str
    reason: str  # expired | repaired | withdrawn
    removed_by: str
