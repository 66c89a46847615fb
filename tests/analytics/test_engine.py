"""The analytics engine: one SQL dialect, the same results on DuckDB and on Spark (DESIGN.md §3).

A small lake is written with the real Lake API (two platforms, a re-sent order, reviews with their own
``kind`` column, timestamps sent with +08:00 offsets). Each test runs on both engines (the Spark half under
the ``spark`` marker, on the one Spark session of the test process); answers are checked against values
computed here in Python, and the Spark answers against DuckDB's row by row.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy.orm import Session

from ecredit.analytics import engine as analytics
from ecredit.analytics.engine import EngineError, load_sql, open_engine, to_spark_sql
from ecredit.analytics.lake import KINDS, Lake
from ecredit.intake import formats

SRC = Path(__file__).resolve().parents[2] / "src" / "ecredit"
UTC = dt.UTC
CST = dt.timezone(dt.timedelta(hours=8))
INGESTED = dt.datetime(2024, 3, 1, tzinfo=UTC)
SCHEMAS = {kind: formats.lake_schema(formats.KINDS[kind]) for kind in KINDS}

ENGINES = ["duckdb", pytest.param("spark", marks=pytest.mark.spark)]

# ---------------------------------------------------------------- the lake


def _order(platform: str, n: int, **overrides: Any) -> dict[str, Any]:
    # Shops 0-3 and buyers 0-5; order times spread over two days around midnight UTC, sent in +08:00.
    at = dt.datetime(2024, 1, 1, 22, 0, tzinfo=UTC) + dt.timedelta(minutes=37 * n, seconds=n % 7)
    row = {
        "order_id": f"O-{n}",
        "shop_id": f"S-{n % 4}",
        "buyer_id": f"u{(n * 5) % 6}",
        "listing_id": f"L-{n % 3}" if n % 5 else None,
        "gtin": None,
        "quantity": 1 + n % 3,
        "amount_cents": 1000 + 37 * n,
        "ordered_at": at.astimezone(CST),
        "paid_at": (at + dt.timedelta(seconds=30 + n)).astimezone(CST),
        "status": "delivered" if n % 4 else "refunded",
        "ship_to_region": "370102",
    }
    return row | overrides


def _payment(platform: str, n: int) -> dict[str, Any]:
    order = _order(platform, n)
    return {
        "payment_id": f"P-{n}",
        "order_id": f"O-{n}",
        "payer_ref_enc": b"\x00\x01",
        "payer_ref_bidx": f"bidx{n % 3}",
        "method": "alipay",
        "amount_cents": order["amount_cents"],
        "paid_at": order["paid_at"],
        "refund_cents": None,
        "refunded_at": None,
    }


def _review(platform: str, n: int) -> dict[str, Any]:
    return {
        "review_id": f"R-{n}",
        "order_id": f"O-{n}",
        "shop_id": f"S-{n % 4}",
        "buyer_id": f"u{(n * 5) % 6}",
        "rating": 1 + n % 5,
        "text": "好评 'quoted' \\ text",
        "reviewed_at": dt.datetime(2024, 1, 5, 12, n, tzinfo=UTC),
        "kind": "follow_up" if n % 3 == 0 else "initial",
    }


class LakeData:
    """The records written, as the de-duplicated views must show them."""

    def __init__(self) -> None:
        self.orders: dict[tuple[str, str], dict[str, Any]] = {}
        self.payments: dict[tuple[str, str], dict[str, Any]] = {}
        self.reviews: dict[tuple[str, str], dict[str, Any]] = {}
        self.batches: list[str] = []


def _write(session: Session, lake: Lake, kind: str, platform: str, batch: str, rows: list[dict]) -> None:
    schema = SCHEMAS[kind]
    rows = [r | {"_batch": batch, "_row": i, "_ingested_at": INGESTED} for i, r in enumerate(rows)]
    by_day: dict[dt.date, list[dict]] = defaultdict(list)
    stamp = formats.KINDS[kind].timestamp
    for r in rows:
        by_day[r[stamp].astimezone(CST).date()].append(r)
    parts = [(day, pa.Table.from_pylist(day_rows, schema=schema)) for day, day_rows in sorted(by_day.items())]
    staged = lake.write_files(kind, platform, batch, parts)
    lake.add_batch(
        session, batch_id=batch, kind=kind, platform=platform, key=batch, source="file", files=staged
    )


def build_lake(session: Session, root: Path) -> tuple[Lake, LakeData]:
    lake, data = Lake(root), LakeData()
    # Batch ids are ULIDs in production; any increasing ids do here.
    batch = iter(f"01HZZZZZZZZZZZZZZZZZZZZZ{i:02d}" for i in range(10, 99))
    for platform, count in (("qilu", 30), ("001", 12)):
        orders = [_order(platform, n) for n in range(1, count + 1)]
        b = next(batch)
        _write(session, lake, "orders", platform, b, orders)
        data.batches.append(b)
        data.orders |= {(platform, o["order_id"]): o for o in orders}
        payments = [_payment(platform, n) for n in range(1, count + 1, 2)]
        b = next(batch)
        _write(session, lake, "payments", platform, b, payments)
        data.batches.append(b)
        data.payments |= {(platform, p["order_id"]): p for p in payments}
    # A second batch re-sends O-5 of qilu with a new amount (the newer version wins) and adds orders.
    again = [_order("qilu", 5, amount_cents=99_999, status="refunded")]
    again += [_order("qilu", n) for n in range(31, 41)]
    b = next(batch)
    _write(session, lake, "orders", "qilu", b, again)
    data.batches.append(b)
    data.orders |= {("qilu", o["order_id"]): o for o in again}
    reviews = [_review("qilu", n) for n in range(1, 16)]
    b = next(batch)
    _write(session, lake, "reviews", "qilu", b, reviews)
    data.batches.append(b)
    data.reviews |= {("qilu", r["review_id"]): r for r in reviews}
    session.flush()
    return lake, data


@pytest.fixture(scope="module")
def store(engine, tmp_path_factory) -> Iterator[tuple[Session, Lake, LakeData]]:
    """The lake and its manifest, in a transaction rolled back after the module."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        lake, data = build_lake(session, tmp_path_factory.mktemp("lake"))
        yield session, lake, data
    finally:
        session.close()
        outer.rollback()
        connection.close()


