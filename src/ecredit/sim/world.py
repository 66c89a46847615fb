"""The static province: platforms, carriers, the business register, shops and the shop re-openings.

Built once per run in plain Python (tens of thousands to a few hundred thousand rows); everything per
order is columnar and lives in ``orders.py``. Shops are numbered globally; each platform's shops are a
contiguous range, the re-opened shops at the end of their platform's range.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import itertools
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ecredit.identifiers import ric_check_character, uscc_check_character
from ecredit.identifiers.uscc import organization_check_character
from ecredit.sim import text
from ecredit.sim.geo import Geo, load_geo
from ecredit.sim.params import TZ, Params

PLATFORMS = (
    # code, name, county of registration, id prefix
    ("lushang", "山东鲁商优选电子商务有限公司", "370102", "LS"),
    ("qilu", "青岛齐鲁购网络科技有限公司", "370202", "QL"),
    ("haibin", "威海海滨严选电子商务有限公司", "371002", "HB"),
)
CARRIERS = (
    # code, name, county, waybill prefix, market share
    ("qlsd", "齐鲁速递有限公司", "370102", "QS", 0.26),
    ("hdky", "海岱快运有限公司", "370202", "HD", 0.20),
    ("tswl", "泰山物流有限公司", "370902", "TS", 0.15),
    ("ymsy", "沂蒙速运有限公司", "371302", "YM", 0.12),
    ("hhkd", "黄河快递有限公司", "371402", "HH", 0.10),
    ("bdgy", "半岛供应链有限公司", "370602", "BD", 0.08),
    ("ltkd", "鲁通快递有限公司", "370811", "LT", 0.05),
    ("bhsd", "渤海速达有限公司", "370502", "BH", 0.04),
)
SHOP_COLUMNS = (
    "platform_shop_id",
    "shop_name",
    "category",
    "operator_type",
    "operator_name",
    "operator_uscc",
    "operator_id_number",
    "legal_rep_name",
    "legal_rep_id_number",
    "phone",
    "region_code",
    "address",
    "opened_at",
)
REGISTER_COLUMNS = (
    "name",
    "uscc",
    "legal_rep_name",
    "entity_type",
    "status",
    "registered_date",
    "region_code",
    "address",
    "authority",
)
OPERATOR_KINDS = ("organisation", "individual_business", "person")
NEVER = np.iinfo(np.int64).max // 4
_ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_PERSON_SHOPS = ("农家特产", "手工小铺", "二手好物", "小店", "杂货铺", "优选")
_STATUSES = ("存续", "在业", "注销", "吊销")
_STATUS_CUM = [0.86, 0.97, 0.985, 1.0]


@dataclass
class Company:
    name: str
    uscc: str
    rep_name: str
    rep_id: str
    county: str
    category: int
    individual: bool
    registered: dt.date
    status: str


@dataclass
class Reopening:
    old_shop: int
    new_shop: int
    close_s: int
    open_s: int
    link: str  # same_uscc | same_id_number | new_company_same_legal_rep
    old_company: int  # -1 for persons
    new_company: int


@dataclass
class World:
    """Everything that is the same for all platforms' order generation (picklable, numpy + lists)."""

    params: Params
    platform_codes: list[str]
    platform_prefixes: list[str]
    platform_usccs: list[str]
    carrier_codes: list[str]
    carrier_prefixes: list[str]
    carrier_usccs: list[str]
    carrier_cdf: np.ndarray
    # Shops, numbered globally.
    shop_ids: list[str]
    shop_platform: np.ndarray
    shop_county: np.ndarray  # county index
    shop_category: np.ndarray
    shop_weight: np.ndarray  # popularity (relative within the platform)
    shop_quality: np.ndarray  # 0 good, 1 mediocre, 2 bad
    shop_open_s: np.ndarray
    shop_close_s: np.ndarray  # NEVER if not closed
    shop_carrier: np.ndarray
    shop_gtin_prefix: np.ndarray  # 8-digit GS1 company prefix (69xxxxxx) or -1
    platform_shop_range: list[tuple[int, int]]
    reopenings: list[Reopening] = field(default_factory=list)
    # Only in the main process (not sent to workers): rows of the registry files.
    companies: list[Company] = field(default_factory=list)
    shop_rows: list[dict[str, str]] = field(default_factory=list)

    def for_workers(self) -> World:
        return dataclasses.replace(self, companies=[], shop_rows=[])


