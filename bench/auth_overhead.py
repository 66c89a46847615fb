"""What authentication and the audit trail cost: throughput with them versus without, in one run.

    .venv/bin/python bench/auth_overhead.py [--seconds 8] [--slices 4] [--rounds 3] [--clients 4] [--record]

Two servers run side by side on the same store: the real application, and the same application with
authentication off (the caller is a fixed administrator, no credential look-up) and the audit trail
switched off (bench/_apps.py). Each round measures, on each server, requests per second of

- a read: a shop looked up by its platform's shop id (authenticated with an API key on the real server);
- a write: a shop renamed (PATCH), which on the real server also appends a hash-chained audit entry.

The machine is shared, so the two servers are measured interleaved: each round gives each server
``--seconds`` split into ``--slices`` slices that alternate between the servers (the first server
alternates between rounds), and the round's ratio compares the two servers' throughput over the same
stretch of time. The reported ratio is the median of the rounds' ratios (their range is shown too); the
requests per second are medians over rounds. Budget: the real server keeps at least 85 % of the
baseline's throughput (authentication and audit cost under 15 %).

At the end the store is checked: one ``shops.update`` audit entry per write the real server answered,
none for the baseline's writes, and the hash chain intact.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import os
import platform as platform_module
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

try:
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"
BUDGET_RATIO = 0.85
console = Console()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _seed(env: dict[str, str], shops: int) -> tuple[str, list[tuple[str, str]]]:
    """Migrate a fresh store, register a platform and shops, and create an admin key (in a child process)."""
    code = f"""
import random
from ecredit import migrate
from ecredit.db import get_engine, session_scope
from ecredit.demo import make_uscc
from ecredit.security import credentials
from ecredit.security.principals import Role, system
from ecredit.subjects import service
from ecredit.subjects.schemas import PlatformCreate, ShopCreate, SubjectCreate
migrate.upgrade(get_engine())
rng = random.Random(5)
admin = system("bench")
with session_scope() as s:
    service.register_platform(
        s, admin, PlatformCreate(code="bench", name="基准平台有限公司", uscc=make_uscc(rng, "370102"))
    )
    for i in range({shops}):
        data = SubjectCreate(kind="organisation", name=f"基准{{i}}有限公司", uscc=make_uscc(rng, "370102"))
        op, _ = service.create_subject(s, admin, data)
        data = ShopCreate(platform="bench", platform_shop_id=f"B-{{i}}", name=f"店{{i}}", operator_id=op.id)
        shop = service.create_shop(s, admin, data)
        print("SHOP", shop.id, shop.platform_shop_id)
    key = credentials.create_api_key(s, role=Role.admin, label="bench", created_by="bench")
    print("KEY", key.token)
"""
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    token = ""
    shops_list = []
    for line in out.stdout.splitlines():
        if line.startswith("KEY "):
            token = line.split()[1]
        elif line.startswith("SHOP "):
            _, shop_id, key = line.split()
            shops_list.append((shop_id, key))
    return token, shops_list


def _start(env: dict[str, str], factory: str, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"_apps:{factory}",
            "--factory",
            "--app-dir",
            str(REPO / "bench"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server {factory} did not start")


_LOADS = itertools.count(1)


def _load(
    base: str, headers: dict[str, str], shops: list[tuple[str, str]], kind: str, seconds: float, clients: int
) -> tuple[int, float]:
    """Requests answered and elapsed seconds over ``seconds`` from ``clients`` threads (each with its own
    connection)."""
    counts = [0] * clients
    errors: list[str] = []
    # Every PATCH sets a name no earlier request set, so every write really changes the row: a rename to
    # the name the shop already has is no write at all (no UPDATE, nothing to commit), and the baseline,
    # which appends no audit entry, would have measured empty transactions.
    tag = next(_LOADS)
    stop = time.monotonic() + seconds

    def worker(n: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            i = n
            while time.monotonic() < stop:
                shop_id, key = shops[i % len(shops)]
                if kind == "read":
                    r = c.get(f"/api/v1/platforms/bench/shops/{key}")
                else:
                    r = c.patch(f"/api/v1/shops/{shop_id}", json={"name": f"店{tag}-{i}"})
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {r.text[:200]}")
                    return
                counts[n] += 1
                i += clients

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"request failed: {errors[0]}")
    return sum(counts), time.monotonic() - start


def _audit_check(env: dict[str, str]) -> tuple[int, bool]:
    """The number of ``shops.update`` entries in the store and whether the hash chain verifies."""
    code = """
from sqlalchemy import func, select
from ecredit.db import session_scope
from ecredit.security import audit
with session_scope(read_only=True) as s:
    n = s.scalar(select(func.count()).where(audit.AuditEntry.action == "shops.update"))
    print(n, audit.verify_chain(s).ok)
