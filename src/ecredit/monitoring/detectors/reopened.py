"""``reopened_shop`` (换壳重开): a shop that closed and a new shop tied to the same people soon after.

``sql/reopened/pairs.sql`` joins the store's shop link keys (operating subject, legal representative, contact
phone blind index: ``monitoring.snapshots.shop_links``) of shops that closed (every listing delisted) with
those
of shops opened between
``reopen_tolerance_days`` before and ``reopen_max_gap_days`` after the old shop's last order. The old shop's
record sets the confidence: confirmed warnings, or negative-review or refund rates above the platform's
``reopen_norm_quantile``. One finding per new shop; the new shop is the finding's subject
(``details.new_shop``),
the old shop(s) its evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any, ClassVar

from ecredit.analytics.engine import Engine
from ecredit.monitoring.detectors.base import Detector, Progress, sql
from ecredit.monitoring.findings import Finding, Member, MemberRole, WarningKind

LINK_WORDS = {
    "operator": "the same operator",
    "legal_representative": "the same legal representative",
    "phone": "the same contact phone",
}


class ReopenedShop(Detector):
    name: ClassVar[str] = "reopened_shop"
    version: ClassVar[str] = "1.0"
    kind: ClassVar[WarningKind] = WarningKind.reopened_shop
    lake_kinds: ClassVar[tuple[str, ...]] = ("orders", "reviews", "listings")
    lake_columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "orders": ("shop_id", "ordered_at", "status"),
        "reviews": ("shop_id", "rating"),
        "listings": ("shop_id", "delisted_at"),
    }
    store_tables: ClassVar[tuple[str, ...]] = ("store_shop_links", "prior_misconduct")
    parameter_keys: ClassVar[tuple[str, ...]] = (
        "reopen_max_gap_days",
        "reopen_tolerance_days",
        "reopen_norm_quantile",
    )

    def run(self, engine: Engine, progress: Progress | None = None) -> list[Finding]:
        pairs = engine.query(
            sql("reopened/pairs.sql"),
            max_gap_days=int(self.value("reopen_max_gap_days")),
            tolerance_days=int(self.value("reopen_tolerance_days")),
            norm_quantile=float(self.value("reopen_norm_quantile")),
        ).to_pylist()
        by_new: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in pairs:
            by_new[(row["new_platform"], row["new_shop_id"])].append(row)
        if progress:
            progress(f"{len(by_new)} new shops tied to closed shops")
        out = []
        for (platform, shop_id), rows in sorted(by_new.items()):
            by_old: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
            for r in rows:
                by_old[(r["old_platform"], r["old_shop_id"])].append(r)
            old = sorted(by_old)
            links = sorted(
                {
                    r["new_link"] if r["new_link"] == r["old_link"] else f"{r['old_link']}->{r['new_link']}"
                    for r in rows
                }
            )
            misconduct = any(r["prior_misconduct"] for r in rows)
            worse = any(r["worse_than_norm"] for r in rows)
            confidence = 0.95 if misconduct else 0.8 if worse else 0.5
            # Ties broken by the old shop and the links: rows come in no particular order (on either engine).
            first = min(
                rows,
                key=lambda r: (
                    abs(r["gap_days"]),
                    r["old_platform"],
                    r["old_shop_id"],
                    r["old_link"],
                    r["new_link"],
                ),
            )
            words = ", ".join(sorted({LINK_WORDS.get(r["old_link"], r["old_link"]) for r in rows}))
            record = (
                "confirmed misconduct"
                if misconduct
                else "more negative reviews or refunds than most shops"
                if worse
                else "no recorded misconduct"
            )
            members = [Member(MemberRole.shop, platform, shop_id)]
            members += [Member(MemberRole.shop, p, s, linked=True) for p, s in old]
            out.append(
                Finding(
                    kind=self.kind,
                    platform=platform,
                    score=float(len(old)) + (2.0 if misconduct else 1.0 if worse else 0.0),
                    confidence=confidence,
                    summary=(
                        f"shop {shop_id} opened {first['gap_days']} days after shop {first['old_shop_id']} "
                        f"({first['old_platform']}) closed, with {words}; the old shop had {record}"
                    ),
                    members=members,
                    details={
                        "new_shop": {"platform": platform, "shop_id": shop_id},
                        # Each old shop's record inside its own entry: a platform's view of the warning
                        # leaves out the entries of other platforms (service._TenantView).
                        "old_shops": [
                            _old_shop(min(by_old[k], key=lambda r: abs(r["gap_days"]))) for k in old
                        ],
                        "links": links,
                        "prior_misconduct": misconduct,
                        "worse_than_norm": worse,
                    },
                )
            )
        return out


def _old_shop(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "platform": row["old_platform"],
        "shop_id": row["old_shop_id"],
        "gap_days": row["gap_days"],
        "last_order": row["last_order"].isoformat(),
        "orders": row["orders"],
        "refunds": row["refunds"],
        "reviews": row["reviews"],
        "negative_reviews": row["negative"],
    }