def _open(name: str, request: pytest.FixtureRequest):
    if name == "spark":
        request.getfixturevalue("spark")  # the process's one Spark session, started once
    return open_engine(name)


def _registered(name: str, request: pytest.FixtureRequest, store) -> Iterator:
    session, lake, _ = store
    with _open(name, request) as e:
        e.snapshot = e.register_lake(session, lake, schemas=SCHEMAS)
        yield e


@pytest.fixture(scope="module")
def duck(request, store):
    """DuckDB with the lake registered (every kind: those without files as empty views)."""
    yield from _registered("duckdb", request, store)


@pytest.fixture(scope="module")
def sparky(request, store):
    """Spark with the same lake registered."""
    yield from _registered("spark", request, store)


@pytest.fixture(params=["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def eng(request):
    """Each engine in turn, the lake registered (once per module and engine)."""
    return request.getfixturevalue("duck" if request.param == "duckdb" else "sparky")


@pytest.fixture
def both(duck, sparky):
    return duck, sparky


# ---------------------------------------------------------------- comparing answers


def _value(v: Any) -> Any:
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, float):
        return round(v, 9)
    if isinstance(v, dt.datetime):
        assert v.tzinfo is not None, f"naive timestamp {v} in a result"
        return v.astimezone(UTC)
    if isinstance(v, list):
        return [_value(x) for x in v]
    return v


def rows(table: pa.Table) -> list[tuple]:
    return [tuple(_value(v) for v in row.values()) for row in table.to_pylist()]


# ---------------------------------------------------------------- the same SQL, both engines

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "dedup": (
        "SELECT platform, order_id, amount_cents, status, date FROM orders ORDER BY platform, order_id",
        {},
    ),
    "join_group_by": (
        """
        SELECT o.platform, o.shop_id, count(*) AS orders, count(p.payment_id) AS paid,
               CAST(sum(o.amount_cents) AS BIGINT) AS amount, count(DISTINCT o.buyer_id) AS buyers
        FROM orders o LEFT JOIN payments p ON p.platform = o.platform AND p.order_id = o.order_id
        GROUP BY o.platform, o.shop_id
        HAVING count(*) > 1
        ORDER BY o.platform, o.shop_id
        """,
        {},
    ),
    "window": (
        """
        SELECT platform, buyer_id, order_id,
               row_number() OVER w AS n,
               date_diff('second', lag(ordered_at) OVER w, ordered_at) AS gap_s,
               sum(amount_cents) OVER (PARTITION BY platform, buyer_id ORDER BY ordered_at, order_id
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running,
               count(*) OVER (PARTITION BY platform, buyer_id) AS of_buyer
        FROM orders
        WINDOW w AS (PARTITION BY platform, buyer_id ORDER BY ordered_at, order_id)
        ORDER BY platform, buyer_id, n
        """,
        {},
    ),
    "time": (
        """
        SELECT platform, order_id, ordered_at,
               date_trunc('hour', ordered_at) AS hour, date_trunc('day', ordered_at) AS day,
               CAST(ordered_at AS DATE) AS utc_date,
               ordered_at + INTERVAL 90 MINUTE AS later, ordered_at - INTERVAL 1 DAY AS day_before,
               date_diff('second', ordered_at, paid_at) AS pay_delay_s,
               date_diff('second', TIMESTAMPTZ '1970-01-01 00:00:00+00', ordered_at) AS epoch_s,
               CAST(floor(epoch(ordered_at)) AS BIGINT) AS whole_epoch_s,
               extract(hour FROM ordered_at) AS h
        FROM orders ORDER BY platform, order_id
        """,
        {},
    ),
    "boundaries": (
        """
        SELECT platform, order_id,
               date_diff('minute', ordered_at, paid_at) AS minutes,
               date_diff('hour', ordered_at, ordered_at + INTERVAL 50 MINUTE) AS hours,
               date_diff('day', ordered_at, ordered_at + INTERVAL 150 MINUTE) AS days,
               date_diff('millisecond', ordered_at, paid_at) AS ms,
               strftime(ordered_at, '%a') AS weekday
        FROM orders ORDER BY platform, order_id
        """,
        {},
    ),
    "hour_buckets": (
        """
        SELECT platform, date_trunc('hour', ordered_at) AS bucket, count(*) AS n,
               count(DISTINCT shop_id) AS shops
        FROM orders GROUP BY platform, date_trunc('hour', ordered_at) ORDER BY platform, bucket
        """,
        {},
    ),
    "md5": (
        """
        SELECT md5(platform || '|' || order_id) AS h, substr(md5(order_id), 1, 8) AS short
        FROM orders ORDER BY h
        """,
        {},
    ),
    "lists": (
        """
        SELECT platform, buyer_id, list_sort(list(order_id)) AS orders, array_length(list(order_id)) AS n,
               list_sort(list(DISTINCT shop_id)) AS shops
        FROM orders GROUP BY platform, buyer_id ORDER BY platform, buyer_id
        """,
        {},
    ),
    "reviews_keep_their_kind": (
        "SELECT platform, review_id, kind, rating, text FROM reviews ORDER BY review_id",
        {},
    ),
    "semi_anti_exists": (
        """
        SELECT o.platform, o.order_id,
               EXISTS (SELECT 1 FROM reviews r WHERE r.platform = o.platform AND r.order_id = o.order_id)
                 AS reviewed
        FROM orders o
        WHERE o.order_id NOT IN (SELECT order_id FROM payments WHERE platform = o.platform)
        ORDER BY o.platform, o.order_id
        """,
        {},
    ),
    "parameters": (
        """
        SELECT platform, order_id, amount_cents FROM orders
        WHERE platform = $platform AND amount_cents >= $min_amount AND ordered_at >= $since
          AND shop_id IN ($shops) AND status <> $quoted AND CAST(ordered_at AS DATE) <= $until
          AND amount_cents * $factor > 0 AND $flag
        ORDER BY order_id
        """,
        {
            "platform": "qilu",
            "min_amount": 1200,
            "since": dt.datetime(2024, 1, 2, 8, 0, tzinfo=CST),
            "shops": ["S-1", "S-2"],
            "quoted": "it's",
            "until": dt.date(2024, 1, 2),
            "factor": 0.5,
            "flag": True,
        },
    ),
    "empty_kinds": (
        "SELECT (SELECT count(*) FROM parcels) AS parcels, (SELECT count(*) FROM accounts_all) AS accounts",
        {},
    ),
}


