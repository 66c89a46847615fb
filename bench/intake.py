"""Intake benchmark: file intake of an orders CSV, and REST intake from concurrent clients.

One command::

    .venv/bin/python bench/intake.py                      # 10,000,000 orders (the medium province's count)
    .venv/bin/python bench/intake.py --orders 1000000     # a quick run
    .venv/bin/python bench/intake.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_intake
    .venv/bin/python bench/intake.py --record             # append the results to docs/benchmarks.md

In a fresh store (SQLite in a temporary data directory, or a PostgreSQL database that the benchmark creates
and drops) with one platform and its shops, it measures:

1. **File intake.** ``ecredit ingest orders.csv`` as a subprocess, against a baseline taken in the same run
   on the same file: a plain DuckDB ``COPY (SELECT * FROM read_csv(...)) TO 'x.parquet'`` (no validation,
   no encryption, no manifest, no fsync), run just before and just after the intake. Budget: intake at no
   less than half the baseline's speed (time ratio <= 2, against the mean of the two baseline runs).
2. **REST intake.** The real server (``ecredit serve``); ``--clients`` (4) threads send batches of 1,000
   orders with their own idempotency keys for ``--rest-seconds``. Budget: at least 20,000 records/s.
   Baseline: the same batches parsed from JSON and written as Parquet in process by pyarrow, no HTTP.

The orders file is generated with numpy and pyarrow (format v1, ``docs/data-formats.md``) the way the
simulator writes its CSV: no quotes, timestamps to the second with ``+08:00``, time-ordered, at the medium
province's density (10,000,000 orders over 366 days, so a 1,000,000-row file spans 37 days and its lake
files have the full run's size). ``--quoting needed`` quotes every text cell instead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform as platform_module
import re
import resource
import shlex
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ecredit.sim import columns

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"
EXE = Path(sys.executable).with_name("ecredit")
PLATFORM = "benchintake"
SHOPS = 500
FILE_RATIO_BUDGET = 2.0
REST_BUDGET_RPS = 20_000.0
BATCH = 1_000
MEDIUM_ORDERS, MEDIUM_DAYS = 10_000_000, 366
START = int(dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp())


def orders_table(n: int, start: int = 0, *, span_s: int, offset_s: int = 0, seed: int = 1) -> pa.Table:
    """``n`` orders numbered from ``start``, time-ordered over ``span_s`` seconds from ``offset_s``."""
    rng = np.random.default_rng(seed + start)
    ordered = START + offset_s + np.sort(rng.integers(0, span_s, n))
    paid = ordered + rng.integers(5, 600, n)

    def iso(epoch_s: np.ndarray) -> pa.Array:
        return columns.timestamp_strings(columns.timestamps(epoch_s))

    return pa.table(
        {
            "order_id": columns.ids("BO-", np.arange(start, start + n), 10),
            "shop_id": columns.ids("BS-", rng.integers(0, SHOPS, n), 4),
            "buyer_id": columns.ids("u", rng.integers(0, 1 << 30, n), 8, base=16),
            "listing_id": columns.ids("BL-", rng.integers(0, 50_000, n), 6),
            "gtin": pa.array(np.full(n, "6901234567892")),
            "quantity": pa.array(rng.integers(1, 4, n)),
            "amount_cents": pa.array(rng.integers(100, 100_000, n)),
            "ordered_at": iso(ordered),
            "paid_at": iso(paid),
            "status": pa.array(np.array(["delivered", "paid", "shipped"])[rng.integers(0, 3, n)]),
            "ship_to_region": pa.array(
                np.array(["370102", "370202", "371602", "370613"])[rng.integers(0, 4, n)]
            ),
        }
    )


def write_orders_csv(path: Path, n: int, quoting: str = "none") -> None:
    """An orders CSV of ``n`` rows at the medium province's density, in time order."""
    chunk = 500_000
    span = max(1, round(n * MEDIUM_DAYS * 86400 / MEDIUM_ORDERS))
    parts = -(-n // chunk)
    per_part = max(1, span // parts)
    options = pa_csv.WriteOptions(quoting_style=quoting, quoting_header="none")
    with pa_csv.CSVWriter(str(path), orders_table(1, span_s=1).schema, write_options=options) as writer:
        for i, start in enumerate(range(0, n, chunk)):
            writer.write_table(
                orders_table(min(chunk, n - start), start, span_s=per_part, offset_s=i * per_part)
            )


def setup_store(env: dict[str, str]) -> str:
    """Migrate, register the platform and its shops, and make a platform API key (in a child process)."""
    code = f"""
import random
from ecredit import db, migrate
from ecredit.demo import make_uscc
from ecredit.security import credentials
from ecredit.security.principals import Role, system
from ecredit.subjects import service
from ecredit.subjects.schemas import PlatformCreate, ShopCreate, SubjectCreate
rng = random.Random(7)
migrate.upgrade(db.get_engine())
admin = system("bench")
with db.session_scope() as s:
    p, _ = service.register_platform(s, admin, PlatformCreate(code="{PLATFORM}", name="基准平台有限公司",
                                                               uscc=make_uscc(rng, "370102", "91")))
    for i in range({SHOPS}):
        name = f"基准商贸{{i}}有限公司"
        data = SubjectCreate(kind="organisation", name=name, uscc=make_uscc(rng, "370102", "91"))
        op, _ = service.create_subject(s, admin, data)
        service.create_shop(s, admin, ShopCreate(platform="{PLATFORM}", platform_shop_id=f"BS-{{i:04d}}",
                                                 name=f"基准店铺{{i}}", operator_id=op.id))
    print(credentials.create_api_key(s, role=Role.platform, label="bench", created_by="bench",
                                     platform_id=p.id).token)
"""
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


class FreshDatabase:
    """A PostgreSQL database created for the run and dropped after it (it must not exist before)."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self.url = make_url(url)
        name = self.url.database or ""
        plain = re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name)
        if not self.url.drivername.startswith("postgresql") or not plain:
            raise SystemExit("--database-url must name a PostgreSQL database, e.g. .../bench_intake")
        self.name = name

    def _admin(self):
        from sqlalchemy import create_engine

        return create_engine(self.url.set(database="postgres"), isolation_level="AUTOCOMMIT")

    def __enter__(self) -> str:
        from sqlalchemy import text

        admin = self._admin()
        with admin.connect() as conn:
            query = text("SELECT 1 FROM pg_database WHERE datname = :n")
            if conn.execute(query, {"n": self.name}).first():
                raise SystemExit(f"database {self.name!r} exists: the benchmark wants a fresh one to drop")
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        admin.dispose()
        return self.url.render_as_string(hide_password=False)

    def __exit__(self, *exc: object) -> None:
        from sqlalchemy import text

        admin = self._admin()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        admin.dispose()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _duckdb_copy(csv_path: Path, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of a plain DuckDB COPY of the CSV to Parquet."""
    import duckdb

    wall, cpu = time.monotonic(), time.process_time()
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_csv('{csv_path}')) TO '{out}' (FORMAT parquet)")
    con.close()
    return time.monotonic() - wall, time.process_time() - cpu


def bench_file(data: Path, env: dict[str, str], n: int, quoting: str) -> dict[str, float]:
    csv_path = data / "orders.csv"
    t = time.monotonic()
    write_orders_csv(csv_path, n, quoting)
    generated = time.monotonic() - t
    before, before_cpu = _duckdb_copy(csv_path, data / "baseline.parquet")
    t, cpu = time.monotonic(), _children_cpu()
    result = subprocess.run(
        [str(EXE), "ingest", str(csv_path), "--platform", PLATFORM],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    intake, intake_cpu = time.monotonic() - t, _children_cpu() - cpu
    after, after_cpu = _duckdb_copy(csv_path, data / "baseline.parquet")
    if result.returncode != 0 or f"{n:,} rows loaded" not in result.stdout:
        raise SystemExit(f"ingest failed ({result.returncode}): {result.stdout}\n{result.stderr}")
    lake = Path(env["ECREDIT_DATA_DIR"]) / "lake"
    files = list(lake.rglob("*.parquet"))
    return {
        "rows": n,
        "csv_mib": csv_path.stat().st_size / 2**20,
        "generate_s": generated,
        "baseline_s": (before + after) / 2,
        "baseline_before_s": before,
        "baseline_after_s": after,
        "baseline_cpu_s": (before_cpu + after_cpu) / 2,
        "intake_s": intake,
        "intake_cpu_s": intake_cpu,
        "files": len(files),
        "lake_mib": sum(f.stat().st_size for f in files) / 2**20,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_rest(env: dict[str, str], token: str, clients: int, seconds: float) -> dict[str, float]:
    port = _free_port()
    server = subprocess.Popen(
        [str(EXE), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                time.sleep(0.1)
        # Each batch within ten minutes, as a platform sends them.
        bodies = [
            json.dumps(orders_table(BATCH, start=20_000_000 + k * BATCH, span_s=600).to_pylist()).encode()
            for k in range(8)
        ]
        sent = [0] * clients
        errors = [0] * clients
        stop = time.monotonic() + seconds
        counter = iter(range(10**9))
        lock = threading.Lock()

        def client(i: int) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            while time.monotonic() < stop:
                with lock:
                    k = next(counter)
                body = bodies[k % len(bodies)]
                headers = {
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": f"bench-{k}",
                }
                conn.request("POST", "/api/v1/intake/orders", body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status == 201:
                    sent[i] += BATCH
                else:
                    errors[i] += 1
            conn.close()

        started = time.monotonic()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed = time.monotonic() - started
        # Baseline: the same work minus HTTP, validation and durability: JSON to Arrow to Parquet bytes.
        t = time.monotonic()
        for body in bodies * 4:
            table = pa.Table.from_pylist(json.loads(body))
            sink = pa.BufferOutputStream()
            pq.write_table(table, sink)
        baseline_rps = len(bodies) * 4 * BATCH / (time.monotonic() - t)
        return {
            "records": sum(sent),
            "errors": sum(errors),
            "seconds": elapsed,
            "rps": sum(sent) / elapsed,
            "baseline_rps": baseline_rps,
        }
    finally:
        server.terminate()
        server.wait(10)


def _load() -> str:
    return "load average {:.2f}, {:.2f}, {:.2f}".format(*os.getloadavg())


def run(args: argparse.Namespace, database_url: str | None) -> tuple[dict | None, dict | None]:
    with tempfile.TemporaryDirectory(prefix="ecredit-bench-intake-") as tmp:
        data = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ECREDIT_")}
        env |= {"ECREDIT_DATA_DIR": str(data / "data"), "ECREDIT_MODE": "production"}
        if database_url:
            env["ECREDIT_DATABASE_URL"] = database_url
        token = setup_store(env)
        f = bench_file(data, env, args.orders, args.quoting) if args.only in (None, "file") else None
        r = bench_rest(env, token, args.clients, args.rest_seconds) if args.only in (None, "rest") else None
    return f, r


SECTION = "## `bench/intake.py`"


def record(text: str) -> None:
    """Add a run at the end of the intake section of docs/benchmarks.md (other sections follow it)."""
    doc = DOCS.read_text(encoding="utf-8")
    start = doc.find(SECTION)
    if start < 0:
        doc = doc.rstrip("\n") + "\n\n" + text
    else:
        end = doc.find("\n## ", start + len(SECTION))
        end = len(doc) if end < 0 else end + 1
        doc = doc[:end].rstrip("\n") + "\n\n" + text + ("\n" + doc[end:] if end < len(doc) else "")
    DOCS.write_text(doc, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=MEDIUM_ORDERS)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rest-seconds", type=float, default=20.0)
    parser.add_argument(
        "--database-url",
        help="A PostgreSQL database to create for the run and drop after it (default: SQLite in a temp dir).",
    )
    parser.add_argument("--quoting", choices=("none", "needed"), default="none", help="CSV quoting of text.")
    parser.add_argument("--only", choices=("file", "rest"), help="Run one of the two measurements.")
    parser.add_argument("--record", action="store_true", help="Append the results to docs/benchmarks.md.")
    args = parser.parse_args()
    load_before = _load()
    started = dt.datetime.now(dt.UTC)
    if args.database_url:
        with FreshDatabase(args.database_url) as url:
            f, r = run(args, url)
        store = "PostgreSQL store (a fresh database, dropped after the run)"
    else:
        f, r = run(args, None)
        store = "SQLite store"
    load_after = _load()
    header = (
        "| measurement | result | baseline (same run) | ratio | budget | status |\n|---|---|---|---|---|---|"
    )
    lines = []
    ok = True
    if f is not None:
        ratio = f["intake_s"] / f["baseline_s"]
        file_ok = ratio <= FILE_RATIO_BUDGET
        ok &= file_ok
        lines.append(
            f"| file intake, {f['rows']:,} orders (CSV, {f['csv_mib']:,.0f} MiB, quoting {args.quoting}) "
            f"| {f['intake_s']:.1f} s ({f['rows'] / f['intake_s']:,.0f} rows/s; "
            f"CPU {f['intake_cpu_s']:.1f} s; "
            f"{f['files']:,} lake files, {f['lake_mib']:,.0f} MiB) "
            f"| DuckDB COPY to Parquet {f['baseline_s']:.1f} s ({f['baseline_before_s']:.1f} s before, "
            f"{f['baseline_after_s']:.1f} s after; CPU {f['baseline_cpu_s']:.1f} s) "
            f"| {ratio:.2f} | <= {FILE_RATIO_BUDGET} | {'met' if file_ok else 'MISSED'} |"
        )
    if r is not None:
        rest_ok = r["rps"] >= REST_BUDGET_RPS and r["errors"] == 0
        ok &= rest_ok
        lines.append(
            f"| REST intake, {args.clients} clients x 1,000-record batches | {r['rps']:,.0f} records/s "
            f"({r['records']:,} in {r['seconds']:.1f} s, {r['errors']} errors) | in-process JSON to Parquet "
            f"{r['baseline_rps']:,.0f} records/s | {r['baseline_rps'] / max(r['rps'], 1):.2f} | "
            f">= 20,000 records/s | {'met' if rest_ok else 'MISSED'} |"
        )
    print(f"{store}; {load_before} before, {load_after} after")
    print(header)
    print("\n".join(lines))
    if args.record:
        machine = (
            f"{os.cpu_count()} CPUs, {platform_module.machine()}, Python {platform_module.python_version()}"
        )
        command = shlex.join([".venv/bin/python", "bench/intake.py", *sys.argv[1:]])
        record(
            f"### `bench/intake.py` run of {started:%Y-%m-%d %H:%M} UTC\n\n"
            f"`{command}` on {machine}, {store}; {load_before} before the run, {load_after} after.\n\n"
            f"{header}\n" + "\n".join(lines) + "\n"
        )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
