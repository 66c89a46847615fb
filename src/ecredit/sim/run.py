"""Running a simulation: the world, the tasks (listings, account chunks, order batches) on a process pool,
the files, the ground truth and the manifest.

Every task's output is a deterministic function of (seed, platform, task), and the main process writes
the shared files in a fixed order, so the output is byte-identical whatever the number of workers.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import hashlib
import json
import multiprocessing
import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from ecredit.errors import EcreditError
from ecredit.sim import columns
from ecredit.sim.geo import load_geo
from ecredit.sim.orders import generate_batch
from ecredit.sim.params import (
    FORMAT_VERSION,
    GENERATOR_VERSION,
    SCALES,
    TZ,
    Knobs,
    Params,
    knobs_dict,
    scale_dict,
)
from ecredit.sim.platform import Context, build_context
from ecredit.sim.world import (
    CARRIERS,
    PLATFORMS,
    REGISTER_COLUMNS,
    SHOP_COLUMNS,
    World,
    build_world,
    register_rows,
)

EVENT_KINDS = ("accounts", "listings", "orders", "payments", "parcels", "parcel_scans", "reviews")
FORMATS = ("csv", "parquet")
# Low-cardinality columns worth a Parquet dictionary.
DICTIONARY_COLUMNS = {
    "status",
    "region_code",
    "ship_to_region",
    "ship_from_region",
    "method",
    "category",
    "kind",
    "carrier_uscc",
    "shop_id",
}
PARQUET_OPTIONS = {"compression": "zstd", "compression_level": 3, "write_statistics": True}


class SimulationError(EcreditError):
    """The simulation cannot run with these arguments."""


@dataclass
class FileInfo:
    path: str  # relative to the output directory, with /
    rows: int
    bytes: int = 0
    sha256: str = ""


@dataclass
class TaskResult:
    task: tuple[str, int, int]
    files: list[FileInfo]
    labels: dict[str, pa.Table] = field(default_factory=dict)


@dataclass
class Result:
    out: Path
    manifest: dict[str, Any]
    seconds: float = 0.0


# ---------------------------------------------------------------- writing


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _csv_ready(table: pa.Table) -> pa.Table:
    """Timestamps as ISO 8601 strings with +08:00; everything else as is."""
    cols = []
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_timestamp(col.type):
            col = pa.chunked_array([columns.timestamp_strings(c) for c in col.chunks], type=pa.string())
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def write_csv_table(table: pa.Table, path: Path, *, header: bool) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    options = pa_csv.WriteOptions(include_header=header, quoting_style="none", quoting_header="none")
    pa_csv.write_csv(_csv_ready(table), str(path), options)


def write_rows_csv(path: Path, header: tuple[str, ...] | list[str], rows: list[dict[str, str]]) -> FileInfo:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(header), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return FileInfo(path.name, len(rows))


def _part_path(out: Path, platform: str, kind: str, part: int, fmt: str) -> Path:
    if fmt == "parquet":
        return out / platform / kind / f"{kind}-{part:05d}.parquet"
    return out / platform / ".parts" / f"{kind}-{part:05d}.csv"


def write_part(out: Path, platform: str, kind: str, part: int, table: pa.Table, fmt: str) -> FileInfo:
    path = _part_path(out, platform, kind, part, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        dict_cols = [c for c in table.column_names if c in DICTIONARY_COLUMNS]
        pq.write_table(table, str(path), use_dictionary=dict_cols, **PARQUET_OPTIONS)
        info = FileInfo(path.relative_to(out).as_posix(), table.num_rows, path.stat().st_size)
        info.sha256 = _hash_file(path)
        return info
    write_csv_table(table, path, header=False)
    return FileInfo(path.relative_to(out).as_posix(), table.num_rows, path.stat().st_size)


# ---------------------------------------------------------------- tasks (run in workers)

_STATE: dict[str, Any] = {}


def _init_worker(world: World, out: str, fmt: str) -> None:
    _STATE.clear()
    _STATE.update(world=world, out=Path(out), fmt=fmt, ctx=None)


def _context(p: int) -> Context:
    ctx = _STATE.get("ctx")
    if ctx is None or ctx.p != p:
        _STATE["ctx"] = None  # free the previous platform first
        ctx = build_context(_STATE["world"], p)
        _STATE["ctx"] = ctx
    return ctx


def _run_task(task: tuple[str, int, int]) -> TaskResult:
    what, p, part = task
    ctx = _context(p)
    out, fmt = _STATE["out"], _STATE["fmt"]
    if what == "accounts":
        tables = {"accounts": ctx.accounts_table(part)}
        labels: dict[str, pa.Table] = {}
    elif what == "listings":
        tables = {"listings": ctx.listings_table()}
        labels = {}
    else:
        batch = generate_batch(ctx, part)
        tables, labels = batch.tables, batch.labels
    files = [write_part(out, ctx.code, kind, part, table, fmt) for kind, table in tables.items()]
    return TaskResult(task, files, labels)


# ---------------------------------------------------------------- main process


def _tasks(world: World) -> tuple[list[tuple[str, int, int]], dict[str, pa.Table]]:
    """The task list and the labels known from the plans, one platform context at a time."""
    tasks: list[tuple[str, int, int]] = []
    truth: dict[str, list[pa.Table]] = {}
    for p in range(len(world.platform_codes)):
        ctx = build_context(world, p)
        tasks.append(("listings", p, 0))
        tasks += [("accounts", p, i) for i in range(ctx.accounts_parts())]
        tasks += [("orders", p, b) for b in range(len(ctx.batch_days))]
        for name, table in _plan_truth(world, ctx).items():
            truth.setdefault(name, []).append(table)
        del ctx
    truth["reopened_shops"] = [_reopened_truth(world)]
    return tasks, {name: pa.concat_tables(tables) for name, tables in truth.items()}


def _iso(epoch_s: int) -> str:
    return dt.datetime.fromtimestamp(epoch_s, TZ).isoformat()


def _ensure_empty(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SimulationError(f"{out} exists and is not an empty directory")
    out.mkdir(parents=True, exist_ok=True)


def default_workers(params: Params) -> int:
    if params.scale.orders < 500_000:
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def simulate(
    out: Path,
    *,
    scale: str = "tiny",
    seed: int = 1,
    fmt: str | None = None,
    workers: int | None = None,
    orders: int | None = None,
    log: Callable[[str], None] = lambda _: None,
) -> Result:
    """Write a synthetic province into ``out`` (which must be empty or missing)."""
    import time

    if scale not in SCALES:
        raise SimulationError(f"--scale must be one of {', '.join(SCALES)} (got {scale!r})")
    sc = SCALES[scale]
    if orders is not None:
        if orders < 100:
            raise SimulationError("--orders must be at least 100")
        import dataclasses

        sc = dataclasses.replace(sc, orders=orders)
    fmt = fmt or sc.default_format
    if fmt not in FORMATS:
        raise SimulationError(f"--format must be csv or parquet (got {fmt!r})")
    params = Params(scale=sc, seed=seed, fmt=fmt, knobs=Knobs())
    workers = workers or default_workers(params)
    _ensure_empty(out)
    began = time.perf_counter()

    world = build_world(params)
    files: list[FileInfo] = []
    log(f"world: {len(world.shop_ids):,} shops, {len(world.companies):,} registered companies")
    files.append(
        _rel(
            out, write_rows_csv(out / "register.csv", REGISTER_COLUMNS, register_rows(world)), "register.csv"
        )
    )
    files.append(
        _rel(
            out,
            write_rows_csv(
                out / "platforms.csv",
                ("code", "name", "uscc"),
                [
                    {"code": c, "name": n, "uscc": u}
                    for (c, n, _, _), u in zip(PLATFORMS, world.platform_usccs, strict=True)
                ],
            ),
            "platforms.csv",
        )
    )
    files.append(
        _rel(
            out,
            write_rows_csv(
                out / "carriers.csv",
                ("code", "name", "uscc", "region_code", "waybill_prefix"),
                [
                    {"code": c[0], "name": c[1], "uscc": u, "region_code": c[2], "waybill_prefix": c[3]}
                    for c, u in zip(CARRIERS, world.carrier_usccs, strict=True)
                ],
            ),
            "carriers.csv",
        )
    )
    for p, code in enumerate(world.platform_codes):
        lo, hi = world.platform_shop_range[p]
        rel = f"{code}/shops.csv"
        files.append(_rel(out, write_rows_csv(out / rel, SHOP_COLUMNS, world.shop_rows[lo:hi]), rel))

    tasks, truth_plan = _tasks(world)
    # The registry rows are written: keep only what the workers need (O(shops) Python objects).
    world.companies.clear()
    world.shop_rows.clear()
    gc.collect()
    log(f"{len(tasks)} tasks on {workers} worker(s)")
    results: list[TaskResult] = []
    for i, result in enumerate(_execute(world, out, fmt, tasks, workers)):
        results.append(result)
        what, p, part = result.task
        if what == "orders":
            rows = next((f.rows for f in result.files if _kind_of(f.path) == "orders"), 0)
            log(f"  [{i + 1}/{len(tasks)}] {world.platform_codes[p]} batch {part}: {rows:,} orders")

    # Event files.
    by_platform_kind: dict[tuple[str, str], list[FileInfo]] = {}
    for r in results:
        code = world.platform_codes[r.task[1]]
        for f in r.files:
            kind = _kind_of(f.path)
            by_platform_kind.setdefault((code, kind), []).append(f)
    for (code, kind), parts in sorted(by_platform_kind.items()):
        parts.sort(key=lambda f: f.path)
        if fmt == "parquet":
            files.extend(parts)
        else:
            files.append(_concat_csv(out, code, kind, parts, _header(kind)))
    if fmt == "csv":
        for code in world.platform_codes:
            shutil.rmtree(out / code / ".parts", ignore_errors=True)

    # Ground truth.
    labels: dict[str, list[pa.Table]] = {}
    for r in results:
        for name, table in r.labels.items():
            labels.setdefault(name, []).append(table)
    truth = dict(truth_plan)
    for name, tables in labels.items():
        truth[name] = pa.concat_tables([_decoded(t) for t in tables])
    truth["extortion_reviewers"] = _extortion_reviewers(truth["extortion_cases"])
    for name in sorted(truth):
        rel = f"truth/{name}.csv"
        write_csv_table(truth[name], out / rel, header=True)
        files.append(FileInfo(rel, truth[name].num_rows))

    for f in files:
        path = out / f.path
        f.bytes = path.stat().st_size
        if not f.sha256:
            f.sha256 = _hash_file(path)
    manifest = _manifest(params, world, files)
    (out / "manifest.json").write_text(
        json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return Result(out=out, manifest=manifest, seconds=time.perf_counter() - began)


def _kind_of(part_path: str) -> str:
    """The kind of a part file: ``code/kind/kind-N.parquet`` or ``code/.parts/kind-N.csv``."""
    return part_path.rsplit("/", maxsplit=1)[-1].rsplit("-", 1)[0]


def _rel(out: Path, info: FileInfo, rel: str) -> FileInfo:
    info.path = rel
    return info


def _execute(
    world: World, out: Path, fmt: str, tasks: list[tuple[str, int, int]], workers: int
) -> Iterator[TaskResult]:
    if workers <= 1:
        _init_worker(world.for_workers(), str(out), fmt)
        try:
            for task in tasks:
                yield _run_task(task)
        finally:
            _STATE.clear()
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_init_worker,
        initargs=(world.for_workers(), str(out), fmt),
    ) as pool:
        yield from pool.map(_run_task, tasks)


_HEADERS = {
    "accounts": ("account_id", "registered_at", "region_code", "phone", "id_number", "device_id"),
    "listings": (
        "listing_id",
        "shop_id",
        "gtin",
        "title",
        "category",
        "price_cents",
        "listed_at",
        "delisted_at",
    ),
    "orders": (
        "order_id",
        "shop_id",
        "buyer_id",
        "listing_id",
        "gtin",
        "quantity",
        "amount_cents",
        "ordered_at",
        "paid_at",
        "status",
        "ship_to_region",
    ),
    "payments": (
        "payment_id",
        "order_id",
        "payer_ref",
        "method",
        "amount_cents",
        "paid_at",
        "refund_cents",
        "refunded_at",
    ),
    "parcels": (
        "parcel_id",
        "order_id",
        "carrier_uscc",
        "weight_grams",
        "ship_from_region",
        "ship_to_region",
        "created_at",
    ),
    "parcel_scans": ("parcel_id", "scan_at", "status", "region_code", "courier_id"),
    "reviews": ("review_id", "order_id", "shop_id", "buyer_id", "rating", "text", "reviewed_at", "kind"),
}


def _header(kind: str) -> tuple[str, ...]:
    return _HEADERS[kind]


def _concat_csv(out: Path, code: str, kind: str, parts: list[FileInfo], header: tuple[str, ...]) -> FileInfo:
    rel = f"{code}/{kind}.csv"
    target = out / rel
    h = hashlib.sha256()
    rows = 0
    with target.open("wb") as dst:
        line = (",".join(header) + "\n").encode()
        dst.write(line)
        h.update(line)
        for f in parts:
            rows += f.rows
            with (out / f.path).open("rb") as src:
                while chunk := src.read(1 << 22):
                    dst.write(chunk)
                    h.update(chunk)
    return FileInfo(rel, rows, target.stat().st_size, h.hexdigest())


def _plan_truth(world: World, ctx: Context) -> dict[str, pa.Table]:
    """Labels known from a platform's plans: ring membership, shared payers, review bursts."""
    rings: dict[str, list[Any]] = {
        k: [] for k in ("ring_id", "platform", "member_type", "member_id", "window_start", "window_end")
    }
    payers: dict[str, list[Any]] = {
        k: [] for k in ("platform", "payer_ref", "source", "group_id", "account_id")
    }
    bursts: dict[str, list[Any]] = {
        k: [] for k in ("platform", "burst_id", "shop_id", "window_start", "window_end")
    }

    def acc_id(a: Any) -> str:
        return ctx.account_id_strings(np.array([a]))[0].as_py()

    def ref(payer: Any) -> str:
        return ctx.payer_ref_strings(np.array([payer]))[0].as_py()

    shop_ids = world.shop_ids[ctx.lo : ctx.lo + ctx.n_shops]
    for ring in ctx.rings:
        members = [("shop", shop_ids[s]) for s in ring.shops] + [
            ("account", acc_id(a)) for a in ring.accounts
        ]
        for mtype, mid in members:
            rings["ring_id"].append(ring.ring_id)
            rings["platform"].append(ctx.code)
            rings["member_type"].append(mtype)
            rings["member_id"].append(mid)
            rings["window_start"].append(_iso(ring.start_s))
            rings["window_end"].append(_iso(ring.end_s))
        for a in ring.accounts if len(ring.payers) else []:
            payers["platform"].append(ctx.code)
            payers["payer_ref"].append(ref(ctx.acc_payer[a]))
            payers["source"].append("ring")
            payers["group_id"].append(ring.ring_id)
            payers["account_id"].append(acc_id(a))
    for farm in ctx.farms:
        for a in farm.accounts:
            payers["platform"].append(ctx.code)
            payers["payer_ref"].append(ref(farm.payer))
            payers["source"].append("farm")
            payers["group_id"].append(farm.farm_id)
            payers["account_id"].append(acc_id(a))
    for b in ctx.bursts:
        bursts["platform"].append(ctx.code)
        bursts["burst_id"].append(b.burst_id)
        bursts["shop_id"].append(shop_ids[b.shop])
        bursts["window_start"].append(_iso(b.start_s))
        bursts["window_end"].append(_iso(b.end_s))
    return {
        "brushing_rings": _strings_table(rings),
        "shared_payers": _strings_table(payers),
        "review_bursts": _strings_table(bursts),
    }


