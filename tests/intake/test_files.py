"""File intake: `ecredit ingest` streams CSV, JSON Lines and Parquet files into the lake in batches."""

from __future__ import annotations

import datetime as dt
import re
import threading
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from ecredit.cli import app
from tests.intake.helpers import (
    ID_NUMBERS,
    PAYER_REFS,
    PHONES,
    account,
    order,
    payment,
    read_rejects,
    review,
    write_csv,
    write_jsonl,
)

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def store(isolated_store):
    """A migrated store with platform ``qilu`` and its shops S-1 and S-2, committed."""
    from ecredit import db, migrate
    from tests.builders import make_platform, make_shop

    migrate.upgrade(db.get_engine())
    with db.session_scope() as session:
        platform = make_platform(session, code="qilu")
        make_shop(session, platform=platform, platform_shop_id="S-1")
        make_shop(session, platform=platform, platform_shop_id="S-2")
    return isolated_store


def stats() -> dict[str, int]:
    import json

    result = invoke("lake", "stats", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def lake_files(store) -> list[str]:
    return [str(p) for p in (store / "lake").rglob("*.parquet")]


class TestGoodFiles:
    def test_stats_equal_the_file_and_a_second_run_adds_nothing(self, store):
        path = write_csv(store / "orders.csv", [order(i, shop=f"S-{1 + i % 2}") for i in range(300)])
        first = invoke("ingest", str(path), "--platform", "qilu")
        assert first.exit_code == 0, first.output
        assert "300 rows loaded" in first.stdout
        assert stats()["orders"] == 300
        files_before = sorted(lake_files(store))
        again = invoke("ingest", str(path), "--platform", "qilu")
        assert again.exit_code == 0 and "0 rows loaded, 300 already loaded" in again.stdout
        assert stats()["orders"] == 300
        assert sorted(lake_files(store)) == files_before

    def test_batches_are_committed_one_by_one_and_rerun_resumes(self, store):
        from ecredit.intake import loads
        from ecredit.security.principals import system

        path = write_csv(store / "orders.csv", [order(i) for i in range(25)])
        summary = loads.ingest_file(path, platform="qilu", principal=system("t"), batch_rows=10)
        assert (summary.loaded, summary.batches) == (25, 3)
        again = loads.ingest_file(path, platform="qilu", principal=system("t"), batch_rows=10)
        assert (again.loaded, again.skipped) == (0, 25)

    def test_progress_reaches_every_row_and_byte(self, store):
        from ecredit.intake import loads
        from ecredit.security.principals import system

        path = write_csv(store / "orders.csv", [order(i) for i in range(25)])
        seen: list[tuple[int, int]] = []
        loads.ingest_file(
            path, platform="qilu", principal=system("t"), batch_rows=10, on_progress=lambda *a: seen.append(a)
        )
        assert [rows for rows, _ in seen] == [10, 20, 25]
        assert seen[-1][1] == path.stat().st_size

    def test_process_settings_are_tuned_during_a_load_and_restored_after_it(self, store):
        import ctypes
        import gc
        import sys

        from ecredit.intake import loads
        from ecredit.security.principals import system

        def thp_disabled() -> int | None:
            if not sys.platform.startswith("linux"):
                return None
            return ctypes.CDLL(None).prctl(loads.PR_GET_THP_DISABLE, 0, 0, 0, 0)

        before = (gc.get_threshold(), gc.get_freeze_count(), thp_disabled())
        during: list[tuple[int, int | None]] = []
        path = write_csv(store / "orders.csv", [order(i) for i in range(5)])
        loads.ingest_file(
            path,
            platform="qilu",
            principal=system("t"),
            on_progress=lambda *_: during.append((gc.get_threshold()[0], thp_disabled())),
        )
        assert (gc.get_threshold(), gc.get_freeze_count(), thp_disabled()) == before
        assert during and during[0][0] >= loads.GC_THRESHOLD
        if before[2] is not None:
            assert during[0][1] == 1

    def test_every_format_and_kind_inference(self, store):
        records = [order(i) for i in range(10)]
        write_jsonl(store / "orders.jsonl", records)
        table = pa.Table.from_pylist([order(i + 100) for i in range(10)])
        pq.write_table(table, store / "qilu-orders.parquet")
        result = invoke(
            "ingest", str(store / "orders.jsonl"), str(store / "qilu-orders.parquet"), "--platform", "qilu"
        )
        assert result.exit_code == 0, result.output
        assert stats()["orders"] == 20

    def test_parquet_with_typed_timestamps(self, store):

        tz = dt.timezone(dt.timedelta(hours=8))
        rows = [order(i) for i in range(5)]
        for r in rows:
            r["ordered_at"] = dt.datetime(2024, 1, 1, 23, 30, tzinfo=tz)  # 15:30 UTC, local date 2024-01-01
            r["paid_at"] = None
        pq.write_table(pa.Table.from_pylist(rows), store / "orders.parquet")
        assert invoke("ingest", str(store / "orders.parquet"), "--platform", "qilu").exit_code == 0
        assert all("date=2024-01-01" in p for p in lake_files(store))

    def test_unknown_kind_needs_the_option(self, store):
        path = write_csv(store / "stuff.csv", [order(0)])
        result = invoke("ingest", str(path), "--platform", "qilu")
        assert result.exit_code == 2 and "--kind" in result.output
        assert invoke("ingest", str(path), "--platform", "qilu", "--kind", "orders").exit_code == 0


class TestBrokenRows:
    def test_good_rows_load_and_each_bad_row_is_reported(self, store):
        rows = [order(i) for i in range(8)]
        rows[1]["ship_to_region"] = "379999"  # bad region
        rows[2]["amount_cents"] = -3  # negative amount
        rows[3]["shop_id"] = "GHOST"  # unknown shop
        rows[4]["ordered_at"] = "2024-02-30T10:00:00+08:00"  # malformed timestamp
        rows[5]["quantity"] = "two"  # not an integer
        path = write_csv(store / "orders.csv", rows)
        # Row 7 is not UTF-8; row 8 has a cell too many.
        with path.open("ab") as fh:
            fh.write(b"O-100,S-1,u1,,,1,100,2024-01-01T10:00:00+08:00,,paid,37010\xff\n")
            fh.write(b"O-101,S-1,u1,,,1,100,2024-01-01T10:00:00+08:00,,paid,370102,extra\n")
            fh.write(b"O-102,S-1,u1,,,1,100,2024-01-01T10:00:00+08:00,,paid,370102\n")
        result = invoke("ingest", str(path), "--platform", "qilu")
        assert result.exit_code == 1
        assert "4 rows loaded" in result.stdout and "7 rejected" in result.stdout
        rejects = {int(r["row"]): r["reason"] for r in read_rejects(path)}
        assert set(rejects) == {2, 3, 4, 5, 6, 9, 10}
        assert rejects[2].startswith("ship_to_region: ") and "not a known" in rejects[2]
        assert rejects[3] == "amount_cents: must be at least 0"
        assert rejects[4] == "shop_id: shop GHOST is not registered for platform qilu"
        assert rejects[5].startswith("ordered_at: not an ISO 8601 timestamp")
        assert rejects[6] == "quantity: must be an integer"
        assert rejects[9] == "ship_to_region: not valid UTF-8"
        assert rejects[10] == "expected 11 cells, found 12"
        assert stats()["orders"] == 4

    def test_an_unknown_column_refuses_a_csv_file_whole(self, store):
        path = write_csv(store / "orders.csv", [order(0) | {"colour": "red"}])
        result = invoke("ingest", str(path), "--platform", "qilu")
        assert result.exit_code == 2 and "unknown column(s) colour" in result.output
        assert stats()["orders"] == 0

    def test_an_unknown_field_refuses_a_jsonl_line(self, store):
        path = write_jsonl(store / "orders.jsonl", [order(0), order(1) | {"colour": "red"}, order(2)])
        with path.open("ab") as fh:
            fh.write(b'{"order_id": "\xff"}\n')
            fh.write(b"{not json\n")
        result = invoke("ingest", str(path), "--platform", "qilu")
        assert result.exit_code == 1
        rejects = {int(r["row"]): r["reason"] for r in read_rejects(path)}
        assert rejects == {2: "colour: unknown field", 4: "line is not valid UTF-8", 5: "invalid JSON"}
        assert stats()["orders"] == 2

    def test_max_error_rate(self, store):
        rows = [order(i) for i in range(10)]
        rows[0]["amount_cents"] = -1
        path = write_csv(store / "orders.csv", rows)
        assert invoke("ingest", str(path), "--platform", "qilu", "--max-error-rate", "0.2").exit_code == 0
        path2 = write_csv(store / "orders-bad.csv", [order(i, amount_cents=-1) for i in range(10)])
        assert invoke("ingest", str(path2), "--platform", "qilu", "--max-error-rate", "0.2").exit_code == 1


class TestQuotedCells:
    def test_cells_with_line_breaks_across_reader_blocks_keep_their_text_and_row_numbers(
        self, store, monkeypatch
    ):
        from ecredit.analytics.lake import Lake
        from ecredit.db import session_scope
        from ecredit.intake import decode

        monkeypatch.setattr(decode, "CSV_BLOCK_BYTES", 1024)  # many reader blocks, cut inside quoted cells
        texts = [f'第{i}条\n很好，"推荐"\r\n再来, 五星' if i % 3 == 0 else f"好{i}" for i in range(200)]
        rows = [review(i, text=t) for i, t in enumerate(texts)]
        rows[150]["rating"] = 9
        path = write_csv(store / "reviews.csv", rows)  # the csv module quotes the cells that need it
        with path.open("a", encoding="utf-8", newline="") as fh:
            fh.write('R-x,O-x,S-1,u1,5,"a\nb",2024-01-05T20:47:32+08:00,initial,extra\n')
            fh.write('R-y,O-y,S-1,u1,5,"c\nd",2024-01-05T20:47:32+08:00,initial\n')
        result = invoke("ingest", str(path), "--platform", "qilu")
        assert result.exit_code == 1, result.output
        # Rows are records: a record whose quoted cell spans lines counts once.
        rejects = {int(r["row"]): r["reason"] for r in read_rejects(path)}
        assert rejects == {151: "rating: must be at most 5", 201: "expected 8 cells, found 9"}
        with session_scope(read_only=True) as session:
            con = Lake().connect(session)
        stored = dict(con.execute("SELECT review_id, text FROM reviews").fetchall())
        expected = {f"R-{i}": t for i, t in enumerate(texts) if i != 150} | {"R-y": "c\nd"}
        assert stored == expected
        assert con.execute("SELECT _row FROM reviews WHERE review_id = 'R-y'").fetchone()[0] == 202


class TestFailures:
    def test_a_failed_batch_stops_the_load_and_a_rerun_finishes_it(self, store):
        from ecredit.analytics.lake import Lake
        from ecredit.db import session_scope
        from ecredit.intake import loads
        from ecredit.security.principals import system

        # Five days of ten orders: with batches of ten rows, batch i holds day i + 1.
        rows = [
            order(i, ordered_at=f"2024-01-{1 + i // 10:02d}T10:00:00+08:00", paid_at=None) for i in range(50)
        ]
        path = write_csv(store / "orders.csv", rows)
        lake = Lake()
        # A real fault: a file where the partition directory of day 3 must go.
        blocker = lake.root / Lake.partition("orders", "qilu", dt.date(2024, 1, 3))
        blocker.parent.mkdir(parents=True)
        blocker.write_text("not a directory")
        with pytest.raises(NotADirectoryError):
            loads.ingest_file(path, platform="qilu", principal=system("t"), batch_rows=10)
        assert not [t for t in threading.enumerate() if t.name.startswith(("intake-", "lake-write"))]
        assert stats()["orders"] == 20  # the batches before the failed one are committed, none after it
        with session_scope(read_only=True) as session:
            listed = {str(lake.root / f.path) for f in Lake.active_files(session)}
        assert set(lake_files(store)) == listed  # nothing half-written or unlisted is left
        blocker.unlink()
        again = loads.ingest_file(path, platform="qilu", principal=system("t"), batch_rows=10)
        assert (again.loaded, again.skipped, again.batches) == (30, 20, 3)
        assert stats()["orders"] == 50

    def test_an_unreadable_file_stops_the_reader(self, store):
        path = store / "orders.csv"
        path.write_bytes(b"order_id,shop_id\n" + b"O-1,S-1\n")  # lacks required columns: refused whole
        result = invoke("ingest", str(path), "--platform", "qilu")
        assert result.exit_code == 2 and "missing required column(s)" in result.output
        assert not [t for t in threading.enumerate() if t.name.startswith("intake-")]


class TestPersonalData:
    def test_no_clear_phone_id_number_or_payer_ref_in_the_lake(self, store):
        write_csv(store / "accounts.csv", [account(i) for i in range(20)])
        write_csv(store / "payments.csv", [payment(i) for i in range(20)])
        for name in ("accounts.csv", "payments.csv"):
            result = invoke("ingest", str(store / name), "--platform", "qilu")
            assert result.exit_code == 0, result.output
        secrets = PHONES + ID_NUMBERS + PAYER_REFS
        files = lake_files(store)
        assert files
        # The bytes of every file (compressed or not, a clear value would show in a plain or dictionary page).
        for f in files:
            data = Path(f).read_bytes()
            assert not any(s.encode() in data for s in secrets), f
        # The decoded values of every column.
        con = duckdb.connect()
        for f in files:
            for row in con.execute(f"SELECT COLUMNS(*)::VARCHAR FROM read_parquet('{f}')").fetchall():
                text = " ".join(str(v) for v in row)
                assert not any(s in text for s in secrets), f
            # The phone pattern over the text columns only: a ciphertext rendered as text is random bytes,
            # and an 11-digit run in it now and then is chance, not a phone (the exact sweep above covers it).
            text_columns = con.execute(
                f"SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet('{f}')) "
                "WHERE column_type <> 'BLOB'"
            ).fetchall()
            select = ", ".join(f'"{c}"::VARCHAR' for (c,) in text_columns)
            for row in con.execute(f"SELECT {select} FROM read_parquet('{f}')").fetchall():
                text = " ".join(str(v) for v in row)
                assert not re.search(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])", text), f
        # The ciphertexts decrypt to the values they were bound to, and blind indexes match the registry's.
        from ecredit.analytics.lake import Lake
        from ecredit.db import session_scope
        from ecredit.security.context import get_vault

        vault = get_vault()
        with session_scope(read_only=True) as session:
            con = Lake().connect(session)
        enc, bidx = con.execute(
            "SELECT phone_enc, phone_bidx FROM accounts WHERE account_id = 'A-1'"
        ).fetchone()
        assert vault.decrypt(enc, table="accounts", column="phone", row_id="qilu:A-1") == PHONES[1]
        assert bidx == vault.blind_index(PHONES[1], column="phone")
        n = con.execute(
            "SELECT count(*) FROM payments WHERE payer_ref_bidx = ?",
            [vault.blind_index(PAYER_REFS[0], column="payer_ref")],
        ).fetchone()[0]
        assert n == 10


