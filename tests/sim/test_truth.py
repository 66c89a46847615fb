"""Every label in truth/ refers to rows that exist, and the labelled patterns are really in the data."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import pytest

from ecredit.sim.geo import load_geo
from tests.sim.conftest import ts


@pytest.fixture(scope="module")
def idx(province):
    """Lookups across platforms (ids carry the platform's prefix, so they do not collide)."""
    d = {k: {} for k in ("orders", "reviews", "parcels", "accounts", "shops", "payments_by_order")}
    scans = defaultdict(list)
    orders_by_buyer = defaultdict(list)
    for p in province.platforms:
        for r in province.rows(f"{p}/orders.csv"):
            d["orders"][r["order_id"]] = r
            orders_by_buyer[(p, r["buyer_id"])].append(r)
        for r in province.rows(f"{p}/reviews.csv"):
            d["reviews"][r["review_id"]] = r
        for r in province.rows(f"{p}/parcels.csv"):
            d["parcels"][r["parcel_id"]] = r
        for r in province.rows(f"{p}/accounts.csv"):
            d["accounts"][(p, r["account_id"])] = r
        for r in province.rows(f"{p}/shops.csv"):
            d["shops"][(p, r["platform_shop_id"])] = r
        for r in province.rows(f"{p}/payments.csv"):
            d["payments_by_order"][r["order_id"]] = r
        for r in province.rows(f"{p}/parcel_scans.csv"):
            scans[r["parcel_id"]].append(r)
    d["scans"] = scans
    d["orders_by_buyer"] = orders_by_buyer
    return d


def test_every_kind_of_misconduct_is_labelled(province):
    for name in (
        "brushing_rings",
        "brushing_orders",
        "fake_reviews",
        "extortion_reviewers",
        "extortion_cases",
        "empty_parcels",
        "shared_payers",
        "reopened_shops",
        "review_bursts",
    ):
        assert province.truth(name), name


def test_brushing_rings_concentrate_on_ring_shops_in_their_window(province, idx):
    rings = defaultdict(lambda: {"shops": set(), "accounts": set()})
    for r in province.truth("brushing_rings"):
        ring = rings[r["ring_id"]]
        ring["platform"] = r["platform"]
        ring["window"] = (ts(r["window_start"]), ts(r["window_end"]))
        key = (r["platform"], r["member_id"])
        if r["member_type"] == "shop":
            assert key in idx["shops"]
            ring["shops"].add(r["member_id"])
        else:
            assert key in idx["accounts"]
            ring["accounts"].add(r["member_id"])
    assert rings
    for ring_id, ring in rings.items():
        assert len(ring["shops"]) >= 2 and len(ring["accounts"]) >= 5, ring_id
        lo, hi = ring["window"]
        in_window = [
            o
            for a in ring["accounts"]
            for o in idx["orders_by_buyer"][(ring["platform"], a)]
            if lo <= ts(o["ordered_at"]) <= hi
        ]
        to_ring = [o for o in in_window if o["shop_id"] in ring["shops"]]
        assert len(to_ring) >= 3 * len(ring["accounts"]), ring_id
        assert len(to_ring) / len(in_window) >= 0.6, ring_id
        # Camouflage: the same accounts also buy from popular shops outside the ring.
        assert len(to_ring) < len(in_window), ring_id
        # Ring accounts are fresh and hardly buy anything else: most of their orders are near the window.
        all_orders = [o for a in ring["accounts"] for o in idx["orders_by_buyer"][(ring["platform"], a)]]
        near = [
            o
            for o in all_orders
            if lo - dt.timedelta(days=3) <= ts(o["ordered_at"]) <= hi + dt.timedelta(days=3)
        ]
        assert len(near) / len(all_orders) >= 0.9, ring_id
    labelled = province.truth("brushing_orders")
    for r in labelled:
        o = idx["orders"][r["order_id"]]
        ring = rings[r["ring_id"]]
        assert o["buyer_id"] in ring["accounts"]
        if r["role"] == "ring":
            assert o["shop_id"] in ring["shops"]
            assert ring["window"][0] <= ts(o["ordered_at"]) <= ring["window"][1]
        else:
            assert o["shop_id"] not in ring["shops"]
    assert {r["role"] for r in labelled} == {"ring", "camouflage"}


def test_camouflage_goes_to_popular_shops(province, idx):
    per_shop = Counter(o["shop_id"] for o in idx["orders"].values())
    ranked = [s for s, _ in per_shop.most_common()]
    top = set(ranked[: max(1, len(ranked) // 5)])
    camo = [r for r in province.truth("brushing_orders") if r["role"] == "camouflage"]
    assert sum(r["shop_id"] in top for r in camo) / len(camo) >= 0.7


def test_fake_reviews_exist_and_are_five_star_template_praise(province, idx):
    fakes = province.truth("fake_reviews")
    ring_orders = {r["order_id"] for r in province.truth("brushing_orders") if r["role"] == "ring"}
    bursts = {r["burst_id"]: r for r in province.truth("review_bursts")}
    texts = []
    for r in fakes:
        review = idx["reviews"][r["review_id"]]
        assert review["order_id"] == r["order_id"] and review["kind"] == "initial"
        assert review["rating"] == "5"
        texts.append(review["text"])
        if r["reason"] == "ring_order":
            assert r["order_id"] in ring_orders
        else:
            assert r["reason"] == "cashback"
            burst = bursts[r["group_id"]]
            assert burst["shop_id"] == review["shop_id"]
    assert {r["reason"] for r in fakes} == {"ring_order", "cashback"}
    # Bought praise repeats itself: a handful of templates with small variations (near-duplicates).
    assert len({t[:5] for t in texts}) <= 6 < len(texts) / 4
    honest = [
        r["text"] for r in idx["reviews"].values() if r["review_id"] not in {f["review_id"] for f in fakes}
    ]
    assert not set(texts) & set(honest)


def test_extortion_reviewers_post_negative_reviews_across_shops_then_get_refunds(province, idx):
    cases = province.truth("extortion_cases")
    by_account = defaultdict(list)
    for c in cases:
        review = idx["reviews"][c["review_id"]]
        order = idx["orders"][c["order_id"]]
        assert review["order_id"] == c["order_id"] and review["rating"] == "1"
        assert order["buyer_id"] == c["account_id"] and order["shop_id"] == c["shop_id"]
        if c["refunded_at"]:
            payment = idx["payments_by_order"][c["order_id"]]
            assert payment["refund_cents"] == c["refund_cents"]
            assert ts(payment["refunded_at"]) > ts(review["reviewed_at"])
            assert order["status"] == "refunded"
        by_account[(c["platform"], c["account_id"])].append(c)
    reviewers = province.truth("extortion_reviewers")
    assert {(r["platform"], r["account_id"]) for r in reviewers} == set(by_account)
    for r in reviewers:
        mine = by_account[(r["platform"], r["account_id"])]
        assert int(r["negative_reviews"]) == len(mine)
        assert int(r["shops"]) == len({c["shop_id"] for c in mine}) >= 5
        assert int(r["refunds"]) >= 0.7 * len(mine)


def test_empty_parcels_are_light_and_skip_transit(province, idx):
    geo = load_geo()
    pref = {c: i for i, c in enumerate(geo.prefecture_codes)}
    empties = province.truth("empty_parcels")
    for e in empties:
        parcel = idx["parcels"][e["parcel_id"]]
        assert parcel["order_id"] == e["order_id"]
        assert int(parcel["weight_grams"]) == int(e["weight_grams"]) < 100
        scans = idx["scans"][e["parcel_id"]]
        statuses = [s["status"] for s in scans]
        assert statuses in (["picked_up"], ["picked_up", "signed"])
        why = set(e["why"].split(";"))
        assert {"light", "no_transit"} <= why
        o = pref[parcel["ship_from_region"][:4] + "00"]
        d = pref[parcel["ship_to_region"][:4] + "00"]
        if len(scans) == 2:
            hours = (ts(scans[1]["scan_at"]) - ts(scans[0]["scan_at"])).total_seconds() / 3600
            assert hours < 4
            if o != d and geo.distance_km[o, d] > 250:
                assert "too_fast" in why
    # Honest parcels are heavier and pass through sorting centres.
    honest = [p for pid, p in idx["parcels"].items() if pid not in {e["parcel_id"] for e in empties}]
    assert sum(int(p["weight_grams"]) >= 100 for p in honest) / len(honest) > 0.97
    assert len(empties) >= 0.5 * sum(1 for r in province.truth("brushing_orders") if r["role"] == "ring")


def test_shared_payers_pay_for_many_accounts(province, idx):
    groups = defaultdict(set)
    for r in province.truth("shared_payers"):
        assert (r["platform"], r["account_id"]) in idx["accounts"]
        groups[(r["platform"], r["payer_ref"])].add(r["account_id"])
    assert any(len(a) >= 5 for a in groups.values())
    payer_accounts = defaultdict(set)
    for oid, pay in idx["payments_by_order"].items():
        payer_accounts[pay["payer_ref"]].add(idx["orders"][oid]["buyer_id"])
    for (_, ref), accounts in groups.items():
        assert len(payer_accounts[ref] & accounts) >= 2, ref
        assert payer_accounts[ref] <= accounts, ref
    # Ordinary payers are behind exactly one account.
    shared = {ref for _, ref in groups}
    assert all(len(a) == 1 for ref, a in payer_accounts.items() if ref not in shared)


def test_problem_shops_reopen_under_new_names(province, idx):
    register = {r["uscc"]: r for r in province.rows("register.csv")}
    for r in province.truth("reopened_shops"):
        old = idx["shops"][(r["old_platform"], r["old_shop_id"])]
        new = idx["shops"][(r["new_platform"], r["new_shop_id"])]
        assert old["shop_name"] != new["shop_name"] == r["new_shop_name"]
        closed, reopened = ts(r["closed_at"]), ts(r["reopened_at"])
        assert reopened > closed
        assert new["opened_at"] == reopened.date().isoformat()
        if r["link"] == "same_id_number":
            assert old["operator_type"] == "person"
            assert old["operator_id_number"] == new["operator_id_number"] == r["link_key"]
        elif r["link"] == "same_uscc":
            assert old["operator_uscc"] == new["operator_uscc"] == r["link_key"]
        else:
            assert r["link"] == "new_company_same_legal_rep"
            assert old["operator_uscc"] != new["operator_uscc"]
            assert old["legal_rep_id_number"] == new["legal_rep_id_number"] == r["link_key"]
            assert register[old["operator_uscc"]]["status"] == "注销"
            assert register[new["operator_uscc"]]["status"] == "存续"
        for o in idx["orders"].values():
            if o["shop_id"] == r["old_shop_id"]:
                assert ts(o["ordered_at"]) < closed
            if o["shop_id"] == r["new_shop_id"]:
                assert ts(o["ordered_at"]) > reopened
    # Problem shops: their genuine reviews are worse than the province's.
    fake = {f["review_id"] for f in province.truth("fake_reviews")}
    genuine = [v for v in idx["reviews"].values() if v["review_id"] not in fake]
    problem = {r["old_shop_id"] for r in province.truth("reopened_shops")}
    problem |= {r["new_shop_id"] for r in province.truth("reopened_shops")}
    ratings = [int(v["rating"]) for v in genuine if v["shop_id"] in problem]
    overall = [int(v["rating"]) for v in genuine]
    assert len(ratings) >= 3
    assert sum(ratings) / len(ratings) < sum(overall) / len(overall) - 0.5