def _reopened_truth(world: World) -> pa.Table:
    """Problem shops whose operators re-opened under a new name."""
    reopened: dict[str, list[Any]] = {
        k: []
        for k in (
            "operator_type",
            "operator_name",
            "link",
            "link_key",
            "old_platform",
            "old_shop_id",
            "old_shop_name",
            "old_operator_uscc",
            "closed_at",
            "new_platform",
            "new_shop_id",
            "new_shop_name",
            "new_operator_uscc",
            "reopened_at",
        )
    }
    for r in world.reopenings:
        old, new = world.shop_rows[r.old_shop], world.shop_rows[r.new_shop]
        key = {
            "same_id_number": old["operator_id_number"],
            "same_uscc": old["operator_uscc"],
            "new_company_same_legal_rep": old["legal_rep_id_number"],
        }[r.link]
        for k, v in (
            ("operator_type", old["operator_type"]),
            ("operator_name", old["operator_name"]),
            ("link", r.link),
            ("link_key", key),
            ("old_platform", world.platform_codes[world.shop_platform[r.old_shop]]),
            ("old_shop_id", old["platform_shop_id"]),
            ("old_shop_name", old["shop_name"]),
            ("old_operator_uscc", old["operator_uscc"] or None),
            ("closed_at", _iso(r.close_s)),
            ("new_platform", world.platform_codes[world.shop_platform[r.new_shop]]),
            ("new_shop_id", new["platform_shop_id"]),
            ("new_shop_name", new["shop_name"]),
            ("new_operator_uscc", new["operator_uscc"] or None),
            ("reopened_at", _iso(r.open_s)),
        ):
            reopened[k].append(v)
    return _strings_table(reopened)