@pytest.mark.spark
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_same_sql_gives_the_same_rows_on_both_engines(both, case):
    duck, spark = both
    sql, params = CASES[case]
    expected = duck.query(sql, **params)
    got = spark.query(sql, **params)
    assert got.column_names == expected.column_names
    assert expected.num_rows > 0, "a case that returns nothing proves nothing"
    assert rows(got) == rows(expected)


class TestLakeViews:
    def test_newest_version_of_each_record_per_platform(self, eng, store):
        _, _, data = store
        got = rows(eng.query(CASES["dedup"][0]))
        expected = sorted(
            (p, o["order_id"], o["amount_cents"], o["status"], o["ordered_at"].astimezone(CST).date())
            for (p, _), o in data.orders.items()
        )
        assert got == expected
        assert ("qilu", "O-5", 99_999, "refunded", dt.date(2024, 1, 2)) in got
        all_versions = eng.query("SELECT count(*) AS n FROM orders_all").column("n")[0].as_py()
        assert all_versions == len(data.orders) + 1

    def test_reviews_keep_their_own_kind_column(self, eng, store):
        _, _, data = store
        got = rows(eng.query(CASES["reviews_keep_their_kind"][0]))
        assert Counter(r[2] for r in got) == Counter(r["kind"] for r in data.reviews.values())
        assert {r[2] for r in got} == {"initial", "follow_up"}
        assert got[0][4] == "好评 'quoted' \\ text"

    def test_kinds_without_files_are_empty_views_with_their_columns(self, eng):
        table = eng.query("SELECT * FROM parcel_scans")
        assert table.num_rows == 0
        assert table.column_names == [*SCHEMAS["parcel_scans"].names, "platform", "date"]

    def test_snapshot_is_the_newest_committed_batch(self, eng, store):
        _, _, data = store
        assert eng.snapshot == max(data.batches)

    def test_timestamps_are_utc_instants(self, eng, store):
        _, _, data = store
        got = eng.query("SELECT ordered_at FROM orders WHERE platform = 'qilu' AND order_id = 'O-1'")
        assert got.column("ordered_at")[0].as_py() == data.orders[("qilu", "O-1")]["ordered_at"]


