"""``brushing_ring``'s membership rules (found.sql): of an accepted block, only the accounts with at least
``brushing_min_account_share`` of their whole-period mass inside it are ring members, and only the shops whose
orders from them weigh at least the members' block's mass per slice; and its improvement step (more.sql,
improve.sql)."""

from __future__ import annotations

import random
from collections import defaultdict

import pyarrow as pa
import pytest

from ecredit.analytics.engine import open_engine
from ecredit.kit.policy import policy
from ecredit.monitoring.detectors.base import sql

P = 1_000_007  # a partition: platform 1, some window


def _rows(rows: list[tuple]) -> pa.Table:
    """Tensor or block rows (p, a, s, t, m) as the detector's tables hold them."""
    p, a, s, t, m = zip(*rows, strict=True)
    return pa.table({"p": p, "a": a, "s": s, "t": t, "m": pa.array(m, pa.float64())})


def _margins(masses: dict[int, float]) -> pa.Table:
    """brushing_margins for accounts of platform 1: their whole-period masses by key."""
    keys = sorted(masses)
    return pa.table(
        {"mode": ["a"] * len(keys), "pi": [1] * len(keys), "k": keys, "mass": [masses[k] for k in keys]}
    )


@pytest.fixture
def block():
    """An accepted block: ring accounts 1-3 (all their mass in it) and shopper 4, a busy honest buyer with
    two cells in the block and most of his mass elsewhere; and a refused block of account 5."""
    with open_engine("duckdb") as engine:
        cells = [(P, a, s, 20_000 + d, 0.5) for a in (1, 2, 3) for s in (10, 11) for d in (0, 1)]
        cells += [(P, 4, 10, 20_000, 0.5), (P, 4, 11, 20_001, 0.5)]
        cells += [(P + 1, 5, 12, 20_000, 0.5), (P + 1, 5, 12, 20_001, 0.5)]
        engine.register_arrow("brushing_blk", _rows(cells))
        # Ring accounts: 2.0 in the block of 2.4 (0.83); the shopper: 1.0 of 20.0 (0.05).
        engine.register_arrow("brushing_margins", _margins({1: 2.4, 2: 2.4, 3: 2.4, 4: 20.0, 5: 1.0}))
        engine.register_arrow(
            "brushing_score",
            pa.table(
                {
                    "p": [P, P + 1],
                    "lift": [500.0, 2.0],
                    "mass": [7.0, 1.0],
                    "cells_per_account": [3.5, 2.0],
                    "accepted": [True, False],
                }
            ),
        )
        yield engine


def _found_keys(engine, share: float) -> tuple[set[int], set[int]]:
    """found.sql's member accounts and shops, by key (the detector maps keys to the platforms' ids)."""
    found = engine.query(
        sql("brushing/found.sql"), round=0, min_account_share=share, min_accounts=3, stride=1_000_000
    )
    return set(found.column("a").to_pylist()), set(found.column("s").to_pylist())


def _members(engine, share: float) -> set[int]:
    return _found_keys(engine, share)[0]


def test_an_honest_shopper_in_a_ring_block_is_not_a_member(block):
    share = float(policy("monitoring").value("brushing_min_account_share"))
    assert 0.05 < share < 0.83
    assert _members(block, share) == {1, 2, 3}  # account 5's block was refused


def test_without_the_share_rule_the_shopper_would_be_a_member(block):
    assert _members(block, 0.0) == {1, 2, 3, 4}


def _found(rows: list[tuple], margins: dict[int, float]) -> tuple[set[int], set[int]]:
    """found.sql on one accepted block (its rows), accounts' whole-period masses: (accounts, shops)."""
    with open_engine("duckdb") as engine:
        engine.register_arrow("brushing_blk", _rows(rows))
        engine.register_arrow("brushing_margins", _margins(margins))
        total = sum(r[4] for r in rows)
        engine.register_arrow(
            "brushing_score",
            pa.table(
                {"p": [P], "lift": [500.0], "mass": [total], "cells_per_account": [3.0], "accepted": [True]}
            ),
        )
        return _found_keys(engine, 0.3)


def test_a_shop_held_in_the_block_by_a_non_member_is_not_a_member_shop():
    """Shop 12 is in the block for shopper 4's orders (he is no member) and one camouflage order of ring
    account 1: from the members it weighs 0.5, below their block's mass per slice (6.5 / 8), so it is no ring
    shop. With a second ring account's order it weighs 1.0, above 7 / 8, and stays."""
    ring = [(P, a, s, 20_000 + d, 0.5) for a in (1, 2, 3) for s in (10, 11) for d in (0, 1)]
    shopper = [(P, 4, 12, 20_000, 0.5), (P, 4, 12, 20_001, 0.5), (P, 4, 10, 20_000, 0.5)]
    margins = {1: 2.6, 2: 2.6, 3: 2.6, 4: 30.0}
    camouflage = [(P, 1, 12, 20_000, 0.5)]
    assert _found(ring + shopper + camouflage, margins) == ({1, 2, 3}, {10, 11})
    camouflage.append((P, 2, 12, 20_001, 0.5))
    assert _found(ring + shopper + camouflage, margins) == ({1, 2, 3}, {10, 11, 12})


