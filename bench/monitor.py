"""Monitoring benchmark (issue 5, bench (c)): the full ``ecredit monitor run`` on a simulated province.

One command::

    .venv/bin/python bench/monitor.py                           # medium, seed 3 (built once, then reused)
    .venv/bin/python bench/monitor.py --scale small --seed 7    # a quick run
    .venv/bin/python bench/monitor.py --record                  # append the results to docs/benchmarks.md

**The province** is built once under ``--workdir`` (default ``/tmp/ecredit-bench-monitor/<scale>-<seed>``) and
kept for later runs: ``ecredit simulate`` writes it, then it is loaded the way ``ecredit demo`` loads one
(register, platforms, shops, every event file through ``ingest_file``) into a store and lake of its own.
Verification and marks are left out: no detector reads them. ``--compact`` runs ``ecredit lake compact`` on
it first (once: the compacted lake is kept).

**The run.** Each run gets a fresh copy of the loaded store (its warnings tables empty, so every run records
every warning for the first time) over the same lake. ``ecredit monitor run --json`` runs as a subprocess; its
wall time is taken, and its resident memory is sampled every 0.1 s (the process tree, summed) and also read
as the kernel's ``ru_maxrss`` of the process. Then ``ecredit monitor evaluate --json`` scores the warnings
against the simulator's labels. Budget: **under 5 minutes and under 6 GB** (6 * 10^9 bytes), with every
unit's F1 at least its floor (``F1_FLOORS``).

**Baseline**, in the same run, on the same lake: a plain DuckDB full scan of the files the manifest lists for
orders and parcel_scans (the two biggest kinds; every column read, ``min()`` of each), in a fresh process with
DuckDB's defaults. The ratio monitor/baseline stays put when the shared machine is merely slow.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform as platform_module
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"
BUDGET_SECONDS = 300.0
BUDGET_BYTES = 6e9
# The quality floors, per evaluation unit (docs/monitoring.md, "Evaluation against ground truth").
F1_FLOORS = {
    "brushing_ring accounts": 0.95,
    "brushing_ring shops": 0.95,
    "fake_review reviews": 0.85,
    "extortion_reviewer accounts": 0.85,
    "empty_parcel parcels": 0.90,
    "shared_payer accounts": 0.90,
    "reopened_shop new shops": 0.95,
}
BASELINE_KINDS = ("orders", "parcel_scans")
LOADED = ".bench-loaded.json"  # written into the store directory once the province is fully loaded
KEEP_OUT_OF_RUN_COPY = {"lake", "province", "runs"}


def _ecredit() -> list[str]:
    candidate = Path(sys.executable).parent / "ecredit"
    return [str(candidate)] if candidate.exists() else [sys.executable, "-m", "ecredit.cli"]


def _env(**values: str) -> dict[str, str]:
    # The run's own settings only; the DuckDB settings and the step log may be set from outside.
    keep = ("ECREDIT_DUCKDB_", "ECREDIT_LOG_STEPS")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECREDIT_") or k.startswith(keep)}
    return env | values


def _load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def _log(message: str) -> None:
    print(f"[{dt.datetime.now(dt.UTC):%H:%M:%S}] {message}", flush=True)


# ---------------------------------------------------------------- the province


def load_province(province: Path) -> None:
    """Register and ingest a simulated province into ``ECREDIT_DATA_DIR``'s store (as ``ecredit demo``)."""
    import csv

    from ecredit import jobs, migrate, sim
    from ecredit.db import get_engine, session_scope
    from ecredit.intake import loads as intake
    from ecredit.subjects import repository as subjects_repo
    from ecredit.subjects import service as subjects_service
    from ecredit.subjects.schemas import PlatformCreate

    migrate.upgrade(get_engine())
    principal = jobs.cli_principal()
    summary = jobs.import_file(province / "register.csv", kind="register", platform=None)
    _log(f"register: {summary['loaded']:,} entries")
    with (province / "platforms.csv").open(encoding="utf-8") as fh:
        platforms = list(csv.DictReader(fh))
    for row in platforms:
        with session_scope() as session:
            if subjects_repo.get_platform_by_code(session, row["code"]) is None:
                subjects_service.register_platform(
                    session, principal, PlatformCreate(code=row["code"], name=row["name"], uscc=row["uscc"])
                )
        summary = jobs.import_file(province / row["code"] / "shops.csv", kind="shops", platform=row["code"])
        _log(f"platform {row['code']}: {summary['loaded']:,} shops")
    for row in platforms:
        for kind in sim.EVENT_KINDS:
            files = sorted((province / row["code"] / kind).glob(f"{kind}-*.parquet"))
            files += [p for p in [province / row["code"] / f"{kind}.csv"] if p.exists()]
            for path in files:
                loaded = intake.ingest_file(path, platform=row["code"], kind=kind, principal=principal)
                if loaded.rejected:
                    raise SystemExit(f"{path}: {loaded.rejected} rows rejected")
            _log(f"platform {row['code']}: {kind} ingested ({len(files)} files)")


