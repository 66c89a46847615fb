"""Credit evaluation benchmark: ``ecredit score run`` over a simulated province, its quality and its cost.

One command::

    .venv/bin/python bench/score.py                          # medium province, 100,000 shops, DuckDB
    .venv/bin/python bench/score.py --scale small            # a quick run (1,500 shops)
    .venv/bin/python bench/score.py --record                 # append the results to docs/benchmarks.md

**The province** is built once and cached under ``/tmp/scoring/<scale>-<seed>`` (``--cache``): simulated
(Parquet for medium), registered (business register, platforms, shops; the carriers as logistics
companies), verified, ingested into the lake, monitored (``ecredit monitor run``: every detector), and the
brushing-ring warnings confirmed the way a regulator's triage would (so that credit points void their
accounts' ratings). With ``--shops N`` above the province's own shops, shops are added to the registry
(copies of the province's shops under new ids and names, same operators, no events) until N are evaluated.

**The measurement** runs in a child process (its peak resident memory is the run's, not the build's):

1. ``scoring.runner.run`` (DuckDB): store snapshots, every indicator, overrides, points, and the bulk write
   of scores, contributions and points into the store, timed as a whole. Budget (medium, 100,000 shops):
   under 60 s and under 4 GB peak RSS.
2. Baseline in the same run: one hand-written DuckDB aggregate of the same shop indicators (the raw values,
   one query over the same lake views and snapshots), timed alone; the ratio is (1) over it.
3. Quality: ROC-AUC of the score, misconduct shops against honest shops (``scoring.quality``; budget
   >= 0.90), and the credit points of ring shops against honest shops of comparable size (budget: ring
   shops' mean points no higher).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform as platform_module
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs" / "benchmarks.md"
AS_OF = dt.date(2024, 12, 31)  # the simulated year's last day
BUDGET_SECONDS = 60.0
BUDGET_GIB = 4.0
BUDGET_AUC = 0.90
EVENT_KINDS = ("accounts", "listings", "orders", "payments", "parcels", "parcel_scans", "reviews")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------- the province (built once)


def _extra_shops(province: Path, platform: str, wanted: int, out: Path) -> int:
    """A shops file of ``wanted`` copies of the platform's shops (new ids and names, same operators)."""
    with (province / platform / "shops.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for i in range(wanted):
            row = dict(rows[i % len(rows)])
            row["platform_shop_id"] = f"{platform.upper()}-X{i:07d}"
            row["shop_name"] = f"{row['shop_name']}（{i // len(rows) + 2}号店）"
            writer.writerow(row)
    return wanted


def build(cache: Path, scale: str, seed: int, shops: int | None) -> dict:
    """Simulate, register, verify, ingest and monitor a province in ``cache`` (once)."""
    marker = cache / "built.json"
    if marker.exists():
        return json.loads(marker.read_text())
    from sqlalchemy import select

    from ecredit import jobs, migrate, sim
    from ecredit.db import get_engine, session_scope
    from ecredit.intake import loads as intake
    from ecredit.monitoring import runner as monitor
    from ecredit.monitoring import service as warnings
    from ecredit.monitoring.models import RiskWarning
    from ecredit.subjects import repository as subjects_repo
    from ecredit.subjects import service as subjects_service
    from ecredit.subjects.schemas import PlatformCreate, SubjectCreate

    timings: dict[str, float] = {}
    principal = jobs.cli_principal()
    migrate.upgrade(get_engine())
    province = cache / "province"
    t0 = time.monotonic()
    if not (province / "manifest.json").exists():
        fmt = "parquet" if scale in ("medium", "large") else "csv"
        log(f"simulating {scale} (seed {seed}, {fmt})")
        sim.simulate(province, scale=scale, seed=seed, fmt=fmt)
    timings["simulate"] = time.monotonic() - t0
    t0 = time.monotonic()
    log("registering")
    jobs.import_file(province / "register.csv", kind="register", platform=None)
    with (province / "platforms.csv").open(encoding="utf-8") as fh:
        platforms = list(csv.DictReader(fh))
    for row in platforms:
        with session_scope() as session:
            if subjects_repo.get_platform_by_code(session, row["code"]) is None:
                subjects_service.register_platform(
                    session, principal, PlatformCreate(code=row["code"], name=row["name"], uscc=row["uscc"])
                )
        jobs.import_file(province / row["code"] / "shops.csv", kind="shops", platform=row["code"])
    own = sum(1 for row in platforms for _ in (province / row["code"] / "shops.csv").open()) - len(platforms)
    if shops and shops > own:
        per = (shops - own + len(platforms) - 1) // len(platforms)
        for row in platforms:
            extra = cache / f"extra-{row['code']}.csv"
            _extra_shops(province, row["code"], per, extra)
            jobs.import_file(extra, kind="shops", platform=row["code"])
    with (province / "carriers.csv").open(encoding="utf-8") as fh, session_scope() as session:
        for row in csv.DictReader(fh):
            if subjects_repo.get_subject_by_uscc(session, row["uscc"]) is None:
                subjects_service.create_subject(
                    session,
                    principal,
                    SubjectCreate(
                        kind="logistics_company",
                        name=row["name"],
                        uscc=row["uscc"],
                        region_code=row["region_code"],
                    ),
                )
    jobs.reverify(include_unverified=True)
    timings["register"] = time.monotonic() - t0
    t0 = time.monotonic()
    log("ingesting")
    for row in platforms:
        for kind in EVENT_KINDS:
            single = province / row["code"] / f"{kind}.csv"
            files = [single] if single.exists() else sorted((province / row["code"] / kind).glob("*.parquet"))
            for path in files:
                intake.ingest_file(path, platform=row["code"], kind=kind, principal=principal)
    timings["ingest"] = time.monotonic() - t0
    t0 = time.monotonic()
    log("monitoring (every detector)")
    result = monitor.run(engine_name="duckdb")
    timings["monitor"] = time.monotonic() - t0
    with session_scope() as session:
        ids = session.scalars(select(RiskWarning.id).where(RiskWarning.kind == "brushing_ring")).all()
        for warning_id in ids:
            warnings.confirm_warning(session, principal, warning_id, reason="benchmark: regulator triage")
    info = {
        "scale": scale,
        "seed": seed,
        "timings": timings,
        "findings": {k: len(v.findings) for k, v in result.results.items()},
        "confirmed_rings": len(ids),
    }
    marker.write_text(json.dumps(info, indent=2))
    return info


# ---------------------------------------------------------------- the measurement (child process)

BASELINE_SQL = """
WITH paid AS (
    SELECT o.platform, o.shop_id, o.order_id, o.status, o.buyer_id, o.paid_at
    FROM orders AS o WHERE o.paid_at IS NOT NULL AND o.ordered_at <= $as_of_ts
),
extortion AS (
    SELECT DISTINCT platform, account_id FROM store_flagged_accounts WHERE kind = 'extortion_reviewer'
),
ring_accounts AS (
    SELECT DISTINCT platform, account_id FROM store_flagged_accounts WHERE kind = 'brushing_ring'
),
first_parcel AS (
    SELECT platform, order_id, min(created_at) AS created_at FROM parcels_all GROUP BY platform, order_id
),
trade AS (
    SELECT
        p.platform,
        p.shop_id,
        count(*) AS paid,
        avg(CASE WHEN p.status = 'refunded' AND x.account_id IS NULL THEN 1.0
                 WHEN x.account_id IS NULL THEN 0.0 END) AS refund_rate,
        avg(CASE WHEN p.status <> 'cancelled' AND date_diff('second', p.paid_at, $as_of_ts) >= 172800
                 THEN CASE WHEN f.created_at IS NOT NULL
                           AND date_diff('second', p.paid_at, f.created_at) <= 172800 THEN 1.0 ELSE 0.0 END
            END) AS on_time
    FROM paid AS p
    LEFT JOIN extortion AS x ON x.platform = p.platform AND x.account_id = p.buyer_id
    LEFT JOIN first_parcel AS f ON f.platform = p.platform AND f.order_id = p.order_id
    GROUP BY p.platform, p.shop_id
),
rated AS (
    SELECT
        r.platform,
        r.shop_id,
        avg(CASE WHEN x.account_id IS NULL THEN CASE WHEN r.rating <= 2 THEN 1.0 ELSE 0.0 END END)
            AS disputes,
        avg(CASE WHEN f.review_id IS NULL AND b.account_id IS NULL THEN CAST(r.rating AS DOUBLE) END)
            AS quality
    FROM reviews AS r
    LEFT JOIN extortion AS x ON x.platform = r.platform AND x.account_id = r.buyer_id
    LEFT JOIN store_flagged_reviews AS f ON f.platform = r.platform AND f.review_id = r.review_id
    LEFT JOIN ring_accounts AS b ON b.platform = r.platform AND b.account_id = r.buyer_id
    WHERE r.kind = 'initial' AND r.reviewed_at <= $as_of_ts
    GROUP BY r.platform, r.shop_id
),
risk AS (
    SELECT w.platform, w.shop_ref, sum(w.confidence * k.weight) AS risk
    FROM store_warning_shops AS w JOIN warning_weights AS k ON k.kind = w.kind
    GROUP BY w.platform, w.shop_ref
),
penalties AS (
    SELECT subject_id, count(*) AS records FROM store_records WHERE effect = 'negative' GROUP BY subject_id
)
SELECT
    s.entity_key,
    log10(coalesce(t.paid, 0) + 1.0) AS volume,
    date_diff('day', s.opened_date, $as_of) / 365.25 AS years,
    t.refund_rate,
    t.on_time,
    q.disputes,
    q.quality,
    coalesce(k.risk, 0.0) AS risk,
    coalesce(n.records, 0) AS penalties,
    CASE WHEN s.verification_status = 'verified' THEN 1.0 ELSE 0.3 END AS verified
FROM store_shops AS s
LEFT JOIN trade AS t ON t.platform = s.platform AND t.shop_id = s.platform_shop_id
LEFT JOIN rated AS q ON q.platform = s.platform AND q.shop_id = s.platform_shop_id
LEFT JOIN risk AS k ON k.platform = s.platform AND k.shop_ref = s.platform_shop_id
LEFT JOIN penalties AS n ON n.subject_id = s.subject_id
"""


def measure(cache: Path) -> dict:
    """One scoring run and its baseline; prints a JSON line (run in a child process)."""
    import duckdb
    import numpy as np
    import pyarrow as pa
    from sqlalchemy import select

    from ecredit import migrate
    from ecredit.analytics.engine import open_engine
    from ecredit.analytics.lake import Lake
    from ecredit.db import get_engine, session_scope
    from ecredit.intake import formats
    from ecredit.scoring import quality, runner, snapshots, spec
    from ecredit.scoring.models import CreditPoints, CreditScore
    from ecredit.subjects.models import Platform, Shop

    migrate.upgrade(get_engine())  # a province cached by an older revision of the code (not timed)
    t0 = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_SELF)
    load_before = os.getloadavg()[0]
    result = runner.run(engine_name="duckdb", as_of=AS_OF)
    seconds = time.monotonic() - t0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime  # DuckDB's threads included
    load_after = os.getloadavg()[0]
    peak_run = usage.ru_maxrss / 1024**2  # KiB -> GiB

    # Baseline: the same snapshots and lake views, one hand-written aggregate, timed alone.
    model = spec.load()
    schemas = {k: formats.lake_schema(formats.KINDS[k]) for k in runner.LAKE_KINDS}
    with open_engine("duckdb") as engine:
        with session_scope(read_only=True) as session:
            engine.register_lake(session, Lake(), runner.LAKE_KINDS, schemas=schemas)
            tables = snapshots.take(session)
        runner.register_inputs(engine, model, tables)
        t1 = time.monotonic()
        baseline = engine.query(BASELINE_SQL, as_of=AS_OF, as_of_ts=runner.as_of_instant(AS_OF))
        baseline_seconds = time.monotonic() - t1
    with session_scope(read_only=True) as session:
        rows = session.execute(
            select(Platform.code, Shop.platform_shop_id, CreditScore.score, CreditScore.points)
            .join(Shop, Shop.id == CreditScore.shop_id)
            .join(Platform, Platform.id == Shop.platform_id)
            .where(CreditScore.run_id == result.run_id)
        ).all()
        n_points = len(
            session.scalars(select(CreditPoints.party_ref).where(CreditPoints.run_id == result.run_id)).all()
        )
    province = cache / "province"
    truth = quality.read_truth(province)
    shops = pa.table(
        {
            "platform": [r[0] for r in rows],
            "platform_shop_id": [r[1] for r in rows],
            "score": [r[2] for r in rows],
            "points": [r[3] or 0 for r in rows],
        }
    )
    sep = quality.separation(shops, truth)
    # Size for the points comparison: the ratings that count (not voided), from the run's credit points.
    with session_scope(read_only=True) as session:
        counted = session.execute(
            select(
                CreditPoints.platform,
                CreditPoints.party_ref,
                CreditPoints.ratings - CreditPoints.voided_ratings,
            ).where(CreditPoints.run_id == result.run_id, CreditPoints.side == "seller")
        ).all()
    con = duckdb.connect()
    con.register("shops", shops)
    con.register(
        "counted",
        pa.table(
            {
                "platform": [r[0] for r in counted],
                "platform_shop_id": [r[1] for r in counted],
                "honest_ratings": [r[2] for r in counted],
            }
        ),
    )
    joined = con.sql(
        "SELECT s.platform, s.platform_shop_id, s.points, coalesce(c.honest_ratings, 0) AS honest_ratings "
        "FROM shops s LEFT JOIN counted c USING (platform, platform_shop_id)"
    ).fetch_arrow_table()
    points = quality.points_comparison(joined, truth)
    bought = brushing_bought(cache, model, schemas, shops, truth)
    counts = result.counts
    return {
        "run_id": result.run_id,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "load": [load_before, load_after],
        "phases": {k: round(v, 2) for k, v in result.evaluation.seconds.items()},
        "peak_gib": peak_run,
        "baseline_seconds": baseline_seconds,
        "baseline_rows": baseline.num_rows,
        "shops": counts.get("shop", {}).get("entities", 0),
        "platforms": counts.get("platform", {}).get("entities", 0),
        "logistics": counts.get("logistics", {}).get("entities", 0),
        "classes": counts.get("shop", {}).get("classes", {}),
        "grades": counts.get("shop", {}).get("grades", {}),
        "points_rows": n_points,
        "auc": sep.auc,
        "misconduct": sep.misconduct,
        "honest": sep.honest,
        "left_out": sep.left_out,
        "misconduct_mean": sep.misconduct_mean,
        "honest_mean": sep.honest_mean,
        "ring_shops": points.ring_shops,
        "ring_points": points.ring_mean,
        "honest_points": points.honest_mean,
        "ring_above_median": points.ring_above,
        "ring_points_without": bought["without"],
        "ring_points_with": bought["with"],
        "model": spec.load().ref,
        "np": np.__version__,
    }


