"""The same seed gives byte-identical output (whatever the number of workers); another seed does not."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ecredit.sim import SimulationError, simulate
from tests.sim.conftest import SEED


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes(province, tmp_path):
    again = tmp_path / "again"
    simulate(again, scale="tiny", seed=SEED)
    first, second = _files(province.root), _files(again)
    assert first.keys() == second.keys()
    for name in first:
        assert first[name] == second[name], name


def test_worker_processes_do_not_change_the_output(province, tmp_path):
    parallel = tmp_path / "parallel"
    simulate(parallel, scale="tiny", seed=SEED, workers=2)
    assert _files(parallel) == _files(province.root)


def test_another_seed_gives_other_data(province, tmp_path):
    other = tmp_path / "other"
    simulate(other, scale="tiny", seed=SEED + 1)
    a = json.loads((province.root / "manifest.json").read_text())
    b = json.loads((other / "manifest.json").read_text())
    hashes_a = {f["path"]: f["sha256"] for f in a["files"]}
    hashes_b = {f["path"]: f["sha256"] for f in b["files"]}
    assert hashes_a.keys() == hashes_b.keys()
    for path, digest in hashes_a.items():
        if path.endswith(("/orders.csv", "/reviews.csv", "register.csv", "/shops.csv", "/accounts.csv")):
            assert digest != hashes_b[path], path


def test_manifest_describes_every_file(province):
    manifest = json.loads((province.root / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["seed"] == SEED
    assert manifest["scale"] == "tiny"
    assert manifest["format"] == "csv"
    assert manifest["scale_parameters"]["orders"] == 3000
    assert "zipf_exponent" in manifest["knobs"]
    assert manifest["period"] == {"start": "2024-01-01T00:00:00+08:00", "as_of": "2024-12-31T23:59:59+08:00"}
    on_disk = {p.relative_to(province.root).as_posix() for p in province.root.rglob("*") if p.is_file()}
    listed = {f["path"] for f in manifest["files"]}
    assert listed == on_disk - {"manifest.json"}
    for f in manifest["files"]:
        data = (province.root / f["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"], f["path"]
        assert len(data) == f["bytes"]
        assert data.count(b"\n") - 1 == f["rows"], f["path"]  # a header, one line per row
    orders = sum(v for k, v in manifest["row_counts"].items() if k.endswith("/orders"))
    assert orders == 3000


def test_parquet_holds_the_same_records_as_csv(province, tmp_path):
    """--format parquet writes the same data: part files per kind, typed timestamps in +08:00."""
    out = tmp_path / "pq"
    simulate(out, scale="tiny", seed=SEED, fmt="parquet")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["format"] == "parquet"
    for p in province.platforms:
        for kind in ("accounts", "listings", "orders", "payments", "parcels", "parcel_scans", "reviews"):
            parts = sorted((out / p / kind).glob(f"{kind}-*.parquet"))
            assert parts, (p, kind)
            table = pq.ParquetDataset([str(x) for x in parts]).read()
            rows = province.rows(f"{p}/{kind}.csv")
            assert table.num_rows == len(rows)
            assert table.column_names == province.header(f"{p}/{kind}.csv")
            for name in table.column_names:
                col = table.column(name)
                if str(col.type).startswith("timestamp"):
                    assert col.type.tz == "+08:00"
                    values = [v.isoformat() if v is not None else "" for v in col.to_pylist()]
                else:
                    values = ["" if v is None else str(v) for v in col.to_pylist()]
                assert values == [r[name] for r in rows], (p, kind, name)


def test_refuses_a_directory_with_files(tmp_path):
    (tmp_path / "x").write_text("keep me")
    with pytest.raises(SimulationError, match="not an empty directory"):
        simulate(tmp_path, scale="tiny", seed=1)
    assert (tmp_path / "x").read_text() == "keep me"


def test_rejects_unknown_scale_and_format(tmp_path):
    with pytest.raises(SimulationError, match="--scale"):
        simulate(tmp_path / "a", scale="huge")
    with pytest.raises(SimulationError, match="--format"):
        simulate(tmp_path / "b", scale="tiny", fmt="xlsx")
