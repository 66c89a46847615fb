"""Property tests of the evaluation (issue: credit evaluation, acceptance): adding a penalty never raises a
score, removing one (repair) never lowers it, and the same data and model version give the same score. Over
store snapshots built directly as Arrow tables (no store needed), on DuckDB."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecredit.analytics.engine import open_engine
from ecredit.intake import formats
from ecredit.scoring import runner, snapshots, spec

AS_OF = dt.date(2026, 6, 30)
SHOPS = [f"SHOP{i:022d}" for i in range(6)]
SUBJECTS = [f"SUBJ{i:022d}" for i in range(4)]  # shops 4 and 5 share operators 0 and 1
KINDS = ["administrative_penalty", "platform_penalty", "confirmed_warning", "commitment_breach", "list_entry"]

record = st.fixed_dictionaries(
    {
        "subject": st.sampled_from(SUBJECTS),
        "kind": st.sampled_from([*KINDS, "award", "commitment_fulfilled"]),
        "severity": st.sampled_from(["minor", "general", "serious", None]),
        "days_ago": st.integers(min_value=-30, max_value=900),
        "colour": st.sampled_from(["black", "red"]),
    }
)
warning = st.fixed_dictionaries(
    {
        "shop": st.integers(min_value=0, max_value=5),
        "kind": st.sampled_from(
            ["brushing_ring", "fake_review", "empty_parcel", "reopened_shop", "extortion_reviewer"]
        ),
        "confidence": st.floats(min_value=0.0, max_value=1.0),
        "confirmed": st.booleans(),
    }
)
shop_state = st.tuples(st.sampled_from(["verified", "rejected", "unverified"]), st.integers(0, 4000))


def _tables(shops, records, warnings) -> dict[str, pa.Table]:
    tables = {name: schema.empty_table() for name, schema in snapshots.SCHEMAS.items()}
    tables["store_shops"] = snapshots.arrow_of(
        [
            (
                key,
                SUBJECTS[i % 4],
                "plat",
                f"P-{i}",
                status,
                dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
                AS_OF - dt.timedelta(days=age),
                "open",
                "370102",
            )
            for i, (key, (status, age)) in enumerate(zip(SHOPS, shops, strict=True))
        ],
        snapshots.SCHEMAS["store_shops"],
    )
    rows = []
    for r in records:
        effect = "positive" if r["kind"] in ("award", "commitment_fulfilled") else "negative"
        if r["kind"] == "list_entry":
            effect = "positive" if r["colour"] == "red" else "negative"
        listed = r["kind"] == "list_entry"
        rows.append(
            (
                r["subject"],
                r["kind"],
                effect,
                r["severity"],
                AS_OF - dt.timedelta(days=r["days_ago"]),
                r["colour"] if listed else None,
                (r["severity"] == "serious") if listed else None,
            )
        )
    tables["store_records"] = snapshots.arrow_of(rows, snapshots.SCHEMAS["store_records"])
    tables["store_warning_shops"] = snapshots.arrow_of(
        [
            ("plat", f"P-{w['shop']}", w["kind"], w["confidence"], "confirmed" if w["confirmed"] else "open")
            for w in warnings
        ],
        snapshots.SCHEMAS["store_warning_shops"],
    )
    return tables


def _empty_lake(engine) -> None:
    for kind in runner.LAKE_KINDS:
        schema = formats.lake_schema(formats.KINDS[kind])
        fields = [*schema, pa.field("platform", pa.string()), pa.field("date", pa.date32())]
        engine.register_arrow(kind, pa.schema(fields).empty_table())
        engine.register_arrow(f"{kind}_all", pa.schema(fields).empty_table())  # as register_lake does


@pytest.fixture(scope="module")
def engine():
    with open_engine("duckdb") as e:
        _empty_lake(e)
        yield e


def _scores(engine, tables) -> dict[str, int]:
    return {k: v[0] for k, v in _details(engine, tables).items()}


def _details(engine, tables) -> dict[str, tuple[int, int, float]]:
    """Per shop: (score, base score before overrides, raw value of the penalties indicator)."""
    ev = runner.evaluate(engine, spec.load(), tables, as_of=AS_OF, snapshot="s")
    table = ev.scores["shop"]
    c = ev.contributions["shop"]
    c = c.filter(pc.equal(c.column("indicator"), "penalties"))
    raw = dict(zip(c.column("entity_key").to_pylist(), c.column("raw").to_pylist(), strict=True))
    return {
        k: (score, base, raw[k])
        for k, score, base in zip(
            table.column("entity_key").to_pylist(),
            table.column("score").to_pylist(),
            table.column("base_score").to_pylist(),
            strict=True,
        )
    }


def _counts(r: dict) -> bool:
    """Whether a generated record counts on AS_OF (decided by then)."""
    return r["days_ago"] >= 0


def _negative(r: dict) -> bool:
    return r["kind"] not in ("award", "commitment_fulfilled") and r["colour"] == "black"


PENALTY_SATURATED = spec.load().indicator("penalties").normaliser["high"]


PROPERTY = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(
    shops=st.lists(shop_state, min_size=6, max_size=6),
    records=st.lists(record, max_size=6),
    warnings=st.lists(warning, max_size=4),
    penalty=record.filter(_negative),
)
def test_adding_a_penalty_never_raises_a_score(engine, shops, records, warnings, penalty):
    before = _details(engine, _tables(shops, records, warnings))
    after = _details(engine, _tables(shops, [*records, penalty], warnings))
    assert set(before) == set(after) == set(SHOPS)
    for key in SHOPS:
        assert after[key][0] <= before[key][0], (key, before[key], after[key], penalty)
    hit = [k for i, k in enumerate(SHOPS) if SUBJECTS[i % 4] == penalty["subject"]]
    others = set(SHOPS) - set(hit)
    assert all(after[k] == before[k] for k in others)  # a record weighs on its own subject only
    for key in hit:  # and it does weigh: a counting penalty lowers the score before overrides
        if _counts(penalty):
            assert after[key][2] > before[key][2]
            if before[key][2] < PENALTY_SATURATED:
                assert after[key][1] < before[key][1], (key, before[key], after[key], penalty)
        else:  # decided after the evaluation date: nothing changes
            assert after[key] == before[key]


@PROPERTY
@given(
    shops=st.lists(shop_state, min_size=6, max_size=6),
    records=st.lists(record, max_size=6),
    warnings=st.lists(warning, max_size=4),
    repaired=record.filter(_negative),
    at=st.integers(min_value=0, max_value=6),
)
def test_removing_a_penalty_never_lowers_a_score(engine, shops, records, warnings, repaired, at):
    """Repair takes a record out of the records snapshot (``repository.counting_records`` reads stored status
    active only; the store path is tested in test_refresh.py): removing it never lowers a score."""
    with_it = [*records[:at], repaired, *records[at:]]
    before = _details(engine, _tables(shops, with_it, warnings))
    after = _details(engine, _tables(shops, records, warnings))
    for key in SHOPS:
        assert after[key][0] >= before[key][0], (key, before[key], after[key])
    for i, key in enumerate(SHOPS):
        if SUBJECTS[i % 4] == repaired["subject"] and _counts(repaired):
            assert after[key][2] < before[key][2]
            if after[key][2] < PENALTY_SATURATED:
                assert after[key][1] > before[key][1], (key, before[key], after[key], repaired)


@PROPERTY
@given(
    shops=st.lists(shop_state, min_size=6, max_size=6),
    records=st.lists(record, max_size=6),
    warnings=st.lists(warning, max_size=4),
    order=st.randoms(use_true_random=False),
)
def test_same_data_and_model_give_the_same_score(engine, shops, records, warnings, order):
    tables = _tables(shops, records, warnings)
    first = runner.evaluate(engine, spec.load(), tables, as_of=AS_OF, snapshot="s")
    shuffled_records, shuffled_warnings = list(records), list(warnings)
    order.shuffle(shuffled_records)
    order.shuffle(shuffled_warnings)
    with open_engine("duckdb") as other:  # another engine: nothing carried over; rows in another order
        _empty_lake(other)
        second = runner.evaluate(
            other, spec.load(), _tables(shops, shuffled_records, shuffled_warnings), as_of=AS_OF, snapshot="s"
        )
    assert set(first.scores) == set(second.scores) == set(spec.load().entities) - {"platform", "logistics"}
    for entity in first.scores:
        a = first.scores[entity].sort_by("entity_key")
        b = second.scores[entity].sort_by("entity_key")
        assert a.num_rows == len(SHOPS) and a.equals(b)
        ca = first.contributions[entity].sort_by([("entity_key", "ascending"), ("indicator", "ascending")])
        cb = second.contributions[entity].sort_by([("entity_key", "ascending"), ("indicator", "ascending")])
        assert ca.equals(cb)


def test_a_serious_black_list_entry_forces_the_lowest_class(engine):
    shops = [("verified", 3000)] * 6
    clean = _scores(engine, _tables(shops, [], []))
    entry = {
        "subject": SUBJECTS[0],
        "kind": "list_entry",
        "severity": "serious",
        "days_ago": 10,
        "colour": "black",
    }
    tables = _tables(shops, [entry], [])
    ev = runner.evaluate(engine, spec.load(), tables, as_of=AS_OF, snapshot="s")
    table = ev.scores["shop"]
    listed = table.filter(pc.is_in(table.column("entity_key"), pa.array([SHOPS[0], SHOPS[4]]))).to_pylist()
    assert {r["risk_class"] for r in listed} == {"D"}
    assert {r["grade"] for r in listed} == {"C"}
    assert all(r["override"] == "serious_black_list" and r["score"] <= 199 < r["base_score"] for r in listed)
    assert clean[SHOPS[0]] > 199
    # A red-list entry or a black one that is not serious is no override.
    for colour, serious in (("red", "serious"), ("black", "general")):
        entry = entry | {"colour": colour, "severity": serious}
        ev = runner.evaluate(engine, spec.load(), _tables(shops, [entry], []), as_of=AS_OF, snapshot="s")
        row = (
            ev.scores["shop"]
            .filter(pc.equal(ev.scores["shop"].column("entity_key"), SHOPS[0]))
            .to_pylist()[0]
        )
        assert row["override"] is None and row["risk_class"] != "D"
