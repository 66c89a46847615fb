"""Real-time checks at intake: what they cost a batch, and what they find in a simulated province.

One command::

    .venv/bin/python bench/realtime.py                 # both parts
    .venv/bin/python bench/realtime.py --files 0,100,1000 --batches 20

SQLite store in a temporary directory. Sections:

1. **Cost per REST batch.** ``intake.loads.submit`` of batches of 1,000 records in process (no HTTP), with
   the checks subscribed (``wiring.wire()``) and, as the baseline in the same run, without (the handlers
   unsubscribed), alternating. ``parcel_scans`` batches against a lake holding ``--files`` committed scan
   files of 1,000 rows in the check's window (the earlier scans it reads); ``parcels`` batches against a
   registry of eight carriers. The table gives milliseconds per batch (median) and the ratio.
2. **A scans file.** A time-ordered ``parcel_scans`` CSV of ``--scans`` rows (2,000,000: 18 days at
   110,000 scans a day; the medium province has 141,000) loaded with ``ingest_file`` into fresh stores,
   without and with the checks, twice each (off, on, off, on): each 250,000-row batch reads its parcels'
   earlier scans in the window.
3. **Ground truth.** The ``tiny`` province (seed 1) is simulated, its parcel scans ingested as files with
   the checks on, and the parcels of ``impossible_track`` warnings compared with ``truth/empty_parcels.csv``
   (the simulator labels no impossible track as such: empty parcels are signed 0.5-3 h after pick-up
   whatever the distance, so the far ones are impossible). The file load is timed with and without the
   checks (two fresh stores).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa

CST = dt.timezone(dt.timedelta(hours=8))
BATCH = 1_000
CARRIERS = 8


def _fresh_store(data: Path, url: str | None) -> None:
    os.environ["ECREDIT_DATA_DIR"] = str(data)
    if url:
        os.environ["ECREDIT_DATABASE_URL"] = url
    from ecredit import db, migrate
    from ecredit.config import get_settings
    from ecredit.security import context

    get_settings.cache_clear()
    db.get_engine.cache_clear()
    context.reset()
    migrate.upgrade(db.get_engine())


def _scans(rng: np.random.Generator, start: int, n: int, day: dt.date) -> list[dict]:
    """``n`` scans of ``n // 4`` honest parcels (pick-up, two transits, signed), on ``day``."""
    codes = ["370102", "370100", "370200", "370202"]
    base = dt.datetime.combine(day, dt.time(8), CST)
    out = []
    for p in range(n // 4):
        pid = f"BP{start + p:012d}"
        t0 = base + dt.timedelta(minutes=int(rng.integers(0, 240)))
        for k, (status, hours) in enumerate(
            (("picked_up", 0), ("in_transit", 2), ("in_transit", 8), ("signed", 12))
        ):
            out.append(
                {
                    "parcel_id": pid,
                    "scan_at": (t0 + dt.timedelta(hours=hours)).isoformat(),
                    "status": status,
                    "region_code": codes[k],
                    "courier_id": "C-1",
                }
            )
    return out


def bench_cost(data: Path, url: str | None, files_list: list[int], batches: int) -> list[dict]:
    _fresh_store(data, url)
    import random

    from ecredit import wiring
    from ecredit.analytics.lake import Lake
    from ecredit.db import get_engine, session_scope
    from ecredit.demo import make_uscc
    from ecredit.intake import formats, loads
    from ecredit.intake.decode import decode_records
    from ecredit.intake.validate import Validator, to_lake
    from ecredit.kit import events
    from ecredit.kit.ids import new_id
    from ecredit.kit.tabular import Row
    from ecredit.security.principals import Principal, Role, system
    from ecredit.subjects import service
    from ecredit.subjects.schemas import PlatformCreate, SubjectCreate
    from ecredit.verification import register

    admin = system("bench")
    r = random.Random(3)
    with session_scope() as s:
        platform, _ = service.register_platform(
            s,
            admin,
            PlatformCreate(code="benchrt", name="基准平台有限公司", uscc=make_uscc(r, "370102", "91")),
        )
        carriers = []
        for i in range(CARRIERS):
            uscc = make_uscc(r, "370102", "91")
            subject, _ = service.create_subject(
                s, admin, SubjectCreate(kind="logistics_company", name=f"基准{i}速递有限公司", uscc=uscc)
            )
            register.import_batch(s, admin, [Row(1, {"name": subject.name, "uscc": uscc, "status": "存续"})])
            carriers.append(uscc)
        platform_id = platform.id
    principal = Principal(actor="key:bench", role=Role.platform, platform_id=platform_id)
    lake = Lake()
    rng = np.random.default_rng(1)
    day = dt.date(2024, 3, 1)
    kind = formats.KINDS["parcel_scans"]
    committed = 0
    serial = 10_000_000
    rows_out = []

    def submit(kind_name: str, records: list[dict]) -> float:
        body = orjson.dumps(records)
        t = time.perf_counter()
        answer = loads.submit(
            get_engine(), principal, kind_name, new_id(), body, "application/json", lake=lake
        )
        elapsed = time.perf_counter() - t
        assert answer.status == 201, answer.body[:300]
        return elapsed

    for files in files_list:
        while committed < files:  # earlier scan files in the window, written as a REST batch would write them
            records = _scans(rng, committed * BATCH, BATCH, day - dt.timedelta(days=committed % 20))
            decoded = decode_records(kind, records, range(len(records)))
            validated = Validator(kind, "benchrt", None).validate(decoded)
            batch_id = new_id()
            parts = to_lake(
                kind,
                validated,
                platform="benchrt",
                batch_id=batch_id,
                ingested_at=dt.datetime.now(dt.UTC),
                encrypt=lambda *a: b"",
                blind_index=lambda *a: "",
            )
            staged = lake.write_files(
                "parcel_scans", "benchrt", batch_id, parts, layout=loads.lake_layout(kind)
            )
            with session_scope() as s:
                lake.add_batch(
                    s,
                    batch_id=batch_id,
                    kind="parcel_scans",
                    platform="benchrt",
                    key=f"bench:{batch_id}",
                    source="rest",
                    files=staged,
                )
            committed += 1
        timings: dict[tuple[str, bool], list[float]] = {}
        for i in range(batches):
            for on in (False, True) if i % 2 == 0 else (True, False):
                events.clear()
                if on:
                    wiring.wire()
                # Scans of parcels new and old: half continue parcels of the earlier files.
                scans = _scans(rng, serial, BATCH // 2, day)
                serial += BATCH
                old = _scans(
                    np.random.default_rng(i), int(rng.integers(0, max(1, committed * BATCH))), BATCH // 2, day
                )
                timings.setdefault(("parcel_scans", on), []).append(submit("parcel_scans", scans + old))
                parcels = [
                    {
                        "parcel_id": f"BQ{serial + k:012d}",
                        "order_id": f"O-{serial + k}",
                        "carrier_uscc": carriers[k % CARRIERS],
                        "weight_grams": 500,
                        "ship_from_region": "370102",
                        "ship_to_region": "370202",
                        "created_at": "2024-03-01T09:00:00+08:00",
                    }
                    for k in range(BATCH)
                ]
                timings.setdefault(("parcels", on), []).append(submit("parcels", parcels))
        for k in ("parcel_scans", "parcels"):
            off, on = statistics.median(timings[(k, False)]), statistics.median(timings[(k, True)])
            rows_out.append(
                {
                    "kind": k,
                    "files": files if k == "parcel_scans" else "-",
                    "off_ms": off * 1e3,
                    "on_ms": on * 1e3,
                    "ratio": on / off,
                }
            )
    events.clear()
    return rows_out


def bench_truth(data: Path, url: str | None) -> dict:
    from ecredit import sim

    province = data / "province"
    sim.simulate(province, scale="tiny", seed=1, fmt="csv")
    results = {}
    for mode in ("off", "on"):
        store = data / f"store-{mode}"
        store.mkdir()
        _fresh_store(store, url)
        from sqlalchemy import select

        from ecredit import wiring
        from ecredit.db import session_scope
        from ecredit.intake import loads
        from ecredit.kit import events
        from ecredit.monitoring.models import RiskWarning, WarningMember
        from ecredit.security.principals import system
        from ecredit.subjects import service
        from ecredit.subjects.schemas import PlatformCreate

        admin = system("bench")
        with (province / "platforms.csv").open(encoding="utf-8") as fh:
            platforms = list(csv.DictReader(fh))
        with session_scope() as s:
            for row in platforms:
                service.register_platform(
                    s, admin, PlatformCreate(code=row["code"], name=row["name"], uscc=row["uscc"])
                )
        events.clear()
        if mode == "on":
            wiring.wire()
        t = time.perf_counter()
        rows = 0
        for row in platforms:
            summary = loads.ingest_file(
                province / row["code"] / "parcel_scans.csv", platform=row["code"], principal=admin
            )
            rows += summary.loaded
        results[f"seconds_{mode}"] = time.perf_counter() - t
        results["rows"] = rows
        if mode == "on":
            with session_scope(read_only=True) as s:
                found = set(
                    s.execute(
                        select(WarningMember.platform, WarningMember.ref)
                        .join(RiskWarning, RiskWarning.id == WarningMember.warning_id)
                        .where(RiskWarning.kind == "impossible_track")
                    ).all()
                )
            results["flagged"] = found
        events.clear()
        from ecredit import db

        db.get_engine().dispose()
    with (province / "truth" / "empty_parcels.csv").open(encoding="utf-8") as fh:
        truth = list(csv.DictReader(fh))
    empty = {(r["platform"], r["parcel_id"]) for r in truth}
    too_fast = {(r["platform"], r["parcel_id"]) for r in truth if "too_fast" in r["why"]}
    flagged = results.pop("flagged")
    results.update(
        flagged=len(flagged),
        empty_parcels=len(empty),
        labelled_too_fast=len(too_fast),
        flagged_empty=len(flagged & empty),
        flagged_not_empty=len(flagged - empty),
        flagged_too_fast=len(flagged & too_fast),
    )
    return results


def write_scans_csv(path: Path, scans: int) -> None:
    """``scans`` scans of ``scans // 4`` honest parcels, time-ordered, 110,000 scans a day (the medium
    province has 141,000: 51.7 million over 366 days), the way the simulator writes its CSV."""
    import pyarrow.csv as pa_csv

    from ecredit.sim import columns

    n = scans // 4
    per_day = 110_000 // 4
    rng = np.random.default_rng(5)
    start = int(dt.datetime(2024, 3, 1, tzinfo=CST).timestamp())
    picked = start + np.sort(rng.integers(0, max(1, n // per_day) * 86_400, n))
    offsets = np.array([0, 2, 8, 12]) * 3600
    at = (picked[:, None] + offsets[None, :]).ravel()
    order = np.argsort(at, kind="stable")
    parcel = np.repeat(np.arange(n), 4)[order]
    status = np.tile(np.array(["picked_up", "in_transit", "in_transit", "signed"]), n)[order]
    region = np.tile(np.array(["370102", "370100", "370200", "370202"]), n)[order]
    table = pa.table(
        {
            "parcel_id": columns.ids("BP", parcel, 12),
            "scan_at": columns.timestamp_strings(columns.timestamps(at[order])),
            "status": pa.array(status),
            "region_code": pa.array(region),
            "courier_id": pa.array(np.full(len(at), "C-1")),
        }
    )
    pa_csv.write_csv(table, str(path), pa_csv.WriteOptions(quoting_style="none"))


def bench_file(data: Path, scans: int) -> dict:
    """Ingest a scans file into two fresh stores, without and with the checks."""
    path = data / "parcel_scans.csv"
    data.mkdir(parents=True)
    write_scans_csv(path, scans)
    out: dict = {"scans": scans}
    for mode in ("off", "on", "off2", "on2"):
        store = data / f"store-{mode}"
        store.mkdir()
        _fresh_store(store, None)
        from ecredit import db, wiring
        from ecredit.db import session_scope
        from ecredit.intake import loads
        from ecredit.kit import events
        from ecredit.security.principals import system
        from ecredit.subjects import service
        from ecredit.subjects.schemas import PlatformCreate

        admin = system("bench")
        with session_scope() as s:
            service.register_platform(
                s, admin, PlatformCreate(code="benchrt", name="基准平台有限公司", uscc="91370102MA3C1T6A2H")
            )
        events.clear()
        if mode.startswith("on"):
            wiring.wire()
        t = time.perf_counter()
        summary = loads.ingest_file(path, platform="benchrt", principal=admin)
        out[f"seconds_{mode}"] = time.perf_counter() - t
        out["batches"] = summary.batches
        events.clear()
        db.get_engine().dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--files", default="0,100,500", help="earlier scan files in the window, comma-separated"
    )
    parser.add_argument("--batches", type=int, default=10, help="batches per mode and kind")
    parser.add_argument("--only", choices=("cost", "truth", "file"))
    parser.add_argument("--scans", type=int, default=2_000_000, help="scans in the file part's file")
    args = parser.parse_args()
    print(f"load average before: {', '.join(f'{x:.2f}' for x in os.getloadavg())}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="ecredit-bench-rt-") as tmp:
        if args.only in (None, "cost"):
            rows = bench_cost(Path(tmp) / "cost", None, [int(x) for x in args.files.split(",")], args.batches)
            print("| kind | earlier files in window | without checks (ms) | with checks (ms) | ratio |")
            print("|---|---:|---:|---:|---:|")
            for r in rows:
                cells = (
                    r["kind"],
                    r["files"],
                    f"{r['off_ms']:.1f}",
                    f"{r['on_ms']:.1f}",
                    f"{r['ratio']:.2f}",
                )
                print("| " + " | ".join(str(c) for c in cells) + " |")
        if args.only in (None, "file"):
            res = bench_file(Path(tmp) / "file", args.scans)
            print()
            print("| scans file | value |")
            print("|---|---:|")
            for k, v in res.items():
                print(f"| {k} | {v:.2f} |" if isinstance(v, float) else f"| {k} | {v:,} |")
        if args.only in (None, "truth"):
            res = bench_truth(Path(tmp) / "truth", None)
            print()
            print("| tiny province (seed 1) | value |")
            print("|---|---:|")
            for k, v in res.items():
                print(f"| {k} | {v:.2f} |" if isinstance(v, float) else f"| {k} | {v:,} |")
    print(f"load average after: {', '.join(f'{x:.2f}' for x in os.getloadavg())}", file=sys.stderr)


if __name__ == "__main__":
    main()