def test_the_improvement_step_adds_the_slices_heavier_than_the_blocks_average():
    """improve.sql: an account or shop outside the block joins it when its mass into the block's other slices
    and days exceeds M / N (the block's mass per slice), which raises the density; nothing else joins."""
    block = [(P, a, s, 0, 1.0) for a in (1, 2) for s in (10, 11)]  # M = 4, N = 2 + 2 + 1: M / N = 0.8
    outside = [
        (P, 3, 10, 0, 0.5),  # account 3: 1.0 into the block > 0.8, joins
        (P, 3, 11, 0, 0.5),
        (P, 4, 10, 0, 0.5),  # account 4: 0.5, stays out
        (P, 5, 10, 1, 5.0),  # account 5: heavy, but on a day outside the block
        (P, 1, 12, 0, 0.4),  # shop 12: 0.4 + 0.45 = 0.85 > 0.8, joins
        (P, 2, 12, 0, 0.45),
        (P, 4, 13, 0, 0.7),  # shop 13: only from account 4, which stays out
        (P, 3, 12, 0, 0.1),  # between two slices that join: in the improved block
        (P + 1, 1, 10, 0, 9.0),  # another partition
    ]
    got = _improved(block, block + outside)
    joined = {(P, 3, 10, 0, 0.5), (P, 3, 11, 0, 0.5), (P, 1, 12, 0, 0.4), (P, 2, 12, 0, 0.45)}
    joined.add((P, 3, 12, 0, 0.1))  # between two slices that join; no slice of the result is below M / N
    assert got == set(block) | joined


def _improved(block: list[tuple], tensor: list[tuple]) -> set[tuple]:
    """more.sql then improve.sql on a block (its rows, as block.sql gives them) of a tensor."""
    with open_engine("duckdb") as engine:
        for name, rows in (("brushing_blk0", block), ("brushing_r", tensor)):
            engine.register_arrow(name, _rows(rows))
        engine.run("brushing_more", sql("brushing/more.sql"))
        return {tuple(r.values()) for r in engine.query(sql("brushing/improve.sql")).to_pylist()}


def test_the_improvement_step_then_drops_the_slices_lighter_than_the_blocks_average():
    """improve.sql, removal: a slice of the block with less than M / N inside it goes (the density rises)."""
    block = [(P, a, s, 0, 1.0) for a in (1, 2) for s in (10, 11)]
    block.append((P, 9, 10, 0, 0.2))  # account 9: 0.2 in a block of 4.2 over 6 slices (0.7): dropped
    assert _improved(block, block) == set(block[:-1])


def _densest_prefix(rows: list[tuple]) -> dict[int, float]:
    """D-Cube's first pass as the paper has it (Shin et al., WSDM 2017, Algorithm 3, bulk removal), slice by
    slice: per partition, the densest of the block itself and every prefix of the chosen mode's light slices
    removed in ascending order of mass (arithmetic density: mass per slice over three modes)."""
    out = {}
    for p in sorted({r[0] for r in rows}):
        mine = [r for r in rows if r[0] == p]
        slices = {mode: defaultdict(float) for mode in "ast"}
        for _, a, s, t, m in mine:
            for mode, key in zip("ast", (a, s, t), strict=True):
                slices[mode][key] += m
        total = sum(r[4] for r in mine)
        size = sum(len(v) for v in slices.values())
        light = {
            mode: sorted(x for x in v.values() if x <= sum(v.values()) / len(v)) for mode, v in slices.items()
        }
        # the mode whose light slices leave the densest block (ties: the first mode by name)
        mode = max("ast", key=lambda md: ((total - sum(light[md])) / max(size - len(light[md]), 1), -ord(md)))
        best, removed = total * 3.0 / size, 0.0
        for i, x in enumerate(light[mode], start=1):
            removed += x
            if size - i > 0:
                best = max(best, (total - removed) * 3.0 / (size - i))
        out[p] = best
    return out


@pytest.mark.parametrize("seed", range(6))
def test_a_pass_keeps_the_densest_prefix_of_one_by_one_removal(seed):
    """cut.sql sorts only the removed slices at least as heavy as M / N (the lighter ones are one run) and
    takes prefixes at the ends of runs of equal mass: the densest candidate is the paper's. Masses are binary
    fractions, so sums are exact and ties are real."""
    rng = random.Random(seed)
    rows = [
        (
            P + rng.randrange(3),
            rng.randrange(40),
            rng.randrange(12),
            rng.randrange(4),
            rng.choice((0.25, 0.5, 1, 2)),
        )
        for _ in range(400)
    ]
    with open_engine("duckdb") as engine:
        engine.register_arrow("brushing_b", _rows(rows))
        engine.register_arrow(
            "brushing_none", pa.table({"p": pa.array([], pa.int64()), "best": pa.array([], pa.float64())})
        )
        engine.run("brushing_removed", sql("brushing/cut.sql", brushing_prev="brushing_none"), iteration=1)
        best = engine.query(sql("brushing/best.sql")).to_pylist()
    assert {r["p"]: r["density"] for r in best} == pytest.approx(_densest_prefix(rows), rel=1e-12)
