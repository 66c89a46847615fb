"""One platform's population and plans: accounts, listings, misconduct plans and the batch plan.

Everything here is a deterministic function of (seed, platform), so the main process and every worker
process rebuild the same context independently and agree on it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from ecredit.sim import calendar, columns, text
from ecredit.sim.geo import Geo, load_geo
from ecredit.sim.params import TZ, Params
from ecredit.sim.world import NEVER, World, _split

DAY = 86400
HOUR = 3600
# Kinds of orders (internal): honest, ring purchase, ring camouflage, extortion, shared-payer farm.
HONEST, RING, CAMOUFLAGE, EXTORTION, FARM = range(5)
PAYMENT_METHODS = ("alipay", "wechat_pay", "unionpay", "platform_wallet")
PAYMENT_METHOD_CDF = np.cumsum([0.45, 0.35, 0.12, 0.08])
ACCOUNT_CHUNK = 1_000_000
# Global numbering spaces for personal identifiers (platform p uses p * SPACE + local index).
SPACE = 100_000_000


@dataclass
class Ring:
    ring_id: str
    start_s: int
    end_s: int
    shops: np.ndarray  # local shop indices
    accounts: np.ndarray
    payers: np.ndarray  # shared payer indices (empty: each account pays itself)
    devices: np.ndarray


@dataclass
class Farm:
    farm_id: str
    payer: int
    accounts: np.ndarray
    devices: np.ndarray


@dataclass
class Burst:
    burst_id: str
    shop: int  # local shop index
    start_s: int
    end_s: int


@dataclass
class Context:
    """The platform's population, plans and batch plan."""

    params: Params
    p: int
    code: str
    prefix: str
    geo: Geo
    # Shops (local index = global index - lo).
    lo: int
    n_shops: int
    shop_sampler: columns.Sampler
    shop_from_s: np.ndarray  # first moment the shop takes orders
    shop_close_s: np.ndarray
    shop_county: np.ndarray
    shop_category: np.ndarray
    shop_quality: np.ndarray
    shop_carrier: np.ndarray
    shop_ids: pa.Array
    fallback_shop: int
    carrier_usccs: list[str]
    # Accounts.
    n_accounts: int
    acc_registered_s: np.ndarray
    acc_county: np.ndarray
    acc_sampler: columns.Sampler
    county_sampler: columns.Sampler
    peak_days: np.ndarray
    acc_payer: np.ndarray
    acc_device: np.ndarray
    n_payers: int
    n_devices: int
    fallback_account: int
    # Listings.
    listing_start: np.ndarray  # per shop
    listing_count: np.ndarray
    listing_shop: np.ndarray
    listing_noun: np.ndarray
    listing_title: np.ndarray  # index into the title pool
    listing_price: np.ndarray
    listing_weight: np.ndarray
    listing_gtin: np.ndarray  # 12-digit body or -1
    listing_listed_s: np.ndarray
    listing_delisted_s: np.ndarray
    # Misconduct plans.
    rings: list[Ring] = field(default_factory=list)
    farms: list[Farm] = field(default_factory=list)
    extortioners: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    bursts: list[Burst] = field(default_factory=list)
    # Injected orders, sorted by time: t, local shop, buyer, kind, group (ring / extortioner / farm index).
    inj_t: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    inj_shop: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    inj_buyer: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    inj_kind: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    inj_group: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # Batch plan.
    day_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    batch_days: list[tuple[int, int]] = field(default_factory=list)
    batch_injected: list[tuple[int, int]] = field(default_factory=list)
    batch_offset: list[int] = field(default_factory=list)
    # Lazily built string dictionaries.
    _account_ids: pa.Array | None = None
    _listing_ids: pa.Array | None = None
    _payer_refs: pa.Array | None = None

    # ------------------------------------------------------------ string dictionaries

    def account_ids(self) -> pa.Array:
        """All account ids (built once per process and platform)."""
        if self._account_ids is None:
            self._account_ids = self.account_id_strings(np.arange(self.n_accounts, dtype=np.int64))
        return self._account_ids

    def account_id_strings(self, accounts: np.ndarray) -> pa.Array:
        """Pseudonymous account ids: ``u`` + 10 hex digits (a keyed bijection of the account number)."""
        g = np.asarray(accounts, dtype=np.int64) + self.p * SPACE
        return columns.ids("u", columns.mix(g, 1 << 40, 17), 10, base=16)

    def listing_ids(self) -> pa.Array:
        if self._listing_ids is None:
            self._listing_ids = columns.ids(f"{self.prefix}-L-", np.arange(len(self.listing_shop)), 8)
        return self._listing_ids

    def payer_refs(self) -> pa.Array:
        """All payer references (built once per process and platform)."""
        if self._payer_refs is None:
            self._payer_refs = self.payer_ref_strings(np.arange(self.n_payers, dtype=np.int64))
        return self._payer_refs

    def payer_ref_strings(self, payers: np.ndarray) -> pa.Array:
        """Funding card numbers behind payments: 19-digit UnionPay-style numbers with a Luhn digit."""
        g = np.asarray(payers, dtype=np.int64) + self.p * SPACE
        return columns.luhn_cards("62", columns.mix(g, 10**16, 23), 16)

    def payer_method(self, payer: np.ndarray) -> np.ndarray:
        """Each payer has one preferred method (a fixed function of the payer)."""
        u = (columns.mix(payer + self.p * SPACE, 1 << 30, 29) + 0.5) / (1 << 30)
        return np.searchsorted(PAYMENT_METHOD_CDF, u, side="right")

    # ------------------------------------------------------------ entity tables

    def accounts_parts(self) -> int:
        return max(1, -(-self.n_accounts // ACCOUNT_CHUNK))

    def accounts_table(self, part: int) -> pa.Table:
        lo, hi = part * ACCOUNT_CHUNK, min(self.n_accounts, (part + 1) * ACCOUNT_CHUNK)
        rng = np.random.default_rng([self.params.seed, 5, self.p, part])
        local = np.arange(lo, hi, dtype=np.int64)
        g = local + self.p * SPACE
        n = hi - lo
        # Phones: 8 mobile prefixes x 10^8 numbers, distinct for distinct accounts.
        ph = columns.mix(g, 8 * 10**8, 31)
        prefixes = np.frombuffer(b"138139150151186187177135", dtype=np.uint8).reshape(8, 3)
        phones = columns.from_matrix(np.hstack([prefixes[ph // 10**8], columns.digit_matrix(ph % 10**8, 8)]))
        # ID numbers: birthplace county, birth date 1959-2006, sequence; distinct for distinct accounts.
        geo = self.geo
        county_codes = np.array([int(c) for c in geo.county_codes], dtype=np.int64)
        first_day = (dt.date(1959, 1, 1) - dt.date(1970, 1, 1)).days
        n_days = (dt.date(2006, 12, 31) - dt.date(1959, 1, 1)).days
        v = columns.mix(g, len(county_codes) * n_days * 1000, 37)
        v, cty = np.divmod(v, len(county_codes))
        seq, bday = np.divmod(v, n_days)
        id_numbers = columns.id_numbers(county_codes[cty], first_day + bday, seq)
        devices = self.device_ids(self.acc_device[lo:hi])
        has_phone = rng.random(n) < 0.92
        has_id = rng.random(n) < 0.65
        has_device = rng.random(n) < 0.85
        special = self.acc_device[lo:hi] >= self.n_accounts  # farm and ring devices are always known
        return pa.table(
            {
                "account_id": self.account_ids()[lo:hi],
                "registered_at": columns.timestamps(self.acc_registered_s[lo:hi]),
                "region_code": columns.take(pa.array(geo.county_codes), self.acc_county[lo:hi]),
                "phone": columns.with_nulls(phones, has_phone),
                "id_number": columns.with_nulls(id_numbers, has_id),
                "device_id": columns.with_nulls(devices, has_device | special),
            }
        )

    def device_ids(self, device: np.ndarray) -> pa.Array:
        return columns.ids("dv", columns.mix(device + self.p * SPACE, 1 << 48, 41), 12, base=16)

    def listings_table(self) -> pa.Table:
        pools = text.pools()
        has_gtin = self.listing_gtin >= 0
        gtins = columns.gtin13(np.maximum(self.listing_gtin, 0))
        delisted = self.listing_delisted_s < NEVER
        return pa.table(
            {
                "listing_id": self.listing_ids(),
                "shop_id": columns.take(self.shop_ids, self.listing_shop),
                "gtin": columns.with_nulls(gtins, has_gtin),
                "title": columns.take(pa.array(pools.titles), self.listing_title),
                "category": columns.dictionary(
                    pa.array([c.name for c in text.CATEGORIES]), self.shop_category[self.listing_shop]
                ),
                "price_cents": columns.ints(self.listing_price),
                "listed_at": columns.timestamps(self.listing_listed_s),
                "delisted_at": columns.timestamps(np.where(delisted, self.listing_delisted_s, 0), delisted),
            }
        )


def build_context(world: World, p: int) -> Context:
    """Build platform ``p``'s accounts, listings, misconduct plans and batch plan."""
    params = world.params
    knobs, scale = params.knobs, params.scale
    geo = load_geo()
    rng = np.random.default_rng([params.seed, 1, p])
    lo, hi = world.platform_shop_range[p]
    n_shops = hi - lo
    start_s, as_of = params.start_s, params.as_of_s
    shares = np.array(knobs.platform_shares) / sum(knobs.platform_shares)

    # ---- shops
    weight = world.shop_weight[lo:hi]
    shop_from = world.shop_open_s[lo:hi] + 2 * DAY
    shop_close = world.shop_close_s[lo:hi]
    always = (shop_from <= start_s) & (shop_close >= NEVER)
    fallback_shop = int(np.argmax(np.where(always, weight, -1.0)))
    shop_ids = pa.array(world.shop_ids[lo:hi])

    # ---- accounts
    n_acc = int(_split(scale.accounts, shares)[p])
    in_period = rng.random(n_acc) < knobs.accounts_registering_in_period
    before_lo = int(dt.datetime(2015, 1, 1, tzinfo=TZ).timestamp())
    registered = np.where(
        in_period,
        start_s + (rng.random(n_acc) * (knobs.days - 1) * DAY).astype(np.int64),
        before_lo + (rng.random(n_acc) * (start_s - before_lo)).astype(np.int64),
    )
    county_sampler = columns.Sampler(geo.county_weights())
    acc_county = county_sampler.draw(rng, n_acc)
    activity = rng.lognormal(0.0, knobs.buyer_activity_sigma, n_acc)
    acc_payer = np.arange(n_acc, dtype=np.int64)
    acc_device = np.arange(n_acc, dtype=np.int64)
    n_payers, n_devices = n_acc, n_acc
    # Special accounts come from a shuffled pool of accounts registered before the period.
    pool = rng.permutation(np.flatnonzero(~in_period))
    pool_pos = 0

    def take_accounts(k: int) -> np.ndarray:
        nonlocal pool_pos
        got = pool[pool_pos : pool_pos + k]
        pool_pos += k
        return got

    # ---- listings
    counts = np.minimum(rng.geometric(1.0 / knobs.listings_mean, n_shops), 60)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    n_list = int(counts.sum())
    l_shop = np.repeat(np.arange(n_shops), counts)
    l_ord = np.arange(n_list) - starts[l_shop]
    pools = text.pools()
    cat_nouns = [np.array(x) for x in pools.category_nouns]
    l_cat = world.shop_category[lo:hi][l_shop]
    l_noun = np.empty(n_list, dtype=np.int64)
    u = rng.random(n_list)
    for c, nouns in enumerate(cat_nouns):
        m = l_cat == c
        l_noun[m] = nouns[(u[m] * len(nouns)).astype(np.int64)]
    t_off = np.array(pools.title_offsets)[l_noun]
    t_cnt = np.array(pools.title_counts)[l_noun]
    l_title = t_off + (rng.random(n_list) * t_cnt).astype(np.int64)
    medians = np.array([c.price_median_cents for c in text.CATEGORIES])[l_cat]
    sigmas = np.array([c.price_sigma for c in text.CATEGORIES])[l_cat]
    raw = medians * np.exp(rng.normal(0, 1, n_list) * sigmas)
    l_price = np.maximum(190, np.ceil(raw / 100) * 100 - 10).astype(np.int64)
    l_weight = (
        np.array([c.weight_grams for c in text.CATEGORIES])[l_cat] * rng.lognormal(0, 0.4, n_list)
    ).astype(np.int64)
    prefix = world.shop_gtin_prefix[lo:hi][l_shop]
    local_in_company = (l_shop * 37 + l_ord) % 10_000
    own = (prefix >= 0) & (rng.random(n_list) < knobs.listing_gtin_company)
    brand_pool = 69_000_000 * 10_000 + columns.mix(np.arange(500), 10**10, 53 + p) % (10**10)
    resale = (prefix < 0) & (rng.random(n_list) < knobs.listing_gtin_person)
    l_gtin = np.where(own, prefix * 10_000 + local_in_company, -1)
    l_gtin = np.where(resale, brand_pool[rng.integers(0, len(brand_pool), n_list)], l_gtin)
    open_s = world.shop_open_s[lo:hi][l_shop]
    existing = open_s < start_s
    back = (rng.random(n_list) * 400 * DAY).astype(np.int64)
    l_listed = np.where(
        existing,
        np.maximum(open_s, start_s - back),
        open_s + (rng.random(n_list) * 20 * HOUR).astype(np.int64),
    )
    l_listed[starts] = open_s[starts]  # the first listing is there from the day the shop opens
    delist = (l_ord > 0) & (rng.random(n_list) < knobs.listing_delisted)
    l_delisted = np.where(
        delist, start_s + 30 * DAY + (rng.random(n_list) * (knobs.days - 31) * DAY).astype(np.int64), NEVER
    )
    l_delisted = np.maximum(l_delisted, l_listed + DAY)
    l_delisted = np.minimum(l_delisted, np.where(shop_close[l_shop] < NEVER, shop_close[l_shop], NEVER))

    ctx = Context(
        params=params,
        p=p,
        code=world.platform_codes[p],
        prefix=world.platform_prefixes[p],
        geo=geo,
        lo=lo,
        n_shops=n_shops,
        shop_sampler=columns.Sampler(weight),
        shop_from_s=shop_from,
        shop_close_s=shop_close,
        shop_county=world.shop_county[lo:hi],
        shop_category=world.shop_category[lo:hi],
        shop_quality=world.shop_quality[lo:hi],
        shop_carrier=world.shop_carrier[lo:hi],
        shop_ids=shop_ids,
        fallback_shop=fallback_shop,
        carrier_usccs=world.carrier_usccs,
        n_accounts=n_acc,
        acc_registered_s=registered,
        acc_county=acc_county,
        acc_sampler=columns.Sampler(np.ones(1)),
        county_sampler=county_sampler,
        peak_days=calendar.peak_days(params.start_date, knobs.days),
        acc_payer=acc_payer,
        acc_device=acc_device,
        n_payers=n_payers,
        n_devices=n_devices,
        fallback_account=int(pool[-1]) if len(pool) else 0,
        listing_start=starts,
        listing_count=counts.astype(np.int64),
        listing_shop=l_shop,
        listing_noun=l_noun,
        listing_title=l_title,
        listing_price=l_price,
        listing_weight=l_weight,
        listing_gtin=l_gtin.astype(np.int64),
        listing_listed_s=l_listed,
        listing_delisted_s=l_delisted.astype(np.int64),
    )

    # ---- misconduct plans
    inj: dict[str, list[np.ndarray]] = {k: [] for k in ("t", "shop", "buyer", "kind", "group")}

    def inject(t: np.ndarray, shop: np.ndarray, buyer: np.ndarray, kind: int, group: int) -> None:
        inj["t"].append(np.asarray(t, dtype=np.int64))
        inj["shop"].append(np.asarray(shop, dtype=np.int64))
        inj["buyer"].append(np.asarray(buyer, dtype=np.int64))
        inj["kind"].append(np.full(len(t), kind, dtype=np.int64))
        inj["group"].append(np.full(len(t), group, dtype=np.int64))

    order_by_weight = np.argsort(-weight, kind="stable")
    n_top = max(1, int(np.ceil(n_shops * knobs.ring_camouflage_top_share)))
    top_shops = np.array([s for s in order_by_weight if always[s]][:n_top], dtype=np.int64)
    rank = np.empty(n_shops, dtype=np.int64)
    rank[order_by_weight] = np.arange(n_shops)
    used_shops: set[int] = set()

    def between(lo_hi: tuple[int, int], size: int | None = None) -> np.ndarray:
        return rng.integers(lo_hi[0], lo_hi[1] + 1, size=size)

    n_rings = int(_split(scale.rings, shares)[p])
    for r in range(n_rings):
        length = int(between(knobs.ring_window_days))
        day0 = int(rng.integers(20, knobs.days - 45))
        ws = start_s + day0 * DAY + int(rng.integers(0, 12 * HOUR))
        we = ws + length * DAY
        eligible = [
            s
            for s in np.flatnonzero(
                (rank >= 0.2 * n_shops) & (shop_from <= ws) & (shop_close > we + 40 * DAY)
            )
            if s not in used_shops
        ]
        k_shops = min(int(between(scale.ring_shops)), len(eligible))
        if k_shops == 0:
            continue
        shops = np.sort(rng.choice(np.array(eligible), size=k_shops, replace=False))
        used_shops.update(int(s) for s in shops)
        accounts = take_accounts(int(between(scale.ring_accounts)))
        ctx.acc_registered_s[accounts] = (
            ws - (rng.random(len(accounts)) * 90 * DAY).astype(np.int64) - 3 * DAY
        )
        activity[accounts] *= 0.01
        devices = np.arange(n_devices, n_devices + int(between(knobs.ring_devices)))
        n_devices += len(devices)
        ctx.acc_device[accounts] = devices[rng.integers(0, len(devices), len(accounts))]
        payers = np.zeros(0, dtype=np.int64)
        if rng.random() < knobs.ring_p_shared_payer:
            payers = np.arange(n_payers, n_payers + int(rng.integers(1, 3)))
            n_payers += len(payers)
            # The organisers split the accounts between them.
            ctx.acc_payer[accounts] = payers[rng.permutation(len(accounts)) % len(payers)]
        ring = Ring(f"{ctx.code}-ring-{r + 1:03d}", ws, we, shops, accounts, payers, devices)
        ctx.rings.append(ring)
        for a in accounts:
            m = int(between(knobs.ring_orders_per_account))
            inject(
                ws + (rng.random(m) * (we - ws)).astype(np.int64),
                rng.choice(shops, m),
                np.full(m, a),
                RING,
                r,
            )
            c = int(between(knobs.ring_camouflage_per_account))
            t = ws - 2 * DAY + (rng.random(c) * (we - ws + 4 * DAY)).astype(np.int64)
            inject(t, rng.choice(top_shops, c), np.full(c, a), CAMOUFLAGE, r)

    steady = np.flatnonzero(always)
    steady_p = weight[steady] / weight[steady].sum()
    n_ext = int(_split(scale.extortioners, shares)[p])
    ext_accounts = take_accounts(n_ext)
    ctx.extortioners = ext_accounts
    activity[ext_accounts] *= 0.2
    for e, a in enumerate(ext_accounts):
        m = min(int(between(knobs.extortion_orders)), len(steady))
        shops = rng.choice(steady, size=m, replace=False, p=steady_p)
        t = np.sort(start_s + 10 * DAY + (rng.random(m) * (knobs.days - 45) * DAY).astype(np.int64))
        inject(t, shops, np.full(m, a), EXTORTION, e)

    n_farms = int(_split(scale.farms, shares)[p])
    for f in range(n_farms):
        accounts = take_accounts(int(between(scale.farm_accounts)))
        payer = n_payers
        n_payers += 1
        ctx.acc_payer[accounts] = payer
        devices = np.zeros(0, dtype=np.int64)
        if rng.random() < knobs.farm_p_shared_device:
            devices = np.arange(n_devices, n_devices + int(rng.integers(1, 3)))
            n_devices += len(devices)
            ctx.acc_device[accounts] = devices[rng.integers(0, len(devices), len(accounts))]
        ctx.farms.append(Farm(f"{ctx.code}-farm-{f + 1:03d}", payer, accounts, devices))
        for a in accounts:
            m = int(between(knobs.farm_orders_per_account))
            t = start_s + (rng.random(m) * (knobs.days - 20) * DAY).astype(np.int64)
            inject(t, steady[columns.categorical(rng, np.cumsum(steady_p), m)], np.full(m, a), FARM, f)

    n_bursts = int(_split(scale.cashback_shops, shares)[p])
    # Cashback campaigns run in popular shops (enough buyers to review).
    mid = [s for s in order_by_weight[: max(5, int(0.05 * n_shops))] if always[s] and s not in used_shops]
    for b in range(min(n_bursts, len(mid))):
        shop = int(mid[int(rng.integers(0, len(mid)))])
        if shop in used_shops:
            continue
        used_shops.add(shop)
        length = int(between(knobs.cashback_window_days))
        ws = start_s + int(rng.integers(10, knobs.days - 40)) * DAY
        ctx.bursts.append(Burst(f"{ctx.code}-cashback-{b + 1:03d}", shop, ws, ws + length * DAY))

    ctx.n_payers, ctx.n_devices = n_payers, n_devices
    ctx.acc_sampler = columns.Sampler(activity)
    if inj["t"]:
        t = np.concatenate(inj["t"])
        order = np.argsort(t, kind="stable")
        ctx.inj_t = t[order]
        ctx.inj_shop = np.concatenate(inj["shop"])[order]
        ctx.inj_buyer = np.concatenate(inj["buyer"])[order]
        ctx.inj_kind = np.concatenate(inj["kind"])[order]
        ctx.inj_group = np.concatenate(inj["group"])[order]
    ctx.inj_t = np.minimum(ctx.inj_t, as_of)

    # ---- batch plan: honest orders per day, days grouped into batches
    target = int(_split(scale.orders, shares)[p])
    honest = max(0, target - len(ctx.inj_t))
    w = calendar.day_weights(params.start_date, knobs.days)
    ctx.day_counts = rng.multinomial(honest, w / w.sum()).astype(np.int64)
    inj_day = (ctx.inj_t - start_s) // DAY
    batches: list[tuple[int, int]] = []
    d0, acc = 0, 0
    for d in range(knobs.days):
        acc += int(ctx.day_counts[d])
        if acc >= scale.batch_orders or d == knobs.days - 1:
            batches.append((d0, d + 1))
            d0, acc = d + 1, 0
    ctx.batch_days = batches
    offset = 0
    for d_lo, d_hi in batches:
        i_lo, i_hi = np.searchsorted(inj_day, [d_lo, d_hi], side="left")
        ctx.batch_injected.append((int(i_lo), int(i_hi)))
        ctx.batch_offset.append(offset)
        offset += int(ctx.day_counts[d_lo:d_hi].sum()) + int(i_hi - i_lo)
    return ctx