def ensure_province(workdir: Path, scale: str, seed: int, compact: bool) -> tuple[Path, Path]:
    """The simulated province and its loaded store directory, built on first use."""
    province, data = workdir / "province", workdir / "data"
    marker = data / LOADED
    if not marker.exists():
        if not (province / "manifest.json").exists():
            shutil.rmtree(province, ignore_errors=True)
            _log(f"simulating a {scale} province (seed {seed}) into {province} …")
            cmd = [*_ecredit(), "simulate", "--scale", scale, "--seed", str(seed), "--out", str(province)]
            subprocess.run(cmd, check=True, env=_env(), stdout=subprocess.DEVNULL)
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        _log(f"loading it into {data} …")
        began = time.perf_counter()
        cmd = [sys.executable, str(Path(__file__).resolve()), "--load-into-store", str(province)]
        subprocess.run(cmd, check=True, env=_env(ECREDIT_DATA_DIR=str(data)))
        marker.write_text(json.dumps({"scale": scale, "seed": seed, "seconds": time.perf_counter() - began}))
    state = json.loads(marker.read_text())
    if compact and not state.get("compacted"):
        _log("ecredit lake compact …")
        began = time.perf_counter()
        subprocess.run([*_ecredit(), "lake", "compact"], check=True, env=_env(ECREDIT_DATA_DIR=str(data)))
        state["compacted"] = time.perf_counter() - began
        marker.write_text(json.dumps(state))
    return province, data


def lake_summary(data: Path) -> dict[str, dict[str, int]]:
    """Files and stored rows per kind, from the manifest (a read-only look at the loaded store)."""
    import sqlite3

    con = sqlite3.connect(f"file:{data / 'ecredit.db'}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT kind, count(*), sum(rows), sum(bytes) FROM lake_file "
            "WHERE retired_at IS NULL GROUP BY kind"
        ).fetchall()
    finally:
        con.close()
    return {k: {"files": n, "rows": r, "bytes": b} for k, n, r, b in rows}


def lake_paths(data: Path, kind: str) -> list[str]:
    import sqlite3

    con = sqlite3.connect(f"file:{data / 'ecredit.db'}?mode=ro", uri=True)
    try:
        found = con.execute(
            "SELECT path FROM lake_file WHERE retired_at IS NULL AND kind = ? ORDER BY path", (kind,)
        ).fetchall()
    finally:
        con.close()
    return [str(data / "lake" / p) for (p,) in found]


# ---------------------------------------------------------------- measuring a process