class TestQueries:
    def test_join_and_group_by(self, eng, store):
        _, _, data = store
        expected: dict[tuple[str, str], list] = {}
        for (platform, order_id), o in data.orders.items():
            e = expected.setdefault((platform, o["shop_id"]), [0, 0, 0, set()])
            e[0] += 1
            e[1] += (platform, order_id) in data.payments
            e[2] += o["amount_cents"]
            e[3].add(o["buyer_id"])
        want = sorted((p, s, n, paid, amt, len(b)) for (p, s), (n, paid, amt, b) in expected.items() if n > 1)
        assert rows(eng.query(CASES["join_group_by"][0])) == want

    def test_time_arithmetic_on_timestamps_with_time_zone(self, eng, store):
        _, _, data = store
        got = {(r[0], r[1]): r for r in rows(eng.query(CASES["time"][0]))}
        for key, o in data.orders.items():
            at = o["ordered_at"].astimezone(UTC)
            _, _, ordered, hour, day, utc_date, later, before, delay, epoch_s, whole_epoch_s, h = got[key]
            assert ordered == at
            assert hour == at.replace(minute=0, second=0)
            assert day == at.replace(hour=0, minute=0, second=0)
            assert utc_date == at.date()
            assert later == at + dt.timedelta(minutes=90)
            assert before == at - dt.timedelta(days=1)
            assert delay == (o["paid_at"] - o["ordered_at"]).total_seconds()
            assert epoch_s == int(at.timestamp())
            assert whole_epoch_s == epoch_s
            assert h == at.hour

    def test_date_diff_counts_boundaries_on_both_engines(self, eng, store):
        """DuckDB's date_diff counts the unit's boundaries crossed; the adapter gives Spark that meaning."""
        _, _, data = store

        def crossed(a: dt.datetime, b: dt.datetime, seconds: int) -> int:
            return int(b.timestamp()) // seconds - int(a.timestamp()) // seconds

        got = {(r[0], r[1]): r[2:] for r in rows(eng.query(CASES["boundaries"][0]))}
        for key, o in data.orders.items():
            a, paid = o["ordered_at"], o["paid_at"]
            want = (
                crossed(a, paid, 60),
                crossed(a, a + dt.timedelta(minutes=50), 3600),
                crossed(a, a + dt.timedelta(minutes=150), 86400),
                int((paid - a).total_seconds() * 1000),
                a.astimezone(UTC).strftime("%a"),
            )
            assert got[key] == want, key
        assert {v[1] for v in got.values()} == {0, 1}  # some orders cross an hour, some do not
        assert {v[2] for v in got.values()} == {0, 1}

    def test_lists_and_count_distinct(self, eng, store):
        _, _, data = store
        by_buyer: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for (p, _), o in data.orders.items():
            by_buyer[(p, o["buyer_id"])].append(o)
        want = [
            (p, b, sorted(o["order_id"] for o in os), len(os), sorted({o["shop_id"] for o in os}))
            for (p, b), os in sorted(by_buyer.items())
        ]
        assert rows(eng.query(CASES["lists"][0])) == want

    def test_md5_is_the_hex_digest(self, eng):
        import hashlib

        got = eng.query("SELECT md5(order_id) AS h FROM orders WHERE platform = 'qilu' AND order_id = 'O-7'")
        assert got.column("h")[0].as_py() == hashlib.md5(b"O-7").hexdigest()


