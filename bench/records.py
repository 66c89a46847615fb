"""Credit records: the 双公示 penalty import and the public records look-up, each against a bare baseline.

    .venv/bin/python bench/records.py [--rows 20000] [--subjects 5000] [--lookups 2000] [--record]

1. A fresh SQLite store (durability settings of ecredit) with ``--subjects`` organisations registered in
   bulk, and a penalty file of ``--rows`` rows in the published layout (fines in 万元, two departments so
   both publicity regimes are used; 1 % of the rows carry a USCC with a wrong check character).
2. ``ecredit records import --kind penalty FILE`` as a subprocess, wall-clock timed; then the same file
   again (the idempotent re-run). The store is checked: one record and one ``records.create`` audit entry
   per good row, every bad row in the rejects file, nothing loaded by the re-run.
   Baseline: the file's raw rows streamed into a same-width table with a bare ``executemany`` (batches of
   the importer's size, one commit each) through ``sqlite3``, on the same store.
3. ``records.service.public_records`` for ``--lookups`` random subjects (what the public endpoint runs),
   against the same query as bare SQL through ``sqlite3``.

No budget is set by the issue for these paths: the script prints the figures and the ratios and fails
only when a check of the store fails.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import platform as platform_module
import random
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"
console = Console()
HEADER = [
    "行政相对人名称",
    "行政相对人类别",
    "行政相对人代码_1（统一社会信用代码）",
    "行政处罚决定书文号",
    "违法行为类型",
    "违法事实",
    "处罚依据",
    "处罚类别",
    "处罚内容",
    "罚款金额（万元）",
    "处罚决定日期",
    "处罚机关",
]


def _ecredit() -> str:
    candidate = Path(sys.executable).parent / "ecredit"
    return str(candidate) if candidate.exists() else "ecredit"


def _setup(data_dir: Path, subjects: int) -> list[tuple[str, str]]:
    """Migrate the store and register the organisations in bulk; returns (subject id, USCC)."""
    os.environ["ECREDIT_DATA_DIR"] = str(data_dir)
    os.environ.pop("ECREDIT_DATABASE_URL", None)
    from ecredit import db, migrate
    from ecredit.demo import make_uscc
    from ecredit.kit.ids import new_id
    from ecredit.subjects import repository as subjects_repo
    from ecredit.subjects.models import Subject

    migrate.upgrade(db.get_engine())
    rng = random.Random(1)
    rows = []
    seen = set()
    while len(rows) < subjects:
        code = make_uscc(rng, "370102", "91")
        if code in seen:
            continue
        seen.add(code)
        rows.append(
            {
                "id": new_id(),
                "kind": "organisation",
                "name": f"基准{len(rows)}商贸有限公司",
                "uscc": code,
                "region_code": "370102",
            }
        )
    with db.session_scope() as session:
        subjects_repo.bulk_insert(session, Subject, rows)
    return [(r["id"], r["uscc"]) for r in rows]


def _write_file(path: Path, subjects: list[tuple[str, str]], rows: int) -> int:
    """The penalty file; returns the number of bad rows in it."""
    rng = random.Random(2)
    bad = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for n in range(rows):
            _, code = rng.choice(subjects)
            if n % 100 == 99:
                code = code[:-1] + ("0" if code[-1] != "0" else "1")
                bad += 1
            samr = n % 2 == 0
            decided = dt.date(2026, 4, 1) + dt.timedelta(days=rng.randrange(200))
            fine = f"{rng.randrange(1, 5000) / 100:.2f}"
            writer.writerow(
                [
                    f"基准{n}商贸有限公司",
                    "法人及非法人组织",
                    code,
                    f"{'济市监' if samr else '济商'}罚〔2026〕{n}号",
                    "虚构交易",
                    "组织虚假交易，刷单炒信",
                    "《中华人民共和国电子商务法》第十七条、第八十五条",
                    "警告、罚款" if n % 3 == 0 else "罚款",
                    "罚款",
                    fine,
                    decided.isoformat(),
                    "济南市市场监督管理局" if samr else "济南市商务局",
                ]
            )
    return bad


def _import(path: Path, env: dict[str, str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    proc = subprocess.run(
        [_ecredit(), "records", "import", "--kind", "penalty", str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return time.perf_counter() - started, proc.returncode, (proc.stdout + proc.stderr).strip()


def _bare_insert(db_path: Path, path: Path, batch: int) -> float:
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    cols = ", ".join(f"c{i} TEXT" for i in range(len(HEADER)))
    conn.execute(f"CREATE TABLE bench_raw (id INTEGER PRIMARY KEY, {cols})")
    marks = ", ".join("?" for _ in HEADER)
    names = ", ".join(f"c{i}" for i in range(len(HEADER)))
    started = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        chunk: list[list[str]] = []
        for row in reader:
            chunk.append(row)
            if len(chunk) >= batch:
                conn.execute("BEGIN IMMEDIATE")
                conn.executemany(f"INSERT INTO bench_raw ({names}) VALUES ({marks})", chunk)
                conn.execute("COMMIT")
                chunk = []
        if chunk:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(f"INSERT INTO bench_raw ({names}) VALUES ({marks})", chunk)
            conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return seconds


def _lookups(db_path: Path, subject_ids: list[str], n: int) -> tuple[float, float, int]:
    """Mean ms per public look-up through the service, and as bare SQL; and the records seen."""
    from ecredit import db
    from ecredit.records import service

    rng = random.Random(3)
    sample = [rng.choice(subject_ids) for _ in range(n)]
    today = dt.date(2026, 11, 1)
    seen = 0
    with db.session_scope(read_only=True) as session:
        started = time.perf_counter()
        for sid in sample:
            seen += len(service.public_records(session, subject_id=sid, today=today))
        ours = (time.perf_counter() - started) / n * 1000
    conn = sqlite3.connect(db_path)
    sql = (
        "SELECT * FROM credit_record WHERE subject_id = ? AND status = 'active'"
        " AND publicity_until IS NOT NULL AND publicity_from <= ? AND publicity_until >= ?"
        " ORDER BY decided_on DESC, id DESC"
    )
    day = today.isoformat()
    started = time.perf_counter()
    bare_seen = 0
    for sid in sample:
        bare_seen += len(conn.execute(sql, (sid, day, day)).fetchall())
    bare = (time.perf_counter() - started) / n * 1000
    conn.close()
    assert bare_seen == seen, (bare_seen, seen)
    return ours, bare, seen


def _count(db_path: Path, sql: str) -> int:
    conn = sqlite3.connect(db_path)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--subjects", type=int, default=5_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--record", action="store_true", help="append the results to docs/benchmarks.md")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-records-", dir=os.environ.get("TMPDIR")))
    data_dir = work / "data"
    load_start = os.getloadavg()
    subjects = _setup(data_dir, args.subjects)
    db_path = data_dir / "ecredit.db"
    path = work / "penalties.csv"
    bad = _write_file(path, subjects, args.rows)
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    first, code, output = _import(path, env)
    records = _count(db_path, "SELECT count(*) FROM credit_record")
    audited = _count(db_path, "SELECT count(*) FROM audit_entry WHERE action = 'records.create'")
    with path.with_name(path.name + ".rejects.csv").open(encoding="utf-8") as fh:
        rejected = sum(1 for _ in fh) - 1
    second, code2, output2 = _import(path, env)
    records_after = _count(db_path, "SELECT count(*) FROM credit_record")
    from ecredit.jobs import RECORDS_BATCH_ROWS

    bare = _bare_insert(db_path, path, RECORDS_BATCH_ROWS)
    ours_ms, bare_ms, seen = _lookups(db_path, [s for s, _ in subjects], args.lookups)
    load_end = os.getloadavg()
    good = args.rows - bad
    checks = {
        "records == good rows": records == good,
        "one audit entry per record": audited == good,
        "every bad row rejected": rejected == bad and code == 1,
        "re-run loads nothing": records_after == records and "0 records loaded" in output2 and code2 == 1,
    }
    table = Table(title=f"records: {args.rows:,} penalty rows, {args.subjects:,} subjects, SQLite")
    for col in ("step", "ours", "baseline", "ratio"):
        table.add_column(col, justify="right" if col != "step" else "left")
    table.add_row(
        "import (rows/s)", f"{args.rows / first:,.0f}", f"{args.rows / bare:,.0f}", f"{first / bare:.1f}×"
    )
    table.add_row(
        "re-run of the same file (rows/s)", f"{args.rows / second:,.0f}", "", f"{second / bare:.1f}×"
    )
    table.add_row(
        "public records of a subject (ms)", f"{ours_ms:.3f}", f"{bare_ms:.3f}", f"{ours_ms / bare_ms:.1f}×"
    )
    console.print(table)
    console.print(
        f"import: {first:.1f} s, re-run {second:.1f} s, bare executemany {bare:.2f} s; {seen:,} public "
        f"records seen in {args.lookups:,} look-ups; load average {load_start[0]:.2f} → {load_end[0]:.2f}"
    )
    for name, ok in checks.items():
        console.print(f"{'PASS' if ok else 'FAIL'}  {name}")
    if not all(checks.values()):
        console.print(output[-2000:])
    if args.record:
        _record(args, first, second, bare, ours_ms, bare_ms, (load_start[0], load_end[0]), checks)
    return 0 if all(checks.values()) else 1


def _record(args, first, second, bare, ours_ms, bare_ms, load, checks) -> None:
    cmd = "python bench/records.py " + " ".join(a for a in sys.argv[1:] if a != "--record")
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    lines = [
        "",
        f"### records: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `{shlex.join(cmd.split())}` · machine: {os.cpu_count()} CPUs, {mem:.0f} GiB, "
        f"{platform_module.processor() or platform_module.machine()} · SQLite store · "
        f"load average {load[0]:.2f} → {load[1]:.2f}",
        "",
        "| step | ours | baseline | ratio |",
        "|---|---|---|---|",
        f"| import of {args.rows:,} penalty rows (rows/s) | {args.rows / first:,.0f} "
        f"| {args.rows / bare:,.0f} (bare executemany) | {first / bare:.1f}× |",
        f"| re-run of the same file (rows/s) | {args.rows / second:,.0f} | | {second / bare:.1f}× |",
        f"| public records of a subject (ms) | {ours_ms:.3f} | {bare_ms:.3f} (bare SQL) | "
        f"{ours_ms / bare_ms:.1f}× |",
        "",
        "Checks: " + ", ".join(f"{k} {'PASS' if v else 'FAIL'}" for k, v in checks.items()) + ".",
    ]
    with DOCS.open("a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
