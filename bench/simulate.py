"""Simulation benchmark: ``ecredit simulate`` at a scale, against writing the same rows with pyarrow alone.

One command::

    .venv/bin/python bench/simulate.py                      # medium (10 million orders), Parquet
    .venv/bin/python bench/simulate.py --scale small        # a quick run
    .venv/bin/python bench/simulate.py --record             # append the results to docs/benchmarks.md

It runs ``ecredit simulate --scale S --seed N --out DIR`` as a subprocess, takes its wall time and samples
the resident memory of the whole process tree (the main process and its workers, summed) every 0.1 s.
Budget for ``medium``: under 3 minutes and under 4 GiB peak memory.

Baseline, in the same run, on the same machine: for every file the simulator wrote, write a file with the
same number of rows and the same column types (same part sizes, same format and compression) filled with
random values, with numpy and pyarrow alone: no model, no consistency, no identifiers. The ratio of the two
times is what the simulation costs on top of the bare I/O of its output; it stays put when the shared
machine is merely slow.
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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from ecredit.sim.run import DICTIONARY_COLUMNS, PARQUET_OPTIONS

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"
BUDGETS = {"medium": (180.0, 4.0)}  # seconds, GiB
KINDS = ("accounts", "listings", "orders", "payments", "parcels", "parcel_scans", "reviews")
console = Console(width=None if sys.stdout.isatty() else 150)


@dataclass
class SimRun:
    seconds: float
    cpu_seconds: float
    peak_tree_gib: float
    peak_process_gib: float
    exit_code: int
    manifest: dict
    output: str


@dataclass
class Baseline:
    seconds: float
    cpu_seconds: float
    rows: int
    bytes: int
    files: int


@dataclass
class Report:
    scale: str
    seed: int
    workers: str
    sim: SimRun
    base: Baseline
    rows: dict[str, int] = field(default_factory=dict)
    truth: dict[str, int] = field(default_factory=dict)
    output_bytes: int = 0

    @property
    def budget(self) -> tuple[float, float] | None:
        return BUDGETS.get(self.scale)

    @property
    def passed(self) -> bool:
        if self.sim.exit_code != 0:
            return False
        if self.budget is None:
            return True
        seconds, gib = self.budget
        return self.sim.seconds < seconds and self.sim.peak_tree_gib < gib


# ---------------------------------------------------------------- the simulation


def _rss_kib(pid: int) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _tree_rss_kib(root: int) -> int:
    tree = _children()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += _rss_kib(pid)
        todo.extend(tree.get(pid, []))
    return total


def _ecredit() -> list[str]:
    candidate = Path(sys.executable).parent / "ecredit"
    return [str(candidate)] if candidate.exists() else [sys.executable, "-m", "ecredit.cli"]


def run_simulation(args: argparse.Namespace, out: Path) -> SimRun:
    cmd = [*_ecredit(), "simulate", "--scale", args.scale, "--seed", str(args.seed), "--out", str(out)]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    if args.format:
        cmd += ["--format", args.format]
    log = out.parent / "simulate.log"
    peak = 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with log.open("w") as fh:
        began = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        while proc.poll() is None:
            peak = max(peak, _tree_rss_kib(proc.pid))
            time.sleep(0.1)
        seconds = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    max_child = after.ru_maxrss  # KiB, largest single process
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    manifest = json.loads((out / "manifest.json").read_text()) if (out / "manifest.json").exists() else {}
    return SimRun(
        seconds=seconds,
        cpu_seconds=cpu,
        peak_tree_gib=max(peak, max_child) / 2**20,
        peak_process_gib=max_child / 2**20,
        exit_code=proc.returncode,
        manifest=manifest,
        output=log.read_text(errors="replace")[-3000:],
    )


# ---------------------------------------------------------------- the baseline


def _random_column(rng: np.random.Generator, typ: pa.DataType, n: int) -> pa.Array:
    if pa.types.is_dictionary(typ):
        values = pa.array([f"v{i:05d}" for i in range(64)])
        return pa.DictionaryArray.from_arrays(pa.array(rng.integers(0, 64, n, dtype=np.int32)), values)
    if pa.types.is_timestamp(typ):
        return pa.array(rng.integers(1_700_000_000_000, 1_740_000_000_000, n)).cast(typ)
    if pa.types.is_integer(typ):
        return pa.array(rng.integers(0, 1_000_000, n), type=typ)
    # Strings: random numbers printed by Arrow (about as long as the identifiers).
    return pc.cast(pa.array(rng.integers(10**12, 10**13, n)), pa.string())


def run_baseline(manifest: dict, out: Path, base_dir: Path) -> Baseline:
    """Write every event file again: same rows, same column types, same parts, random values."""
    rng = np.random.default_rng(0)
    fmt = manifest["format"]
    files = [
        f
        for f in manifest["files"]
        if f["path"].count("/") >= 1
        and not f["path"].startswith("truth/")
        and f["path"].split("/")[1].split(".")[0] in KINDS
    ]
    rows = size = 0
    began, began_cpu = time.perf_counter(), time.process_time()
    for f in files:
        src = out / f["path"]
        target = base_dir / f["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            schema = pq.read_schema(str(src))
        else:
            # CSV: the same number of columns, written as strings and integers like the real file.
            header = src.open(encoding="utf-8").readline().strip().split(",")
            schema = pa.schema([(name, pa.string()) for name in header])
        table = pa.table(
            {fld.name: _random_column(rng, fld.type, f["rows"]) for fld in schema}, schema=schema
        )
        if fmt == "parquet":
            dict_cols = [c for c in table.column_names if c in DICTIONARY_COLUMNS]
            pq.write_table(table, str(target), use_dictionary=dict_cols, **PARQUET_OPTIONS)
        else:
            pa_csv.write_csv(table, str(target), pa_csv.WriteOptions(quoting_style="none"))
        rows += f["rows"]
        size += target.stat().st_size
    return Baseline(
        seconds=time.perf_counter() - began,
        cpu_seconds=time.process_time() - began_cpu,
        rows=rows,
        bytes=size,
        files=len(files),
    )


# ---------------------------------------------------------------- reporting


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
    load = "?"
    with contextlib.suppress(OSError):
        load = Path("/proc/loadavg").read_text().split()[0]
    return {
        "nproc": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()),
        "memory": mem,
        "cpu": cpu,
        "os": f"{platform_module.system()} {platform_module.release()}",
        "python": platform_module.python_version(),
        "pyarrow": pa.__version__,
        "numpy": np.__version__,
        "load": load,
    }


def summarise(report: Report) -> None:
    counts = report.sim.manifest.get("row_counts", {})
    for key, n in counts.items():
        if key.startswith("truth/"):
            report.truth[key.removeprefix("truth/")] = n
        elif "/" in key:
            kind = key.split("/")[1]
            report.rows[kind] = report.rows.get(kind, 0) + n
    report.output_bytes = sum(f["bytes"] for f in report.sim.manifest.get("files", []))


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}×" if b else "-"


def _verdict(ok: bool) -> str:
    return "[green]pass[/]" if ok else "[red]FAIL[/]"


def table(report: Report) -> Table:
    sim, base = report.sim, report.base
    budget = report.budget
    t = Table(title=f"ecredit simulate --scale {report.scale} (seed {report.seed}, workers {report.workers})")
    for col in ("measure", "simulate", "baseline (same run)", "ratio", "budget", "result"):
        t.add_column(col)
    orders = report.rows.get("orders", 0)
    t.add_row(
        "wall time",
        f"{sim.seconds:.1f} s ({orders / sim.seconds:,.0f} orders/s)",
        f"{base.seconds:.1f} s pyarrow-only write of {base.rows:,} random rows" if base.rows else "skipped",
        _ratio(sim.seconds, base.seconds),
        f"< {budget[0]:.0f} s" if budget else "-",
        _verdict(sim.exit_code == 0 and (budget is None or sim.seconds < budget[0])),
    )
    t.add_row(
        "CPU time (all processes)",
        f"{sim.cpu_seconds:.1f} s",
        f"{base.cpu_seconds:.1f} s" if base.rows else "skipped",
        _ratio(sim.cpu_seconds, base.cpu_seconds),
        "",
        "",
    )
    t.add_row(
        "peak memory (process tree)",
        f"{sim.peak_tree_gib:.2f} GiB (largest process {sim.peak_process_gib:.2f} GiB)",
        "",
        "",
        f"< {budget[1]:.0f} GiB" if budget else "-",
        _verdict(budget is None or sim.peak_tree_gib < budget[1]),
    )
    t.add_row(
        "output",
        f"{report.output_bytes / 2**20:,.0f} MiB in {len(sim.manifest.get('files', []))} files",
        f"{base.bytes / 2**20:,.0f} MiB in {base.files} files" if base.rows else "",
        "",
        "",
        "",
    )
    for kind in KINDS:
        t.add_row(f"  {kind}", f"{report.rows.get(kind, 0):,} rows", "", "", "", "")
    t.caption = "labels: " + ", ".join(f"{k} {v:,}" for k, v in sorted(report.truth.items()))
    return t


def markdown(command: str, when: str, info: dict[str, str], report: Report) -> str:
    sim, base = report.sim, report.base
    budget = report.budget
    ok = "pass" if report.passed else "FAIL"
    lines = [
        f"## Synthetic province: `{report.scale}` — {when}",
        "",
        "```",
        command,
        "```",
        "",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} memory, {info['os']}, "
        f"Python {info['python']}, pyarrow {info['pyarrow']}, numpy {info['numpy']}; "
        f"load average {info['load']} at the start (the machine is shared).",
        "",
        "The simulation runs as a subprocess; its memory is the resident set of the whole process tree "
        "(main process and workers, summed). The baseline writes every event file again with the same "
        "rows, column types, part sizes, format and compression, filled with random values by numpy and "
        "pyarrow alone, in one process.",
        "",
        "| measure | simulate | baseline (same run) | ratio | budget | result |",
        "|---|---:|---:|---:|---|---|",
        f"| wall time, `ecredit simulate --scale {report.scale}` (workers: {report.workers}) | "
        f"{sim.seconds:.1f} s, {report.rows.get('orders', 0) / sim.seconds:,.0f} orders/s | "
        + (
            f"{base.seconds:.1f} s to write {base.rows:,} random rows of the same types with pyarrow alone"
            if base.rows
            else "skipped"
        )
        + f" | {_ratio(sim.seconds, base.seconds)} | {f'< {budget[0]:.0f} s' if budget else '-'} | {ok} |",
        f"| CPU time, all processes | {sim.cpu_seconds:.1f} s | "
        f"{f'{base.cpu_seconds:.1f} s' if base.rows else 'skipped'} | "
        f"{_ratio(sim.cpu_seconds, base.cpu_seconds)} | | |",
        f"| peak memory, process tree (sampled every 0.1 s) | {sim.peak_tree_gib:.2f} GiB "
        f"(largest process {sim.peak_process_gib:.2f} GiB) | | | "
        f"{f'< {budget[1]:.0f} GiB' if budget else '-'} | {ok} |",
        f"| output | {report.output_bytes / 2**20:,.0f} MiB, {len(sim.manifest.get('files', []))} files "
        f"({sim.manifest.get('format', '?')}) | "
        f"{f'{base.bytes / 2**20:,.0f} MiB' if base.rows else ''} | | | |",
        "",
        "Rows: " + ", ".join(f"{k} {report.rows.get(k, 0):,}" for k in KINDS) + ".",
        "",
        "Labels: " + ", ".join(f"{k} {v:,}" for k, v in sorted(report.truth.items())) + ".",
    ]
    return "\n".join(lines) + "\n"


def record(section: str) -> None:
    existing = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    DOCS.write_text(existing.rstrip("\n") + "\n\n" + section, encoding="utf-8")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="medium", choices=("tiny", "small", "medium", "large"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None, help="passed to ecredit simulate")
    parser.add_argument(
        "--format", choices=("csv", "parquet"), default=None, help="passed to ecredit simulate"
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep the files here (default: a temp dir)"
    )
    parser.add_argument("--skip-baseline", action="store_true", help="do not run the pyarrow-only baseline")
    parser.add_argument(
        "--record", action="store_true", help=f"append the results to {DOCS.relative_to(REPO)}"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python bench/simulate.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    when = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    info = machine()
    console.print(
        f"[bold]simulation benchmark[/] {when} — {info['nproc']} CPUs, {info['memory']}, load {info['load']}"
    )
    own = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="ecredit-sim-bench-")) if own else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        out = workdir / "province"
        if out.exists():
            shutil.rmtree(out)
        console.print(f"ecredit simulate --scale {args.scale} --seed {args.seed} --out {out} …")
        sim = run_simulation(args, out)
        console.print(f"  {sim.seconds:.1f} s, exit {sim.exit_code}, peak {sim.peak_tree_gib:.2f} GiB")
        if sim.exit_code != 0:
            console.print(sim.output, markup=False, highlight=False)
            return 1
        if args.skip_baseline:
            base = Baseline(0.0, 0.0, 0, 0, 0)
        else:
            console.print("baseline: the same rows, random values, pyarrow alone …")
            base_dir = workdir / "baseline"
            shutil.rmtree(base_dir, ignore_errors=True)
            base = run_baseline(sim.manifest, out, base_dir)
            shutil.rmtree(base_dir, ignore_errors=True)
            console.print(f"  {base.seconds:.1f} s")
        workers = str(args.workers) if args.workers else "default"
        report = Report(args.scale, args.seed, workers, sim, base)
        summarise(report)
        console.print(table(report))
        if args.record:
            record(markdown(command, when, info, report))
            console.print(f"results appended to {DOCS}")
        return 0 if report.passed else 1
    finally:
        if own:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            console.print(f"files kept in {workdir}")


if __name__ == "__main__":
    sys.exit(main())
