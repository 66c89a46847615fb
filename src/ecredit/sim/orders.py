"""One batch of orders and everything that follows from them: payments, parcels, scans, reviews, labels.

A batch is a run of consecutive days of one platform. All work is on numpy arrays of the batch's orders;
the result is a set of Arrow tables in the record formats v1 and the ground-truth label tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ecredit.sim import calendar, columns, text
from ecredit.sim.platform import CAMOUFLAGE, DAY, EXTORTION, HONEST, HOUR, PAYMENT_METHODS, RING, Context
from ecredit.sim.world import CARRIERS, NEVER

ORDER_STATUSES = ("created", "paid", "shipped", "delivered", "refunded", "cancelled")
SCAN_STATUSES = ("picked_up", "in_transit", "out_for_delivery", "signed", "returned", "exception")
REVIEW_KINDS = ("initial", "follow_up")
COURIERS_PER_PREFECTURE = 120
# Scan slots of a parcel, in time order: (status, where).
SLOT_PICKED, SLOT_HUB_O, SLOT_EXCEPTION, SLOT_HUB_MID, SLOT_HUB_D, SLOT_OUT, SLOT_SIGNED, SLOT_RETURNED = (
    range(8)
)
SLOT_STATUS = np.array([0, 1, 5, 1, 1, 2, 3, 4], dtype=np.int64)


@dataclass
class Batch:
    tables: dict[str, pa.Table]
    labels: dict[str, pa.Table]


def _u(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return lo + rng.random(n) * (hi - lo)


def _resample(rng, idx, bad, sampler, fallback, ok, rounds=6):
    for _ in range(rounds):
        if not bad.any():
            return idx
        where = np.flatnonzero(bad)
        idx[where] = sampler.draw(rng, len(where))
        bad = np.zeros_like(bad)
        bad[where] = ~ok(where, idx[where])
    idx[bad] = fallback
    return idx


def generate_batch(ctx: Context, b: int) -> Batch:
    params = ctx.params
    knobs = params.knobs
    geo = ctx.geo
    rng = np.random.default_rng([params.seed, 3, ctx.p, b])
    start_s, as_of = params.start_s, params.as_of_s
    d_lo, d_hi = ctx.batch_days[b]

    # ---------------------------------------------------------------- honest orders
    counts = ctx.day_counts[d_lo:d_hi]
    n_h = int(counts.sum())
    day_h = np.repeat(np.arange(d_lo, d_hi, dtype=np.int64), counts)
    peak_days = ctx.peak_days
    normal_cdf, peak_cdf = calendar.hour_cdfs()
    u = rng.random(n_h)
    hour = np.where(
        peak_days[day_h],
        np.searchsorted(peak_cdf, u, side="right"),
        np.searchsorted(normal_cdf, u, side="right"),
    )
    t_h = start_s + day_h * DAY + np.minimum(hour, 23) * HOUR + rng.integers(0, HOUR, n_h)
    shop_h = ctx.shop_sampler.draw(rng, n_h)

    def shop_ok(where, s):
        return (t_h[where] >= ctx.shop_from_s[s]) & (t_h[where] < ctx.shop_close_s[s])

    shop_h = _resample(
        rng, shop_h, ~shop_ok(np.arange(n_h), shop_h), ctx.shop_sampler, ctx.fallback_shop, shop_ok
    )
    buyer_h = ctx.acc_sampler.draw(rng, n_h)

    def buyer_ok(where, a):
        return ctx.acc_registered_s[a] < t_h[where]

    buyer_h = _resample(
        rng, buyer_h, ~buyer_ok(np.arange(n_h), buyer_h), ctx.acc_sampler, ctx.fallback_account, buyer_ok
    )

    # ---------------------------------------------------------------- injected orders, merged by time
    i_lo, i_hi = ctx.batch_injected[b]
    t = np.concatenate([t_h, ctx.inj_t[i_lo:i_hi]])
    order = np.argsort(t, kind="stable")
    t = t[order]
    shop = np.concatenate([shop_h, ctx.inj_shop[i_lo:i_hi]])[order]
    buyer = np.concatenate([buyer_h, ctx.inj_buyer[i_lo:i_hi]])[order]
    kind = np.concatenate([np.zeros(n_h, dtype=np.int64), ctx.inj_kind[i_lo:i_hi]])[order]
    group = np.concatenate([np.full(n_h, -1, dtype=np.int64), ctx.inj_group[i_lo:i_hi]])[order]
    n = len(t)
    order_n = ctx.batch_offset[b] + np.arange(n, dtype=np.int64)
    honest = kind == HONEST
    injected = ~honest
    day = (t - start_s) // DAY
    peak = peak_days[np.clip(day, 0, knobs.days - 1)]

    # ---------------------------------------------------------------- listing, quantity, amount, address
    cnt = ctx.listing_count[shop]
    li = ctx.listing_start[shop] + (rng.random(n) * cnt).astype(np.int64)
    stale = (t < ctx.listing_listed_s[li]) | (t >= ctx.listing_delisted_s[li])
    li[stale] = ctx.listing_start[shop[stale]]
    qty = np.where(rng.random(n) < knobs.quantity_p1, 1, 1 + rng.geometric(0.6, n))
    qty[injected] = 1
    price = ctx.listing_price[li]
    amount = np.round(price * qty * np.where(peak & honest, knobs.peak_discount, 1.0)).astype(np.int64)
    other = rng.random(n) < knobs.p_ship_to_other
    dest = np.where(other, ctx.county_sampler.draw(rng, n), ctx.acc_county[buyer])

    # ---------------------------------------------------------------- payment, cancellation, shipping
    unpaid = honest & (rng.random(n) < knobs.p_unpaid)
    paid = ~unpaid
    t_paid = t + 5 + rng.exponential(knobs.pay_delay_mean_s, n).astype(np.int64)
    cancel = paid & honest & (rng.random(n) < knobs.p_cancel_after_pay)
    t_cancel = t_paid + (rng.exponential(6 * HOUR, n)).astype(np.int64) + 60
    shipped = paid & ~cancel
    delay_h = rng.gamma(2.0, knobs.ship_delay_mean_h / 2.0, n) * np.where(peak, 2.0, 1.0)
    delay_h = np.where(kind == RING, _u(rng, 2.0, 12.0, n), delay_h)
    t_ship = t_paid + (delay_h * HOUR).astype(np.int64) + 600

    # ---------------------------------------------------------------- parcels and scan timelines
    ps = np.flatnonzero(shipped)
    m = len(ps)
    s_shop = shop[ps]
    shop_county = ctx.shop_county[s_shop]
    shop_pref = geo.county_prefecture[shop_county]
    empty = (kind[ps] == RING) & (rng.random(m) < knobs.ring_p_empty)
    far = empty & (rng.random(m) < knobs.empty_p_far_ship_from)
    from_county = np.where(far, ctx.county_sampler.draw(rng, m), shop_county)
    o = geo.county_prefecture[from_county]
    d_county = dest[ps]
    d = geo.county_prefecture[d_county]
    hub = geo.hub_of[o, d]
    has_hub = hub >= 0
    hub_i = np.where(has_hub, hub, 0)
    cross = o != d

    def travel(km: np.ndarray) -> np.ndarray:
        return (km / knobs.speed_kmh * HOUR).astype(np.int64)

    leg1 = np.where(has_hub, geo.distance_km[o, hub_i], geo.distance_km[o, d])
    leg2 = geo.distance_km[hub_i, d]
    exception = ~empty & (rng.random(m) < knobs.p_exception)

    T = np.zeros((m, 8), dtype=np.int64)
    V = np.zeros((m, 8), dtype=bool)
    T[:, SLOT_PICKED] = t_ship[ps] + _u(rng, 0.3 * HOUR, 6 * HOUR, m).astype(np.int64)
    T[:, SLOT_HUB_O] = T[:, SLOT_PICKED] + _u(rng, 1 * HOUR, 4 * HOUR, m).astype(np.int64)
    T[:, SLOT_EXCEPTION] = T[:, SLOT_HUB_O] + _u(rng, 2 * HOUR, 6 * HOUR, m).astype(np.int64)
    after_o = np.where(
        exception, T[:, SLOT_EXCEPTION] + _u(rng, 24 * HOUR, 72 * HOUR, m).astype(np.int64), T[:, SLOT_HUB_O]
    )
    T[:, SLOT_HUB_MID] = after_o + travel(leg1) + _u(rng, 1 * HOUR, 3 * HOUR, m).astype(np.int64)
    before_d = np.where(has_hub, T[:, SLOT_HUB_MID], after_o)
    dist_to_d = np.where(has_hub, leg2, leg1)
    T[:, SLOT_HUB_D] = before_d + travel(dist_to_d) + _u(rng, 1 * HOUR, 3 * HOUR, m).astype(np.int64)
    arrived = np.where(cross, T[:, SLOT_HUB_D], after_o + _u(rng, 1 * HOUR, 3 * HOUR, m).astype(np.int64))
    out = arrived + _u(rng, 1 * HOUR, 4 * HOUR, m).astype(np.int64)
    # Couriers go out between 07:00 and 19:00 local time.
    local = out + 8 * HOUR
    hod = (local % DAY) / HOUR
    morning = local - local % DAY + 7 * HOUR - 8 * HOUR + _u(rng, 0, 2 * HOUR, m).astype(np.int64)
    out = np.where(hod < 7, morning, np.where(hod >= 19, morning + DAY, out))
    T[:, SLOT_OUT] = out
    T[:, SLOT_SIGNED] = out + _u(rng, 0.3 * HOUR, 6 * HOUR, m).astype(np.int64)
    # Empty parcels: picked up, then signed within hours whatever the distance.
    T[:, SLOT_SIGNED] = np.where(
        empty,
        T[:, SLOT_PICKED]
        + _u(rng, knobs.empty_sign_hours[0] * HOUR, knobs.empty_sign_hours[1] * HOUR, m).astype(np.int64),
        T[:, SLOT_SIGNED],
    )
    t_signed = T[:, SLOT_SIGNED].copy()
    signed_by = t_signed <= as_of
    p_return = np.array(knobs.p_return)[ctx.shop_quality[s_shop]]
    returned = (kind[ps] == HONEST) & signed_by & (rng.random(m) < p_return)
    T[:, SLOT_RETURNED] = t_signed + _u(rng, 1 * DAY, 5 * DAY, m).astype(np.int64)
    V[:, SLOT_PICKED] = True
    V[:, SLOT_HUB_O] = ~empty
    V[:, SLOT_EXCEPTION] = exception
    V[:, SLOT_HUB_MID] = ~empty & has_hub & cross
    V[:, SLOT_HUB_D] = ~empty & cross
    V[:, SLOT_OUT] = ~empty
    V[:, SLOT_SIGNED] = True
    V[:, SLOT_RETURNED] = returned
    V &= np.less_equal(T, as_of)
    parcel_out = t_ship[ps] <= as_of
    V &= parcel_out[:, None]

    # Where each scan happens (region index: prefectures first, then counties) and who scanned it.
    R = np.empty((m, 8), dtype=np.int32)
    n_pref = geo.n_prefectures
    R[:, SLOT_PICKED] = from_county + n_pref
    R[:, SLOT_HUB_O] = o
    R[:, SLOT_EXCEPTION] = o
    R[:, SLOT_HUB_MID] = hub_i
    R[:, SLOT_HUB_D] = d
    R[:, SLOT_OUT] = d_county + n_pref
    R[:, SLOT_SIGNED] = d_county + n_pref
    R[:, SLOT_RETURNED] = d_county + n_pref
    carrier = ctx.shop_carrier[s_shop]
    n_car_pref = COURIERS_PER_PREFECTURE
    courier_o = (carrier * n_pref + o) * n_car_pref + rng.integers(0, n_car_pref, m)
    courier_d = (carrier * n_pref + d) * n_car_pref + rng.integers(0, n_car_pref, m)
    C = np.full((m, 8), -1, dtype=np.int32)
    C[:, SLOT_PICKED] = courier_o
    C[:, SLOT_OUT] = courier_d
    C[:, SLOT_SIGNED] = courier_d
    C[:, SLOT_RETURNED] = courier_d

    weight = (ctx.listing_weight[li[ps]] * qty[ps] * rng.lognormal(0, 0.15, m) + _u(rng, 50, 200, m)).astype(
        np.int64
    )
    weight = np.where(
        empty, rng.integers(knobs.empty_weight_grams[0], knobs.empty_weight_grams[1] + 1, m), weight
    )

    # ---------------------------------------------------------------- reviews and refunds
    signed = np.zeros(n, dtype=bool)
    signed[ps] = signed_by
    t_sign_o = np.full(n, NEVER, dtype=np.int64)
    t_sign_o[ps] = t_signed
    ret_o = np.zeros(n, dtype=bool)
    ret_o[ps] = returned
    t_ret_o = np.zeros(n, dtype=np.int64)
    t_ret_o[ps] = T[:, SLOT_RETURNED]

    burst_shop = np.full(ctx.n_shops, -1, dtype=np.int64)
    burst_lo = np.zeros(ctx.n_shops, dtype=np.int64)
    burst_hi = np.zeros(ctx.n_shops, dtype=np.int64)
    for i, bu in enumerate(ctx.bursts):
        burst_shop[bu.shop], burst_lo[bu.shop], burst_hi[bu.shop] = i, bu.start_s, bu.end_s
    cashback = (
        honest & signed & (burst_shop[shop] >= 0) & (t_sign_o >= burst_lo[shop]) & (t_sign_o < burst_hi[shop])
    )
    p_rev = np.select(
        [kind == RING, kind == EXTORTION, cashback],
        [knobs.ring_p_review, knobs.extortion_p_review, knobs.cashback_p_review],
        knobs.p_review,
    )
    reviewed = signed & (rng.random(n) < p_rev)
    rev_delay = np.select(
        [kind == RING, kind == EXTORTION, cashback],
        [_u(rng, 1 * HOUR, 20 * HOUR, n), _u(rng, 0.5 * HOUR, 12 * HOUR, n), _u(rng, 2 * HOUR, 48 * HOUR, n)],
        np.exp(rng.normal(np.log(1.5 * DAY), 0.8, n)),
    ).astype(np.int64)
    t_rev = np.where(reviewed, t_sign_o + rev_delay, NEVER)
    # Ratings: by shop quality; returned orders as from a bad shop; rings and cashback 5; extortion 1.
    rating_cdfs = np.cumsum(np.array(knobs.ratings), axis=1)
    q = np.where(ret_o, 2, ctx.shop_quality[shop])
    rating = 1 + (rng.random(n)[:, None] >= rating_cdfs[q]).sum(axis=1)
    rating = np.minimum(rating, 5)
    rating = np.where(kind == CAMOUFLAGE, np.where(rng.random(n) < 0.8, 5, 4), rating)
    rating = np.where((kind == RING) | cashback, 5, rating)
    rating = np.where(kind == EXTORTION, 1, rating)
    bucket = np.where(rating <= 2, text.BUCKET_NEG, np.where(rating == 3, text.BUCKET_MID, text.BUCKET_POS))
    bucket = np.where((kind == RING) | cashback, text.BUCKET_FAKE, bucket)
    bucket = np.where(kind == EXTORTION, text.BUCKET_EXTORTION, bucket)

    # Refunds: cancellation after payment, returns, extortion (after the review).
    ext_refund = (kind == EXTORTION) & reviewed
    ext_t = t_rev + _u(
        rng, knobs.extortion_refund_hours[0] * HOUR, knobs.extortion_refund_hours[1] * HOUR, n
    ).astype(np.int64)
    partial = np.round(amount * _u(rng, 0.3, 0.9, n) / 100).astype(np.int64) * 100
    ext_cents = np.where(rng.random(n) < knobs.extortion_p_full_refund, amount, np.clip(partial, 100, amount))
    t_refund = np.full(n, NEVER, dtype=np.int64)
    refund_cents = np.zeros(n, dtype=np.int64)
    t_refund = np.where(cancel, t_cancel, t_refund)
    refund_cents = np.where(cancel, amount, refund_cents)
    ret_refund_t = t_ret_o + _u(rng, 0.5 * DAY, 3 * DAY, n).astype(np.int64)
    t_refund = np.where(ret_o, ret_refund_t, t_refund)
    refund_cents = np.where(ret_o, amount, refund_cents)
    t_refund = np.where(ext_refund, ext_t, t_refund)
    refund_cents = np.where(ext_refund, ext_cents, refund_cents)
    refunded_by = t_refund <= as_of

    # Follow-ups: honest 追评 weeks later; extortion "resolved" after the refund.
    fu_honest = reviewed & ~injected & (rng.random(n) < knobs.p_follow_up)
    fu_ext = ext_refund & (rng.random(n) < knobs.extortion_p_follow_up)
    t_fu = np.where(
        fu_ext,
        ext_t + _u(rng, 1 * HOUR, 3 * DAY, n).astype(np.int64),
        t_rev + _u(rng, 7 * DAY, 40 * DAY, n).astype(np.int64),
    )
    fu = (fu_honest | fu_ext) & (t_fu <= as_of)
    fu_rating = np.where(fu_ext, rng.integers(3, 5, n), rating)
    fu_bucket = np.where(fu_ext, text.BUCKET_FOLLOW_EXT, text.BUCKET_FOLLOW)
    rev_out = reviewed & (t_rev <= as_of)

    # ---------------------------------------------------------------- order status at as_of
    status = np.zeros(n, dtype=np.int64)  # created
    paid_by = paid & (t_paid <= as_of)
    status[paid_by] = 1
    status[(unpaid & (t + 1800 <= as_of)) | (cancel & (t_cancel <= as_of))] = 5
    ship_by = np.zeros(n, dtype=bool)
    ship_by[ps] = parcel_out
    status[ship_by] = 2
    status[signed] = 3
    status[refunded_by & ~cancel] = 4

    # ---------------------------------------------------------------- tables
    pfx = ctx.prefix
    order_ids = columns.ids(f"{pfx}-O-", order_n, 10)
    shop_ids = columns.dictionary(ctx.shop_ids, shop)
    buyer_ids = columns.take(ctx.account_ids(), buyer)
    regions = pa.array(list(geo.codes))
    has_gtin = ctx.listing_gtin[li] >= 0
    orders_t = pa.table(
        {
            "order_id": order_ids,
            "shop_id": shop_ids,
            "buyer_id": buyer_ids,
            "listing_id": columns.take(ctx.listing_ids(), li),
            "gtin": columns.with_nulls(columns.gtin13(np.maximum(ctx.listing_gtin[li], 0)), has_gtin),
            "quantity": columns.ints(qty),
            "amount_cents": columns.ints(amount),
            "ordered_at": columns.timestamps(t),
            "paid_at": columns.timestamps(t_paid, paid_by),
            "status": columns.dictionary(pa.array(ORDER_STATUSES), status),
            "ship_to_region": columns.dictionary(regions, dest + geo.n_prefectures),
        }
    )

    pay = np.flatnonzero(paid_by)
    payer = ctx.acc_payer[buyer[pay]]
    pay_refund = refunded_by[pay]
    payments_t = pa.table(
        {
            "payment_id": columns.ids(f"{pfx}-P-", order_n[pay], 10),
            "order_id": columns.take(order_ids, pay),
            "payer_ref": columns.take(ctx.payer_refs(), payer),
            "method": columns.dictionary(pa.array(PAYMENT_METHODS), ctx.payer_method(payer)),
            "amount_cents": columns.ints(amount[pay]),
            "paid_at": columns.timestamps(t_paid[pay]),
            "refund_cents": columns.ints(refund_cents[pay], pay_refund),
            "refunded_at": columns.timestamps(np.where(pay_refund, t_refund[pay], 0), pay_refund),
        }
    )

    keep = np.flatnonzero(parcel_out)
    pk = ps[keep]
    parcel_n = order_n[pk]
    car_prefixes = np.frombuffer("".join(c[3] for c in CARRIERS).encode(), dtype=np.uint8).reshape(-1, 2)
    parcel_ids = columns.from_matrix(
        np.hstack([car_prefixes[carrier[keep]], columns.digit_matrix(ctx.p * 10**11 + parcel_n, 12)])
    )
    parcels_t = pa.table(
        {
            "parcel_id": parcel_ids,
            "order_id": columns.take(order_ids, pk),
            "carrier_uscc": columns.dictionary(pa.array(ctx.carrier_usccs), carrier[keep]),
            "weight_grams": columns.ints(weight[keep]),
            "ship_from_region": columns.dictionary(regions, from_county[keep] + n_pref),
            "ship_to_region": columns.dictionary(regions, d_county[keep] + n_pref),
            "created_at": columns.timestamps(t_ship[pk]),
        }
    )

    # Parcels not yet created by as_of have no valid scan: index the kept ones without copying.
    per = V.sum(axis=1)
    rows = np.repeat(np.cumsum(parcel_out) - 1, per)
    slot = np.broadcast_to(np.arange(8, dtype=np.int32), V.shape)[V]
    courier = C[V]
    scan_t, scan_r = T[V], R[V]
    t_picked = T[:, SLOT_PICKED].copy()
    del T, R, C
    scans_t = pa.table(
        {
            "parcel_id": columns.take(parcel_ids, rows),
            "scan_at": columns.timestamps(scan_t),
            "status": columns.dictionary(pa.array(SCAN_STATUSES), SLOT_STATUS[slot]),
            "region_code": columns.dictionary(regions, scan_r),
            "courier_id": columns.take(_courier_ids(ctx), np.maximum(courier, 0), courier >= 0),
        }
    )

    pools = text.pools()
    offs = np.array(pools.review_offsets)
    cnts = np.array(pools.review_counts)
    noun = ctx.listing_noun[li]
    ri = np.flatnonzero(rev_out)
    fi = np.flatnonzero(fu)
    r_orders = np.concatenate([ri, fi])
    r_kind = np.concatenate([np.zeros(len(ri), dtype=np.int64), np.ones(len(fi), dtype=np.int64)])
    r_t = np.concatenate([t_rev[ri], t_fu[fi]])
    r_rating = np.concatenate([rating[ri], fu_rating[fi]])
    r_bucket = np.concatenate([bucket[ri], fu_bucket[fi]])
    r_noun = noun[r_orders]
    r_text = offs[r_noun, r_bucket] + (rng.random(len(r_orders)) * cnts[r_noun, r_bucket]).astype(np.int64)
    ro = np.argsort(r_t, kind="stable")
    r_orders, r_kind, r_t, r_rating, r_text = r_orders[ro], r_kind[ro], r_t[ro], r_rating[ro], r_text[ro]
    review_ids = columns.ids(f"{pfx}-R-", order_n[r_orders] * 10 + 1 + r_kind, 11)
    reviews_t = pa.table(
        {
            "review_id": review_ids,
            "order_id": columns.take(order_ids, r_orders),
            "shop_id": columns.take(shop_ids, r_orders),
            "buyer_id": columns.take(buyer_ids, r_orders),
            "rating": columns.ints(r_rating),
            "text": columns.take(pa.array(pools.reviews), r_text),
            "reviewed_at": columns.timestamps(r_t),
            "kind": columns.dictionary(pa.array(REVIEW_KINDS), r_kind),
        }
    )

    # ---------------------------------------------------------------- labels
    code = pa.array([ctx.code])
    ring_ids = pa.array([r.ring_id for r in ctx.rings] or [""])
    brush = np.flatnonzero((kind == RING) | (kind == CAMOUFLAGE))
    labels: dict[str, pa.Table] = {}
    labels["brushing_orders"] = pa.table(
        {
            "platform": columns.take(code, np.zeros(len(brush), dtype=np.int64)),
            "ring_id": columns.take(ring_ids, group[brush]),
            "order_id": columns.take(order_ids, brush),
            "shop_id": columns.take(shop_ids, brush),
            "buyer_id": columns.take(buyer_ids, brush),
            "role": columns.take(
                pa.array(["ring", "camouflage"]), (kind[brush] == CAMOUFLAGE).astype(np.int64)
            ),
            "ordered_at": columns.timestamps(t[brush]),
        }
    )
    fake_mask = (r_kind == 0) & (((kind == RING) | cashback)[r_orders])
    fr = np.flatnonzero(fake_mask)
    fo = r_orders[fr]
    burst_ids = pa.array([bu.burst_id for bu in ctx.bursts] or [""])
    is_ring = kind[fo] == RING
    labels["fake_reviews"] = pa.table(
        {
            "platform": columns.take(code, np.zeros(len(fr), dtype=np.int64)),
            "review_id": columns.take(review_ids, fr),
            "order_id": columns.take(order_ids, fo),
            "shop_id": columns.take(shop_ids, fo),
            "buyer_id": columns.take(buyer_ids, fo),
            "reason": columns.take(pa.array(["cashback", "ring_order"]), is_ring.astype(np.int64)),
            "group_id": pa.array(
                np.where(
                    is_ring,
                    np.array(ring_ids.to_pylist(), dtype=object)[np.maximum(group[fo], 0)],
                    np.array(burst_ids.to_pylist(), dtype=object)[np.maximum(burst_shop[shop[fo]], 0)],
                ).tolist(),
                type=pa.string(),
            ),
            "reviewed_at": columns.timestamps(r_t[fr]),
        }
    )
    ek = np.flatnonzero(empty[keep])
    e_par = keep[ek]
    plausible = (np.where(cross, leg1 + np.where(has_hub, leg2, 0), 0) / knobs.speed_kmh * HOUR + 4 * HOUR)[
        e_par
    ]
    too_fast = (t_signed[e_par] - t_picked[e_par]) < plausible
    far_e = from_county[e_par] != shop_county[e_par]
    far_pref = geo.county_prefecture[from_county[e_par]] != shop_pref[e_par]
    why = np.array(["light;no_transit", "light;no_transit;too_fast", "light;no_transit;far_ship_from",
                    "light;no_transit;too_fast;far_ship_from"], dtype=object)  # fmt: skip
    labels["empty_parcels"] = pa.table(
        {
            "platform": columns.take(code, np.zeros(len(ek), dtype=np.int64)),
            "parcel_id": columns.take(parcel_ids, ek),
            "order_id": columns.take(order_ids, ps[e_par]),
            "shop_id": columns.take(shop_ids, ps[e_par]),
            "weight_grams": columns.ints(weight[e_par]),
            "why": pa.array(
                why[too_fast.astype(int) + 2 * (far_e & far_pref).astype(int)].tolist(), type=pa.string()
            ),
        }
    )
    xr = np.flatnonzero((r_kind == 0) & (kind[r_orders] == EXTORTION))
    xo = r_orders[xr]
    x_ref = refunded_by[xo] & ext_refund[xo]
    labels["extortion_cases"] = pa.table(
        {
            "platform": columns.take(code, np.zeros(len(xr), dtype=np.int64)),
            "account_id": columns.take(buyer_ids, xo),
            "order_id": columns.take(order_ids, xo),
            "shop_id": columns.take(shop_ids, xo),
            "review_id": columns.take(review_ids, xr),
            "rating": columns.ints(r_rating[xr]),
            "reviewed_at": columns.timestamps(r_t[xr]),
            "refund_cents": columns.ints(refund_cents[xo], x_ref),
            "refunded_at": columns.timestamps(np.where(x_ref, t_refund[xo], 0), x_ref),
        }
    )
    return Batch(
        tables={
            "orders": orders_t,
            "payments": payments_t,
            "parcels": parcels_t,
            "parcel_scans": scans_t,
            "reviews": reviews_t,
        },
        labels=labels,
    )


_COURIERS: dict[int, pa.Array] = {}


def _courier_ids(ctx: Context) -> pa.Array:
    """Courier ids: carrier waybill prefix + prefecture (4 digits) + number, e.g. ``QS3701-0042``."""
    key = len(CARRIERS)
    if key not in _COURIERS:
        geo = ctx.geo
        n_pref = geo.n_prefectures
        values = []
        for c in CARRIERS:
            for pref in geo.prefecture_codes:
                values.extend(f"{c[3]}{pref[:4]}-{k:04d}" for k in range(COURIERS_PER_PREFECTURE))
        assert len(values) == len(CARRIERS) * n_pref * COURIERS_PER_PREFECTURE
        _COURIERS[key] = pa.array(values)
    return _COURIERS[key]
