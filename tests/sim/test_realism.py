"""Realism: power-law shop popularity, diurnal order times, the 11.11 peak, distance-driven transit."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict

import numpy as np

from ecredit.sim import calendar, columns
from ecredit.sim.geo import load_geo
from tests.sim.conftest import ts


def _honest_orders(province) -> list[dict[str, str]]:
    """Orders of ordinary buyers: no brushing, extortion or shared-payer accounts (their bursts are
    injected on purpose and would blur the shape at the tiny scale)."""
    special = {r["order_id"] for r in province.truth("brushing_orders")}
    buyers = {r["account_id"] for r in province.truth("extortion_reviewers")}
    buyers |= {r["account_id"] for r in province.truth("shared_payers")}
    return [
        o for _, o in province.all("orders") if o["order_id"] not in special and o["buyer_id"] not in buyers
    ]


def test_top_tenth_of_shops_take_a_large_share_of_orders(province):
    shops = sum(len(province.rows(f"{p}/shops.csv")) for p in province.platforms)
    per_shop = Counter(o["shop_id"] for o in _honest_orders(province))
    counts = sorted(per_shop.values(), reverse=True) + [0] * (shops - len(per_shop))
    top = sum(counts[: max(1, len(counts) // 10)])
    assert top / sum(counts) >= 0.35
    # ... and the distribution is heavy-tailed, not a few equal giants.
    assert counts[0] > 3 * statistics.median(counts)


def test_orders_follow_the_day(province):
    hours = Counter(ts(o["ordered_at"]).hour for o in _honest_orders(province))
    total = sum(hours.values())
    night = sum(hours[h] for h in (2, 3, 4, 5)) / total
    evening = sum(hours[h] for h in (19, 20, 21, 22)) / total
    assert evening > 4 * night
    assert hours[21] > hours[4] * 5


def test_singles_day_is_the_peak(province):
    per_day = Counter(ts(o["ordered_at"]).date() for o in _honest_orders(province))
    days = sorted(per_day)
    median = statistics.median(per_day[d] for d in days)
    singles = dt.date(2024, 11, 11)
    assert per_day[singles] >= 3 * median
    assert singles in sorted(per_day, key=per_day.get)[-2:]  # the busiest day, 6.18 at most a close second
    # Spring Festival 2024 (10 February): quieter than January.
    feb = [per_day[d] for d in days if d.month == 2 and 5 <= d.day <= 15]
    jan = [per_day[d] for d in days if d.month == 1 and d.day <= 15]
    assert sum(feb) / len(feb) < sum(jan) / len(jan)


def test_transit_time_grows_with_distance(province):
    geo = load_geo()
    pref = {c: i for i, c in enumerate(geo.prefecture_codes)}
    empties = {r["parcel_id"] for r in province.truth("empty_parcels")}
    scans = defaultdict(list)
    for _, s in province.all("parcel_scans"):
        scans[s["parcel_id"]].append(s)
    near, far = [], []
    for _, parcel in province.all("parcels"):
        pid = parcel["parcel_id"]
        st = {s["status"]: s for s in scans[pid]}
        if pid in empties or "signed" not in st or "exception" in st:
            continue
        o = pref[parcel["ship_from_region"][:4] + "00"]
        d = pref[parcel["ship_to_region"][:4] + "00"]
        hours = (
            ts(st["out_for_delivery"]["scan_at"]) - ts(st["picked_up"]["scan_at"])
        ).total_seconds() / 3600
        if o == d:
            near.append(hours)
        elif geo.distance_km[o, d] > 300:
            far.append(hours)
            hubs = [s["region_code"] for s in scans[pid] if s["status"] == "in_transit"]
            assert hubs[0] == geo.prefecture_codes[o] and hubs[-1] == geo.prefecture_codes[d]
    assert near and far
    assert statistics.mean(far) > statistics.mean(near) + 3


def test_prefecture_table_is_shandong():
    geo = load_geo()
    assert len(geo.prefecture_codes) == 16
    assert all(c.startswith("37") and c.endswith("00") for c in geo.prefecture_codes)
    assert all(
        geo.county_codes[i][:4] == geo.prefecture_codes[p][:4] for i, p in enumerate(geo.county_prefecture)
    )
    jinan, qingdao = geo.prefecture_codes.index("370100"), geo.prefecture_codes.index("370200")
    assert 300 < geo.distance_km[jinan, qingdao] < 450  # about 290 km great-circle, longer by road
    assert (geo.distance_km == geo.distance_km.T).all()


def test_calendar_weights():
    w = calendar.day_weights(dt.date(2024, 1, 1), 366)
    singles = (dt.date(2024, 11, 11) - dt.date(2024, 1, 1)).days
    assert w.argmax() == singles
    assert calendar.DIURNAL.argmin() in (3, 4, 5)


def test_sampler_matches_binary_search():
    rng = np.random.default_rng(3)
    weights = (np.arange(1, 5001) ** -1.05)[rng.permutation(5000)]
    sampler = columns.Sampler(weights)
    u = rng.random(100_000)
    assert (sampler.lookup(u) == np.minimum(np.searchsorted(sampler.cdf, u, side="right"), 4999)).all()
