"""Credit points (信用积分) from buyers' ratings: points per rating, the cap per buyer-seller pair per period
(brushing adds almost nothing), voided ratings of confirmed ring accounts, levels."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ecredit.analytics.engine import open_engine
from ecredit.intake import formats
from ecredit.scoring import runner, snapshots, spec
from tests.scoring.test_properties import AS_OF, _empty_lake

T0 = dt.datetime(2026, 3, 1, 4, 0, tzinfo=dt.UTC)


def _reviews(rows: list[tuple[str, str, int, dt.datetime, str]]) -> pa.Table:
    """(shop, buyer, rating, reviewed_at, kind) rows on platform ``plat``."""
    schema = formats.lake_schema(formats.KINDS["reviews"])
    fields = [*schema, pa.field("platform", pa.string()), pa.field("date", pa.date32())]
    n = len(rows)
    data = {
        "review_id": [f"R{i}" for i in range(n)],
        "order_id": [f"O{i}" for i in range(n)],
        "shop_id": [r[0] for r in rows],
        "buyer_id": [r[1] for r in rows],
        "rating": [r[2] for r in rows],
        "text": ["好"] * n,
        "reviewed_at": [r[3] for r in rows],
        "kind": [r[4] for r in rows],
        "platform": ["plat"] * n,
        "date": [r[3].date() for r in rows],
    }
    return pa.table({f.name: pa.array(data.get(f.name, [None] * n), f.type) for f in fields})


def _tables(flagged: list[tuple[str, str, bool]] = ()) -> dict[str, pa.Table]:
    tables = {name: schema.empty_table() for name, schema in snapshots.SCHEMAS.items()}
    tables["store_shops"] = snapshots.arrow_of(
        [
            (f"SHOP{i:022d}", f"SUBJ{i:022d}", "plat", f"S{i}", "verified", None, None, "open", "370102")
            for i in range(3)
        ],
        snapshots.SCHEMAS["store_shops"],
    )
    tables["store_flagged_accounts"] = snapshots.arrow_of(
        [("plat", account, kind, confirmed) for account, kind, confirmed in flagged],
        snapshots.SCHEMAS["store_flagged_accounts"],
    )
    return tables


@pytest.fixture
def engine():
    with open_engine("duckdb") as e:
        _empty_lake(e)
        yield e


def _points(engine, reviews, tables=None) -> dict[str, dict]:
    engine.register_arrow("reviews", reviews)
    ev = runner.evaluate(engine, spec.load(), tables or _tables(), as_of=AS_OF, snapshot="s")
    return {r["party_ref"]: r for r in ev.points.to_pylist()}


def test_a_rating_is_worth_its_configured_points(engine):
    rows = [("S0", f"b{r}", r, T0, "initial") for r in (1, 2, 3, 4, 5)]
    rows.append(("S0", "b9", 5, T0, "follow_up"))  # follow-ups are no ratings of their own
    got = _points(engine, _reviews(rows))["S0"]
    rules = spec.load().points.rating_points
    assert got["points"] == sum(rules[r] for r in (1, 2, 3, 4, 5)) == 0
    assert got["ratings"] == 5


def test_one_pair_counts_at_most_the_cap_per_period(engine):
    cap = spec.load().points.pair_cap
    days = spec.load().points.period_days
    brushing = [("S0", "ring", 5, T0 + dt.timedelta(hours=h), "initial") for h in range(40)]
    honest = [("S1", f"buyer{i}", 5, T0, "initial") for i in range(40)]
    later = [("S0", "ring", 5, T0 + dt.timedelta(days=days * k), "initial") for k in (1, 2)]
    got = _points(engine, _reviews(brushing + honest + later))
    assert got["S0"]["points"] == 3 * cap  # forty ratings in one period are worth one pair's cap
    assert got["S0"]["capped_points"] == 40 - cap
    assert got["S1"]["points"] == 40  # forty different buyers: forty points
    negative = [("S2", "angry", 1, T0 + dt.timedelta(hours=h), "initial") for h in range(5)]
    assert _points(engine, _reviews(negative))["S2"]["points"] == -cap


def test_ratings_of_confirmed_ring_accounts_and_extortion_reviewers_are_voided(engine):
    rows = [("S0", f"ring{i}", 5, T0, "initial") for i in range(10)]
    rows += [("S0", "honest", 5, T0, "initial"), ("S0", "extortioner", 1, T0, "initial")]
    flagged = [(f"ring{i}", "brushing_ring", True) for i in range(8)]
    flagged += [("ring8", "brushing_ring", False), ("extortioner", "extortion_reviewer", False)]
    got = _points(engine, _reviews(rows), _tables(flagged))["S0"]
    assert got["voided_ratings"] == 9  # eight confirmed ring accounts, one detected extortion reviewer
    assert got["points"] == 3  # ring8 (its warning still open), ring9 (not flagged), honest


def test_a_rating_that_is_a_detected_fake_review_counts_nothing(engine):
    rows = [("S0", f"ring{i}", 5, T0, "initial") for i in range(6)]  # a ring the ring detector missed
    rows += [("S0", "honest", 5, T0, "initial"), ("S0", "ring0", 4, T0 + dt.timedelta(days=1), "initial")]
    reviews = _reviews(rows)
    tables = _tables()
    tables["store_flagged_reviews"] = snapshots.arrow_of(
        [("plat", f"R{i}") for i in range(6)], snapshots.SCHEMAS["store_flagged_reviews"]
    )
    got = _points(engine, reviews, tables)["S0"]
    assert got["ratings"] == 8 and got["voided_ratings"] == 6
    # The honest buyer's point, and ring0's second (genuine) rating in the same period: only the fake ones go.
    assert got["points"] == 2
    assert _points(engine, reviews)["S0"]["points"] == 7  # unflagged: every pair's point counts


def test_a_shop_in_a_confirmed_brushing_warning_loses_points(engine):
    rows = [("S0", f"buyer{i}", 5, T0, "initial") for i in range(20)]
    rows += [("S1", f"buyer{i}", 5, T0, "initial") for i in range(20)]
    deduction = spec.load().points.brushing_deduction
    assert deduction > 0
    tables = _tables()
    tables["store_warning_shops"] = snapshots.arrow_of(
        [
            ("plat", "S0", "brushing_ring", 0.9, "confirmed"),
            ("plat", "S0", "brushing_ring", 0.8, "confirmed"),
            ("plat", "S1", "brushing_ring", 0.9, "open"),  # not confirmed: nothing deducted
            ("plat", "S1", "fake_review", 0.9, "confirmed"),  # another kind: nothing deducted
        ],
        snapshots.SCHEMAS["store_warning_shops"],
    )
    got = _points(engine, _reviews(rows), tables)
    assert got["S0"]["deducted_points"] == 2 * deduction and got["S0"]["points"] == 20 - 2 * deduction
    assert got["S1"]["deducted_points"] == 0 and got["S1"]["points"] == 20


def test_levels_as_a_platform_shows_them(engine):
    rules = spec.load().points
    rows = [("S0", f"b{i}", 5, T0, "initial") for i in range(45)]
    got = _points(engine, _reviews(rows))["S0"]
    assert got["points"] == 45
    level = rules.level_of(45)
    assert got["level"] == level.level and level.name_zh == "三心"
    assert rules.level_of(0).name_zh == "新店" and rules.level_of(-3).level == 0
    assert rules.level_of(10001).name_zh == "一皇冠"
    shops = runner.evaluate(engine, spec.load(), _tables(), as_of=AS_OF, snapshot="s").scores["shop"]
    row = shops.filter(pc.equal(shops.column("entity_key"), f"SHOP{0:022d}")).to_pylist()[0]
    assert row["points"] == 45 and row["points_level"] == level.level