def _rss_kib(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _tree_rss_kib(root: int) -> int:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            tree.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _rss_kib(pid)
        todo.extend(tree.get(pid, []))
    return total


@dataclass
class Measured:
    seconds: float
    cpu_seconds: float
    peak_bytes: float  # the larger of the sampled tree RSS and the kernel's max RSS of one process
    exit_code: int
    stdout: str
    stderr: str


def measure(cmd: list[str], env: dict[str, str]) -> Measured:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = 0
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        while proc.poll() is None:
            peak = max(peak, _tree_rss_kib(proc.pid))
            time.sleep(0.1)
        seconds = time.perf_counter() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return Measured(seconds, cpu, max(peak, after.ru_maxrss) * 1024.0, proc.returncode, stdout, stderr)


BASELINE_SCRIPT = """
import duckdb, json, sys
files = json.loads(sys.stdin.read())
con = duckdb.connect()
for kind, paths in files.items():
    rel = con.sql("SELECT * FROM read_parquet($p, union_by_name = true)", params={"p": paths})
    aggs = ", ".join(f'min("{c}")' for c in rel.columns)
    sql = f"SELECT count(*), {aggs} FROM read_parquet($p, union_by_name = true)"
    con.execute(sql, {"p": paths}).to_arrow_table()
"""


def baseline(data: Path) -> Measured:
    """A plain DuckDB scan of every column of the lake's orders and parcel scans, in a fresh process."""
    files = {kind: lake_paths(data, kind) for kind in BASELINE_KINDS}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(files, fh)
    try:
        cmd = [
            "sh",
            "-c",
            f"{shlex.quote(sys.executable)} -c {shlex.quote(BASELINE_SCRIPT)} < {shlex.quote(fh.name)}",
        ]
        return measure(cmd, _env())
    finally:
        os.unlink(fh.name)


# ---------------------------------------------------------------- the run


@dataclass
class Report:
    scale: str
    seed: int
    engine: str
    monitor: Measured
    base: Measured
    detectors: list[dict] = field(default_factory=list)
    scores: list[dict] = field(default_factory=list)
    lake: dict[str, dict[str, int]] = field(default_factory=dict)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_peak: float = 0.0

    @property
    def quality_ok(self) -> bool:
        by = {f"{s['kind']} {s['unit']}": s for s in self.scores}
        return all((by.get(u) or {}).get("f1") is not None and by[u]["f1"] >= f for u, f in F1_FLOORS.items())

    @property
    def time_ok(self) -> bool:
        return self.monitor.exit_code == 0 and self.monitor.seconds < BUDGET_SECONDS

    @property
    def memory_ok(self) -> bool:
        return self.monitor.exit_code == 0 and self.monitor.peak_bytes < BUDGET_BYTES

    @property
    def passed(self) -> bool:
        return self.time_ok and self.memory_ok and self.quality_ok


def fresh_store(data: Path, runs: Path) -> Path:
    """A copy of the loaded store directory (keys, SQLite file) for one run, over the same lake."""
    shutil.rmtree(runs, ignore_errors=True)
    runs.mkdir(parents=True)
    for entry in data.iterdir():
        if entry.name in KEEP_OUT_OF_RUN_COPY or entry.name == LOADED:
            continue
        target = runs / entry.name
        if entry.is_dir():
            shutil.copytree(entry, target)
        else:
            shutil.copy2(entry, target)
    return runs


def run(args: argparse.Namespace) -> Report:
    workdir = (
        args.workdir or Path(tempfile.gettempdir()) / "ecredit-bench-monitor" / f"{args.scale}-{args.seed}"
    )
    province, data = ensure_province(workdir, args.scale, args.seed, args.compact)
    lake = lake_summary(data)
    _log(
        "lake: "
        + ", ".join(f"{k} {v['rows']:,} rows in {v['files']:,} files" for k, v in sorted(lake.items()))
    )
    store = fresh_store(data, workdir / "runs")
    env = _env(ECREDIT_DATA_DIR=str(store), ECREDIT_LAKE=str(data / "lake"))
    if args.skip_baseline:
        base = Measured(0.0, 0.0, 0.0, 0, "", "")
    else:
        _log("baseline: DuckDB scan of orders and parcel_scans …")
        base = baseline(data)
        if base.exit_code:
            raise SystemExit(f"baseline failed:\n{base.stderr[-3000:]}")
        _log(f"  {base.seconds:.1f} s")
    load_before = _load_average()
    _log(f"ecredit monitor run --engine {args.engine} (load {load_before[0]:.2f}) …")
    cmd = [*_ecredit(), "monitor", "run", "--engine", args.engine, "--json"]
    monitor = measure(cmd, env)
    load_after = _load_average()
    _log(f"  {monitor.seconds:.1f} s, exit {monitor.exit_code}, peak {monitor.peak_bytes / 1e9:.2f} GB")
    (workdir / "monitor-run.stderr").write_text(monitor.stderr)  # the step log, with ECREDIT_LOG_STEPS=1
    if monitor.exit_code:
        print(monitor.stderr[-5000:], file=sys.stderr)
    detectors = [json.loads(line) for line in monitor.stdout.splitlines() if line.startswith("{")]
    scores: list[dict] = []
    if monitor.exit_code == 0:
        evaluated = subprocess.run(
            [*_ecredit(), "monitor", "evaluate", "--truth", str(province), "--json"],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        )
        scores = [json.loads(line) for line in evaluated.stdout.splitlines() if line.startswith("{")]
    shutil.rmtree(store, ignore_errors=True)
    return Report(
        args.scale,
        args.seed,
        args.engine,
        monitor,
        base,
        detectors,
        scores,
        lake,
        load_before,
        load_after,
    )


# ---------------------------------------------------------------- reporting


def _verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def rows(report: Report) -> list[list[str]]:
    m, b = report.monitor, report.base
    ratio = f"{m.seconds / b.seconds:.1f}" if b.seconds else "-"
    out = [
        ["measure", "monitor run", "baseline (same run)", "ratio", "budget", "result"],
        [
            "wall time",
            f"{m.seconds:.1f} s (CPU {m.cpu_seconds:.1f} s)",
            f"{b.seconds:.1f} s DuckDB scan of orders + parcel_scans (CPU {b.cpu_seconds:.1f} s)"
            if b.seconds
            else "skipped",
            ratio,
            f"< {BUDGET_SECONDS:.0f} s",
            _verdict(report.time_ok),
        ],
        [
            "peak memory (RSS)",
            f"{m.peak_bytes / 1e9:.2f} GB",
            f"{b.peak_bytes / 1e9:.2f} GB" if b.seconds else "",
            "",
            f"< {BUDGET_BYTES / 1e9:.0f} GB",
            _verdict(report.memory_ok),
        ],
    ]
    for d in report.detectors:
        out.append(
            [f"  {d['detector']}", f"{d['seconds']:.1f} s, {d['findings']:,} findings", "", "", "", ""]
        )
    return out


def quality_rows(report: Report) -> list[list[str]]:
    out = [["unit", "truth", "warned", "precision", "recall", "F1", "floor", "result"]]
    for s in report.scores:
        unit = f"{s['kind']} {s['unit']}"
        floor = F1_FLOORS.get(unit)
        ok = floor is None or (s["f1"] is not None and s["f1"] >= floor)
        out.append(
            [
                unit,
                f"{s['truth']:,}",
                f"{s['predicted']:,}",
                _f(s["precision"]),
                _f(s["recall"]),
                _f(s["f1"]),
                "-" if floor is None else f"{floor:.2f}",
                _verdict(ok),
            ]
        )
    return out


def _plain(table: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in table)


def _markdown(table: list[list[str]], right: set[int]) -> str:
    head = "| " + " | ".join(table[0]) + " |"
    rule = "|" + "|".join("---:" if i in right else "---" for i in range(len(table[0]))) + "|"
    return "\n".join([head, rule, *("| " + " | ".join(r) + " |" for r in table[1:])])


def machine() -> str:
    cpu = platform_module.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 2**20:.0f} GiB"
    import duckdb

    return (
        f"{os.cpu_count()} CPUs ({cpu}), {mem} memory, Python {platform_module.python_version()}, "
        f"DuckDB {duckdb.__version__}"
    )