def _decoded(table: pa.Table) -> pa.Table:
    """Dictionary-encoded columns as plain strings (label tables are small)."""
    cols = [c.cast(c.type.value_type) if pa.types.is_dictionary(c.type) else c for c in table.columns]
    return pa.table(cols, names=table.column_names)


def _strings_table(cols: dict[str, list[Any]]) -> pa.Table:
    return pa.table({k: pa.array(v, type=pa.string()) for k, v in cols.items()})


def _extortion_reviewers(cases: pa.Table) -> pa.Table:
    if cases.num_rows == 0:
        return pa.table(
            {k: pa.array([], type=pa.string()) for k in ("platform", "account_id")}
            | {
                k: pa.array([], type=pa.int64())
                for k in ("negative_reviews", "shops", "refunds", "refund_cents")
            }
        )
    refunded = pc.is_valid(cases["refund_cents"]).cast(pa.int64())
    t = cases.append_column("refunded", refunded)
    g = t.group_by(["platform", "account_id"], use_threads=False).aggregate(
        [
            ("review_id", "count"),
            ("shop_id", "count_distinct"),
            ("refunded", "sum"),
            ("refund_cents", "sum"),
            ("reviewed_at", "min"),
            ("reviewed_at", "max"),
        ]
    )
    g = g.sort_by([("platform", "ascending"), ("account_id", "ascending")])
    return pa.table(
        {
            "platform": g["platform"],
            "account_id": g["account_id"],
            "negative_reviews": g["review_id_count"],
            "shops": g["shop_id_count_distinct"],
            "refunds": g["refunded_sum"],
            "refund_cents": g["refund_cents_sum"],
            "first_review_at": g["reviewed_at_min"],
            "last_review_at": g["reviewed_at_max"],
        }
    )


