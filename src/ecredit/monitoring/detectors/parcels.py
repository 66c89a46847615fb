"""``empty_parcel`` (空包): parcels that carry nothing, shipped to fake a delivery for a fabricated order.

One SQL step (``sql/parcels/empty.sql``) marks each signed parcel with three signals — light (at most
``empty_max_weight_grams``), no transit scan between pick-up and sign-off, and signed sooner than
``empty_min_intercity_hours`` although shipped from another prefecture — and keeps those with at least
``empty_min_signals`` of them. Findings are grouped by shop: one warning per shop, its parcels as evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any, ClassVar

from ecredit.analytics.engine import Engine
from ecredit.monitoring.detectors.base import Detector, Progress, sql
from ecredit.monitoring.findings import Finding, Member, MemberRole, WarningKind


class EmptyParcel(Detector):
    name: ClassVar[str] = "empty_parcel"
    version: ClassVar[str] = "1.0"
    kind: ClassVar[WarningKind] = WarningKind.empty_parcel
    lake_kinds: ClassVar[tuple[str, ...]] = ("parcels", "parcel_scans", "orders")
    lake_columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "parcels": ("parcel_id", "order_id", "weight_grams", "ship_from_region", "ship_to_region"),
        "parcel_scans": (),  # read from parcel_scans_all (sql/parcels/empty.sql says why)
        "orders": ("order_id", "shop_id", "buyer_id"),
    }
    parameter_keys: ClassVar[tuple[str, ...]] = (
        "empty_max_weight_grams",
        "empty_min_intercity_hours",
        "empty_min_signals",
    )

    def run(self, engine: Engine, progress: Progress | None = None) -> list[Finding]:
        engine.run(
            "empty_parcels",
            sql("parcels/empty.sql"),
            max_weight_grams=int(self.value("empty_max_weight_grams")),
            min_intercity_hours=float(self.value("empty_min_intercity_hours")),
            min_signals=int(self.value("empty_min_signals")),
        )
        by_shop: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for batch in engine.batches("empty_parcels"):
            for row in batch.to_pylist():
                by_shop[(row["platform"], row["shop_id"] or "")].append(row)
        if progress:
            progress(f"{sum(len(v) for v in by_shop.values())} parcels at {len(by_shop)} shops")
        out = []
        for (platform, shop_id), rows in sorted(by_shop.items()):
            rows.sort(key=lambda r: r["parcel_id"])
            light = sum(1 for r in rows if r["light"])
            no_transit = sum(1 for r in rows if r["no_transit"])
            too_fast = sum(1 for r in rows if r["too_fast"])
            members = [Member(MemberRole.shop, platform, shop_id)] if shop_id else []
            members += [Member(MemberRole.object, platform, r["parcel_id"], "parcels") for r in rows]
            mean_signals = sum(r["signal_count"] for r in rows) / len(rows)
            out.append(
                Finding(
                    kind=self.kind,
                    platform=platform,
                    score=float(len(rows)),
                    confidence=round(min(0.99, mean_signals / 3 + 0.1 * (len(rows) > 1)), 3),
                    summary=(
                        f"{len(rows)} parcels of shop {shop_id} look empty: {light} weigh at most "
                        f"{self.value('empty_max_weight_grams')} g, {no_transit} went from pick-up to signed "
                        f"with no transit scan, {too_fast} were signed faster than the distance allows"
                    ),
                    members=members,
                    details={
                        "parcels": len(rows),
                        "light": light,
                        "no_transit": no_transit,
                        "too_fast": too_fast,
                        "examples": [
                            {
                                "parcel_id": r["parcel_id"],
                                "order_id": r["order_id"],
                                "weight_grams": r["weight_grams"],
                                "hours_to_sign": round(r["hours_to_sign"], 2) if r["hours_to_sign"] else None,
                                "ship_from_region": r["ship_from_region"],
                                "ship_to_region": r["ship_to_region"],
                            }
                            for r in rows[:5]
                        ],
                    },
                )
            )
        return out