def markdown(command: str, when: str, report: Report) -> str:
    lb, la = report.load_before, report.load_after
    lake = ", ".join(f"{k} {v['rows']:,} rows / {v['files']:,} files" for k, v in sorted(report.lake.items()))
    return "\n".join(
        [
            f"## `bench/monitor.py`: the full monitor run on `{report.scale}` — {when}",
            "",
            "```",
            command,
            "```",
            "",
            f"Machine: {machine()}; load average {lb[0]:.2f}, {lb[1]:.2f}, {lb[2]:.2f} before the run, "
            f"{la[0]:.2f}, {la[1]:.2f}, {la[2]:.2f} after (the machine is shared). Engine {report.engine}; "
            f"province {report.scale}, seed {report.seed}; lake: {lake}. "
            f"**{'Budget met' if report.passed else 'Budget not met'}.**",
            "",
            _markdown(rows(report), {1, 2, 3}),
            "",
            _markdown(quality_rows(report), {1, 2, 3, 4, 5, 6}),
            "",
        ]
    )


def record(section: str) -> None:
    existing = DOCS.read_text(encoding="utf-8")
    DOCS.write_text(existing.rstrip("\n") + "\n\n" + section, encoding="utf-8")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="medium", choices=("tiny", "small", "medium", "large"))
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--engine", default="duckdb", choices=("duckdb", "spark"))
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where the province is built and kept (see above)"
    )
    parser.add_argument(
        "--compact", action="store_true", help="ecredit lake compact the province first (kept)"
    )
    parser.add_argument("--skip-baseline", action="store_true", help="do not run the DuckDB scan baseline")
    parser.add_argument(
        "--record", action="store_true", help=f"append the results to {DOCS.relative_to(REPO)}"
    )
    parser.add_argument("--load-into-store", type=Path, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.load_into_store is not None:  # the loading child of ensure_province
        load_province(args.load_into_store)
        return 0
    command = "python bench/monitor.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = run(args)
    print()
    print(_plain(rows(report)))
    print()
    print(_plain(quality_rows(report)))
    lb, la = report.load_before, report.load_after
    print(f"\nload average {lb[0]:.2f} before, {la[0]:.2f} after; {'PASS' if report.passed else 'FAIL'}")
    if args.record:
        record(markdown(command, when, report))
        print(f"results appended to {DOCS}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
