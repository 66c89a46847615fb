"""What a detector hands over: findings, before they become stored risk warnings.

The contract between the detectors (``monitoring/detectors/``, which read the lake through the analytics
engine) and the warning service (``monitoring/service.py``, which stores, de-duplicates, triages and exports
warnings).

A finding names its members by the platforms' own identifiers: shops by platform shop id, accounts by the
platform's pseudonymous account id, objects (orders, reviews, parcels, payments) by the platform's record id.
Every member carries its platform, because some patterns cross platforms (a shop re-opened elsewhere).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from typing import Any


class WarningKind(enum.StrEnum):
    brushing_ring = "brushing_ring"  # 刷单炒信: a dense block of accounts × shops × time
    fake_review = "fake_review"  # fake positive reviews (ring orders, cashback bursts, near-duplicates)
    extortion_reviewer = "extortion_reviewer"  # 恶意差评: negative reviews across shops, then refunds
    empty_parcel = "empty_parcel"  # 空包: parcels that carry nothing
    shared_payer = "shared_payer"  # one payer or device behind many buyer accounts
    reopened_shop = "reopened_shop"  # a new shop linked to a shop with misconduct
    impossible_track = "impossible_track"  # a parcel scanned before its pick-up or moved faster than possible
    unverified_carrier = (
        "unverified_carrier"  # parcels given to a courier company without a verified identity
    )
    # A listed operator (or a company whose legal representative is restricted) opened a shop: raised at
    # intake by the lists' check (lists/intake_guard.py on ShopRegistered)
    listed_operator = "listed_operator"


class MemberRole(enum.StrEnum):
    shop = "shop"
    account = "account"
    object = "object"  # order, review, parcel or payment: the evidence records


@dataclass(frozen=True, order=True)
class Member:
    role: MemberRole
    platform: str  # platform code
    ref: str  # the platform's own id of the shop, account or record
    object_kind: str | None = None  # objects: orders | reviews | parcels | payments | parcel_scans | carriers
    # True for a member named only because the finding's subject links to it, not because it took part in
    # the pattern: the earlier shop with misconduct that a re-opened shop links to. The warning is about
    # the other members; a linked member is evidence (stored, shown, exported as ``linked_shop_ids``,
    # left out of ``subject_ids`` and of the evaluation).
    linked: bool = False


@dataclass
class Finding:
    """One pattern found: what, who, how sure, and the evidence in words and ids."""

    kind: WarningKind
    platform: str  # the platform the pattern happened on (for cross-platform patterns: the newest shop's)
    score: (
        float  # how strong the pattern is, detector-specific scale, higher = worse; documented per detector
    )
    confidence: float  # 0..1: the detector's estimate that the pattern is misconduct
    summary: str  # the pattern in words a regulator reads (English; the portal translates the kind)
    members: list[Member]
    # Structured evidence: counts, windows, thresholds. Evidence about one platform's records goes in an
    # object naming it (``{"platform": code, ...}``): a platform's view leaves other platforms' objects out.
    details: dict[str, Any] = field(default_factory=dict)

    def ids(self, role: MemberRole) -> list[Member]:
        return sorted(m for m in self.members if m.role == role)

    def fingerprint(self, detector: str) -> str:
        """Stable identity of the finding across runs: detector, kind and member shops/accounts (objects
        excluded, so a ring that gains one more order is still the same warning)."""
        keys = sorted(
            f"{m.role}:{m.platform}:{m.ref}" for m in self.members if m.role is not MemberRole.object
        ) or sorted(f"{m.role}:{m.platform}:{m.ref}" for m in self.members)
        h = hashlib.sha256("\n".join([detector, str(self.kind), *keys]).encode())
        return h.hexdigest()


@dataclass(frozen=True)
class DetectorRun:
    """The provenance of a set of findings: which detector, which version, on which data."""

    detector: str
    version: str
    engine: str  # duckdb | spark
    snapshot: str  # the lake snapshot: the newest committed lake batch id the run could see
    parameters: dict[str, Any] = field(default_factory=dict)  # the thresholds used, from policy
