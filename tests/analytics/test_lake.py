"""The lake's one way of reading its files: partition values come from the path and never shadow a data
column (reviews have a ``kind`` column of their own, and their files lie under ``kind=reviews/``)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy.orm import Session

from ecredit.analytics.engine import open_engine
from ecredit.analytics.lake import Lake, LakeError
from ecredit.intake import formats

UTC = dt.UTC
INGESTED = dt.datetime(2024, 3, 1, tzinfo=UTC)
SCHEMA = formats.lake_schema(formats.KINDS["reviews"])
B1, B2 = "01BATCH0000000000000000001", "01BATCH0000000000000000002"


def _reviews(batch: str, numbers: range, *, rating: int = 5) -> pa.Table:
    rows = [
        {
            "review_id": f"R-{n}",
            "order_id": f"O-{n}",
            "shop_id": "S-1",
            "buyer_id": f"u{n}",
            "rating": rating,
            "text": "很好",
            "reviewed_at": dt.datetime(2024, 1, 5, 4, n, tzinfo=UTC),
            "kind": "follow_up" if n % 2 else "initial",
            "_batch": batch,
            "_row": i,
            "_ingested_at": INGESTED + dt.timedelta(seconds=int(batch[-1])),
        }
        for i, n in enumerate(numbers)
    ]
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def _write(session: Session, lake: Lake, batch: str, table: pa.Table) -> None:
    staged = lake.write_files("reviews", "qilu", batch, [(dt.date(2024, 1, 5), table)])
    lake.add_batch(
        session, batch_id=batch, kind="reviews", platform="qilu", key=batch, source="file", files=staged
    )


def _in(session: Session):
    @contextlib.contextmanager
    def transaction() -> Iterator[Session]:
        with session.begin_nested():
            yield session

    return transaction


def _kinds(session: Session, lake: Lake) -> dict[str, str]:
    con = lake.connect(session, ["reviews"])
    try:
        return dict(con.execute("SELECT review_id, kind FROM reviews").fetchall())
    finally:
        con.close()


EXPECTED = {f"R-{n}": "follow_up" if n % 2 else "initial" for n in range(6)}


class TestSourceSql:
    def test_path_values_are_appended_and_data_columns_read_as_stored(self, session: Session, tmp_path: Path):
        lake = Lake(tmp_path)
        _write(session, lake, B1, _reviews(B1, range(6)))
        paths = lake.paths(lake.active_files(session, "reviews"))
        rows = duckdb.sql(f"SELECT review_id, kind, platform, date FROM {Lake.source_sql(paths)}").fetchall()
        assert {r[0]: r[1] for r in rows} == EXPECTED
        assert {(r[2], r[3]) for r in rows} == {("qilu", dt.date(2024, 1, 5))}
        bare = duckdb.sql(f"SELECT * FROM {Lake.source_sql(paths, path_columns=False)}")
        assert bare.columns == SCHEMA.names  # exactly what a lake file stores

    def test_connect_shows_the_reviews_own_kind(self, session: Session, tmp_path: Path):
        lake = Lake(tmp_path)
        _write(session, lake, B1, _reviews(B1, range(6)))
        assert _kinds(session, lake) == EXPECTED


def _write_days(session: Session, lake: Lake, batch: str, parts: list[tuple[dt.date, pa.Table]]) -> None:
    staged = lake.write_files("reviews", "qilu", batch, parts)
    lake.add_batch(
        session, batch_id=batch, kind="reviews", platform="qilu", key=batch, source="file", files=staged
    )


class TestSchemaGroups:
    """Readers bind one file per schema group (``union_by_name`` over every file costs memory per file)."""

    def test_files_of_batches_with_one_schema_form_one_group(self, session: Session, tmp_path: Path):
        lake = Lake(tmp_path)
        days = [dt.date(2024, 1, d) for d in (5, 6, 7)]
        _write_days(session, lake, B1, [(d, _reviews(B1, range(n, n + 1))) for n, d in enumerate(days)])
        _write_days(session, lake, B2, [(days[0], _reviews(B2, range(3, 5)))])
        files = lake.active_files(session, "reviews")
        assert len(files) == 4
        assert lake.schema_groups(files) == [sorted(lake.paths(files))]

    def test_batches_of_another_schema_are_united_by_name(self, session: Session, tmp_path: Path):
        lake = Lake(tmp_path)
        _write(session, lake, B1, _reviews(B1, range(3)))
        # An older layout: no ``text`` column, ``rating`` stored as a 32-bit integer.
        old = _reviews(B2, range(3, 6), rating=2).drop_columns(["text"])
        old = old.set_column(old.schema.get_field_index("rating"), "rating", old["rating"].cast(pa.int32()))
        _write(session, lake, B2, old)
        files = lake.active_files(session, "reviews")
        groups = lake.schema_groups(files)
        assert len(groups) == 2 and sorted(p for g in groups for p in g) == sorted(lake.paths(files))
        with open_engine("duckdb") as engine:
            engine.register_lake(session, lake, ["reviews"])
            rows = engine.query("SELECT review_id, rating, text, kind FROM reviews").to_pylist()
        assert {r["review_id"]: (r["rating"], r["text"]) for r in rows} == {
            f"R-{n}": (5, "很好") if n < 3 else (2, None) for n in range(6)
        }
        assert {r["review_id"]: r["kind"] for r in rows} == EXPECTED
        assert lake.stats(session)["reviews"]["records"] == 6

    def test_a_batch_whose_parts_differ_in_schema_is_refused(self, session: Session, tmp_path: Path):
        lake = Lake(tmp_path)
        other = _reviews(B1, range(3, 4)).drop_columns(["text"])
        parts = [(dt.date(2024, 1, 5), _reviews(B1, range(3))), (dt.date(2024, 1, 6), other)]
        with pytest.raises(LakeError, match="one schema"):
            lake.write_files("reviews", "qilu", B1, parts)
        assert not list(tmp_path.rglob("*.parquet"))  # nothing written


class TestCompaction:
    def test_initial_and_follow_up_reviews_survive_compaction(self, session: Session, tmp_path: Path):
        lake = Lake(tmp_path)
        _write(session, lake, B1, _reviews(B1, range(4)))
        # The second batch re-sends R-2 and R-3 (a newer version) and adds.
        second = _reviews(B2, range(2, 6), rating=1)
        _write(session, lake, B2, second)
        before = lake.stats(session)["reviews"]
        summary = lake.compact(transaction=_in(session), orphan_age_s=1e9)
        assert (summary.partitions, summary.files_merged, summary.rows_after) == (1, 2, 6)

        files = lake.active_files(session, "reviews")
        assert len(files) == 1
        stored = pq.read_table(lake.paths(files)[0])
        assert stored.schema.names == SCHEMA.names  # no partition column written into the file
        assert dict(zip(stored["review_id"].to_pylist(), stored["kind"].to_pylist(), strict=True)) == EXPECTED
        assert _kinds(session, lake) == EXPECTED
        con = lake.connect(session, ["reviews"])
        ratings = dict(con.execute("SELECT review_id, rating FROM reviews").fetchall())
        assert ratings == {"R-0": 5, "R-1": 5, "R-2": 1, "R-3": 1, "R-4": 1, "R-5": 1}

        after = lake.stats(session)["reviews"]
        assert (
            after["records"]
            == before["records"]
            == 6
            == con.execute("SELECT count(*) FROM reviews").fetchone()[0]
        )
        assert (after["rows"], after["files"]) == (6, 1)
        con.close()

    def test_the_engine_and_lake_readers_agree_after_compaction(self, session: Session, tmp_path: Path):
        lake = Lake(tmp_path)
        _write(session, lake, B1, _reviews(B1, range(3)))
        _write(session, lake, B2, _reviews(B2, range(3, 6)))
        lake.compact(transaction=_in(session), orphan_age_s=1e9)
        with open_engine("duckdb") as engine:
            engine.register_lake(session, lake, ["reviews"])
            rows = engine.query("SELECT review_id, kind, platform FROM reviews").to_pylist()
        assert {r["review_id"]: r["kind"] for r in rows} == EXPECTED == _kinds(session, lake)
        assert {r["platform"] for r in rows} == {"qilu"}
