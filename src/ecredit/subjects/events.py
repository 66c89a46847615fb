"""Domain events announced by the subject registry."""

from dataclasses import dataclass

from ecredit.kit.events import DomainEvent


@dataclass(frozen=True)
class SubjectRegistered(DomainEvent):
    subject_id: str
    kind: str


@dataclass(frozen=True)
class ShopRegistered(DomainEvent):
    shop_id: str
    platform_id: str
    operator_id: str
