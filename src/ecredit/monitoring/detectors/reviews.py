"""Review fraud: ``extortion_reviewer`` (恶意差评) and ``fake_review`` (fake positive reviews).

``extortion_reviewer`` (``sql/reviews/extortion.sql``): an account with negative reviews (rating at most
``extortion_max_rating``) at ``extortion_min_shops`` or more shops, of which at least
``extortion_min_refunded_shops`` refunded the order within ``extortion_refund_hours`` after the review.

``fake_review``: positive reviews (rating at least ``fake_review_min_rating``) that are
- reviews of orders a brushing ring placed (the ``brushing_ring`` detector's evidence, same run), or
- members of a near-duplicate family: MinHash over character shingles (``fake_review_shingle`` characters,
  ``fake_review_bands`` bands of 3 hashes), texts of at least ``fake_review_min_chars`` characters; a family
  of at least ``fake_review_min_family`` reviews by as many different accounts is a template in use.
One finding per shop, its fake reviews as evidence, with the reason of each.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any, ClassVar

import pyarrow as pa

from ecredit.analytics.engine import Engine
from ecredit.monitoring.detectors.base import Detector, Progress, sql
from ecredit.monitoring.findings import Finding, Member, MemberRole, WarningKind

ROWS_PER_BAND = 3  # fixed by sql/reviews/minhash.sql


class ExtortionReviewer(Detector):
    name: ClassVar[str] = "extortion_reviewer"
    version: ClassVar[str] = "1.0"
    kind: ClassVar[WarningKind] = WarningKind.extortion_reviewer
    lake_kinds: ClassVar[tuple[str, ...]] = ("reviews", "payments")
    lake_columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "reviews": ("review_id", "order_id", "shop_id", "buyer_id", "rating", "reviewed_at"),
        "payments": ("order_id", "refund_cents", "refunded_at"),
    }
    parameter_keys: ClassVar[tuple[str, ...]] = (
        "extortion_max_rating",
        "extortion_min_shops",
        "extortion_min_refunded_shops",
        "extortion_refund_hours",
    )

    def run(self, engine: Engine, progress: Progress | None = None) -> list[Finding]:
        engine.run(
            "extortion_reviews",
            sql("reviews/extortion.sql"),
            max_rating=int(self.value("extortion_max_rating")),
            min_shops=int(self.value("extortion_min_shops")),
            min_refunded_shops=int(self.value("extortion_min_refunded_shops")),
            refund_hours=float(self.value("extortion_refund_hours")),
        )
        accounts: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for batch in engine.batches("extortion_reviews"):
            for row in batch.to_pylist():
                accounts[(row["platform"], row["buyer_id"])].append(row)
        if progress:
            progress(f"{len(accounts)} accounts")
        out = []
        minimum = int(self.value("extortion_min_refunded_shops"))
        for (platform, account), rows in sorted(accounts.items()):
            rows.sort(key=lambda r: (r["reviewed_at"], r["review_id"]))
            first = rows[0]
            refunded = int(first["refunded_shops"])
            shops = sorted({r["shop_id"] for r in rows})
            members = [Member(MemberRole.account, platform, account)]
            members += [Member(MemberRole.shop, platform, s) for s in shops]
            members += [Member(MemberRole.object, platform, r["review_id"], "reviews") for r in rows]
            out.append(
                Finding(
                    kind=self.kind,
                    platform=platform,
                    score=float(refunded),
                    confidence=round(min(0.99, 0.5 + 0.5 * (1 - minimum / (refunded + 1))), 3),
                    summary=(
                        f"account {account} posted negative reviews at {first['negative_shops']} shops; "
                        f"{refunded} of them refunded the order after the review "
                        f"({(first['refund_cents'] or 0) / 100:.2f} yuan in all)"
                    ),
                    members=members,
                    details={
                        "negative_shops": int(first["negative_shops"]),
                        "refunded_shops": refunded,
                        "refund_cents": int(first["refund_cents"] or 0),
                        "first_review_at": rows[0]["reviewed_at"].isoformat(),
                        "last_review_at": rows[-1]["reviewed_at"].isoformat(),
                    },
                )
            )
        return out


class FakeReview(Detector):
    name: ClassVar[str] = "fake_review"
    version: ClassVar[str] = "1.0"
    kind: ClassVar[WarningKind] = WarningKind.fake_review
    lake_kinds: ClassVar[tuple[str, ...]] = ("reviews", "orders")
    lake_columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "reviews": ("review_id", "order_id", "shop_id", "buyer_id", "rating", "reviewed_at", "text"),
        "orders": (),  # only through brushing_ring's evidence
    }
    requires: ClassVar[tuple[str, ...]] = ("brushing_ring",)
    parameter_keys: ClassVar[tuple[str, ...]] = (
        "fake_review_min_rating",
        "fake_review_min_chars",
        "fake_review_max_chars",
        "fake_review_shingle",
        "fake_review_bands",
        "fake_review_min_family",
    )

    def run(self, engine: Engine, progress: Progress | None = None) -> list[Finding]:
        min_rating = int(self.value("fake_review_min_rating"))
        reasons: dict[tuple[str, str], dict[str, Any]] = {}
        for row in engine.query(sql("reviews/ring_reviews.sql"), min_rating=min_rating).to_pylist():
            reasons[(row["platform"], row["review_id"])] = {**row, "reason": "ring_order", "family": None}
        for row in self._families(engine, min_rating):
            reasons.setdefault((row["platform"], row["review_id"]), row)
        by_shop: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for (platform, _), row in reasons.items():
            by_shop[(platform, row["shop_id"])].append(row)
        if progress:
            progress(f"{len(reasons)} reviews at {len(by_shop)} shops")
        out = []
        for (platform, shop_id), rows in sorted(by_shop.items()):
            rows.sort(key=lambda r: (r["reviewed_at"], r["review_id"]))
            ring = sum(1 for r in rows if r["reason"] == "ring_order")
            family = len(rows) - ring
            members = [Member(MemberRole.shop, platform, shop_id)]
            members += [Member(MemberRole.object, platform, r["review_id"], "reviews") for r in rows]
            parts = []
            if ring:
                parts.append(f"{ring} review orders placed by a brushing ring")
            if family:
                families = len({r["family"] for r in rows if r["family"] is not None})
                parts.append(
                    f"{family} near-duplicate texts from {families} template families used across accounts"
                )
            out.append(
                Finding(
                    kind=self.kind,
                    platform=platform,
                    score=float(len(rows)),
                    confidence=0.95 if ring else 0.8,
                    summary=f"{len(rows)} suspicious positive reviews of shop {shop_id}: " + "; ".join(parts),
                    members=members,
                    details={
                        "reviews": len(rows),
                        "ring_order_reviews": ring,
                        "near_duplicate_reviews": family,
                        "first_review_at": rows[0]["reviewed_at"].isoformat(),
                        "last_review_at": rows[-1]["reviewed_at"].isoformat(),
                    },
                )
            )
        return out

    def _families(self, engine: Engine, min_rating: int) -> list[dict[str, Any]]:
        """Reviews in near-duplicate families big enough to be a template in use."""
        max_chars = int(self.value("fake_review_max_chars"))
        bands = int(self.value("fake_review_bands"))
        engine.run(
            "fake_review_candidates",
            sql("reviews/candidates.sql"),
            min_rating=min_rating,
            min_chars=int(self.value("fake_review_min_chars")),
            max_chars=max_chars,
        )
        engine.register_arrow(
            "fake_review_positions", pa.table({"i": pa.array(range(1, max_chars + 1), pa.int64())})
        )
        engine.register_arrow(
            "fake_review_seeds",
            pa.table(
                {
                    "band": pa.array([b for b in range(bands) for _ in range(ROWS_PER_BAND)], pa.int64()),
                    "slot": pa.array([s for _ in range(bands) for s in range(ROWS_PER_BAND)], pa.int64()),
                    "seed": [f"s{b}.{s}:" for b in range(bands) for s in range(ROWS_PER_BAND)],
                }
            ),
        )
        engine.run(
            "fake_review_minhash", sql("reviews/minhash.sql"), shingle=int(self.value("fake_review_shingle"))
        )
        engine.run("fake_review_buckets", sql("reviews/buckets.sql"))
        parent: dict[tuple[str, str], tuple[str, str]] = {}

        def find(x: tuple[str, str]) -> tuple[str, str]:
            parent.setdefault(x, x)
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        first_in_bucket: dict[tuple[str, int, str], tuple[str, str]] = {}
        for batch in engine.batches("fake_review_buckets"):
            for row in batch.to_pylist():
                review = (row["platform"], row["review_id"])
                key = (row["platform"], row["band"], row["bucket"])
                head = first_in_bucket.setdefault(key, review)
                a, b = find(head), find(review)
                if a != b:
                    parent[max(a, b)] = min(a, b)
        if not parent:
            return []
        families: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for review in parent:
            families[find(review)].append(review)
        minimum = int(self.value("fake_review_min_family"))
        candidates = {
            (r["platform"], r["review_id"]): r for r in engine.table("fake_review_candidates").to_pylist()
        }
        out = []
        for root, reviews in families.items():
            rows = [candidates[r] for r in reviews if r in candidates]
            if len(rows) < minimum or len({r["buyer_id"] for r in rows}) < minimum:
                continue
            for r in rows:
                out.append({**r, "reason": "near_duplicate", "family": root[1]})
        return out