class TestParameters:
    def test_values_of_every_type_are_bound(self, eng, store):
        _, _, data = store
        sql, params = CASES["parameters"]
        want = sorted(
            (p, o["order_id"], o["amount_cents"])
            for (p, _), o in data.orders.items()
            if p == "qilu"
            and o["amount_cents"] >= 1200
            and o["ordered_at"] >= params["since"]
            and o["shop_id"] in ("S-1", "S-2")
            and o["ordered_at"].astimezone(UTC).date() <= params["until"]
        )
        assert want, "the filter must keep some rows"
        assert rows(eng.query(sql, **params)) == want

    @pytest.mark.parametrize(
        "text",
        [
            "O'Brien",
            "'; DROP TABLE orders; --",
            "back\\slash\\",
            "\\'",
            "line\nbreak\ttab",
            "引号‘’“”「」 and $1 :x ? %s {}",
        ],
    )
    def test_strings_come_back_exactly_and_never_end_the_literal(self, eng, text):
        got = eng.query("SELECT $s AS s, length($s) AS n", s=text)
        assert got.to_pylist() == [{"s": text, "n": len(text)}]
        found = eng.query("SELECT count(*) AS n FROM orders WHERE buyer_id = $s", s=text)
        assert found.column("n")[0].as_py() == 0
        assert eng.count("orders") > 0

    def test_in_with_a_list_and_with_an_empty_list(self, eng, store):
        _, _, data = store
        sql = "SELECT count(*) AS n FROM orders WHERE platform = 'qilu' AND order_id IN ($ids)"
        assert eng.query(sql, ids=["O-1", "O-2", "O-404"]).column("n")[0].as_py() == 2
        assert eng.query(sql, ids=[]).column("n")[0].as_py() == 0
        negated = "SELECT count(*) AS n FROM orders WHERE order_id NOT IN ($ids)"
        assert eng.query(negated, ids=[]).column("n")[0].as_py() == len(data.orders)
        assert eng.query("SELECT list_contains($xs, 2) AS b", xs=[1, 2]).column("b")[0].as_py() is True

    def test_null_bool_float_and_dates(self, eng):
        got = eng.query(
            "SELECT $a IS NULL AS a, $b AS b, $f * 2 AS f, $d AS d, $t AS t",
            a=None,
            b=False,
            f=0.1,
            d=dt.date(2024, 2, 29),
            t=dt.datetime(2024, 1, 1, 8, 0, 0, 123456, tzinfo=CST),
        ).to_pylist()[0]
        assert got["a"] is True and got["b"] is False
        assert math.isclose(got["f"], 0.2)
        assert got["d"] == dt.date(2024, 2, 29)
        assert got["t"] == dt.datetime(2024, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("sql", "params", "message"),
        [
            ("SELECT $a AS a", {}, "no value for parameter(s) a"),
            ("SELECT 1 AS a", {"a": 1}, "parameter(s) a not used"),
            ("SELECT $t AS t", {"t": dt.datetime(2024, 1, 1)}, "naive"),
            ("SELECT $f AS f", {"f": float("nan")}, "not finite"),
            ("SELECT $x AS x", {"x": object()}, "cannot bind a value of type object"),
            ("SELECT ? AS x", {}, "positional placeholders"),
        ],
    )
    def test_bad_parameters_are_refused_with_the_sql(self, eng, sql, params, message):
        with pytest.raises(EngineError) as caught:
            eng.query(sql, **params)
        assert message in caught.value.message
        assert caught.value.sql == sql


class TestMaterialisedSteps:
    def test_run_count_table_drop(self, eng, store):
        _, _, data = store
        shops = {(p, o["shop_id"]) for (p, _), o in data.orders.items()}
        step = eng.run("step_1", "SELECT platform, shop_id, count(*) AS n FROM orders GROUP BY ALL")
        assert step == "step_1"
        assert eng.count("step_1") == len(shops) == 8
        table = eng.table("step_1")
        assert set(zip(*table.select(["platform", "shop_id"]).to_pydict().values(), strict=True)) == shops
        assert sum(table.column("n").to_pylist()) == eng.count("orders") == len(data.orders)
        sizes = [b.num_rows for b in eng.batches("step_1", rows=3)]
        assert sum(sizes) == 8 and max(sizes) <= 3
        eng.run("step_1", "SELECT * FROM step_1 WHERE n > $k", k=5)  # a step may replace its own input
        assert eng.count("step_1") == sum(1 for n in table.column("n").to_pylist() if n > 5)
        eng.drop("step_1")
        with pytest.raises(EngineError):
            eng.count("step_1")
        eng.drop("step_1")  # dropping what is gone is fine

    def test_register_arrow_round_trip(self, eng):
        table = pa.table(
            {
                "shop_id": pa.array(["S-1", "S-2", None]),
                "n": pa.array([1, 2**40, None], pa.int64()),
                "score": pa.array([0.5, None, 1e-9]),
                "ok": pa.array([True, False, None]),
                "at": pa.array([dt.datetime(2024, 1, 1, tzinfo=UTC), None, None], pa.timestamp("us", "UTC")),
                "day": pa.array([dt.date(2024, 1, 1), None, dt.date(1999, 12, 31)]),
                "blob": pa.array([b"\x00\xff", None, b""]),
            }
        )
        eng.register_arrow("shops", table)
        back = eng.query("SELECT * FROM shops ORDER BY n NULLS LAST")
        assert back.column_names == table.column_names
        assert rows(back) == rows(table)
        joined = eng.query(
            "SELECT count(*) AS n FROM orders o JOIN shops s ON s.shop_id = o.shop_id WHERE s.ok"
        )
        assert (
            joined.column("n")[0].as_py()
            == eng.query("SELECT count(*) AS n FROM orders WHERE shop_id = 'S-1'").column("n")[0].as_py()
        )
        eng.drop("shops")

    def test_a_loop_runs_until_a_count_is_zero(self, eng, store):
        """Peel buyer x shop edges down to the 2-core: each step removes the buyers and shops with fewer
        than two distinct partners, until a step removes nothing."""
        _, _, data = store
        eng.run("edges", "SELECT DISTINCT platform, buyer_id, shop_id FROM orders WHERE status = 'delivered'")
        steps = 0
        while True:
            eng.run(
                "weak",
                """
                SELECT platform, 'b' AS side, buyer_id AS id FROM edges GROUP BY platform, buyer_id
                HAVING count(DISTINCT shop_id) < $k
                UNION ALL
                SELECT platform, 's' AS side, shop_id AS id FROM edges GROUP BY platform, shop_id
                HAVING count(DISTINCT buyer_id) < $k
                """,
                k=2,
            )
            if eng.count("weak") == 0:
                break
            steps += 1
            eng.run(
                "edges",
                """
                SELECT e.* FROM edges e
                WHERE NOT EXISTS (SELECT 1 FROM weak w WHERE w.platform = e.platform
                                  AND ((w.side = 'b' AND w.id = e.buyer_id)
                                       OR (w.side = 's' AND w.id = e.shop_id)))
                """,
            )
        edges = {
            (p, o["buyer_id"], o["shop_id"])
            for (p, _), o in data.orders.items()
            if o["status"] == "delivered"
        }
        want_steps = 0
        while True:
            buyers = Counter((p, b) for p, b, _ in edges)
            shops = Counter((p, s) for p, _, s in edges)
            kept = {(p, b, s) for p, b, s in edges if buyers[(p, b)] >= 2 and shops[(p, s)] >= 2}
            if kept == edges and all(v >= 2 for v in buyers.values()) and all(v >= 2 for v in shops.values()):
                break
            edges, want_steps = kept, want_steps + 1
        assert steps == want_steps and steps >= 1
        assert set(map(tuple, rows(eng.table("edges")))) == edges
        eng.drop("edges")
        eng.drop("weak")


