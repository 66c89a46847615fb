"""Domain events announced by monitoring (credit records subscribe in ``wiring.py`` when they land)."""

from dataclasses import dataclass

from ecredit.kit.events import DomainEvent


@dataclass(frozen=True)
class WarningConfirmed(DomainEvent):
    """A regulator confirmed a risk warning: the pattern is misconduct of the subjects named."""

    warning_id: str
    kind: str
    platform: str
    subject_ids: tuple[str, ...]  # operators of the warning's shops (linked shops excluded)
    shop_ids: tuple[str, ...]  # the store's ids of those shops
    confirmed_by: str  # the principal's actor
    reason: str | None  # masked


@dataclass(frozen=True)
class WarningReopened(DomainEvent):
    """A confirmed or dismissed warning was re-opened (a confirmation may have to be withdrawn)."""

    warning_id: str
    previous_status: str
    reopened_by: str
    reason: str