class TestCompaction:
    def test_compaction_merges_and_deduplicates_atomically(self, store):
        from ecredit.analytics.lake import Lake
        from ecredit.db import session_scope

        for i in range(3):  # three files in the partition of 2024-01-01, one order sent twice
            rows = [order(0, ordered_at="2024-01-01T10:00:00+08:00", amount_cents=100 + i)] + [
                order(10 * i + k, ordered_at="2024-01-01T11:00:00+08:00") for k in range(1, 4)
            ]
            path = write_csv(store / f"orders-{i}.csv", rows)
            assert invoke("ingest", str(path), "--platform", "qilu", "--kind", "orders").exit_code == 0
        before = stats()["orders"]
        with session_scope(read_only=True) as session:
            assert len(Lake.active_files(session, "orders")) == 3
        result = invoke("lake", "compact")
        assert result.exit_code == 0 and "1 partitions compacted: 3 files into 1" in result.stdout
        assert stats()["orders"] == before == 10
        with session_scope(read_only=True) as session:
            files = Lake.active_files(session, "orders")
            assert len(files) == 1
            con = Lake().connect(session)
        assert con.execute("SELECT amount_cents FROM orders WHERE order_id = 'O-0'").fetchone()[0] == 102
        assert len(lake_files(store)) == 1  # the old files are gone

    def test_orphans_are_invisible_and_swept(self, store):
        from ecredit.analytics.lake import Lake

        path = write_csv(store / "orders.csv", [order(0)])
        assert invoke("ingest", str(path), "--platform", "qilu").exit_code == 0
        lake = Lake()
        orphan = lake.write_files(
            "orders",
            "qilu",
            "01ORPHAN0000000000000000000",
            [(dt.date(2024, 1, 1), pa.table({"order_id": ["X"]}))],
        )
        assert stats()["orders"] == 1
        assert lake.remove_orphans(older_than_s=0) == 1
        assert not (lake.root / orphan[0].path).exists()