class TestErrors:
    def test_an_unknown_column_names_the_engine_and_carries_the_sql(self, eng):
        with pytest.raises(EngineError) as caught:
            eng.query("SELECT no_such_column FROM orders WHERE platform = $p", p="it's")
        error = caught.value
        assert error.engine == eng.name
        assert "no_such_column" in error.sql and "it" in error.sql  # as sent: parameters bound
        assert "$p" not in error.sql
        assert error.sql in str(error)
        assert error.sql not in error.detail  # an HTTP problem response shows no SQL
        assert error.code == "engine_error"

    def test_a_failure_while_running_carries_the_sql(self, eng):
        with pytest.raises(EngineError) as caught:
            eng.run("bad", "SELECT CAST(order_id AS INTEGER) AS n FROM orders")
        assert "CAST(order_id AS INT" in caught.value.sql
        assert caught.value.sql in str(caught.value)

    def test_unparseable_sql(self, eng):
        with pytest.raises(EngineError) as caught:
            eng.query("SELEC 1")
        assert caught.value.sql == "SELEC 1"

    @pytest.mark.parametrize(
        ("sql", "message"),
        [
            ("SELECT hash(order_id) AS h FROM orders", "use md5()"),
            ("SELECT epoch(ordered_at) AS e FROM orders", "EPOCH()"),
            ("SELECT list(order_id ORDER BY ordered_at) AS l FROM orders", "list_sort"),
            ("SELECT dayofweek(ordered_at) AS d FROM orders", "day names"),
            ("SELECT extract(isodow FROM ordered_at) AS d FROM orders", "day names"),
        ],
    )
    def test_constructs_that_mean_something_else_on_spark_are_refused(self, eng, sql, message):
        with pytest.raises(EngineError, match=r"not portable") as caught:
            eng.query(sql)
        assert message in caught.value.message

    def test_only_single_queries_and_plain_names(self, eng):
        with pytest.raises(EngineError, match="one statement"):
            eng.query("SELECT 1; SELECT 2")
        with pytest.raises(EngineError, match="expected a query"):
            eng.query("DROP TABLE orders")
        with pytest.raises(EngineError, match="plain identifier"):
            eng.run("orders; DROP TABLE x", "SELECT 1 AS a")
        assert eng.count("orders") > 0


# The module's store holds a write transaction (SQLite has one writer): these tests use its session.


@pytest.mark.parametrize("name", ENGINES)
def test_kinds_without_files_give_an_empty_snapshot(request, store, name):
    session, lake, _ = store
    with _open(name, request) as e:
        assert e.register_lake(session, lake, ["parcels", "accounts"], schemas=SCHEMAS) == ""
        assert e.count("parcels") == 0
        assert e.query("SELECT * FROM accounts").column_names == [
            *SCHEMAS["accounts"].names,
            "platform",
            "date",
        ]


