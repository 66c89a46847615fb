"""Referential integrity and plausible timelines across the event files of each platform."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest

from tests.sim.conftest import ts

AS_OF = dt.datetime.fromisoformat("2024-12-31T23:59:59+08:00")


@pytest.fixture(scope="module")
def data(province):
    """Per platform: rows keyed by id, scans grouped by parcel."""
    out = {}
    for p in province.platforms:
        d = {
            "shops": {r["platform_shop_id"]: r for r in province.rows(f"{p}/shops.csv")},
            "accounts": {r["account_id"]: r for r in province.rows(f"{p}/accounts.csv")},
            "listings": {r["listing_id"]: r for r in province.rows(f"{p}/listings.csv")},
            "orders": {r["order_id"]: r for r in province.rows(f"{p}/orders.csv")},
            "payments": province.rows(f"{p}/payments.csv"),
            "parcels": {r["parcel_id"]: r for r in province.rows(f"{p}/parcels.csv")},
            "reviews": province.rows(f"{p}/reviews.csv"),
            "scans": defaultdict(list),
        }
        for s in province.rows(f"{p}/parcel_scans.csv"):
            d["scans"][s["parcel_id"]].append(s)
        out[p] = d
    return out


def test_orders_reference_shops_accounts_and_listings(data):
    for d in data.values():
        for o in d["orders"].values():
            shop = d["shops"][o["shop_id"]]
            account = d["accounts"][o["buyer_id"]]
            listing = d["listings"][o["listing_id"]]
            assert listing["shop_id"] == o["shop_id"]
            assert listing["gtin"] == o["gtin"]
            t = ts(o["ordered_at"])
            assert ts(account["registered_at"]) <= t
            assert dt.date.fromisoformat(shop["opened_at"]) <= t.date()
            assert ts(listing["listed_at"]) <= t
            if listing["delisted_at"]:
                assert t < ts(listing["delisted_at"])
            assert int(o["amount_cents"]) > 0 and int(o["quantity"]) >= 1
            assert t <= AS_OF


def test_payments_match_their_orders(data):
    for d in data.values():
        paid = {o for o, r in d["orders"].items() if r["paid_at"]}
        seen = set()
        for pay in d["payments"]:
            o = d["orders"][pay["order_id"]]
            assert pay["order_id"] not in seen
            seen.add(pay["order_id"])
            assert pay["paid_at"] == o["paid_at"]
            assert pay["amount_cents"] == o["amount_cents"]
            assert ts(o["ordered_at"]) <= ts(pay["paid_at"])
            if pay["refund_cents"]:
                assert 0 < int(pay["refund_cents"]) <= int(pay["amount_cents"])
                assert ts(pay["refunded_at"]) > ts(pay["paid_at"])
                assert o["status"] in {"refunded", "cancelled"}
            else:
                assert not pay["refunded_at"]
        assert seen == paid
        for o in d["orders"].values():
            if o["status"] in {"paid", "shipped", "delivered", "refunded"}:
                assert o["paid_at"], o
            if o["status"] == "created":
                assert not o["paid_at"]


def test_parcels_belong_to_shipped_orders(data):
    for d in data.values():
        with_parcel = set()
        for pid, parcel in d["parcels"].items():
            o = d["orders"][parcel["order_id"]]
            assert o["status"] in {"shipped", "delivered", "refunded"}
            assert parcel["order_id"] not in with_parcel
            with_parcel.add(parcel["order_id"])
            assert parcel["ship_to_region"] == o["ship_to_region"]
            assert ts(parcel["created_at"]) > ts(o["paid_at"])
            if not d["scans"].get(pid):  # labelled but not yet picked up at the end of the period
                assert ts(parcel["created_at"]) > AS_OF - dt.timedelta(days=1), pid
        for oid, o in d["orders"].items():
            if o["status"] in {"shipped", "delivered"}:
                assert oid in with_parcel


def test_scans_follow_a_plausible_timeline(data):
    for d in data.values():
        assert set(d["scans"]) <= set(d["parcels"])
        for pid, scans in d["scans"].items():
            parcel = d["parcels"][pid]
            order = d["orders"][parcel["order_id"]]
            times = [ts(s["scan_at"]) for s in scans]
            assert times == sorted(times), pid
            assert times[0] > ts(parcel["created_at"]) and times[-1] <= AS_OF
            statuses = [s["status"] for s in scans]
            assert statuses[0] == "picked_up"
            assert scans[0]["region_code"] == parcel["ship_from_region"]
            assert scans[0]["courier_id"]
            if "signed" in statuses:
                signed = scans[statuses.index("signed")]
                assert signed["region_code"] == parcel["ship_to_region"] and signed["courier_id"]
                assert order["status"] in {"delivered", "refunded"}
                assert statuses.index("signed") in (len(statuses) - 1, len(statuses) - 2)
            else:
                assert order["status"] == "shipped"
            for s in scans:
                if s["status"] == "in_transit":
                    assert s["region_code"].endswith("00")  # sorting hubs are prefecture cities
            if "returned" in statuses:
                assert statuses[-1] == "returned" and statuses[-2] == "signed"


def test_reviews_follow_delivery(data):
    for d in data.values():
        initial: dict[str, dt.datetime] = {}
        for r in sorted(d["reviews"], key=lambda r: r["kind"] != "initial"):
            o = d["orders"][r["order_id"]]
            assert (r["shop_id"], r["buyer_id"]) == (o["shop_id"], o["buyer_id"])
            assert o["status"] in {"delivered", "refunded"}
            parcel = next(p for p in d["parcels"].values() if p["order_id"] == r["order_id"])
            signed = next(s for s in d["scans"][parcel["parcel_id"]] if s["status"] == "signed")
            t = ts(r["reviewed_at"])
            assert t > ts(signed["scan_at"]) and t <= AS_OF
            if r["kind"] == "initial":
                assert r["order_id"] not in initial
                initial[r["order_id"]] = t
            else:
                assert t > initial[r["order_id"]]


def test_statuses_all_occur(data):
    statuses = {o["status"] for d in data.values() for o in d["orders"].values()}
    assert statuses >= {"shipped", "delivered", "refunded", "cancelled"}  # "paid" only on the last day
    scans = {s["status"] for d in data.values() for ss in d["scans"].values() for s in ss}
    assert scans >= {"picked_up", "in_transit", "out_for_delivery", "signed", "returned"}
