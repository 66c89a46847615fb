"""Domain events: a small synchronous dispatcher (DESIGN.md §14).

A lower module announces an event inside its transaction; ``wiring.py`` subscribes upper modules'
handlers at start-up. Handlers run in the same session, so their writes commit or roll back with it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class DomainEvent:
    """Base class of all domain events."""


E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[Session, Any], None]

_handlers: dict[type[DomainEvent], list[Handler]] = defaultdict(list)


def subscribe(event_type: type[E], handler: Callable[[Session, E], None]) -> None:
    """Register ``handler`` for ``event_type`` (idempotent)."""
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def announce(session: Session, event: DomainEvent) -> None:
    """Run every handler subscribed to the event's type, in subscription order, in this transaction."""
    for handler in list(_handlers.get(type(event), ())):
        handler(session, event)


def clear() -> None:
    """Remove every subscription (tests)."""
    _handlers.clear()