class TestRegisterLake:
    def test_a_kind_without_files_needs_its_schema(self, store):
        session, lake, _ = store
        with open_engine("duckdb") as e, pytest.raises(EngineError, match="no committed file"):
            e.register_lake(session, lake, ["parcels"])

    def test_an_unknown_kind(self, store):
        session, lake, _ = store
        with open_engine("duckdb") as e, pytest.raises(EngineError, match="unknown lake table"):
            e.register_lake(session, lake, ["shops"])

    def test_registering_again_replaces_the_views(self, store):
        session, lake, data = store
        with open_engine("duckdb") as e:
            e.register_lake(session, lake, ["parcels"], schemas=SCHEMAS)
            e.register_lake(session, lake, ["parcels", "orders"], schemas=SCHEMAS)
            assert e.count("orders") == len(data.orders)
            assert e.count("parcels") == 0

    def test_a_lake_table_of_chosen_columns_is_made_when_first_read(self, store):
        session, lake, data = store

        def tables(e) -> dict[str, str]:
            found = e.query(
                "SELECT table_name, table_type FROM information_schema.tables "
                "WHERE table_name IN ('orders', 'reviews')"
            ).to_pylist()
            return {r["table_name"]: r["table_type"] for r in found}

        with open_engine("duckdb") as e:
            picked = {"orders": ["order_id", "status"], "reviews": ["review_id"]}
            e.register_lake(session, lake, ["orders", "reviews"], schemas=SCHEMAS, columns=picked)
            assert tables(e) == {"orders": "VIEW", "reviews": "VIEW"}  # nothing read yet
            counted = e.query("SELECT count(*) AS n FROM orders WHERE status IS NOT NULL")
            assert counted.column("n").to_pylist() == [len(data.orders)]
            assert tables(e) == {"orders": "BASE TABLE", "reviews": "VIEW"}
            assert e.query("SELECT * FROM orders").column_names == ["platform", "date", "order_id", "status"]
            # Dropped before any read: never made; a step of the same name is not replaced by it later.
            e.drop("reviews")
            e.run("reviews", "SELECT 1 AS x")
            assert e.table("reviews").to_pylist() == [{"x": 1}]
            assert tables(e) == {"orders": "BASE TABLE", "reviews": "BASE TABLE"}


@pytest.mark.spark
def test_spark_engines_of_one_process_keep_their_own_views(spark):
    with open_engine("spark") as a, open_engine("spark") as b:
        a.run("mine", "SELECT 1 AS x")
        b.run("mine", "SELECT 2 AS x")
        assert a.query("SELECT x FROM mine").column("x").to_pylist() == [1]
        assert b.query("SELECT x FROM mine").column("x").to_pylist() == [2]
    conf = spark.conf
    assert conf.get("spark.sql.session.timeZone") == "UTC"


@pytest.mark.spark
def test_spark_steps_do_not_compound_size_estimates(spark):
    """A checkpoint keeps its origin's size estimate, and a loop of joins multiplies the estimates step after
    step until planning spends minutes multiplying BigIntegers (seen with localCheckpoint: the digits
    doubled per step). Steps written as Parquet are estimated from their files."""
    with open_engine("spark") as e:
        e.register_arrow("t0", pa.table({"a": list(range(200)), "b": [i % 7 for i in range(200)]}))
        for i in range(1, 9):
            e.run(f"t{i}", f"SELECT x.a, y.b FROM t{i - 1} x JOIN t{i - 1} y ON x.a = y.a")
        frame = e._spark.table("t8")  # the engine's own session holds its views
        estimate = int(str(frame._jdf.queryExecution().optimizedPlan().stats().sizeInBytes()))
        assert estimate < 10**9, estimate
        assert e.count("t8") == 200


# ---------------------------------------------------------------- SQL files, transpilation, settings

SQL_FILES = sorted(SRC.rglob("*.sql"))


@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_every_sql_file_transpiles_to_spark_and_is_portable(path: Path):
    text = path.read_text(encoding="utf-8")
    spark_sql = to_spark_sql(text)
    assert spark_sql.strip()
    import sqlglot

    for statement in sqlglot.parse(text, read="duckdb"):
        if statement is not None:
            assert analytics.portability_problems(statement) == [], path


