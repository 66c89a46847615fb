"""``brushing_ring`` (刷单炒信): rings of buyer accounts ordering from a few shops in a short window.

Algorithm (docs/monitoring.md has the full account, with measurements):

1. **Tensor.** Every non-cancelled order is a cell (account, shop, local day) of a partition (platform,
   window); windows of ``brushing_window_days`` start every ``brushing_step_days``, so an order lies in
   several windows and any short ring lies whole inside one. A cell's mass is the sum of its orders' shop
   weights ``1 / ln(distinct buyers of the shop + c)``: FRAUDAR's camouflage-resistant column weight (Hooi et
   al., KDD 2016), so camouflage orders to popular shops weigh little. Accounts with a single cell in a window
   and shops with too few of the remaining accounts are left out of that window (they cannot form a ring).
2. **D-Cube** (Shin et al., WSDM 2017) in every partition at once: in each pass, each partition removes the
   light slices (mass at most the average) of the mode that leaves the densest block, in ascending order of
   mass; every prefix is a candidate and the densest block seen (average mass per slice) is kept. Passes stop
   when every block is empty (a ``COUNT``). A pass is two statements (cut.sql, shrink.sql); the densest block
   is chosen once, from every pass's cut (best.sql). One step of greedy addition then improves it
   (improve.sql): every account or shop outside it whose mass into it exceeds its average mass per slice is
   added (each such slice raises the density; bulk removal may have cut it against an earlier, larger block).
3. **Scoring against expectation.** A block's mass is compared with what its accounts' and shops' activity
   over the whole period, spread evenly over the platform's days, predicts (lift). A block is accepted when
   its lift, its number of accounts and its cells per account (lockstep) reach the policy's thresholds; of an
   accepted block, only the accounts with at least ``brushing_min_account_share`` of their whole-period mass
   inside it are ring members (an honest shopper who bought from a ring shop in the window is not). Its cells
   are then removed and its partition searched again; a partition whose block is refused stops.
4. **Rings** are the connected components of the accepted cells' accounts and shops on one platform; each
   ring is one finding with its accounts, its shops and the orders between them inside its days.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, ClassVar

import pyarrow as pa

from ecredit.analytics.engine import Engine
from ecredit.monitoring.detectors.base import Detector, Progress, sql
from ecredit.monitoring.findings import Finding, Member, MemberRole, WarningKind

PREFIX = "brushing_"
# Partition numbers: platform number * STRIDE + window number (days since 1970 / step: far below STRIDE).
STRIDE = 1_000_000
EVIDENCE = "brushing_evidence"  # ring, platform, order_id, shop_id, buyer_id, ordered_at: read by fake_review
EVIDENCE_SCHEMA = (
    ("ring", pa.int64()),
    ("platform", pa.string()),
    ("order_id", pa.string()),
    ("shop_id", pa.string()),
    ("buyer_id", pa.string()),
    ("ordered_at", pa.timestamp("us", tz="UTC")),
)


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Any, Any] = {}

    def find(self, x: Any) -> Any:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: Any, b: Any) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


class BrushingRing(Detector):
    name: ClassVar[str] = "brushing_ring"
    version: ClassVar[str] = "1.2"
    kind: ClassVar[WarningKind] = WarningKind.brushing_ring
    lake_kinds: ClassVar[tuple[str, ...]] = ("orders",)
    lake_columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "orders": ("order_id", "shop_id", "buyer_id", "ordered_at", "status"),
    }
    parameter_keys: ClassVar[tuple[str, ...]] = (
        "brushing_window_days",
        "brushing_step_days",
        "brushing_weight_c",
        "brushing_min_lift",
        "brushing_min_accounts",
        "brushing_min_cells_per_account",
        "brushing_min_account_share",
        "brushing_max_rounds",
        "brushing_max_iterations",
    )

    def run(self, engine: Engine, progress: Progress | None = None) -> list[Finding]:
        note = progress or (lambda _: None)
        blocks = self.blocks(engine, note)
        rings = self._rings(blocks)
        note(f"{len(blocks.column('p').unique()) if blocks.num_rows else 0} blocks, {len(rings)} rings")
        findings = self._findings(engine, rings)
        # Only the evidence is read later (fake_review).
        for name in ("orders", "shops", "accounts", "platforms", "ring_members", "ring_shops", "ring_days"):
            engine.drop(PREFIX + name)
        return findings

    # ------------------------------------------------------------------ the search

    def blocks(self, engine: Engine, note: Progress) -> pa.Table:
        """Every accepted block's cells, by platform ids: round, p, platform, buyer_id, shop_id, t, lift…"""
        window, step = int(self.value("brushing_window_days")), int(self.value("brushing_step_days"))
        if window < step or step < 1:
            raise ValueError("brushing_window_days must be at least brushing_step_days >= 1")
        engine.register_arrow(
            PREFIX + "offsets", pa.table({"k": pa.array(range(-(-window // step)), pa.int64())})
        )
        engine.run(PREFIX + "orders", sql("brushing/orders.sql"))
        weight_c = float(self.value("brushing_weight_c"))
        engine.run(PREFIX + "shops", sql("brushing/shop_index.sql"), weight_c=weight_c)
        engine.run(PREFIX + "accounts", sql("brushing/account_index.sql"))
        engine.run(PREFIX + "cells", sql("brushing/cells.sql"), utc_offset_s=self.utc_offset_s)
        engine.run(PREFIX + "margins", sql("brushing/margins.sql"))
        engine.run(PREFIX + "platforms", sql("brushing/platforms.sql"))
        # An account needs at least this many cells in a window to reach min_cells_per_account there.
        min_cells = max(1, math.ceil(float(self.value("brushing_min_cells_per_account"))))
        engine.run(
            PREFIX + "r",
            sql("brushing/tensor.sql"),
            step_days=float(step),
            stride=STRIDE,
            min_account_cells=min_cells,
            min_shop_accounts=int(self.value("brushing_min_accounts")),
        )
        found: list[str] = []
        rounds = int(self.value("brushing_max_rounds"))
        for rnd in range(rounds):
            if engine.count(PREFIX + "r") == 0:
                break
            accepted = self._round(engine, rnd)
            note(f"round {rnd + 1}: {accepted} blocks accepted")
            if accepted:
                found.append(f"{PREFIX}found_{rnd}")
            if not accepted or rnd == rounds - 1:
                break  # no next round: its tensor is not needed
            engine.run(PREFIX + "r_next", sql("brushing/next_round.sql"))
            engine.run(PREFIX + "r", f"SELECT * FROM {PREFIX}r_next")  # noqa: S608 (table names only)
        if found:
            union = " UNION ALL ".join(f"SELECT * FROM {name}" for name in found)  # noqa: S608
            blocks = engine.query(union)
        else:
            blocks = pa.table({"round": pa.array([], pa.int64())})
        # The search's tables are not needed any more (the tensor alone holds millions of cells on medium);
        # the orders stay for the evidence (run drops them).
        for name in [*found, "r", "r_next", "removed", "best", "blk", "score", "cells", "margins", "offsets"]:
            engine.drop(name if name.startswith(PREFIX) else PREFIX + name)
        return blocks

    def _round(self, engine: Engine, rnd: int) -> int:
        """One D-Cube search in every live partition; the number of blocks accepted.

        A pass is two statements: its cut (the slices' masses and the bulk removal, cut.sql) and the block
        without them (shrink.sql); the densest block is chosen once at the end, from every pass's cut
        (best.sql), then improved (improve.sql).
        """
        block = PREFIX + "r"
        made: list[str] = []
        cuts: list[str] = []
        for it in range(1, int(self.value("brushing_max_iterations")) + 1):
            names = {"brushing_b": block}
            cut = engine.run(f"{PREFIX}cut_{it}", sql("brushing/cut.sql", **names), iteration=it)
            cuts.append(cut)
            names["brushing_cut"] = cut
            block = engine.run(f"{PREFIX}b_{it}", sql("brushing/shrink.sql", **names))
            made.append(block)
            if engine.count(block) == 0:
                break
        engine.run(PREFIX + "removed", " UNION ALL ".join(f"SELECT * FROM {c}" for c in cuts))  # noqa: S608
        for name in cuts + made:
            engine.drop(name)
        best = engine.run(PREFIX + "best", sql("brushing/best.sql"))
        engine.run(PREFIX + "blk0", sql("brushing/block.sql", brushing_best=best))
        engine.run(PREFIX + "blk", sql("brushing/improve.sql"))
        engine.drop(PREFIX + "blk0")
        engine.run(
            PREFIX + "score",
            sql("brushing/score.sql"),
            min_lift=float(self.value("brushing_min_lift")),
            min_accounts=int(self.value("brushing_min_accounts")),
            min_cells_per_account=float(self.value("brushing_min_cells_per_account")),
            stride=STRIDE,
        )
        engine.drop(best)
        found = engine.run(
            f"{PREFIX}found_{rnd}",
            sql("brushing/found.sql"),
            round=rnd,
            min_account_share=float(self.value("brushing_min_account_share")),
        )
        return len(engine.query(f"SELECT DISTINCT p FROM {found}"))  # noqa: S608

    # ------------------------------------------------------------------ rings and findings

    @staticmethod
    def _rings(blocks: pa.Table) -> list[dict[str, Any]]:
        """Rings: connected components of the accounts and shops of the accepted blocks' cells, per platform.

        One ring seen in overlapping windows, or peeled in two rounds, is one component; two rings active in
        the same window that one block happened to hold together share no account and no shop, so they come
        apart.
        """
        if blocks.num_rows == 0:
            return []
        uf = _UnionFind()
        rows = blocks.to_pylist()
        for row in rows:
            uf.union(("account", row["platform"], row["buyer_id"]), ("shop", row["platform"], row["shop_id"]))
        rings: dict[Any, dict[str, Any]] = {}
        for row in rows:
            root = uf.find(("account", row["platform"], row["buyer_id"]))
            ring = rings.setdefault(
                root,
                {"platform": row["platform"], "accounts": set(), "shops": set(), "days": set(), "lift": 0.0},
            )
            ring["accounts"].add(row["buyer_id"])
            ring["shops"].add(row["shop_id"])
            ring["days"].add(int(row["t"]))
            ring["lift"] = max(ring["lift"], float(row["lift"]))
            ring.setdefault("blocks", set()).add((row["round"], row["p"]))
        ordered = sorted(rings.values(), key=lambda r: (r["platform"], min(r["days"]), min(r["accounts"])))
        for number, ring in enumerate(ordered, start=1):
            ring["ring"] = number
        return ordered

    def _findings(self, engine: Engine, rings: list[dict[str, Any]]) -> list[Finding]:
        if not rings:  # later detectors (fake_review) read the evidence table: it exists, empty
            engine.register_arrow(
                EVIDENCE,
                pa.table({n: pa.array([], t) for n, t in EVIDENCE_SCHEMA}),
            )
            return []
        members = pa.table(
            {
                "ring": [r["ring"] for r in rings for _ in r["accounts"]],
                "platform": [r["platform"] for r in rings for _ in r["accounts"]],
                "buyer_id": [a for r in rings for a in sorted(r["accounts"])],
            }
        )
        shops = pa.table(
            {
                "ring": [r["ring"] for r in rings for _ in r["shops"]],
                "shop_id": [s for r in rings for s in sorted(r["shops"])],
            }
        )
        days = pa.table(
            {
                "ring": [r["ring"] for r in rings],
                "first_day": pa.array([min(r["days"]) for r in rings], pa.int64()),
                "last_day": pa.array([max(r["days"]) for r in rings], pa.int64()),
            }
        )
        engine.register_arrow(PREFIX + "ring_members", members)
        engine.register_arrow(PREFIX + "ring_shops", shops)
        engine.register_arrow(PREFIX + "ring_days", days)
        engine.run(EVIDENCE, sql("brushing/evidence.sql"), utc_offset_s=self.utc_offset_s)
        evidence = engine.table(EVIDENCE)
        orders: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for row in evidence.to_pylist():
            orders[row["ring"]].append(row)
        threshold = float(self.value("brushing_min_lift"))
        out = []
        for ring in rings:
            platform = ring["platform"]
            evid = sorted(orders.get(ring["ring"], []), key=lambda r: (r["ordered_at"], r["order_id"]))
            first = dt.date(1970, 1, 1) + dt.timedelta(days=min(ring["days"]))
            last = dt.date(1970, 1, 1) + dt.timedelta(days=max(ring["days"]))
            lift = ring["lift"]
            summary = (
                f"{len(ring['accounts'])} accounts placed {len(evid)} orders with {len(ring['shops'])} shops "
                f"between {first} and {last}: {lift:.0f} times the volume that their activity, the shops' "
                "popularity and the days predict (order brushing ring)"
            )
            members_ = [Member(MemberRole.account, platform, a) for a in sorted(ring["accounts"])]
            members_ += [Member(MemberRole.shop, platform, s) for s in sorted(ring["shops"])]
            members_ += [Member(MemberRole.object, platform, r["order_id"], "orders") for r in evid]
            out.append(
                Finding(
                    kind=self.kind,
                    platform=platform,
                    score=round(lift, 3),
                    confidence=round(max(0.0, min(0.99, 1.0 - threshold / lift)), 3) if lift > 0 else 0.0,
                    summary=summary,
                    members=members_,
                    details={
                        "accounts": len(ring["accounts"]),
                        "shops": len(ring["shops"]),
                        "orders": len(evid),
                        "first_day": first.isoformat(),
                        "last_day": last.isoformat(),
                        "lift": round(lift, 3),
                        "blocks": len(ring["blocks"]),
                        "pattern": "dense block of accounts x shops x days (D-Cube with FRAUDAR weights)",
                    },
                )
            )
        return out
