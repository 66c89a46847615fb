"""Domain events announced by verification."""

from dataclasses import dataclass

from ecredit.kit.events import DomainEvent


@dataclass(frozen=True)
class ShopVerified(DomainEvent):
    shop_id: str
    verification_id: str
    mark_id: str


@dataclass(frozen=True)
class ShopVerificationFailed(DomainEvent):
    shop_id: str
    verification_id: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class MarkRevoked(DomainEvent):
    mark_id: str
    shop_id: str
    reason: str