def brushing_bought(cache: Path, model, schemas, shops, truth) -> dict:
    """The ring shops' mean points as scored, and as they would be with every ring account's ratings left
    out (the simulator's labels): what brushing bought after caps and voiding."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as pa_csv

    from ecredit.analytics.engine import open_engine
    from ecredit.analytics.lake import Lake
    from ecredit.db import session_scope
    from ecredit.scoring import runner, snapshots

    columns = ["platform", "member_type", "member_id"]
    options = pa_csv.ConvertOptions(column_types=dict.fromkeys(columns, pa.string()), include_columns=columns)
    rings = pa_csv.read_csv(cache / "province" / "truth" / "brushing_rings.csv", convert_options=options)
    accounts = rings.filter(pc.equal(rings.column("member_type"), "account"))
    with session_scope(read_only=True) as session:
        tables = snapshots.take(session)
    with open_engine("duckdb") as engine, session_scope(read_only=True) as session:
        engine.register_lake(session, Lake(), ["reviews"], schemas=schemas)
        engine.register_arrow("store_shops", tables["store_shops"])
        engine.register_arrow("store_flagged_reviews", tables["store_flagged_reviews"])
        # Without the ring, no ring warning either: nothing to deduct.
        engine.register_arrow("store_warning_shops", snapshots.SCHEMAS["store_warning_shops"].empty_table())
        flagged = tables["store_flagged_accounts"]
        extortion = flagged.filter(pc.equal(flagged.column("kind"), "extortion_reviewer"))
        voided = pa.concat_tables(
            [
                accounts.select(["platform", "member_id"]).rename_columns(["platform", "account_id"]),
                extortion.select(["platform", "account_id"]),
            ]
        )
        engine.register_arrow("voided_accounts", voided)
        text = runner.sql(model.points.sql)
        params = runner._params(model, AS_OF)
        without = engine.query(text, **runner._used(text, params))
    ring_keys = truth.ring
    scored = {
        (p, s): v
        for p, s, v in zip(
            shops.column("platform").to_pylist(),
            shops.column("platform_shop_id").to_pylist(),
            shops.column("points").to_pylist(),
            strict=True,
        )
        if (p, s) in ring_keys
    }
    alt = {
        (p, s): v
        for p, s, v in zip(
            without.column("platform").to_pylist(),
            without.column("party_ref").to_pylist(),
            without.column("points").to_pylist(),
            strict=True,
        )
        if (p, s) in ring_keys
    }
    keys = sorted(scored)
    return {
        "with": sum(scored[k] for k in keys) / max(len(keys), 1),
        "without": sum(alt.get(k, 0) for k in keys) / max(len(keys), 1),
    }


# ---------------------------------------------------------------- report


def report(args: argparse.Namespace, info: dict, m: dict) -> str:
    load = os.getloadavg()
    ratio = m["seconds"] / m["baseline_seconds"] if m["baseline_seconds"] else float("nan")
    budget_time = args.scale != "medium" or (m["seconds"] < BUDGET_SECONDS and m["peak_gib"] < BUDGET_GIB)
    now = dt.datetime.now(dt.UTC)
    lines = [
        f"### score: `{args.scale}` province, {now:%Y-%m-%d %H:%M} UTC",
        "",
        f"Command: `python bench/score.py --scale {args.scale} --seed {args.seed}"
        + (f" --shops {args.shops}" if args.shops else "")
        + f"`; model {m['model']}; DuckDB memory limit {args.memory_limit}; "
        f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}; "
        f"{platform_module.machine()}, {os.cpu_count()} cores. Province built once (seed {info['seed']}): "
        + ", ".join(f"{k} {v:.0f} s" for k, v in info["timings"].items())
        + f"; {info['confirmed_rings']} brushing-ring warnings confirmed before scoring.",
        "",
        "| measure | value | baseline (same run) | ratio | budget | result |",
        "|---|---:|---:|---:|---|---|",
        f"| `score run` wall time, {m['shops']:,} shops + {m['platforms']} platforms + "
        f"{m['logistics']} logistics companies, DuckDB, written to SQLite | {m['seconds']:.1f} s | "
        f"{m['baseline_seconds']:.2f} s "
        f"(one hand-written DuckDB aggregate of the shop indicators) | {ratio:.1f}× | "
        f"< {BUDGET_SECONDS:.0f} s "
        f"(medium, 100,000 shops) | {'pass' if budget_time else 'FAIL'} |",
        f"| CPU time of the run (its process, DuckDB's threads included; 1-minute load average "
        f"{m['load'][0]:.1f} before, {m['load'][1]:.1f} after) | {m['cpu_seconds']:.1f} s | | | | |",
        f"| peak RSS of the run | {m['peak_gib']:.2f} GiB | | | < {BUDGET_GIB:.0f} GB | "
        f"{'pass' if m['peak_gib'] < BUDGET_GIB else 'FAIL'} |",
        f"| ROC-AUC, misconduct ({m['misconduct']:,}) vs honest ({m['honest']:,}) shops | "
        f"{m['auc']:.3f} | | | "
        f">= {BUDGET_AUC} | {'pass' if m['auc'] >= BUDGET_AUC else 'FAIL'} |",
        f"| mean score, misconduct / honest | {m['misconduct_mean']:.0f} / {m['honest_mean']:.0f} | | | | |",
        f"| credit points, {m['ring_shops']} ring shops vs honest shops of the same size (mean) | "
        f"{m['ring_points']:.1f} vs {m['honest_points']:.1f} | | | ring <= honest | "
        f"{'pass' if m['ring_points'] <= m['honest_points'] else 'FAIL'} |",
        f"| credit points of ring shops as scored vs with every ring account's ratings left out (labels) | "
        f"{m['ring_points_with']:.2f} vs {m['ring_points_without']:.2f} | | | brushing buys < 0.5 point | "
        f"{'pass' if m['ring_points_with'] - m['ring_points_without'] < 0.5 else 'FAIL'} |",
        "",
        f"Phases (s): {m['phases']}. Shop classes {m['classes']}; grades {m['grades']}. "
        f"{m['ring_above_median']} ring shops above the mean of their comparable honest shops.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="medium", choices=["tiny", "small", "medium"])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument(
        "--shops", type=int, default=None, help="evaluate this many shops (default: medium 100,000)"
    )
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--record", action="store_true", help="append the results to docs/benchmarks.md")
    parser.add_argument(
        "--memory-limit",
        default="2500MB",
        help="DuckDB memory limit of the measured run (ECREDIT_DUCKDB_MEMORY_LIMIT; it spills beyond)",
    )
    parser.add_argument(
        "--build-memory-limit", default="6GB", help="DuckDB memory limit of the build's monitor run"
    )
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.shops is None and args.scale == "medium":
        args.shops = 100_000
    cache = args.cache or Path(f"/tmp/scoring/{args.scale}-{args.seed}")
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["ECREDIT_DATA_DIR"] = str(cache / "data")
    if args.measure:
        print("RESULT " + json.dumps(measure(cache)), flush=True)
        return
    os.environ.setdefault("ECREDIT_DUCKDB_MEMORY_LIMIT", args.build_memory_limit)
    info = build(cache, args.scale, args.seed, args.shops)
    log("measuring (child process)")
    child = subprocess.run(
        [
            sys.executable,
            __file__,
            "--measure",
            "--scale",
            args.scale,
            "--seed",
            str(args.seed),
            "--cache",
            str(cache),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ
        | {
            "PYTHONPATH": os.environ.get("PYTHONPATH", str(REPO / "src")),
            "ECREDIT_DUCKDB_MEMORY_LIMIT": args.memory_limit,
        },
    )
    found = [line for line in child.stdout.splitlines() if line.startswith("RESULT ")]
    if child.returncode != 0 or not found:
        raise SystemExit(f"measurement failed ({child.returncode}):\n{child.stdout}\n{child.stderr}")
    m = json.loads(found[-1][len("RESULT ") :])
    text = report(args, info, m)
    print(text)
    if args.record:
        with DOCS.open("a", encoding="utf-8") as fh:
            fh.write("\n" + text)


if __name__ == "__main__":
    main()
