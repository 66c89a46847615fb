"""Preparing statements once per text (``_prepared``), renamed loop steps, ``key64`` and Arrow tables read in
place: the fast paths must give what the plain path (parse, bind in the tree, generate) gives."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from ecredit.analytics import engine as analytics
from ecredit.analytics.engine import EngineError, open_engine, prepare, renamed
from ecredit.monitoring.detectors.base import sql

STATEMENTS = [
    ("SELECT $x AS x, $y AS y FROM t WHERE a > $x", {"x": 1.5, "y": "it's"}),
    (
        "SELECT * FROM t WHERE d >= $since AND flag = $flag",
        {"since": dt.datetime(2024, 1, 2, tzinfo=dt.UTC), "flag": True},
    ),
    ("-- a comment naming $x\nSELECT $x AS x FROM t", {"x": 3}),
    ("SELECT key64(a, b) AS k FROM t WHERE n < $n", {"n": 2}),
]


def _plain(text: str, params: dict, dialect: str) -> str:
    """What the tree path gives: bind the placeholders in the tree, then generate."""
    tree = analytics._parse(text)
    bound = analytics._dialect_rewrites(analytics.bind(tree, params), dialect)
    return bound.sql(dialect=dialect, comments=False)


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
@pytest.mark.parametrize(("text", "params"), STATEMENTS)
def test_placeholders_replaced_in_the_text_give_the_tree_paths_statement(text, params, dialect):
    assert analytics._prepared(text, dialect).tree is None  # the fast path is the one taken
    assert prepare(text, params, dialect) == _plain(text, params, dialect)


def test_a_placeholder_spelled_inside_a_string_is_bound_in_the_tree():
    text = "SELECT '$x' AS literal, $x AS x"
    assert analytics._prepared(text, "duckdb").tree is not None
    with open_engine("duckdb") as engine:
        assert engine.query(text, x=7).to_pylist() == [{"literal": "$x", "x": 7}]


def test_lists_of_in_are_bound_in_the_tree():
    text = "SELECT count(*) AS n FROM (SELECT unnest([1, 2, 3]) AS v) AS t WHERE v IN ($vs)"
    assert analytics._prepared(text, "duckdb").tree is not None
    with open_engine("duckdb") as engine:
        assert engine.query(text, vs=[1, 3]).column("n").to_pylist() == [2]
        assert engine.query(text, vs=[]).column("n").to_pylist() == [0]


def test_missing_and_unused_parameters_are_refused():
    with pytest.raises(EngineError, match="no value for parameter"):
        prepare("SELECT $x AS x", {}, "duckdb")
    with pytest.raises(EngineError, match="not used by the SQL"):
        prepare("SELECT 1 AS x", {"x": 1}, "duckdb")


def test_a_renamed_step_is_prepared_from_its_template_once():
    template = sql("brushing/shrink.sql")
    analytics._prepared.cache_clear()
    texts = [
        prepare(
            sql("brushing/shrink.sql", brushing_b=f"brushing_b_{i}", brushing_cut=f"brushing_cut_{i}"),
            {},
            "duckdb",
        )
        for i in range(1, 6)
    ]
    info = analytics._prepared.cache_info()
    assert info.misses == 1 and info.hits == 4  # one parse for five passes
    assert "brushing_b_3" in texts[2] and "brushing_cut_3" in texts[2] and "brushing_b " not in texts[2]
    # The same text as renaming the file first and preparing that.
    plain = template.replace("brushing_b", "brushing_b_3").replace("brushing_cut", "brushing_cut_3")
    assert texts[2] == prepare(plain, {}, "duckdb")


def test_renamed_refuses_a_name_that_is_not_an_identifier():
    with pytest.raises(ValueError, match="plain identifier"):
        renamed("SELECT * FROM t", t="t; DROP TABLE x")


def test_key64_is_one_bigint_per_value():
    table = pa.table({"a": ["x", "y", "x", "z"], "b": ["1", "1", "1", "2"]})
    with open_engine("duckdb") as engine:
        engine.register_arrow("t", table)
        got = engine.query("SELECT a, b, key64(a) AS k, key64(a, b) AS kab FROM t").to_pylist()
        types = engine.query("SELECT key64(a) AS k FROM t").schema.field("k").type
    assert types == pa.int64()
    by_value = {}
    for row in got:
        assert by_value.setdefault(row["a"], row["k"]) == row["k"]  # the same value, the same key
    assert len(set(by_value.values())) == 3  # three values, three keys
    assert all(row["k"] >= 0 for row in got)  # 63 bits on DuckDB: never negative


@pytest.mark.spark
def test_key64_groups_alike_on_spark():
    """Keys differ between engines; what they group must not."""
    table = pa.table({"a": [f"acct-{i % 97}" for i in range(1000)]})
    text = (
        "SELECT count(*) AS keys, sum(n) AS rows"
        " FROM (SELECT key64(a) AS k, count(*) AS n FROM t GROUP BY key64(a)) AS x"
    )
    counts = []
    for name in ("duckdb", "spark"):
        with open_engine(name) as engine:
            engine.register_arrow("t", table)
            counts.append(engine.query(text).to_pylist())
    assert counts[0] == counts[1] == [{"keys": 97, "rows": 1000}]


def test_an_arrow_table_read_in_place_can_be_queried_replaced_and_dropped():
    first = pa.table({"x": [1, 2, 3]})
    with open_engine("duckdb") as engine:
        engine.register_arrow("t", first, copy=False)
        assert engine.count("t") == 3
        engine.run("t", "SELECT 1 AS x")  # a table replaces the Arrow view
        assert engine.count("t") == 1
        engine.register_arrow("t", first, copy=False)  # and the other way round
        assert engine.query("SELECT sum(x) AS s FROM t").column("s").to_pylist() == [6]
        engine.drop("t")
        with pytest.raises(EngineError):
            engine.count("t")


def test_an_arrow_table_read_in_place_streams_in_batches():
    table = pa.table({"x": list(range(10))})
    with open_engine("duckdb") as engine:
        engine.register_arrow("t", table, copy=False)
        assert sum(b.num_rows for b in engine.batches("t", rows=4)) == 10
        assert engine.table("t").num_rows == 10