def make_uscc(rng: random.Random, county: str, category: str = "91") -> str:
    """A synthetic USCC with valid organisation-code and final check characters."""
    body8 = "MA" + "".join(rng.choice(_ORG_ALPHABET) for _ in range(6))
    body = category + county + body8 + organization_check_character(body8)
    return body + uscc_check_character(body)


def make_id_number(rng: random.Random, county: str, first_year: int = 1960, years: int = 42) -> str:
    birth = dt.date(first_year, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * years))
    body = f"{county}{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    return body + ric_check_character(body)


def phone(rng: random.Random) -> str:
    return (
        rng.choice(["138", "139", "150", "151", "186", "187", "177", "135"]) + f"{rng.randrange(10**8):08d}"
    )


class _Unique:
    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, make: Any) -> str:
        while True:
            value = make()
            if value not in self.seen:
                self.seen.add(value)
                return value


def _date_s(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), TZ).timestamp())


def build_world(params: Params) -> World:
    """Platforms, carriers, companies and shops (with re-openings) for a run."""
    geo = load_geo()
    rng = text.FastRandom(f"ecredit.sim/{params.seed}/world")
    knobs, scale = params.knobs, params.scale
    unique_uscc, unique_id, unique_name = _Unique(), _Unique(), _Unique()
    county_cum = list(itertools.accumulate(geo.county_weights().tolist()))
    county_index = {c: i for i, c in enumerate(geo.county_codes)}
    county_names = [geo.county_name(i) for i in range(len(geo.county_codes))]

    def random_county() -> int:
        return min(bisect.bisect_right(county_cum, rng.random() * county_cum[-1]), len(county_cum) - 1)

    def weighted(cum: list[float]) -> int:
        return min(bisect.bisect_right(cum, rng.random() * cum[-1]), len(cum) - 1)

    platform_usccs = [unique_uscc(lambda c=c: make_uscc(rng, c)) for _, _, c, _ in PLATFORMS]
    carrier_usccs = [unique_uscc(lambda c=c: make_uscc(rng, c)) for _, _, c, _, _ in CARRIERS]
    shares = np.array([c[4] for c in CARRIERS])
    carrier_cdf = np.cumsum(shares) / shares.sum()

    companies: list[Company] = []

    def new_company(category: int, individual: bool, county: int | None = None, rep: tuple | None = None):
        county_i = county if county is not None else random_county()
        ccode = geo.county_codes[county_i]
        city = geo.prefecture_names[geo.county_prefecture[county_i]].removesuffix("市")
        cat = text.CATEGORIES[category]

        def name() -> str:
            core = rng.choice(["", *text.TRADE_WORDS]) + text.brand_word(rng) + rng.choice(cat.goods)
            if individual:
                district = county_names[county_i].removeprefix("山东省")
                return f"{district}{core}店"
            return f"{city}{core}有限公司"

        rep_name, rep_id = rep or (text.person_name(rng), unique_id(lambda: make_id_number(rng, ccode)))
        company = Company(
            name=unique_name(name),
            uscc=unique_uscc(lambda: make_uscc(rng, ccode, "92" if individual else "91")),
            rep_name=rep_name,
            rep_id=rep_id,
            county=ccode,
            category=category,
            individual=individual,
            registered=dt.date(2005, 1, 1) + dt.timedelta(days=rng.randrange(0, 6500)),
            status=_STATUSES[weighted(_STATUS_CUM)],
        )
        companies.append(company)
        return len(companies) - 1

    shop_cols: dict[str, list[Any]] = {
        k: []
        for k in (
            "id",
            "platform",
            "county",
            "category",
            "weight",
            "quality",
            "open_s",
            "close_s",
            "carrier",
            "company",
            "kind",
            "person",
            "rank",
        )
    }
    shop_rows: list[dict[str, str]] = []
    persons: list[tuple[str, str]] = []  # (name, id number) of person operators
    start_s = params.start_s
    shares_p = np.array(knobs.platform_shares) / sum(knobs.platform_shares)
    counts = _split(scale.shops, shares_p)
    cat_cum = list(itertools.accumulate(text.CATEGORY_WEIGHTS))
    kind_cum = list(itertools.accumulate(knobs.operator_kinds))
    quality_cum = list(itertools.accumulate(knobs.quality_weights))
    carrier_cum = carrier_cdf.tolist()
    epoch = dt.date(1970, 1, 1)
    companies_by_cat: dict[int, list[int]] = {}
    next_number = [0] * len(PLATFORMS)

    def add_shop(p: int, *, category: int, kind: int, company: int, person: int, county: int,
                 weight: float, quality: int, open_s: int, carrier: int, name: str,
                 rank: int) -> int:  # fmt: skip
        code = PLATFORMS[p][0]
        number = next_number[p]
        next_number[p] += 1
        sid = f"{code.upper()}-{number:06d}"
        shop_cols["id"].append(sid)
        for key, value in (
            ("platform", p),
            ("county", county),
            ("category", category),
            ("weight", weight),
            ("quality", quality),
            ("open_s", open_s),
            ("close_s", NEVER),
            ("carrier", carrier),
            ("company", company),
            ("kind", kind),
            ("person", person),
            ("rank", rank),
        ):
            shop_cols[key].append(value)
        ccode = geo.county_codes[county]
        row = {
            "platform_shop_id": sid,
            "shop_name": name,
            "category": text.CATEGORIES[category].name,
            "operator_type": OPERATOR_KINDS[kind],
            "phone": phone(rng),
            "region_code": ccode,
            "address": f"{county_names[county]}{rng.choice(text.ROADS)}路{rng.randrange(1, 999)}号",
            "opened_at": (epoch + dt.timedelta(days=(open_s + 8 * 3600) // 86400)).isoformat(),
        }
        if kind == 2:
            pname, pid = persons[person]
            row |= {
                "operator_name": pname,
                "operator_uscc": "",
                "operator_id_number": pid,
                "legal_rep_name": "",
                "legal_rep_id_number": "",
            }
        else:
            c = companies[company]
            row |= {
                "operator_name": c.name,
                "operator_uscc": c.uscc,
                "operator_id_number": c.rep_id if c.individual else "",
                "legal_rep_name": c.rep_name,
                "legal_rep_id_number": c.rep_id,
            }
        shop_rows.append({k: row[k] for k in SHOP_COLUMNS})
        return len(shop_cols["id"]) - 1

    def shop_name(kind: int, category: int, company: int, person: int) -> str:
        cat = text.CATEGORIES[category]
        if kind == 2:
            return f"{persons[person][0]}的{rng.choice(_PERSON_SHOPS)}"
        base = companies[company].name.removesuffix("有限公司").removesuffix("店")
        if kind == 1:
            return f"{base}{rng.choice(['', '网店', '小铺'])}"
        return (
            f"{base}{rng.choice(['旗舰店', '专营店', '专卖店', '官方店'])}"
            if rng.random() < 0.7
            else (f"{text.brand_word(rng)}{rng.choice(cat.goods)}{rng.choice(['旗舰店', '专营店'])}")
        )

    in_period = knobs.shops_opening_in_period
    for p in range(len(PLATFORMS)):
        n = int(counts[p])
        ranks = np.arange(1, n + 1)
        order = np.array(rng.sample(range(n), n)) if n else np.array([], dtype=int)
        shop_rank = ranks[order]
        weights = shop_rank.astype(float) ** -knobs.zipf_exponent
        for i in range(n):
            category = weighted(cat_cum)
            kind = weighted(kind_cum)
            company, person = -1, -1
            if kind == 2:
                county = random_county()
                persons.append(
                    (
                        text.person_name(rng),
                        unique_id(lambda c=county: make_id_number(rng, geo.county_codes[c])),
                    )
                )
                person = len(persons) - 1
            else:
                pool = companies_by_cat.get(category, [])
                reusable = [c for c in pool[-50:] if companies[c].individual == (kind == 1)]
                if reusable and rng.random() < knobs.company_reuse:
                    company = rng.choice(reusable)
                else:
                    company = new_company(category, kind == 1)
                    companies_by_cat.setdefault(category, []).append(company)
                county = county_index[companies[company].county]
            if rng.random() < in_period:
                open_s = start_s + rng.randrange(0, max(1, knobs.days - 30)) * 86400
            else:
                open_s = (
                    _date_s(dt.date(2012, 1, 1))
                    + rng.randrange(0, (start_s - _date_s(dt.date(2012, 1, 1))) // 86400 - 30) * 86400
                )
            add_shop(
                p,
                category=category,
                kind=kind,
                company=company,
                person=person,
                county=county,
                weight=float(weights[i]),
                quality=weighted(quality_cum),
                open_s=open_s,
                carrier=weighted(carrier_cum),
                name=shop_name(kind, category, company, person),
                rank=int(shop_rank[i]),
            )

    # Problem shops (bad quality, open before the period) whose operators re-open under a new name.
    reopenings: list[Reopening] = []
    # Bad shops first; if there are too few (tiny scales), mediocre ones are made bad.
    # Shops that get caught are the ones that sell: the more popular half of each platform first.
    candidates = [s for s in range(len(shop_cols["id"])) if shop_cols["open_s"][s] < start_s]
    rng.shuffle(candidates)
    candidates.sort(
        key=lambda s: (-shop_cols["quality"][s], shop_cols["rank"][s] > counts[shop_cols["platform"][s]] // 2)
    )
    for old in sorted(candidates[: scale.reopened]):
        shop_cols["quality"][old] = 2
        p_old = shop_cols["platform"][old]
        p_new = p_old
        if rng.random() < knobs.reopen_p_other_platform:
            p_new = rng.choice([q for q in range(len(PLATFORMS)) if q != p_old])
        close_s = start_s + rng.randint(*knobs.reopen_close_day) * 86400 + rng.randrange(8 * 3600, 20 * 3600)
        open_s = (
            _date_s(dt.datetime.fromtimestamp(close_s, TZ).date())
            + rng.randint(*knobs.reopen_gap_days) * 86400
        )
        kind = shop_cols["kind"][old]
        company = shop_cols["company"][old]
        person = shop_cols["person"][old]
        category = shop_cols["category"][old]
        if kind == 2:
            link, new_company_i = "same_id_number", -1
        elif kind == 0 and rng.random() < knobs.reopen_p_new_company:
            old_c = companies[company]
            county = county_index[old_c.county]
            new_company_i = new_company(category, False, county, rep=(old_c.rep_name, old_c.rep_id))
            companies[new_company_i].registered = dt.datetime.fromtimestamp(open_s - 5 * 86400, TZ).date()
            companies[new_company_i].status = "存续"
            old_c.status = "注销"
            link = "new_company_same_legal_rep"
        else:
            link, new_company_i = "same_uscc", company
        shop_cols["close_s"][old] = close_s
        new_name = shop_name(kind, category, new_company_i, person)
        while new_name == shop_rows[old]["shop_name"]:
            new_name = shop_name(kind, category, new_company_i, person)
        new = add_shop(
            p_new,
            category=category,
            kind=kind,
            company=new_company_i,
            person=person,
            county=shop_cols["county"][old],
            weight=float(shop_cols["weight"][old]) * 0.6,
            quality=2,
            open_s=open_s,
            carrier=shop_cols["carrier"][old],
            name=new_name,
            rank=shop_cols["rank"][old],
        )
        reopenings.append(Reopening(old, new, close_s, open_s, link, company, new_company_i))

    # Shops were appended platform by platform, re-openings at the end: regroup by platform.
    order = sorted(range(len(shop_cols["id"])), key=lambda s: (shop_cols["platform"][s], s))
    remap = {old: new for new, old in enumerate(order)}
    cols = {k: [v[s] for s in order] for k, v in shop_cols.items()}
    shop_rows = [shop_rows[s] for s in order]
    for r in reopenings:
        r.old_shop, r.new_shop = remap[r.old_shop], remap[r.new_shop]
    platform_arr = np.array(cols["platform"], dtype=np.int64)
    ranges = []
    for p in range(len(PLATFORMS)):
        idx = np.flatnonzero(platform_arr == p)
        ranges.append((int(idx[0]), int(idx[-1]) + 1) if len(idx) else (0, 0))
    company_arr = np.array(cols["company"], dtype=np.int64)
    from ecredit.sim.columns import mix

    gtin_prefix = np.where(company_arr >= 0, 69_000_000 + mix(np.maximum(company_arr, 0), 1_000_000, 11), -1)
    return World(
        params=params,
        platform_codes=[p[0] for p in PLATFORMS],
        platform_prefixes=[p[3] for p in PLATFORMS],
        platform_usccs=platform_usccs,
        carrier_codes=[c[0] for c in CARRIERS],
        carrier_prefixes=[c[3] for c in CARRIERS],
        carrier_usccs=carrier_usccs,
        carrier_cdf=carrier_cdf,
        shop_ids=cols["id"],
        shop_platform=platform_arr,
        shop_county=np.array(cols["county"], dtype=np.int64),
        shop_category=np.array(cols["category"], dtype=np.int64),
        shop_weight=np.array(cols["weight"], dtype=np.float64),
        shop_quality=np.array(cols["quality"], dtype=np.int64),
        shop_open_s=np.array(cols["open_s"], dtype=np.int64),
        shop_close_s=np.array(cols["close_s"], dtype=np.int64),
        shop_carrier=np.array(cols["carrier"], dtype=np.int64),
        shop_gtin_prefix=gtin_prefix.astype(np.int64),
        platform_shop_range=ranges,
        reopenings=reopenings,
        companies=companies,
        shop_rows=shop_rows,
    )


def _split(total: int, shares: np.ndarray) -> np.ndarray:
    """Split ``total`` by ``shares`` into integers that add up exactly (largest remainder)."""
    raw = shares * total
    out = np.floor(raw).astype(np.int64)
    rest = total - int(out.sum())
    if rest:
        out[np.argsort(-(raw - out), kind="stable")[:rest]] += 1
    return out


def register_rows(world: World, geo: Geo | None = None) -> list[dict[str, str]]:
    """The business register: every company, the platforms and the carriers."""
    geo = geo or load_geo()
    rng = text.FastRandom(f"ecredit.sim/{world.params.seed}/register")
    rows = []
    names = {c: geo.county_name(i) for i, c in enumerate(geo.county_codes)}

    def authority(county: str) -> str:
        return f"{names[county].removeprefix('山东省')}市场监督管理局"

    for c in world.companies:
        rows.append(
            {
                "name": c.name,
                "uscc": c.uscc,
                "legal_rep_name": c.rep_name,
                "entity_type": "个体工商户" if c.individual else "有限责任公司(自然人投资或控股)",
                "status": c.status,
                "registered_date": c.registered.isoformat(),
                "region_code": c.county,
                "address": f"{names[c.county]}{rng.choice(text.ROADS)}路{rng.randrange(1, 999)}号",
                "authority": authority(c.county),
            }
        )
    for (name, county), uscc in zip(
        [(p[1], p[2]) for p in PLATFORMS] + [(c[1], c[2]) for c in CARRIERS],
        world.platform_usccs + world.carrier_usccs,
        strict=True,
    ):
        rows.append(
            {
                "name": name,
                "uscc": uscc,
                "legal_rep_name": text.person_name(rng),
                "entity_type": "有限责任公司",
                "status": "存续",
                "registered_date": (
                    dt.date(2008, 1, 1) + dt.timedelta(days=rng.randrange(0, 3000))
                ).isoformat(),
                "region_code": county,
                "address": f"{names[county]}科技路{rng.randrange(1, 99)}号",
                "authority": authority(county),
            }
        )
    return rows