def _manifest(params: Params, world: World, files: list[FileInfo]) -> dict[str, Any]:
    files = sorted(files, key=lambda f: f.path)
    counts: dict[str, int] = {}
    for f in files:
        parts = f.path.split("/")
        key = f"{parts[0]}/{parts[1].split('.')[0]}" if len(parts) > 1 else parts[0].split(".")[0]
        counts[key] = counts.get(key, 0) + f.rows
    geo = load_geo()
    return {
        "format_version": FORMAT_VERSION,
        "generator": f"ecredit.sim {GENERATOR_VERSION}",
        "seed": params.seed,
        "scale": params.scale.name,
        "format": params.fmt,
        "period": {"start": _iso(params.start_s), "as_of": _iso(params.as_of_s)},
        "scale_parameters": scale_dict(params.scale),
        "knobs": knobs_dict(params.knobs),
        "platforms": list(world.platform_codes),
        "prefectures": list(geo.prefecture_codes),
        "row_counts": counts,
        "files": [{"path": f.path, "rows": f.rows, "bytes": f.bytes, "sha256": f.sha256} for f in files],
    }


def total_rows(manifest: dict[str, Any], kind: str) -> int:
    return sum(
        v
        for k, v in manifest["row_counts"].items()
        if k.split("/")[-1] == kind and "/" in k and not k.startswith("truth")
    )