@pytest.mark.spark
@pytest.mark.parametrize("path", SQL_FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_every_sql_file_parses_on_spark(spark, path: Path):
    """sqlglot passes some DuckDB-only syntax through unchanged (SELECT * REPLACE, UNION BY NAME): Spark's own
    parser (no tables needed) must accept what it generates."""
    import sqlglot

    parser = spark._jsparkSession.sessionState().sqlParser()
    for statement in sqlglot.parse(path.read_text(encoding="utf-8"), read="duckdb"):
        if statement is not None:
            parser.parsePlan(to_spark_sql(statement.sql("duckdb")))


@pytest.mark.spark
def test_spark_parser_check_catches_duckdb_only_syntax(spark):
    parser = spark._jsparkSession.sessionState().sqlParser()
    parser.parsePlan(to_spark_sql("SELECT a FROM t JOIN u USING (a) WHERE a IN ($ids)"))
    with pytest.raises(Exception, match="PARSE_SYNTAX_ERROR"):
        parser.parsePlan(to_spark_sql("SELECT * REPLACE (a + 1 AS a) FROM t"))


class TestTranspile:
    def test_duckdb_idioms_become_spark_sql(self):
        sql = to_spark_sql(
            "SELECT list_sort(list(x)) AS l, x::BIGINT AS y, md5(s) AS m FROM t QUALIFY row_number() "
            "OVER (PARTITION BY s ORDER BY x) = 1"
        )
        assert "ARRAY_SORT(COLLECT_LIST(x))" in sql
        assert "CAST(x AS BIGINT)" in sql
        assert "QUALIFY" not in sql  # Spark has none: sqlglot wraps the query

    def test_what_spark_cannot_express_raises(self):
        with pytest.raises(EngineError, match="cannot transpile"):
            to_spark_sql("SELECT arg_max(a, b, 3) AS top FROM t")


class TestLoadSql:
    def test_reads_a_file_shipped_in_a_package(self, tmp_path: Path, monkeypatch):
        package = tmp_path / "sqlpkg_for_test"
        (package / "sql" / "brushing").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "sql" / "brushing" / "blocks.sql").write_text("SELECT 1 AS one\n", encoding="utf-8")
        monkeypatch.syspath_prepend(str(tmp_path))
        assert load_sql("sqlpkg_for_test/sql/brushing/blocks.sql") == "SELECT 1 AS one\n"
        with pytest.raises(EngineError, match="no SQL file"):
            load_sql("sqlpkg_for_test/sql/missing.sql")

    @pytest.mark.parametrize(
        "path", ["ecredit.monitoring", "ecredit/../x.sql", "ecredit/policy/x.toml", "no_such_pkg_xyz/a.sql"]
    )
    def test_refuses_what_is_not_a_packaged_sql_file(self, path):
        with pytest.raises(EngineError):
            load_sql(path)


class TestOpenEngine:
    def test_default_comes_from_the_settings(self, monkeypatch):
        from ecredit.config import Settings

        monkeypatch.setenv("ECREDIT_ENGINE", "duckdb")
        with open_engine(settings=Settings()) as e:
            assert e.name == "duckdb"
            assert isinstance(e, analytics.Engine)
        with pytest.raises(EngineError, match="unknown analytics engine"):
            open_engine("oracle")

    def test_duckdb_settings_are_applied(self):
        from ecredit.config import Settings

        with open_engine("duckdb", settings=Settings(duckdb_threads=1, duckdb_memory_limit="512MB")) as e:
            got = e.query(
                "SELECT current_setting('threads') AS t, current_setting('memory_limit') AS m, "
                "current_setting('TimeZone') AS z"
            ).to_pylist()[0]
        assert got["t"] == 1 and got["m"].startswith("48") and got["z"] in ("UTC", "Etc/UTC")

    def test_duckdb_spills_within_a_default_limit_to_a_directory_of_its_own(self):
        from ecredit.config import Settings

        engine = open_engine("duckdb", settings=Settings())
        try:
            got = engine.query(
                "SELECT current_setting('memory_limit') AS m, current_setting('temp_directory') AS d, "
                "current_setting('preserve_insertion_order') AS o"
            ).to_pylist()[0]
            scratch = Path(got["d"])
            assert scratch.is_dir() and scratch.name.startswith("ecredit-duckdb-")
            assert got["o"] is False
            limit_mib = int(analytics.default_memory_limit().removesuffix("MiB"))
            total_mib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
            assert limit_mib == max(1024, int(total_mib * analytics.DUCKDB_MEMORY_SHARE))
            assert got["m"] != "" and limit_mib < total_mib * 0.5
        finally:
            engine.close()
        assert not scratch.exists()

    def test_a_temp_directory_given_is_used_and_kept(self, tmp_path: Path):
        from ecredit.config import Settings

        spill = tmp_path / "spill"
        with open_engine("duckdb", settings=Settings(duckdb_temp_directory=str(spill))) as e:
            got = e.query("SELECT current_setting('temp_directory') AS d").to_pylist()[0]
        assert Path(got["d"]) == spill
        assert tmp_path.exists()


class TestStepLog:
    def test_each_step_is_logged_with_its_time_and_rows(self, caplog):
        from ecredit.config import Settings

        level = caplog.at_level(logging.DEBUG, logger=analytics.STEP_LOG.name)
        with level, open_engine("duckdb", settings=Settings()) as e:
            e.run("three", "SELECT * FROM range(3) AS t(x)")
            e.query("SELECT count(*) AS n FROM three")
        lines = [r.getMessage() for r in caplog.records if r.name == analytics.STEP_LOG.name]
        assert any(re.fullmatch(r"duckdb step three: \d+\.\d{3} s 3 rows \(peak RSS .+\)", m) for m in lines)
        assert any(m.startswith("duckdb query SELECT count(*) AS n FROM three: ") for m in lines)

    def test_nothing_is_logged_when_the_log_is_off(self, caplog):
        from ecredit.config import Settings

        level = caplog.at_level(logging.INFO, logger=analytics.STEP_LOG.name)
        with level, open_engine("duckdb", settings=Settings()) as e:
            e.run("one", "SELECT 1 AS x")
        assert not [r for r in caplog.records if r.name == analytics.STEP_LOG.name]