"""
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    n, ok = out.stdout.split()
    return int(n), ok == "True"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--seconds", type=float, default=8.0, help="measuring time per server, kind and round"
    )
    parser.add_argument("--slices", type=int, default=4, help="alternating slices per server, kind and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=4, help="concurrent client connections")
    parser.add_argument("--shops", type=int, default=200)
    parser.add_argument("--record", action="store_true", help="append the results to docs/benchmarks.md")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="ecredit-bench-auth-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECREDIT_")}
    env |= {
        "ECREDIT_DATA_DIR": str(workdir),
        "ECREDIT_RATE_LIMIT_PUBLIC_PER_MINUTE": "100000000",
        "PYTHONPATH": str(REPO / "bench"),
    }
    console.print(f"seeding a store in {workdir} …")
    token, shops = _seed(env, args.shops)
    ports = {"real": _free_port(), "plain": _free_port()}
    procs = {
        "real": _start(env, "create_real_app", ports["real"]),
        "plain": _start(env, "create_plain_app", ports["plain"]),
    }
    headers = {"real": {"Authorization": f"Bearer {token}"}, "plain": {}}
    rps: dict[tuple[str, str], list[float]] = {}
    ratios: dict[str, list[float]] = {}
    writes = {"real": 0, "plain": 0}
    load_before = os.getloadavg()[0]
    slice_seconds = args.seconds / args.slices
    try:
        for rnd in range(args.rounds):
            first, second = ("real", "plain") if rnd % 2 == 0 else ("plain", "real")
            for kind in ("read", "write"):
                done = {"real": 0, "plain": 0}
                elapsed = {"real": 0.0, "plain": 0.0}
                for server in (first, second):  # warm-up, not counted in the throughput
                    base = f"http://127.0.0.1:{ports[server]}"
                    n, _ = _load(base, headers[server], shops, kind, 1.0, args.clients)
                    writes[server] += n if kind == "write" else 0
                for i in range(args.slices):
                    for server in (first, second) if i % 2 == 0 else (second, first):
                        base = f"http://127.0.0.1:{ports[server]}"
                        n, t = _load(base, headers[server], shops, kind, slice_seconds, args.clients)
                        done[server] += n
                        elapsed[server] += t
                        writes[server] += n if kind == "write" else 0
                for server in ("real", "plain"):
                    rps.setdefault((kind, server), []).append(done[server] / elapsed[server])
                ratio = rps[(kind, "real")][-1] / rps[(kind, "plain")][-1]
                ratios.setdefault(kind, []).append(ratio)
                console.print(
                    f"round {rnd + 1}: {kind:5} real {rps[(kind, 'real')][-1]:6.0f} req/s, "
                    f"plain {rps[(kind, 'plain')][-1]:6.0f} req/s, ratio {ratio:.3f}"
                )
    finally:
        for p in procs.values():
            p.terminate()
            p.wait(timeout=30)
    load_after = os.getloadavg()[0]
    entries, chain_ok = _audit_check(env)
    audited = entries == writes["real"] and chain_ok
    console.print(
        f"audit: {entries} shops.update entries for {writes['real']} writes answered by the real server "
        f"(and {writes['plain']} by the baseline), hash chain {'intact' if chain_ok else 'BROKEN'}"
    )

    table = Table(title="authentication and audit overhead (SQLite, requests per second, median of rounds)")
    for col in ("request", "with auth + audit", "without (baseline)", "ratio (range)", "budget ≥ 0.85"):
        table.add_column(col)
    rows = []
    ok = audited
    for kind, label in (("read", "GET shop by platform shop id"), ("write", "PATCH shop (+ audit entry)")):
        real, plain = statistics.median(rps[(kind, "real")]), statistics.median(rps[(kind, "plain")])
        ratio = statistics.median(ratios[kind])
        spread = (min(ratios[kind]), max(ratios[kind]))
        ok &= ratio >= BUDGET_RATIO
        rows.append((label, real, plain, ratio, spread))
        table.add_row(
            label,
            f"{real:,.0f}",
            f"{plain:,.0f}",
            f"{ratio:.3f} ({spread[0]:.2f}–{spread[1]:.2f})",
            "PASS" if ratio >= BUDGET_RATIO else "FAIL",
        )
    console.print(table)
    if args.record:
        _record(args, rows, (load_before, load_after), (entries, writes["real"], chain_ok))
    return 0 if ok else 1


def _record(
    args: argparse.Namespace,
    rows: list[tuple[str, float, float, float, tuple[float, float]]],
    load: tuple[float, float],
    audit_counts: tuple[int, int, bool],
) -> None:
    cmd = "  ".join(["python bench/auth_overhead.py", *[a for a in sys.argv[1:] if a != "--record"]])
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    entries, writes, chain_ok = audit_counts
    lines = [
        "",
        f"### auth_overhead: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `{shlex.join(cmd.split())}` · machine: {os.cpu_count()} CPUs, {mem:.0f} GiB, "
        f"{platform_module.processor() or platform_module.machine()} · SQLite store · "
        f"{args.clients} clients, {args.rounds} rounds of {args.seconds:g} s per server and kind in "
        f"{args.slices} alternating slices · load average {load[0]:.2f} → {load[1]:.2f}",
        "",
        "| request | with auth + audit (req/s) | without (req/s) | ratio (median of rounds; range) "
        "| budget ≥ 0.85 |",
        "|---|---|---|---|---|",
    ]
    for label, real, plain, ratio, (low, high) in rows:
        verdict = "PASS" if ratio >= BUDGET_RATIO else "FAIL"
        spread = f"{low:.2f}–{high:.2f}"
        lines.append(f"| {label} | {real:,.0f} | {plain:,.0f} | {ratio:.3f} ({spread}) | {verdict} |")
    lines += [
        "",
        f"Audit: {entries:,} `shops.update` entries for {writes:,} writes answered by the real server, hash "
        f"chain {'intact' if chain_ok else 'BROKEN'}.",
    ]
    with DOCS.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
