"""``brushing_ring`` (刷单炒信): rings of buyer accounts ordering from a few shops in a short window.

Algorithm (docs/monitoring.md has the full account, with measurements):

1. **Tensor.** Every non-cancelled order is a row (account, shop, local day) of a partition (platform,
   window); windows of ``brushing_window_days`` start every ``brushing_step_days``, so an order lies in
   several windows and any short ring lies whole inside one. A row's mass is its shop's weight
   ``1 / ln(distinct buyers + c)``: FRAUDAR's camouflage-resistant column weight (Hooi et al., KDD 2016), so
   camouflage orders to popular shops weigh little. Accounts and shops are keyed by 64-bit hashes of their
   ids (``key64``), mapped back to the ids only for the accepted blocks. Accounts with fewer orders in a
   window than lockstep needs are left out of that window, and so are shops with fewer than
   ``brushing_min_accounts`` of those accounts there (counted distinctly only where the rows do not prove it).
2. **D-Cube** (Shin et al., WSDM 2017) in every partition at once: in each pass, each partition removes the
   light slices (mass at most the average) of the mode that leaves the densest block, in ascending order of
   mass; every prefix that ends a run of equal masses is a candidate and the densest block seen (average mass
   per slice) is kept. Two exact rules cut the work (version 2.0): a slice lighter than a third of the densest
   block seen so far cannot belong to a denser block and is pruned, and a partition whose heaviest slices
   bound every sub-block's density below the best is finished. Passes stop when every block is empty (a
   ``COUNT``). A pass is two statements (cut.sql, shrink.sql); the densest block is chosen once, from every
   pass's cut (best.sql). One step of greedy addition then improves it (more.sql, improve.sql): every
   account or shop outside it whose mass into it exceeds its average mass per slice is added.
3. **Scoring against expectation.** A block's mass is compared with what its accounts' and shops' activity
   over the whole period, spread evenly over the platform's days, predicts (lift). A block is accepted when
   its lift, its number of accounts and its cells per account (lockstep) reach the policy's thresholds; of an
   accepted block, only the accounts with at least ``brushing_min_account_share`` of their whole-period mass
   inside it are ring members (an honest shopper who bought from a ring shop in the window is not), and only
   the shops whose orders from those members weigh at least the members' block's mass per slice (version 2.1:
   a popular shop held in the block by other accounts' orders is not). Its rows are then removed and its
   partition is searched again; a partition whose block is refused stops.
4. **Rings** are the connected components of the accepted blocks' accounts and shops on one platform, with at
   least ``brushing_min_accounts`` accounts; each ring is one finding with its accounts, its shops and the
   orders between them inside its days.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, ClassVar

import pyarrow as pa

from ecredit.analytics.engine import Engine, EngineError
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
    version: ClassVar[str] = "2.1"
    kind: ClassVar[WarningKind] = WarningKind.brushing_ring
    lake_kinds: ClassVar[tuple[str, ...]] = ("orders",)
    lake_columns: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "orders": ("order_id", "shop_id", "buyer_id", "ordered_at", "status"),
    }
    lake_rereads: ClassVar[tuple[str, ...]] = ("orders",)  # platforms.sql, orders.sql, member_orders.sql
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
        rings = self._rings(blocks, int(self.value("brushing_min_accounts")))
        note(f"{len(blocks.column('p').unique()) if blocks.num_rows else 0} blocks, {len(rings)} rings")
        findings = self._findings(engine, rings)
        # Only the evidence is read later (fake_review).
        for name in ("member_orders", "shops", "platforms", "ring_members", "ring_shops", "ring_days"):
            engine.drop(PREFIX + name)
        return findings

    # ------------------------------------------------------------------ the search

    def blocks(self, engine: Engine, note: Progress) -> pa.Table:
        """Every accepted block's rows, by platform ids: round, p, platform, buyer_id, shop_id, t, lift…"""
        window, step = int(self.value("brushing_window_days")), int(self.value("brushing_step_days"))
        if window < step or step < 1:
            raise ValueError("brushing_window_days must be at least brushing_step_days >= 1")
        engine.register_arrow(
            PREFIX + "offsets", pa.table({"k": pa.array(range(-(-window // step)), pa.int64())})
        )
        engine.register_arrow(
            PREFIX + "none", pa.table({"p": pa.array([], pa.int64()), "best": pa.array([], pa.float64())})
        )
        engine.run(PREFIX + "platforms", sql("brushing/platforms.sql"))
        engine.run(PREFIX + "o", sql("brushing/orders.sql"), utc_offset_s=self.utc_offset_s)
        engine.run(PREFIX + "days", sql("brushing/days.sql"))
        engine.run(
            PREFIX + "shops", sql("brushing/shop_index.sql"), weight_c=float(self.value("brushing_weight_c"))
        )
        # An account needs at least this many rows in a window to reach min_cells_per_account there.
        min_rows = max(1, math.ceil(float(self.value("brushing_min_cells_per_account"))))
        engine.run(
            PREFIX + "r",
            sql("brushing/tensor.sql"),
            step_days=float(step),
            stride=STRIDE,
            min_account_rows=min_rows,
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
        # The search's tables are not needed any more (the tensor alone holds millions of rows on medium).
        search = ["r", "r_next", "removed", "best", "blk", "score", "margins", "offsets", "none", "o", "days"]
        for name in search:
            engine.drop(PREFIX + name)
        if not found:
            return pa.table({"round": pa.array([], pa.int64())})
        union = " UNION ALL ".join(f"SELECT * FROM {name}" for name in found)  # noqa: S608
        engine.run(PREFIX + "found", union)
        for name in found:
            engine.drop(name)
        engine.run(
            PREFIX + "member_orders", sql("brushing/member_orders.sql"), utc_offset_s=self.utc_offset_s
        )
        engine.run(PREFIX + "ids", sql("brushing/ids.sql"))
        ids = engine.table(PREFIX + "ids")
        blocks = engine.table(PREFIX + "found")
        engine.drop(PREFIX + "ids")
        engine.drop(PREFIX + "found")
        return self._with_ids(blocks, ids, engine)

    @staticmethod
    def _with_ids(blocks: pa.Table, ids: pa.Table, engine: Engine) -> pa.Table:
        """The blocks' keys replaced by the platforms' ids; refuses a key that two ids share."""
        refs: dict[tuple[str, int, int], str] = {}
        for mode, pi, key, ref in zip(
            *(ids.column(c).to_pylist() for c in ("mode", "pi", "k", "ref")), strict=True
        ):
            if refs.setdefault((mode, pi, key), ref) != ref:
                raise EngineError(
                    f"two {'accounts' if mode == 'a' else 'shops'} of one platform share the key {key} "
                    f"({refs[(mode, pi, key)]!r} and {ref!r}): brushing_ring cannot tell them apart",
                    engine=engine.name,
                )
        platforms = dict(
            zip(
                *(engine.table(PREFIX + "platforms").column(c).to_pylist() for c in ("pi", "platform")),
                strict=True,
            )
        )
        pis = blocks.column("pi").to_pylist()
        return pa.table(
            {
                "round": blocks.column("round"),
                "p": blocks.column("p"),
                "platform": [platforms[pi] for pi in pis],
                "buyer_id": [
                    refs[("a", pi, a)] for pi, a in zip(pis, blocks.column("a").to_pylist(), strict=True)
                ],
                "shop_id": [
                    refs[("s", pi, x)] for pi, x in zip(pis, blocks.column("s").to_pylist(), strict=True)
                ],
                "t": blocks.column("t"),
                "pi": blocks.column("pi"),
                "a": blocks.column("a"),
                "s": blocks.column("s"),
                "lift": blocks.column("lift"),
                "block_mass": blocks.column("block_mass"),
                "cells_per_account": blocks.column("cells_per_account"),
            }
        )

    def _round(self, engine: Engine, rnd: int) -> int:
        """One D-Cube search in every live partition; the number of blocks accepted.

        A pass is two statements: its cut (slice masses, bulk removal and the exact pruning; every slice
        listed, kept or not: cut.sql) and the block within the kept slices (shrink.sql); the densest block
        is chosen once at the end, from every pass's cut (best.sql, block.sql), then improved (more.sql,
        improve.sql).
        """
        block, prev = PREFIX + "r", PREFIX + "none"
        cuts: list[str] = []
        for it in range(1, int(self.value("brushing_max_iterations")) + 1):
            cut = engine.run(
                f"{PREFIX}cut_{it}",
                sql("brushing/cut.sql", brushing_b=block, brushing_prev=prev),
                iteration=it,
            )
            cuts.append(cut)
            shrunk = engine.run(
                f"{PREFIX}b_{it}", sql("brushing/shrink.sql", brushing_b=block, brushing_cut=cut)
            )
            if block != PREFIX + "r":
                engine.drop(block)
            block, prev = shrunk, cut
            if engine.count(block) == 0:
                break
        engine.drop(block)
        engine.run(PREFIX + "removed", " UNION ALL ".join(f"SELECT * FROM {c}" for c in cuts))  # noqa: S608
        for name in cuts:
            engine.drop(name)
        best = engine.run(PREFIX + "best", sql("brushing/best.sql"))
        engine.run(PREFIX + "blk0", sql("brushing/block.sql", brushing_best=best))
        engine.run(PREFIX + "more", sql("brushing/more.sql"))
        engine.run(PREFIX + "blk", sql("brushing/improve.sql"))
        engine.drop(PREFIX + "blk0")
        engine.drop(PREFIX + "more")
        engine.run(PREFIX + "margins", sql("brushing/margins.sql"), stride=STRIDE)
        engine.run(
            PREFIX + "score",
            sql("brushing/score.sql"),
            min_lift=float(self.value("brushing_min_lift")),
            min_accounts=int(self.value("brushing_min_accounts")),
            min_cells_per_account=float(self.value("brushing_min_cells_per_account")),
            stride=STRIDE,
        )
        engine.drop(best)
        engine.run(
            f"{PREFIX}found_{rnd}",
            sql("brushing/found.sql"),
            round=rnd,
            min_account_share=float(self.value("brushing_min_account_share")),
            min_accounts=int(self.value("brushing_min_accounts")),
            stride=STRIDE,
        )
        # Accepted blocks (their partitions are searched again), whether or not they make a ring.
        return len(engine.query(f"SELECT p FROM {PREFIX}score WHERE accepted"))  # noqa: S608

    # ------------------------------------------------------------------ rings and findings

    @staticmethod
    def _rings(blocks: pa.Table, min_accounts: int) -> list[dict[str, Any]]:
        """Rings: connected components of the accounts and shops of the accepted blocks' cells, per platform.

        One ring seen in overlapping windows, or peeled in two rounds, is one component; two rings active in
        the same window that one block happened to hold together share no account and no shop, so they come
        apart. A component with fewer than ``min_accounts`` accounts is no ring (``brushing_min_accounts``: a
        sparse block of a few accounts at small shops falls apart into single accounts).
        """
        if blocks.num_rows == 0:
            return []
        uf = _UnionFind()
        names = ("platform", "buyer_id", "shop_id", "t", "lift", "round", "p", "pi", "a", "s")
        cols = {c: blocks.column(c).to_pylist() for c in names}
        seen: set[tuple[Any, Any, Any]] = set()
        for platform, buyer, shop in zip(cols["platform"], cols["buyer_id"], cols["shop_id"], strict=True):
            if (platform, buyer, shop) not in seen:  # a block holds one row per order: many repeat a pair
                seen.add((platform, buyer, shop))
                uf.union(("account", platform, buyer), ("shop", platform, shop))
        rings: dict[Any, dict[str, Any]] = {}
        for platform, buyer, shop, t, lift, rnd, p, pi, a, s_ in zip(*(cols[c] for c in names), strict=True):
            root = uf.find(("account", platform, buyer))
            ring = rings.get(root)
            if ring is None:
                ring = rings[root] = {
                    "platform": platform,
                    "accounts": set(),
                    "shops": set(),
                    "days": set(),
                    "lift": 0.0,
                    "blocks": set(),
                    "account_keys": set(),
                    "shop_keys": set(),
                }
            ring["accounts"].add(buyer)
            ring["shops"].add(shop)
            ring["days"].add(int(t))
            ring["lift"] = max(ring["lift"], float(lift))
            ring["blocks"].add((rnd, p))
            ring["account_keys"].add((pi, a))
            ring["shop_keys"].add((pi, s_))
        # A block's members may fall apart into components: a ring needs min_accounts accounts of its own.
        kept = [r for r in rings.values() if len(r["accounts"]) >= min_accounts]
        ordered = sorted(kept, key=lambda r: (r["platform"], min(r["days"]), min(r["accounts"])))
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
                "ring": pa.array([r["ring"] for r in rings for _ in r["account_keys"]], pa.int64()),
                "pi": pa.array([pi for r in rings for pi, _ in r["account_keys"]], pa.int64()),
                "a": pa.array([a for r in rings for _, a in r["account_keys"]], pa.int64()),
            }
        )
        shops = pa.table(
            {
                "ring": pa.array([r["ring"] for r in rings for _ in r["shop_keys"]], pa.int64()),
                "pi": pa.array([pi for r in rings for pi, _ in r["shop_keys"]], pa.int64()),
                "s": pa.array([x for r in rings for _, x in r["shop_keys"]], pa.int64()),
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
        engine.run(EVIDENCE, sql("brushing/evidence.sql"))
        # Each ring's orders in time order (then by id): only the two columns the findings need.
        evidence = engine.query(
            f"SELECT ring, order_id FROM {EVIDENCE} ORDER BY ring, ordered_at, order_id"  # noqa: S608
        )
        orders: dict[int, list[str]] = defaultdict(list)
        for ring_number, order_id in zip(
            evidence.column("ring").to_pylist(), evidence.column("order_id").to_pylist(), strict=True
        ):
            orders[ring_number].append(order_id)
        threshold = float(self.value("brushing_min_lift"))
        out = []
        for ring in rings:
            platform = ring["platform"]
            evid = orders.get(ring["ring"], [])
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
            members_ += [Member(MemberRole.object, platform, order_id, "orders") for order_id in evid]
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
