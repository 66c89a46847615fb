"""Parameters of the synthetic province: the four scales and the behaviour knobs.

Every field is documented in docs/simulation.md; the manifest of a run records all of them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

FORMAT_VERSION = "1"
GENERATOR_VERSION = "1"
TZ = dt.timezone(dt.timedelta(hours=8))


@dataclass(frozen=True)
class Scale:
    """How big the province is."""

    name: str
    orders: int  # target number of orders, all platforms (injected misconduct included)
    shops: int  # shops at the start, all platforms (re-opened shops come on top)
    accounts: int  # buyer accounts, all platforms
    rings: int  # brushing rings
    ring_accounts: tuple[int, int]  # accounts per ring (inclusive range)
    ring_shops: tuple[int, int]  # shops per ring
    extortioners: int  # extortion reviewers
    farms: int  # shared payers behind many accounts (besides rings)
    farm_accounts: tuple[int, int]  # accounts per farm
    reopened: int  # problem shops whose operator re-opens under a new name
    cashback_shops: int  # shops buying positive reviews (好评返现) in a burst
    batch_orders: int  # honest orders per batch (one part file per batch)
    default_format: str  # csv | parquet


SCALES: dict[str, Scale] = {
    "tiny": Scale(
        "tiny",
        orders=3_000,
        shops=90,
        accounts=1_500,
        rings=3,
        ring_accounts=(6, 10),
        ring_shops=(2, 3),
        extortioners=3,
        farms=3,
        farm_accounts=(6, 10),
        reopened=3,
        cashback_shops=3,
        batch_orders=2_000,
        default_format="csv",
    ),
    "small": Scale(
        "small",
        orders=100_000,
        shops=1_500,
        accounts=30_000,
        rings=9,
        ring_accounts=(8, 30),
        ring_shops=(2, 5),
        extortioners=12,
        farms=6,
        farm_accounts=(10, 40),
        reopened=12,
        cashback_shops=9,
        batch_orders=50_000,
        default_format="csv",
    ),
    "medium": Scale(
        "medium",
        orders=10_000_000,
        shops=60_000,
        accounts=2_000_000,
        rings=90,
        ring_accounts=(10, 40),
        ring_shops=(2, 6),
        extortioners=150,
        farms=45,
        farm_accounts=(12, 60),
        reopened=150,
        cashback_shops=90,
        batch_orders=500_000,
        default_format="parquet",
    ),
    "large": Scale(
        "large",
        orders=100_000_000,
        shops=400_000,
        accounts=15_000_000,
        rings=600,
        ring_accounts=(10, 40),
        ring_shops=(2, 6),
        extortioners=900,
        farms=300,
        farm_accounts=(12, 60),
        reopened=900,
        cashback_shops=600,
        batch_orders=500_000,
        default_format="parquet",
    ),
}


@dataclass(frozen=True)
class Knobs:
    """Behaviour of the province (the same at every scale)."""

    start: str = "2024-01-01"  # first simulated day (local time, UTC+8)
    days: int = 366  # simulated days; as_of is the end of the last day
    platform_shares: tuple[float, ...] = (0.45, 0.35, 0.20)  # orders, shops and accounts per platform
    zipf_exponent: float = 1.05  # shop popularity: weight = rank ** -exponent
    buyer_activity_sigma: float = 1.0  # lognormal spread of how often an account buys
    shops_opening_in_period: float = 0.08  # share of shops that open during the period
    accounts_registering_in_period: float = 0.18  # share of accounts that register during the period
    operator_kinds: tuple[float, float, float] = (0.60, 0.20, 0.20)  # organisation, individual, person
    company_reuse: float = 0.25  # chance a company shop belongs to a company that already has a shop
    quality_weights: tuple[float, float, float] = (0.85, 0.10, 0.05)  # good, mediocre, bad shops
    listings_mean: float = 5.0  # listings per shop (1 + geometric)
    listing_gtin_company: float = 0.75  # share of a company shop's listings with the company's own GTIN
    listing_gtin_person: float = 0.30  # share of a person's listings that resell a branded GTIN
    listing_delisted: float = 0.08  # listings delisted during the period
    quantity_p1: float = 0.82  # P(quantity == 1); otherwise 2 + geometric
    peak_discount: float = 0.90  # price factor on 11.11, 6.18 and 12.12
    p_unpaid: float = 0.03  # orders never paid (cancelled after 30 minutes)
    pay_delay_mean_s: float = 90.0  # ordered_at -> paid_at
    p_cancel_after_pay: float = 0.015  # paid orders cancelled before shipping (full refund)
    ship_delay_mean_h: float = 20.0  # paid_at -> parcel created (doubled on peak days)
    speed_kmh: float = 55.0  # line-haul speed between sorting centres
    p_exception: float = 0.005  # parcels with an exception scan (a 1-3 day delay)
    p_ship_to_other: float = 0.07  # orders shipped to another county than the buyer's
    p_return: tuple[float, float, float] = (0.02, 0.05, 0.12)  # returns by shop quality
    p_review: float = 0.35  # delivered honest orders that get an initial review
    p_follow_up: float = 0.05  # reviews that get a follow-up (追评)
    # Rating distributions (1..5 stars) by shop quality: good, mediocre, bad.
    ratings: tuple[tuple[float, ...], ...] = (
        (0.02, 0.01, 0.04, 0.15, 0.78),
        (0.08, 0.06, 0.16, 0.30, 0.40),
        (0.30, 0.15, 0.20, 0.15, 0.20),
    )
    # Brushing rings.
    ring_window_days: tuple[int, int] = (3, 14)
    ring_orders_per_account: tuple[int, int] = (3, 8)
    ring_camouflage_per_account: tuple[int, int] = (1, 2)
    ring_camouflage_top_share: float = 0.05  # camouflage goes to the top 5 % most popular shops
    ring_p_review: float = 0.90  # ring orders with a (fake) 5-star review
    ring_p_empty: float = 0.85  # ring orders shipped as empty parcels
    ring_p_shared_payer: float = 0.6  # rings whose orders are paid by 1-2 organiser payers
    ring_devices: tuple[int, int] = (1, 3)  # devices shared by a ring's accounts
    # Empty parcels.
    empty_weight_grams: tuple[int, int] = (15, 90)
    empty_sign_hours: tuple[float, float] = (0.5, 3.0)  # picked_up -> signed
    empty_p_far_ship_from: float = 0.3  # shipped from another prefecture than the shop's
    # Extortion reviewers.
    extortion_orders: tuple[int, int] = (8, 25)  # orders, each from a different shop
    extortion_p_review: float = 0.95  # 1-star reviews on their delivered orders
    extortion_refund_hours: tuple[float, float] = (2.0, 48.0)  # review -> refund
    extortion_p_full_refund: float = 0.5  # else a partial refund of 30-90 %
    extortion_p_follow_up: float = 0.35  # follow-up review after the refund ("已解决")
    # Shared-payer farms.
    farm_orders_per_account: tuple[int, int] = (2, 5)
    farm_p_shared_device: float = 0.5
    # Cashback reviews (好评返现).
    cashback_window_days: tuple[int, int] = (5, 20)
    cashback_p_review: float = 0.85
    # Problem shops re-opening.
    reopen_close_day: tuple[int, int] = (60, 250)
    reopen_gap_days: tuple[int, int] = (3, 45)
    reopen_p_other_platform: float = 0.2
    reopen_p_new_company: float = 0.45  # organisation operators: a new company, same legal rep


def knobs_dict(knobs: Knobs) -> dict[str, Any]:
    return {k: _plain(v) for k, v in dataclasses.asdict(knobs).items()}


def scale_dict(scale: Scale) -> dict[str, Any]:
    return {k: _plain(v) for k, v in dataclasses.asdict(scale).items()}


def _plain(v: Any) -> Any:
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


@dataclass(frozen=True)
class Params:
    """One run: scale, knobs, seed and output format."""

    scale: Scale
    seed: int
    fmt: str
    knobs: Knobs = field(default_factory=Knobs)

    @property
    def start_date(self) -> dt.date:
        return dt.date.fromisoformat(self.knobs.start)

    @property
    def start_s(self) -> int:
        """Epoch seconds of local midnight of the first day."""
        return int(dt.datetime.combine(self.start_date, dt.time(), TZ).timestamp())

    @property
    def as_of_s(self) -> int:
        """Epoch seconds of the end of the period: nothing later is written."""
        return self.start_s + self.knobs.days * 86400 - 1
