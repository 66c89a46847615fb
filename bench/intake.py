"""Intake benchmark: file intake of an orders CSV, and REST intake from concurrent clients.

One command::

    .venv/bin/python bench/intake.py                      # 10,000,000 orders (the medium province's count)
    .venv/bin/python bench/intake.py --orders 1000000     # a quick run
    .venv/bin/python bench/intake.py --record             # append the results to docs/benchmarks.md

In a fresh store (SQLite in a temporary data directory) with one platform and its shops, it measures:

1. **File intake.** ``ecredit ingest orders.csv`` as a subprocess, against a baseline taken in the same run
   on the same file: a plain DuckDB ``COPY (SELECT * FROM read_csv(...)) TO 'x.parquet'`` (no validation,
   no encryption, no manifest, no fsync). Budget: intake at no less than half the baseline's speed
   (time ratio <= 2).
2. **REST intake.** The real server (``ecredit serve``); ``--clients`` (4) threads send batches of 1,000
   orders with their own idempotency keys for ``--rest-seconds``. Budget: at least 20,000 records/s.
   Baseline: the same batches parsed from JSON and written as Parquet in process by pyarrow, no HTTP.

The orders file is generated with numpy and pyarrow (format v1, ``docs/data-formats.md``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import platform as platform_module
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

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"
EXE = Path(sys.executable).with_name("ecredit")
PLATFORM = "benchintake"
SHOPS = 500
FILE_RATIO_BUDGET = 2.0
REST_BUDGET_RPS = 20_000.0
BATCH = 1_000


def orders_table(
    n: int, start: int = 0, seed: int = 1, *, span_s: int | None = None, offset_s: int = 0
) -> pa.Table:
    rng = np.random.default_rng(seed + start)
    ids = np.arange(start, start + n)
    base = int(dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp())
    # Time-ordered, as platforms export them: a file spans the year, a REST batch a few minutes.
    span = 365 * 86400 if span_s is None else span_s
    ordered = base + offset_s + np.sort(rng.integers(0, span, n))
    paid = ordered + rng.integers(5, 600, n)
    tz = dt.timezone(dt.timedelta(hours=8))

    def iso(ts: np.ndarray) -> pa.Array:
        arr = pa.array(ts * 1_000_000, type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))
        import pyarrow.compute as pc

        return pc.strftime(arr.cast(pa.timestamp("us", tz="Asia/Shanghai")), format="%Y-%m-%dT%H:%M:%S+08:00")

    del tz
    return pa.table(
        {
            "order_id": pa.array([f"BO-{i:010d}" for i in ids]),
            "shop_id": pa.array([f"BS-{i:04d}" for i in rng.integers(0, SHOPS, n)]),
            "buyer_id": pa.array([f"u{i:08x}" for i in rng.integers(0, 1 << 30, n)]),
            "listing_id": pa.array([f"BL-{i:06d}" for i in rng.integers(0, 50_000, n)]),
            "gtin": pa.array(["6901234567892"] * n),
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


def write_orders_csv(path: Path, n: int) -> None:
    chunk = 500_000
    parts = -(-n // chunk)
    per_part = 365 * 86400 // parts
    with pa_csv.CSVWriter(str(path), orders_table(1).schema) as writer:
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


def bench_file(data: Path, env: dict[str, str], n: int) -> dict[str, float]:
    import duckdb

    csv_path = data / "orders.csv"
    t = time.monotonic()
    write_orders_csv(csv_path, n)
    generated = time.monotonic() - t
    t = time.monotonic()
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * FROM read_csv('{csv_path}')) TO '{data / 'baseline.parquet'}' (FORMAT parquet)"
    )
    con.close()
    baseline = time.monotonic() - t
    t = time.monotonic()
    result = subprocess.run(
        [str(EXE), "ingest", str(csv_path), "--platform", PLATFORM],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    intake = time.monotonic() - t
    if result.returncode != 0:
        raise SystemExit(f"ingest failed ({result.returncode}): {result.stdout}\n{result.stderr}")
    return {"rows": n, "generate_s": generated, "baseline_s": baseline, "intake_s": intake}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rest-seconds", type=float, default=20.0)
    parser.add_argument("--record", action="store_true", help="Append the results to docs/benchmarks.md.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ecredit-bench-intake-") as tmp:
        data = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ECREDIT_")}
        env |= {"ECREDIT_DATA_DIR": str(data / "data"), "ECREDIT_MODE": "production"}
        token = setup_store(env)
        f = bench_file(data, env, args.orders)
        r = bench_rest(env, token, args.clients, args.rest_seconds)
    ratio = f["intake_s"] / f["baseline_s"]
    file_ok = ratio <= FILE_RATIO_BUDGET
    rest_ok = r["rps"] >= REST_BUDGET_RPS and r["errors"] == 0
    lines = [
        f"| file intake, {f['rows']:,} orders (CSV) | {f['intake_s']:.1f} s "
        f"({f['rows'] / f['intake_s']:,.0f} rows/s) "
        f"| DuckDB COPY to Parquet {f['baseline_s']:.1f} s | {ratio:.2f} | <= {FILE_RATIO_BUDGET} | "
        f"{'met' if file_ok else 'MISSED'} |",
        f"| REST intake, {args.clients} clients x 1,000-record batches | {r['rps']:,.0f} records/s "
        f"({r['records']:,} in {r['seconds']:.1f} s, {r['errors']} errors) | in-process JSON to Parquet "
        f"{r['baseline_rps']:,.0f} records/s | {r['baseline_rps'] / max(r['rps'], 1):.2f} | "
        f">= 20,000 records/s | "
        f"{'met' if rest_ok else 'MISSED'} |",
    ]
    header = "| measurement | result | baseline | ratio | budget | status |\n|---|---|---|---|---|---|"
    print(header)
    print("\n".join(lines))
    if args.record:
        machine = (
            f"{os.cpu_count()} CPUs, {platform_module.machine()}, Python {platform_module.python_version()}"
        )
        with DOCS.open("a", encoding="utf-8") as fh:
            fh.write(
                f"\n### `bench/intake.py` run of {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n\n"
                f"`{shlex.join([sys.executable, *sys.argv])}` on {machine}, SQLite store.\n\n"
                f"{header}\n" + "\n".join(lines) + "\n"
            )
    sys.exit(0 if file_ok and rest_ok else 1)


if __name__ == "__main__":
    main()
