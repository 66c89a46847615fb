"""How well the score separates misconduct from honest shops on the synthetic province (ROC-AUC), and whether
brushing buys credit points. Pure over Arrow tables; the benchmark and the tests call it.

Truth (the simulator's ``truth/`` labels, docs/simulation.md):

- **misconduct shops**: members of brushing rings (``brushing_rings.csv``, member_type shop), shops that ran
  cashback review campaigns (``review_bursts.csv``), and re-opened shops (``reopened_shops.csv``, the new
  shop: re-opening to shed a record is the misconduct);
- **left out**: the closed shops re-opened shops come from (``old_shop_id``: bad-quality shops whose labels
  say nothing about misconduct of their own, and closed);
- **honest**: every other shop.

AUC is the probability that a random honest shop scores higher than a random misconduct shop (ties half),
the Mann-Whitney statistic over the ranks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as pa_csv

Pair = tuple[str, str]


@dataclass(frozen=True)
class Truth:
    misconduct: set[Pair]
    ring: set[Pair]
    left_out: set[Pair]


def _read(path: Path, columns: list[str]) -> pa.Table:
    options = pa_csv.ConvertOptions(column_types={c: pa.string() for c in columns}, include_columns=columns)
    return pa_csv.read_csv(path, convert_options=options)


def _pairs(table: pa.Table, platform: str, ref: str) -> set[Pair]:
    return set(zip(table.column(platform).to_pylist(), table.column(ref).to_pylist(), strict=True))


def read_truth(province: Path) -> Truth:
    truth = province / "truth"
    rings = _read(truth / "brushing_rings.csv", ["platform", "member_type", "member_id"])
    rings = rings.filter(pc.equal(rings.column("member_type"), "shop"))
    ring = _pairs(rings, "platform", "member_id")
    bursts = _pairs(_read(truth / "review_bursts.csv", ["platform", "shop_id"]), "platform", "shop_id")
    reopened = _read(
        truth / "reopened_shops.csv", ["old_platform", "old_shop_id", "new_platform", "new_shop_id"]
    )
    new = _pairs(reopened, "new_platform", "new_shop_id")
    old = _pairs(reopened, "old_platform", "old_shop_id")
    misconduct = ring | bursts | new
    return Truth(misconduct=misconduct, ring=ring, left_out=old - misconduct)


def roc_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """AUC of ``-scores`` for the positive class (a low score should mean misconduct), ties counted half."""
    order = np.argsort(-scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = -scores[order]
    # average ranks for ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    n_pos = int(positive.sum())
    n_neg = len(scores) - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("AUC needs both classes")
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


@dataclass(frozen=True)
class Separation:
    auc: float
    misconduct: int
    honest: int
    left_out: int
    misconduct_mean: float
    honest_mean: float


def separation(shops: pa.Table, truth: Truth) -> Separation:
    """``shops``: platform, platform_shop_id, score (one row per shop)."""
    keys = list(
        zip(shops.column("platform").to_pylist(), shops.column("platform_shop_id").to_pylist(), strict=True)
    )
    keep = np.array([k not in truth.left_out for k in keys])
    positive = np.array([k in truth.misconduct for k in keys])[keep]
    scores = np.asarray(shops.column("score").to_numpy(zero_copy_only=False), dtype=np.float64)[keep]
    return Separation(
        auc=roc_auc(scores, positive),
        misconduct=int(positive.sum()),
        honest=int((~positive).sum()),
        left_out=int((~keep).sum()),
        misconduct_mean=float(scores[positive].mean()),
        honest_mean=float(scores[~positive].mean()),
    )


@dataclass(frozen=True)
class PointsComparison:
    ring_shops: int  # ring shops compared (with honest shops of their size)
    ring_mean: float
    honest_mean: float  # per ring shop, the mean of its comparable honest shops; averaged
    ring_above: int  # ring shops with more points than the mean of their comparable honest shops


def points_comparison(shops: pa.Table, truth: Truth) -> PointsComparison:
    """Ring shops against honest shops of comparable size: for a ring shop with h ratings that count (not
    voided), the honest shops with h' such ratings, |h' - h| <= max(1, h / 10).
    ``shops``: platform, platform_shop_id, points, honest_ratings (the ratings that count)."""
    keys = list(
        zip(shops.column("platform").to_pylist(), shops.column("platform_shop_id").to_pylist(), strict=True)
    )
    ring = np.array([k in truth.ring for k in keys])
    honest = np.array([k not in truth.misconduct and k not in truth.left_out for k in keys])
    points = np.asarray(shops.column("points").to_numpy(zero_copy_only=False), dtype=np.float64)
    size = np.asarray(shops.column("honest_ratings").to_numpy(zero_copy_only=False), dtype=np.float64)
    order = np.argsort(size[honest], kind="mergesort")
    honest_size, honest_points = size[honest][order], points[honest][order]
    mine, mates, above = [], [], 0
    for h, p in zip(size[ring], points[ring], strict=True):
        width = max(1.0, h / 10.0)
        lo, hi = (
            np.searchsorted(honest_size, [h - width, h + width], side="left")[0],
            np.searchsorted(honest_size, h + width, side="right"),
        )
        if hi <= lo:
            continue
        expected = float(honest_points[lo:hi].mean())
        mine.append(p)
        mates.append(expected)
        above += int(p > expected)
    return PointsComparison(
        ring_shops=len(mine),
        ring_mean=float(np.mean(mine)) if mine else 0.0,
        honest_mean=float(np.mean(mates)) if mates else 0.0,
        ring_above=above,
    )
