"""The command line: identifier checks, registry imports with rejects, verification, keys, the demo."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecredit.cli import app
from tests.builders import id_number, uscc

runner = CliRunner()

VALID = [
    "91110000600037341L",
    "91371082775260043P",
    "9144030071526726XG",
    "121200004013590816",
    "92340602MA2PBQAH7E",
    "91370102MA3C00011F",
    "N2370102MA3C0002XN",
    "Y1370102MA3C0002XH",
    "A1370102MA3C0002X6",
    "11010519491231002X",
    "440524188001010014",
    "370102199003071238",
    "110111198012010078",
    "110105491231002",
    "6291041500213",
    "6901234567892",
]


def run_ecredit(*args: str) -> subprocess.CompletedProcess[str]:
    """The real executable, in a child process (exit codes and stderr as a user sees them)."""
    exe = Path(sys.executable).with_name("ecredit")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120, check=False)


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


class TestIdentityCheck:
    def test_every_domain_example_is_valid(self):
        result = invoke("identity", "check", *VALID, "--json")
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        assert [x["value"] for x in lines] == VALID
        assert all(x["valid"] for x in lines), [x for x in lines if not x["valid"]]
        assert set(lines[0]) == {"value", "kind", "valid", "normalized", "errors", "warnings"}
        assert result.exit_code == 0

    @pytest.mark.parametrize(
        ("value", "code"),
        [
            ("91110000600037341M", "uscc.check_character"),
            ("110105209912310010", "ric.birth_date_future"),
            ("110105199002300012", "ric.birth_date_invalid"),
            ("１１０１０５１９４９１２３１００２１", "ric.check_character"),
            ("11010519491231002٣", "format.non_ascii_digit"),
            ("6291041500214", "gtin.check_digit"),
        ],
    )
    def test_rejections_carry_a_reason_and_exit_non_zero(self, value, code):
        result = invoke("identity", "check", value, "--json")
        answer = json.loads(result.stdout)
        assert result.exit_code == 1
        assert answer["valid"] is False
        assert code in [e["code"] for e in answer["errors"]], answer

    def test_fullwidth_valid_number_is_accepted_with_a_warning(self):
        answer = json.loads(
            invoke("identity", "check", "１１０１０５１９４９１２３１００２Ｘ", "--json").stdout
        )
        assert answer["valid"] and answer["normalized"] == "11010519491231002X"
        assert "format.fullwidth" in [w["code"] for w in answer["warnings"]]

    def test_unknown_kind_is_a_clear_error(self):
        result = run_ecredit("identity", "check", "x", "--kind", "passport")
        assert result.returncode == 2
        assert "--kind must be one of" in result.stderr


def _write_csv(path: Path, rows: list[dict[str, str]], columns: list[str]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


SHOP_COLUMNS = [
    "platform_shop_id",
    "shop_name",
    "category",
    "operator_type",
    "operator_name",
    "operator_uscc",
    "operator_id_number",
    "legal_rep_name",
    "legal_rep_id_number",
    "phone",
    "region_code",
    "address",
    "opened_at",
]


def _shop(n: int, **overrides: str) -> dict[str, str]:
    row = dict.fromkeys(SHOP_COLUMNS, "")
    row |= {
        "platform_shop_id": f"P-{n}",
        "shop_name": f"店铺{n}",
        "category": "食品",
        "operator_type": "organisation",
        "operator_name": f"济南测试{n}有限公司",
        "operator_uscc": uscc(),
        "legal_rep_name": "王伟",
        "legal_rep_id_number": id_number(),
        "phone": "13912345678",
        "region_code": "370102",
        "address": "山东省济南市历下区泉城路1号",
        "opened_at": "2020-05-01",
    }
    return row | overrides


class TestRegistryImport:
    def test_loads_good_rows_rejects_bad_ones_with_row_numbers(self, isolated_store):
        assert invoke("db", "upgrade").exit_code == 0
        assert (
            invoke(
                "registry", "add-platform", "demo", "--name", "演示平台有限公司", "--uscc", uscc()
            ).exit_code
            == 0
        )
        person_id = id_number()
        rows = [
            _shop(1),
            _shop(2, operator_uscc="91110000600037341M"),
            _shop(
                3,
                operator_type="person",
                operator_uscc="",
                operator_name="李四",
                operator_id_number=person_id,
                legal_rep_name="",
                legal_rep_id_number="",
            ),
            _shop(4, region_code="379999"),
            _shop(5, opened_at="2020-13-45"),
            _shop(6, operator_type="company"),
            _shop(7, phone="12345"),
        ]
        path = _write_csv(isolated_store / "shops.csv", rows, SHOP_COLUMNS)
        result = invoke("registry", "import", "--kind", "shops", str(path), "--platform", "demo")
        assert result.exit_code == 1
        assert "2 rows loaded, 5 rejected" in result.stdout
        with (isolated_store / "shops.csv.rejects.csv").open(encoding="utf-8") as fh:
            rejects = list(csv.DictReader(fh))
        assert [(r["row"], r["reason"].split(":")[0]) for r in rejects] == [
            ("2", "operator_uscc"),
            ("4", "region_code"),
            ("5", "opened_at"),
            ("6", "operator_type"),
            ("7", "phone"),
        ]
        # Re-running loads nothing twice.
        again = invoke("registry", "import", "--kind", "shops", str(path), "--platform", "demo")
        assert "2 rows loaded, 5 rejected" in again.stdout
        from sqlalchemy import func, select

        from ecredit.db import session_scope
        from ecredit.subjects.models import Shop, Subject

        with session_scope(read_only=True) as s:
            assert s.scalar(select(func.count()).select_from(Shop)) == 2
            persons = s.scalar(select(func.count()).select_from(Subject).where(Subject.kind == "person"))
            assert persons == 2  # the legal representative of row 1 and the natural-person operator of row 3

    def test_bad_encoding_and_unknown_column(self, isolated_store):
        invoke("db", "upgrade")
        invoke("registry", "add-platform", "demo", "--name", "演示平台有限公司", "--uscc", uscc())
        path = _write_csv(isolated_store / "shops.csv", [_shop(1), _shop(2)], SHOP_COLUMNS)
        with path.open("ab") as fh:
            fh.write("P-3,店铺3,食品\n".encode("gbk"))
        result = invoke("registry", "import", "--kind", "shops", str(path), "--platform", "demo")
        assert "2 rows loaded, 1 rejected" in result.stdout
        reject = (isolated_store / "shops.csv.rejects.csv").read_text(encoding="utf-8")
        assert "3," in reject and "UTF-8" in reject
        bad = _write_csv(isolated_store / "bad.csv", [_shop(9) | {"grade": "AAA"}], [*SHOP_COLUMNS, "grade"])
        result = run_ecredit("registry", "import", "--kind", "shops", str(bad), "--platform", "demo")
        assert result.returncode == 2
        assert result.stderr.strip() == "error: bad.csv: unknown column(s) grade"

    def test_register_import_jsonl(self, isolated_store):
        invoke("db", "upgrade")
        path = isolated_store / "register.jsonl"
        good = {
            "name": "济南甲有限公司",
            "uscc": uscc(),
            "legal_rep_name": "王伟",
            "status": "存续",
            "region_code": "370102",
        }
        lines = [
            json.dumps(good, ensure_ascii=False),
            json.dumps(good | {"status": "倒闭"}, ensure_ascii=False),
            "{oops",
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = invoke("registry", "import", "--kind", "register", str(path))
        assert "1 rows loaded, 2 rejected" in result.stdout
        with (isolated_store / "register.jsonl.rejects.csv").open(encoding="utf-8") as fh:
            rejects = {r["row"]: r["reason"] for r in csv.DictReader(fh)}
        assert rejects["2"].startswith("status: must be one of")
        assert rejects["3"].startswith("invalid JSON")


class TestDemoAndVault:
    def test_demo_then_reverify_rotate_and_sweep(self, isolated_store):
        result = invoke("demo", "--no-serve", "--scale", "tiny")
        assert result.exit_code == 0, result.stdout
        assert "verification:" in result.stdout and "event lake:" in result.stdout
        found = re.search(r"monitoring \(duckdb, \d+ s\): brushing_ring (\d+)", result.stdout)
        assert found, result.stdout  # the tiny province holds a brushing ring: the demo warns of it
        assert int(found.group(1)) >= 1
        token = re.search(r"/api/v1/marks/(\S+)'", result.stdout).group(1)
        assert invoke("marks", "check", token).exit_code == 0
        assert runner.invoke(app, ["marks", "check", token[:-2] + "zz"]).exit_code == 1
        assert invoke("identity", "reverify", "--due").exit_code == 0
        lake_counts = json.loads(invoke("lake", "stats", "--json").stdout)
        assert lake_counts["orders"] > 1000 and lake_counts["accounts"] > 100
        # The real-time checks ran on the parcels and scans: the demo's carriers are registered logistics
        # companies, and the far empty parcels' tracks are impossible.
        listed = invoke("warnings", "list", "--json", "--limit", "500").stdout.splitlines()
        kinds = {json.loads(line)["kind"] for line in listed if line.strip()}
        assert "impossible_track" in kinds and "unverified_carrier" not in kinds, kinds

        # No clear ID number, phone, street address or payer reference anywhere in the store or the lake.
        province = next((isolated_store / "demo").iterdir())
        clear = _clear_values(province)
        assert all(len(values) > 50 for values in clear.values()), {k: len(v) for k, v in clear.items()}
        needles = set().union(*clear.values())
        haystacks = _store_contents(isolated_store) | _lake_contents(isolated_store / "lake")
        assert len([h for h in haystacks if h.endswith(".parquet")]) > 5
        for name, text in haystacks.items():
            found = [n for n in needles if n in text]
            assert not found, f"clear personal data in {name}: {found[:3]}"

        # Rotation re-encrypts every ciphertext in the store and the marks stay valid.
        result = invoke("vault", "rotate")
        assert result.exit_code == 0 and "re-encrypted" in result.stdout
        assert int(re.search(r"(\d+) ciphertexts re-encrypted", result.stdout).group(1)) > 100
        assert invoke("marks", "check", token).exit_code == 0
        assert invoke("marks", "rotate-key").exit_code == 0
        assert invoke("marks", "check", token).exit_code == 0

        # Everything still decrypts under the rotated ring.
        from sqlalchemy import select

        from ecredit.db import session_scope
        from ecredit.security.pii import reveal
        from ecredit.subjects.models import Subject

        with session_scope(read_only=True) as s:
            people = s.scalars(select(Subject).where(Subject.kind == "person")).all()
            numbers = {reveal(p, "id_number") for p in people}
        assert numbers and numbers <= clear["id_numbers"]


def _clear_values(province: Path) -> dict[str, set[str]]:
    """The clear personal data the simulated platforms delivered (as latin-1 text of their UTF-8 bytes)."""
    columns = {
        "id_numbers": ("operator_id_number", "legal_rep_id_number", "id_number"),
        "phones": ("phone",),
        "addresses": ("address",),
        "payer_refs": ("payer_ref",),
    }
    found: dict[str, set[str]] = {name: set() for name in columns}
    for f in province.glob("*/*.csv"):
        with f.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                for name, cols in columns.items():
                    for col in cols:
                        if row.get(col):
                            found[name].add(row[col].encode("utf-8").decode("latin-1"))
    return found


def _lake_contents(lake: Path) -> dict[str, str]:
    """The bytes of every lake file and, decoded, every string value in it."""
    import pyarrow.parquet as pq

    out = {}
    for f in lake.rglob("*.parquet"):
        table = pq.read_table(f)
        values = [
            str(v).encode("utf-8").decode("latin-1")
            for column in table.columns
            for v in column.to_pylist()
            if isinstance(v, str)
        ]
        out[str(f)] = f.read_bytes().decode("latin-1") + "\x00" + "\x00".join(values)
    return out


def _store_contents(data_dir: Path) -> dict[str, str]:
    """Every byte of the SQLite files, or every row of every table on PostgreSQL, as latin-1 text."""
    from sqlalchemy import select

    from ecredit import all_models
    from ecredit.db import get_engine

    engine = get_engine()
    if engine.dialect.name == "sqlite":
        # The main file and the write-ahead log (recent commits may still live only there).
        return {
            p.name: p.read_bytes().decode("latin-1")
            for p in data_dir.iterdir()
            if p.name.startswith("ecredit.db")
        }
    out = {}
    with engine.connect() as conn:
        for table in all_models.metadata.sorted_tables:
            parts = []
            for row in conn.execute(select(table)):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        parts.append(bytes(value).decode("latin-1"))
                    elif value is not None:
                        parts.append(str(value).encode("utf-8").decode("latin-1"))
            out[table.name] = "\x00".join(parts)
    return out
