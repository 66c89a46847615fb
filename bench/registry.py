"""Registry benchmark: bulk registration of N shops from a file, then look-ups through the API.

One command (``make bench`` runs it with the defaults)::

    .venv/bin/python bench/registry.py                                   # 1,000,000 shops, both engines
    .venv/bin/python bench/registry.py --shops 100000 --engine sqlite    # a quick run
    .venv/bin/python bench/registry.py --record                          # append the results to docs/

For each engine it builds a fresh, isolated store, times ``ecredit registry import --kind shops`` on a
generated shops file (budget: 1,000,000 rows in under 3 minutes) and then times look-ups through the real
server (``ecredit serve``) with API keys: a subject by USCC (as the platform, scoped to its own subjects,
and as a provincial regulator), a shop by its platform shop id (as the platform) and a person by ID
number (blind index, as the regulator). Every measurement is compared with a baseline taken in the same
run, so the shared, noisy machine cancels out of the ratio: the bulk import against a bare
``executemany`` of the same file's raw rows into a table of the same width, the look-ups against the
same look-up done with a bare SQL query through a plain DB-API connection (sqlite3 / psycopg). Budget
for the look-ups: p99 under 20 ms on both engines.

The shops file is streamed to disk and sampled on the way (reservoir sampling); nothing loads it whole.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import datetime as dt
import os
import platform as platform_module
import random
import secrets
import shlex
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ecredit.demo import GIVEN, GOODS, PREFECTURES, SURNAMES, TRADE_WORDS
from ecredit.identifiers import ric_check_character, uscc_check_character

try:  # the dev extra installs httpx2; a plain httpx works the same way
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
IMPORT_BUDGET_S_PER_MILLION = 180.0
LOOKUP_P99_BUDGET_MS = 20.0
PLATFORM_CODE = "benchmall"
BARE_BATCH_ROWS = 5000

console = Console() if sys.stdout.isatty() else Console(width=160)

# ---------------------------------------------------------------- the shops file

COLUMNS = [
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
]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ID_DAYS = 365 * 42  # birth dates 1960-01-01 .. 2001-12-...
ID_SPACE_PER_REGION = ID_DAYS * 1000
ID_MULTIPLIER = 1_000_003  # prime, coprime with every ID space below: spreads person numbers out
SHOP_ID_MODULUS = 2_147_483_647  # prime: (i + 1) * SHOP_ID_MULTIPLIER % p is a permutation
SHOP_ID_MULTIPLIER = 48_271


@dataclasses.dataclass
class Population:
    """Sizes of the operator pools, from the number of shops (pools are disjoint)."""

    shops: int
    organisations: int
    legal_reps: int
    individual_businesses: int
    persons: int

    @classmethod
    def for_shops(cls, shops: int) -> Population:
        organisations = max(1, round(shops * 0.3))
        return cls(
            shops=shops,
            organisations=organisations,
            legal_reps=max(1, round(organisations * 0.8)),  # some people represent several companies
            individual_businesses=max(1, round(shops * 0.05)),
            persons=max(1, round(shops * 0.1)),
        )

    # person numbers: [legal reps | individual business owners | person operators]
    def rep_person(self, org: int) -> int:
        return (org * 7) % self.legal_reps

    def owner_person(self, business: int) -> int:
        return self.legal_reps + business

    def operator_person(self, person: int) -> int:
        return self.legal_reps + self.individual_businesses + person


@dataclasses.dataclass
class Generated:
    path: Path
    rows: int
    seconds: float
    size_bytes: int
    kinds: dict[str, int]
    expected_subjects: int  # distinct operators and legal representatives (the platform excluded)
    expected_relations: int
    sample_usccs: list[str]
    sample_shop_ids: list[str]
    sample_id_numbers: list[str]


class Reservoir:
    """A uniform sample of ``size`` items from a stream (algorithm R)."""

    def __init__(self, size: int, rng: random.Random):
        self.size = size
        self.rng = rng
        self.items: list[str] = []
        self.seen = 0

    def offer(self, item: str) -> None:
        self.seen += 1
        if len(self.items) < self.size:
            self.items.append(item)
        else:
            j = self.rng.randrange(self.seen)
            if j < self.size:
                self.items[j] = item


def _regions() -> list[tuple[str, str]]:
    return sorted(PREFECTURES.items())


def _base31(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, r = divmod(value, 31)
        chars.append(USCC_ALPHABET[r])
    return "".join(reversed(chars))


def make_uscc(number: int, region: str, category: str) -> str:
    """A valid USCC, unique per ``number`` (below 31**6): the organisation code carries the number."""
    body8 = "MA" + _base31(number, 6)
    total = sum(int(c, 36) * w for c, w in zip(body8, ORG_WEIGHTS, strict=True))
    org_check = {10: "X", 11: "0"}.get(11 - total % 11, str(11 - total % 11))
    body = category + region + body8 + org_check
    return body + uscc_check_character(body)


def make_id_number(person: int, regions: list[tuple[str, str]]) -> str:
    """A valid citizen ID number, unique per ``person``: a bijection onto (region, birth date, sequence)."""
    space = len(regions) * ID_SPACE_PER_REGION
    x = (person * ID_MULTIPLIER) % space
    x, seq = divmod(x, 1000)
    region_index, day = divmod(x, ID_DAYS)
    born = dt.date(1960, 1, 1) + dt.timedelta(days=day)
    body = f"{regions[region_index][0]}{born:%Y%m%d}{seq:03d}"
    return body + ric_check_character(body)


def person_name(person: int) -> str:
    given = GIVEN[person % len(GIVEN)]
    if person % 3:
        given += GIVEN[(person // 7) % len(GIVEN)]
    return SURNAMES[(person // 11) % len(SURNAMES)] + given


def generate(path: Path, shops: int, seed: int, samples: int) -> Generated:
    """Stream ``shops`` rows to ``path``: ~70% organisations, ~10% individual businesses, ~20% persons."""
    regions = _regions()
    place_of = dict(regions)
    pop = Population.for_shops(shops)
    if len(regions) * ID_SPACE_PER_REGION < pop.legal_reps + pop.individual_businesses + pop.persons:
        raise SystemExit("too many shops for the synthetic ID number space")
    if pop.organisations + pop.individual_businesses >= 31**6 - 1:  # the last code is the platform's
        raise SystemExit("too many shops for the synthetic USCC space")
    rng = random.Random(seed)
    sample_rng = random.Random(seed + 1)
    usccs, shop_ids, id_numbers = (Reservoir(samples, sample_rng) for _ in range(3))
    categories = list(GOODS.items())
    seen_orgs = bytearray(pop.organisations)
    seen_reps = bytearray(pop.legal_reps)
    seen_businesses = bytearray(pop.individual_businesses)
    seen_persons = bytearray(pop.persons)
    kinds = {"organisation": 0, "individual_business": 0, "person": 0}
    started = time.perf_counter()
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        for i in range(shops):
            shop_id = f"{(i + 1) * SHOP_ID_MULTIPLIER % SHOP_ID_MODULUS:010d}"
            shop_ids.offer(shop_id)
            opened = (dt.date(2015, 1, 1) + dt.timedelta(days=rng.randrange(0, 3650))).isoformat()
            phone = rng.choice(("138", "139", "150", "186", "177")) + f"{rng.randrange(10**8):08d}"
            draw = rng.random()
            if draw < 0.7:
                org = rng.randrange(pop.organisations)
                seen_orgs[org] = 1
                region, place = regions[org % len(regions)]
                category, goods = categories[org % len(categories)]
                trade = TRADE_WORDS[(org // 5) % len(TRADE_WORDS)]
                core = f"{trade}{goods[(org // 61) % len(goods)]}{org % 997}"
                rep = pop.rep_person(org)
                seen_reps[rep] = 1
                uscc = make_uscc(org, region, "91")
                usccs.offer(uscc)
                kinds["organisation"] += 1
                row = [
                    shop_id,
                    f"{place[:2]}{core}旗舰店",
                    category,
                    "organisation",
                    f"{place[:2]}{core}有限公司",
                    uscc,
                    "",
                    person_name(rep),
                    make_id_number(rep, regions),
                    phone,
                    region,
                    f"山东省{place}商业街{rng.randrange(1, 300)}号",
                    opened,
                ]
            elif draw < 0.8:
                business = rng.randrange(pop.individual_businesses)
                seen_businesses[business] = 1
                region, place = regions[business % len(regions)]
                category, goods = categories[business % len(categories)]
                owner = pop.owner_person(business)
                uscc = make_uscc(pop.organisations + business, region, "92")
                usccs.offer(uscc)
                kinds["individual_business"] += 1
                owner_name = person_name(owner)
                owner_id = make_id_number(owner, regions)
                name = f"{place[:2]}市{place[3:]}{owner_name}{goods[0]}店"
                row = [
                    shop_id,
                    name,
                    category,
                    "individual_business",
                    name,
                    uscc,
                    owner_id,  # the operator (经营者), recorded as the legal representative
                    owner_name,
                    owner_id,
                    phone,
                    region,
                    f"山东省{place}人民路{rng.randrange(1, 300)}号",
                    opened,
                ]
            else:
                person = rng.randrange(pop.persons)
                seen_persons[person] = 1
                number = pop.operator_person(person)
                id_number = make_id_number(number, regions)
                id_numbers.offer(id_number)
                name = person_name(number)
                region = id_number[:6]
                place = place_of[region]
                kinds["person"] += 1
                row = [
                    shop_id,
                    f"{name}的{('农家特产', '手工小铺', '二手好物')[person % 3]}",
                    "食品",
                    "person",
                    name,
                    "",
                    id_number,
                    "",
                    "",
                    phone,
                    region,
                    f"山东省{place}幸福村{rng.randrange(1, 90)}号",
                    opened,
                ]
            writer.writerow(row)
    seconds = time.perf_counter() - started
    orgs, reps = sum(seen_orgs), sum(seen_reps)
    businesses, persons = sum(seen_businesses), sum(seen_persons)
    return Generated(
        path=path,
        rows=shops,
        seconds=seconds,
        size_bytes=path.stat().st_size,
        kinds=kinds,
        # organisations, their legal representatives, businesses, their operators, natural persons
        expected_subjects=orgs + reps + 2 * businesses + persons,
        expected_relations=orgs + businesses,
        sample_usccs=usccs.items,
        sample_shop_ids=shop_ids.items,
        sample_id_numbers=id_numbers.items,
    )


# ---------------------------------------------------------------- stores


@dataclasses.dataclass
class Store:
    engine: str  # "sqlite" | "postgres"
    data_dir: Path
    env: dict[str, str]
    url: str  # SQLAlchemy URL of the store
    schema: str | None = None
    platform_id: str = ""
    tokens: dict[str, str] = dataclasses.field(default_factory=dict)  # role -> API key (when auth exists)

    def connect(self) -> Any:
        """A plain DB-API connection to the store (the baseline's)."""
        if self.engine == "sqlite":
            conn = sqlite3.connect(self.data_dir / "ecredit.db", isolation_level=None)
            conn.execute("PRAGMA busy_timeout=30000")
            return conn
        import psycopg

        return psycopg.connect(
            _libpq_url(self.url.split("?")[0]), options=f"-csearch_path={self.schema}", autocommit=True
        )

    @property
    def placeholder(self) -> str:
        return "?" if self.engine == "sqlite" else "%s"


def _libpq_url(sqlalchemy_url: str) -> str:
    scheme, rest = sqlalchemy_url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgresql") else sqlalchemy_url


def _pg_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def _reset_caches() -> None:
    from ecredit import db
    from ecredit.config import get_settings
    from ecredit.security import context

    with contextlib.suppress(Exception):
        db.get_engine().dispose()
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    context.reset()


def _as_admin(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn(session, ...)``, passing a local administrator as the principal when services take one."""
    import inspect

    if "principal" not in inspect.signature(fn).parameters:
        return fn
    from ecredit.security.principals import system

    return lambda session, *args, **kwargs: fn(session, system("bench"), *args, **kwargs)


def _api_keys(session: Any, platform_id: str) -> dict[str, str]:
    """API keys for the look-ups: the platform (its own shops and subjects) and a provincial regulator.
    Empty when the API has no authentication."""
    try:
        from ecredit.security import credentials
        from ecredit.security.principals import Role
    except ImportError:
        return {}
    platform = credentials.create_api_key(
        session, role=Role.platform, label="bench", created_by="cli:bench", platform_id=platform_id
    )
    regulator = credentials.create_api_key(
        session,
        role=Role.regulator,
        label="bench",
        created_by="cli:bench",
        department="market",
        region_prefix="37",
    )
    return {"platform": platform.token, "regulator": regulator.token}


@contextlib.contextmanager
def fresh_store(engine: str, workdir: Path, pg_url: str) -> Iterator[Store]:
    """An empty, migrated store of its own (a new data dir; for PostgreSQL also a new schema)."""
    from sqlalchemy import text

    from ecredit import migrate
    from ecredit.db import get_engine, make_engine, session_scope
    from ecredit.security import context
    from ecredit.subjects import service
    from ecredit.subjects.schemas import PlatformCreate

    data_dir = workdir / f"store-{engine}"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    saved = dict(os.environ)
    os.environ["ECREDIT_DATA_DIR"] = str(data_dir)
    os.environ.pop("ECREDIT_DATABASE_URL", None)
    os.environ.pop("ECREDIT_KEYRING_JSON", None)
    admin = None
    schema = None
    if engine == "postgres":
        schema = f"bench_{secrets.token_hex(4)}"
        admin = make_engine(pg_url)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        os.environ["ECREDIT_DATABASE_URL"] = _pg_schema_url(pg_url, schema)
    _reset_caches()
    try:
        migrate.upgrade(get_engine())
        context.get_keyring()  # create the key file now: the CLI and the server read the same one
        with session_scope() as session:
            platform, _ = _as_admin(service.register_platform)(
                session,
                PlatformCreate(
                    code=PLATFORM_CODE,
                    name="基准测试电子商务有限公司",
                    uscc=make_uscc(31**6 - 1, "370102", "91"),
                ),
            )
            platform_id = platform.id
            tokens = _api_keys(session, platform_id)
        url = get_engine().url.render_as_string(hide_password=False)
        store = Store(engine, data_dir, dict(os.environ), url, schema, platform_id, tokens)
        yield store
    finally:
        _reset_caches()
        os.environ.clear()
        os.environ.update(saved)
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            admin.dispose()


# ---------------------------------------------------------------- bulk registration


@dataclasses.dataclass
class ImportResult:
    seconds: float
    exit_code: int
    peak_rss_mb: float
    cpu_s: float  # user + system CPU time of the import process (wall minus this: waiting, or no free core)
    load: tuple[float, float]  # the machine's 1-minute load average when the import started and ended
    shops: int
    subjects: int
    relations: int
    rejects: int
    output: str


def _ecredit() -> str:
    candidate = Path(sys.executable).parent / "ecredit"
    return str(candidate) if candidate.exists() else (shutil.which("ecredit") or "ecredit")


def run_import(store: Store, gen: Generated, logs: Path) -> ImportResult:
    """``ecredit registry import --kind shops FILE --platform CODE`` as a subprocess, wall-clock timed."""
    cmd = [_ecredit(), "registry", "import", "--kind", "shops", str(gen.path), "--platform", PLATFORM_CODE]
    log_path = logs / f"import-{store.engine}.log"
    load_before = os.getloadavg()[0]
    with log_path.open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=store.env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    rejects_path = gen.path.with_name(gen.path.name + ".rejects.csv")
    rejects = 0
    if rejects_path.exists():
        with rejects_path.open(encoding="utf-8") as fh:
            rejects = max(0, sum(1 for _ in csv.reader(fh)) - 1)
    conn = store.connect()
    try:
        p = store.placeholder
        shops = _scalar(conn, f"SELECT count(*) FROM shop WHERE platform_id = {p}", (store.platform_id,))
        subjects = _scalar(conn, "SELECT count(*) FROM subject WHERE kind <> 'platform'", ())
        relations = _scalar(conn, "SELECT count(*) FROM relation", ())
    finally:
        conn.close()
    return ImportResult(
        seconds=seconds,
        exit_code=proc.returncode,
        peak_rss_mb=usage.ru_maxrss / 1024,
        cpu_s=usage.ru_utime + usage.ru_stime,
        load=(load_before, os.getloadavg()[0]),
        shops=shops,
        subjects=subjects,
        relations=relations,
        rejects=rejects,
        output=log_path.read_text(encoding="utf-8", errors="replace").strip()[-2000:],
    )


def _scalar(conn: Any, sql: str, params: tuple[Any, ...]) -> int:
    cur = conn.execute(sql, params)
    value = cur.fetchone()[0]
    cur.close()
    return int(value)


def bare_insert(store: Store, gen: Generated) -> float:
    """Baseline of the import: the file's raw rows, streamed into a same-width table with executemany in
    batches of the importer's size, one commit per batch, on the same store and durability settings."""
    table = "bench_raw_shop"
    columns = ", ".join(f"{c} VARCHAR(200)" for c in COLUMNS)
    marks = ", ".join([store.placeholder] * (len(COLUMNS) + 1))
    conn = store.connect()
    try:
        if store.engine == "sqlite":
            for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
                conn.execute(f"PRAGMA {pragma}")
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} (id VARCHAR(26) PRIMARY KEY, {columns})")
        from ecredit.kit.ids import new_id

        started = time.perf_counter()
        with gen.path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            next(reader)
            batch: list[list[str | None]] = []
            for cells in reader:
                batch.append([new_id(), *(c or None for c in cells)])
                if len(batch) >= BARE_BATCH_ROWS:
                    _bare_batch(store, conn, table, marks, batch)
                    batch = []
            if batch:
                _bare_batch(store, conn, table, marks, batch)
        seconds = time.perf_counter() - started
        conn.execute(f"DROP TABLE {table}")
        return seconds
    finally:
        conn.close()


def _bare_batch(store: Store, conn: Any, table: str, marks: str, batch: list[list[str | None]]) -> None:
    sql = f"INSERT INTO {table} VALUES ({marks})"
    if store.engine == "sqlite":
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(sql, batch)
        conn.execute("COMMIT")
    else:
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(sql, batch)


# ---------------------------------------------------------------- look-ups


@dataclasses.dataclass
class Latencies:
    name: str
    role: str
    api_ms: list[float]
    sql_ms: list[float]

    def p(self, which: str, q: float) -> float:
        values = sorted(self.api_ms if which == "api" else self.sql_ms)
        return _percentile(values, q)

    @property
    def passed(self) -> bool:
        return self.p("api", 99) < LOOKUP_P99_BUDGET_MS

    @property
    def label(self) -> str:
        what = self.name.split("  ")[0]
        return f"{what}, as {self.role}" if self.role else what

    @property
    def route(self) -> str:
        return self.name.split("  ")[1] if "  " in self.name else ""

    def ratios(self) -> str:
        return f"{self.p('api', 50) / self.p('sql', 50):.0f}× / {self.p('api', 99) / self.p('sql', 99):.0f}×"


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = (len(sorted_values) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (k - lo)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def server(store: Store, logs: Path) -> Iterator[str]:
    """``ecredit serve`` on a free port, with the store's environment; yields the base URL."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = (logs / f"serve-{store.engine}.log").open("wb")
    proc = subprocess.Popen(
        [_ecredit(), "serve", "--port", str(port)], env=store.env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"ecredit serve exited with {proc.returncode}; see {log.name}")
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("ecredit serve did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@dataclasses.dataclass
class LookupCase:
    name: str  # "label  route"
    role: str  # whose API key the requests carry ("" without authentication)
    keys: list[str]
    url: Callable[[str], str]
    sql: str
    params: Callable[[str], tuple[Any, ...]]
    check: Callable[[Any], bool]


def lookup_cases(store: Store, gen: Generated) -> list[LookupCase]:
    """Subjects by USCC (as the platform, scoped to its own subjects, and as a regulator, scoped to the
    province), shops by platform shop id (as the platform), persons by ID number (as a regulator)."""
    from ecredit.security.pii import blind_index

    p = store.placeholder
    platform = "platform" if store.tokens else ""
    regulator = "regulator" if store.tokens else ""

    def one_subject(body: Any) -> bool:
        return len(body["items"]) == 1

    by_uscc = "subject by USCC  GET /api/v1/subjects?q={uscc}"
    cases = [
        LookupCase(
            by_uscc,
            platform,
            gen.sample_usccs,
            lambda k: f"/api/v1/subjects?q={k}",
            f"SELECT * FROM subject WHERE uscc = {p}",
            lambda k: (k,),
            one_subject,
        ),
        LookupCase(
            by_uscc,
            regulator,
            gen.sample_usccs,
            lambda k: f"/api/v1/subjects?q={k}",
            f"SELECT * FROM subject WHERE uscc = {p}",
            lambda k: (k,),
            one_subject,
        ),
        LookupCase(
            "shop by platform shop id  GET /api/v1/platforms/{code}/shops/{platform_shop_id}",
            platform,
            gen.sample_shop_ids,
            lambda k: f"/api/v1/platforms/{PLATFORM_CODE}/shops/{k}",
            f"SELECT * FROM shop WHERE platform_id = {p} AND platform_shop_id = {p}",
            lambda k: (store.platform_id, k),
            lambda body: body["platform"] == PLATFORM_CODE,
        ),
        LookupCase(
            "person by ID number  GET /api/v1/subjects?q={id_number}",
            regulator,
            gen.sample_id_numbers,
            lambda k: f"/api/v1/subjects?q={k}",
            f"SELECT * FROM subject WHERE id_number_bidx = {p}",
            # the baseline computes the blind index too, as the API must
            lambda k: (blind_index("id_number", k),),
            lambda body: len(body["items"]) == 1 and body["items"][0]["kind"] == "person",
        ),
    ]
    return cases if store.tokens else [c for i, c in enumerate(cases) if i != 1]


def run_lookups(store: Store, gen: Generated, base: str, lookups: int, seed: int) -> list[Latencies]:
    """Time each look-up through the API and with bare SQL, interleaved key by key in random order."""
    rng = random.Random(seed + 2)
    results = []
    with httpx.Client(base_url=base, timeout=30) as client, contextlib.closing(store.connect()) as conn:

        def via_api(case: LookupCase, key: str) -> float:
            url = case.url(key)
            headers = {"Authorization": f"Bearer {store.tokens[case.role]}"} if case.role else {}
            t0 = time.perf_counter()
            response = client.get(url, headers=headers)
            elapsed = time.perf_counter() - t0
            if response.status_code != 200 or not case.check(response.json()):
                raise SystemExit(f"GET {url} answered {response.status_code}: {response.text[:300]}")
            return elapsed * 1000

        def via_sql(case: LookupCase, key: str) -> float:
            t0 = time.perf_counter()
            cur = conn.execute(case.sql, case.params(key))
            rows = cur.fetchall()
            cur.close()
            elapsed = time.perf_counter() - t0
            if len(rows) != 1:
                raise SystemExit(f"bare SQL found {len(rows)} rows for {key}")
            return elapsed * 1000

        for case in lookup_cases(store, gen):
            if not case.keys:
                continue
            # warm-up: connections, statement caches, the interpreter's and the store's hot paths
            for key in rng.sample(case.keys, min(len(case.keys), 200)):
                via_api(case, key)
                via_sql(case, key)
            api_ms: list[float] = []
            sql_ms: list[float] = []
            keys = case.keys[:]
            rng.shuffle(keys)
            for i in range(lookups):
                key = keys[i] if i < len(keys) else rng.choice(keys)
                if rng.random() < 0.5:
                    api_ms.append(via_api(case, key))
                    sql_ms.append(via_sql(case, key))
                else:
                    sql_ms.append(via_sql(case, key))
                    api_ms.append(via_api(case, key))
            results.append(Latencies(case.name, case.role, api_ms, sql_ms))
    return results


# ---------------------------------------------------------------- report


@dataclasses.dataclass
class EngineResult:
    engine: str
    server_version: str
    imported: ImportResult
    bare_insert_s: float
    lookups: list[Latencies]
    import_budget_s: float
    rows: int
    expected_subjects: int
    expected_relations: int

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.imported.seconds if self.imported.seconds else float("nan")

    @property
    def import_ok(self) -> bool:
        return (
            self.imported.exit_code == 0
            and self.imported.rejects == 0
            and self.imported.shops == self.rows
            and self.imported.subjects == self.expected_subjects
            and self.imported.relations == self.expected_relations
        )

    @property
    def import_passed(self) -> bool:
        return self.import_ok and self.imported.seconds < self.import_budget_s


def _verdict(ok: bool) -> str:
    return "[bold green]PASS[/]" if ok else "[bold red]FAIL[/]"


def _plain(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def engine_table(r: EngineResult, gen: Generated) -> Table:
    t = Table(title=f"{r.engine} ({r.server_version}): {r.rows:,} shops", title_justify="left")
    for col, justify in (
        ("measure", "left"),
        ("ecredit", "right"),
        ("baseline", "right"),
        ("ratio", "right"),
        ("budget", "left"),
        ("", "left"),
    ):
        t.add_column(col, justify=justify)  # type: ignore[arg-type]
    t.add_row(
        "generate the shops file (not budgeted)",
        f"{gen.seconds:.1f} s",
        f"{gen.size_bytes / 2**20:,.0f} MiB",
        "",
        "",
        "",
    )
    im = r.imported
    t.add_row(
        "bulk registration: ecredit registry import",
        f"{im.seconds:.1f} s\n{r.rows_per_s:,.0f} rows/s",
        f"{r.bare_insert_s:.1f} s bare insert",
        f"{im.seconds / r.bare_insert_s:.1f}×" if r.bare_insert_s else "",
        f"< {r.import_budget_s:.0f} s",
        _verdict(r.import_passed),
    )
    t.add_row(
        "  check: shops / subjects / relations / rejects;\n  import process: CPU time, peak RSS;\n"
        "  1-minute load average of the machine, start → end",
        f"{im.shops:,} / {im.subjects:,} / {im.relations:,} / {im.rejects:,}\n"
        f"{im.cpu_s:.1f} s CPU, {im.peak_rss_mb:,.0f} MiB\nmachine load {im.load[0]:.1f} → {im.load[1]:.1f}",
        f"{r.rows:,} / {r.expected_subjects:,} / {r.expected_relations:,} / 0",
        "",
        "exact, exit 0",
        _verdict(r.import_ok),
    )
    for lat in r.lookups:
        t.add_row(
            f"{lat.label}: p50 / p99 of {len(lat.api_ms):,}\n  [dim]{lat.route}[/]",
            f"{lat.p('api', 50):.2f} / {lat.p('api', 99):.2f} ms",
            f"{lat.p('sql', 50):.3f} / {lat.p('sql', 99):.3f} ms bare SQL",
            lat.ratios(),
            f"p99 < {LOOKUP_P99_BUDGET_MS:.0f} ms",
            _verdict(lat.passed),
        )
    return t


def summary_table(results: list[EngineResult]) -> Table:
    t = Table(title="summary (look-ups: API p99, budget < 20 ms)", title_justify="left")
    t.add_column("engine")
    for col in ("import", "rows/s", "import vs bare"):
        t.add_column(col, justify="right")
    labels = list(dict.fromkeys(x.label for r in results for x in r.lookups))
    for label in labels:
        t.add_column(label, justify="right")
    t.add_column("")
    for r in results:
        lat = {x.label: x for x in r.lookups}
        ok = r.import_passed and all(x.passed for x in r.lookups)
        t.add_row(
            r.engine,
            f"{r.imported.seconds:.1f} s",
            f"{r.rows_per_s:,.0f}",
            f"{r.imported.seconds / r.bare_insert_s:.1f}×" if r.bare_insert_s else "",
            *(f"{lat[k].p('api', 99):.2f} ms" if k in lat else "" for k in labels),
            _verdict(ok),
        )
    return t


def machine() -> dict[str, str]:
    mem = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 2**20:.0f} GiB"
    cpu = platform_module.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "memory": mem,
        "cpu": cpu,
        "os": f"{platform_module.system()} {platform_module.release()}",
        "python": platform_module.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "code": _code_version(),
    }


def _code_version() -> str:
    """The commit the run measured, marked when the work tree had uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit} with uncommitted changes" if dirty else commit


def markdown(
    command: str, when: str, info: dict[str, str], gen: Generated, results: list[EngineResult]
) -> str:
    lines = [
        f"## Registry: {gen.rows:,} shops — {when}",
        "",
        "```",
        command,
        "```",
        "",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} memory, {info['os']}, "
        f"Python {info['python']}, SQLite {info['sqlite']}"
        + "".join(f", {r.server_version}" for r in results if r.engine == "postgres")
        + f"; code at {info['code']}.",
        "",
        f"Shops file: {gen.rows:,} rows ({gen.kinds['organisation']:,} organisation, "
        f"{gen.kinds['individual_business']:,} individual business, {gen.kinds['person']:,} person "
        f"operators; {gen.expected_subjects:,} distinct operators and legal representatives), "
        f"{gen.size_bytes / 2**20:,.0f} MiB, generated in {gen.seconds:.1f} s (not budgeted).",
        "",
        "| engine | measure | ecredit | baseline (same run) | ratio | budget | result |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for r in results:
        im = r.imported
        lines.append(
            f"| {r.engine} | bulk registration (`ecredit registry import`) | {im.seconds:.1f} s, "
            f"{r.rows_per_s:,.0f} rows/s; import process {im.cpu_s:.0f} s CPU, "
            f"peak RSS {im.peak_rss_mb:,.0f} MiB; machine load {im.load[0]:.1f} → {im.load[1]:.1f} | "
            f"{r.bare_insert_s:.1f} s bare `executemany` of the raw rows | "
            f"{im.seconds / r.bare_insert_s:.1f}× | < {r.import_budget_s:.0f} s, exact counts, no rejects | "
            f"{_plain(r.import_passed)} |"
        )
        for lat in r.lookups:
            lines.append(
                f"| {r.engine} | {lat.label} (`{lat.route}`), p50 / p99 of {len(lat.api_ms):,} | "
                f"{lat.p('api', 50):.2f} / {lat.p('api', 99):.2f} ms | "
                f"{lat.p('sql', 50):.3f} / {lat.p('sql', 99):.3f} ms bare SQL | "
                f"{lat.ratios()} | "
                f"p99 < {LOOKUP_P99_BUDGET_MS:.0f} ms | {_plain(lat.passed)} |"
            )
    for r in results:
        im = r.imported
        lines.append("")
        lines.append(
            f"{r.engine}: {im.shops:,} shops, {im.subjects:,} subjects and {im.relations:,} "
            f"legal-representative relations registered (expected {r.rows:,} / "
            f"{r.expected_subjects:,} / {r.expected_relations:,}), {im.rejects:,} rejects, "
            f"exit code {im.exit_code}."
        )
    return "\n".join(lines) + "\n"


def record(section: str) -> None:
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    existing = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    DOCS.write_text(existing.rstrip("\n") + "\n\n" + section, encoding="utf-8")


# ---------------------------------------------------------------- main


def _server_version(store: Store) -> str:
    if store.engine == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    conn = store.connect()
    try:
        version = conn.execute("SHOW server_version").fetchone()[0]
    finally:
        conn.close()
    return f"PostgreSQL {version.split()[0]}"


def run_engine(engine: str, args: argparse.Namespace, gen: Generated, workdir: Path) -> EngineResult:
    budget = IMPORT_BUDGET_S_PER_MILLION * max(args.shops, 1) / 1_000_000
    with fresh_store(engine, workdir, args.pg_url) as store:
        version = _server_version(store)
        console.print(f"[bold]{engine}[/]: {version}, store in {store.data_dir}")
        console.print(f"  importing {gen.rows:,} shops through `ecredit registry import` …")
        imported = run_import(store, gen, workdir)
        console.print(
            f"  imported in {imported.seconds:.1f} s ({gen.rows / imported.seconds:,.0f} rows/s), "
            f"exit {imported.exit_code}, {imported.shops:,} shops, {imported.rejects:,} rejects"
        )
        if imported.exit_code != 0:
            console.print(f"[red]import output:[/]\n{imported.output}")
        bare_s = 0.0
        if not args.skip_bare_insert:
            console.print("  baseline: bare executemany of the raw rows …")
            bare_s = bare_insert(store, gen)
            console.print(f"  bare insert in {bare_s:.1f} s")
        lookups: list[Latencies] = []
        if imported.shops:
            console.print(f"  look-ups: {args.lookups:,} of each kind through `ecredit serve` and bare SQL …")
            with server(store, workdir) as base:
                lookups = run_lookups(store, gen, base, args.lookups, args.seed)
        return EngineResult(
            engine=engine,
            server_version=version,
            imported=imported,
            bare_insert_s=bare_s,
            lookups=lookups,
            import_budget_s=budget,
            rows=gen.rows,
            expected_subjects=gen.expected_subjects,
            expected_relations=gen.expected_relations,
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shops", type=int, default=1_000_000, help="shops in the file (default 1,000,000)")
    parser.add_argument("--engine", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help="PostgreSQL server (a fresh schema is used)")
    parser.add_argument("--lookups", type=int, default=2000, help="timed look-ups of each kind")
    parser.add_argument("--workdir", type=Path, default=None, help="keep files here (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument(
        "--record", action="store_true", help=f"append the results to {DOCS.relative_to(REPO)}"
    )
    parser.add_argument(
        "--skip-bare-insert", action="store_true", help="skip the bare-insert baseline of the import"
    )
    parser.add_argument(
        "--markdown", type=Path, default=None, help="also write the results' markdown section to this file"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    python = Path(sys.executable)
    shown = python.relative_to(REPO) if python.is_relative_to(REPO) else python
    command = f"{shown} bench/registry.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    when = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    info = machine()
    console.print(
        f"[bold]registry benchmark[/] {when} — {info['nproc']} CPUs, {info['memory']}, "
        f"Python {info['python']}"
    )
    own_workdir = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="ecredit-bench-")) if own_workdir else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        path = workdir / "shops.csv"
        console.print(f"generating {args.shops:,} shops into {path} …")
        gen = generate(path, args.shops, args.seed, args.lookups)
        console.print(
            f"  {gen.size_bytes / 2**20:,.0f} MiB in {gen.seconds:.1f} s; "
            f"{gen.expected_subjects:,} distinct operators and legal representatives"
        )
        engines = ["sqlite", "postgres"] if args.engine == "both" else [args.engine]
        results = [run_engine(engine, args, gen, workdir) for engine in engines]
        for r in results:
            console.print(engine_table(r, gen))
        console.print(summary_table(results))
        section = markdown(command, when, info, gen, results)
        if args.record:
            record(section)
            console.print(f"results appended to {DOCS}")
        if args.markdown is not None:
            args.markdown.write_text(section, encoding="utf-8")
            console.print(f"results written to {args.markdown}")
        ok = all(r.import_passed and all(x.passed for x in r.lookups) for r in results)
        return 0 if ok else 1
    finally:
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            console.print(f"files kept in {workdir}")


if __name__ == "__main__":
    sys.exit(main())
