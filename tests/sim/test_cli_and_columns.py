"""``ecredit simulate`` and the columnar builders behind it."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
from stdnum import ean, luhn
from typer.testing import CliRunner

from ecredit.cli import app
from ecredit.identifiers import check_ric
from ecredit.sim import columns

runner = CliRunner()


def test_cli_writes_a_province(tmp_path):
    out = tmp_path / "p"
    result = runner.invoke(app, ["simulate", "--scale", "tiny", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "orders" in result.stdout and "3,000" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == 3 and manifest["format"] == "csv"
    assert (out / "truth" / "brushing_rings.csv").exists()
    assert (out / "lushang" / "orders.csv").exists()


def test_cli_parquet_and_orders_override(tmp_path):
    out = tmp_path / "p"
    result = runner.invoke(
        app, ["simulate", "--scale", "tiny", "--out", str(out), "--format", "parquet", "--orders", "1500"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert sum(v for k, v in manifest["row_counts"].items() if k.endswith("/orders")) == 1500
    assert list((out / "qilu" / "orders").glob("orders-*.parquet"))


def test_cli_refuses_a_used_directory(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    result = runner.invoke(app, ["simulate", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "not an empty directory" in result.output


def test_mix_is_a_bijection():
    for modulus in (1000, 8 * 10**8, 1 << 40):
        n = min(modulus, 200_000)
        out = columns.mix(np.arange(n), modulus, 5)
        assert len(np.unique(out)) == n
        assert out.min() >= 0 and out.max() < modulus


def test_digit_matrix_and_ids():
    values = np.array([0, 7, 123456789012, 999999999999])
    assert columns.ids("X-", values, 12).to_pylist() == [f"X-{v:012d}" for v in values]
    assert columns.ids("u", np.array([255, 2**40 - 1]), 10, base=16).to_pylist() == [
        "u00000000ff",
        "uffffffffff",
    ]


def test_check_digits_are_valid():
    bodies = np.array([690000000000, 693456789012, 699999999999])
    assert all(ean.is_valid(g) for g in columns.gtin13(bodies).to_pylist())
    cards = columns.luhn_cards("62", columns.mix(np.arange(1000), 10**16, 1), 16).to_pylist()
    assert all(luhn.is_valid(c) and len(c) == 19 for c in cards)
    ids = columns.id_numbers(
        np.array([370102, 371702]), np.array([-3000, 12000]), np.array([0, 999])
    ).to_pylist()
    assert all(check_ric(v).valid for v in ids)
    assert ids[0][6:14] == (dt.date(1970, 1, 1) - dt.timedelta(days=3000)).strftime("%Y%m%d")


def test_iso_local_times():
    epoch = np.array([0, 1731254399, 1709222400, 951782400])
    got = columns.from_matrix(columns.iso_local(epoch)).to_pylist()
    tz = dt.timezone(dt.timedelta(hours=8))
    assert got == [dt.datetime.fromtimestamp(int(e), tz).isoformat() for e in epoch]
