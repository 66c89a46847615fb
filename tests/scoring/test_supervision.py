"""Classified supervision: random-inspection plans with rates per risk class, reproducible from the seed,
with a reason per drawn entity, exported to CSV and Excel (and the ``score run`` / ``supervision plan``
commands against a store of their own)."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from ecredit.cli import app
from ecredit.scoring import repository as repo
from ecredit.scoring import supervision
from ecredit.scoring.errors import InvalidPlan, NoScoreRun
from ecredit.scoring.supervision import Candidate, allocate, draw
from ecredit.security.principals import system
from tests.builders import make_platform, make_shop
from tests.scoring.support import add_record, black_list_entry, score

RATES = {"A": 0.03, "B": 0.08, "C": 0.25, "D": 0.6}
REGULATOR = system("test-inspector")


def _population(counts: dict[str, int]) -> list[Candidate]:
    out = []
    for klass, n in counts.items():
        for i in range(n):
            out.append(
                Candidate(
                    f"{klass}{i:025d}",
                    "shop",
                    f"S{klass}{i:024d}",
                    None,
                    500,
                    "BB",
                    klass,
                    None,
                    "370102",
                    "RUN0000000000000000000000",
                )
            )
    return out


class TestDraw:
    def test_the_same_seed_gives_the_same_plan_and_another_seed_another(self):
        population = _population({"A": 900, "B": 300, "C": 80, "D": 20})
        first = draw(population, rates=RATES, size=60, seed=7)
        again = draw(list(reversed(population)), rates=RATES, size=60, seed=7)  # input order does not matter
        other = draw(population, rates=RATES, size=60, seed=8)
        assert [d.candidate.entity_key for d in first] == [d.candidate.entity_key for d in again]
        assert [d.candidate.entity_key for d in first] != [d.candidate.entity_key for d in other]
        assert len(first) == 60 and len({d.candidate.entity_key for d in first}) == 60

    def test_rates_per_class_come_from_configuration(self):
        counts = {"A": 1000, "B": 500, "C": 100, "D": 50}
        assert allocate(counts, RATES, None) == {"A": 30, "B": 40, "C": 25, "D": 30}
        scaled = allocate(counts, RATES, 250)
        assert sum(scaled.values()) == 250
        # riskier classes are drawn at a higher share of their size
        shares = [scaled[k] / counts[k] for k in "ABCD"]
        assert shares == sorted(shares)
        full = allocate(counts, RATES, 1000)
        assert full["D"] == 50 and sum(full.values()) == 1000  # a full class passes the rest on
        assert allocate(counts, RATES, 10_000) == counts
        assert allocate({"A": 0, "B": 0, "C": 0, "D": 0}, RATES, 5) == {"A": 0, "B": 0, "C": 0, "D": 0}

    def test_rates_are_the_policy_values(self):
        rates, ref = supervision.rates_from_policy()
        assert set(rates) == set("ABCD") and rates["A"] < rates["B"] < rates["C"] < rates["D"]
        assert ref.startswith("scoring@")


class TestMakePlan:
    def test_a_plan_is_stored_with_reasons_and_exported(self, session, tmp_path):
        platform = make_platform(session)
        shops = [make_shop(session, platform=platform, region_code="370102") for _ in range(6)]
        listed = repo.subjects_by_ids(session, {shops[0].operator_id})[0]
        black_list_entry(session, listed)
        add_record(session, repo.subjects_by_ids(session, {shops[1].operator_id})[0])
        elsewhere = make_shop(session, platform=platform, region_code="370202")  # Qingdao
        score(session)
        result = supervision.make_plan(
            session, REGULATOR, department="SAMR-JN", region="370100", size=3, seed=11
        )
        again = supervision.make_plan(
            session, REGULATOR, department="SAMR-JN", region="370100", size=3, seed=11
        )
        drawn = [r["店铺编号"] for r in result.rows]
        assert drawn == [r["店铺编号"] for r in again.rows] and len(drawn) == 3
        assert elsewhere.platform_shop_id not in drawn
        assert shops[0].platform_shop_id in drawn  # class D: the highest rate
        row = next(r for r in result.rows if r["店铺编号"] == shops[0].platform_shop_id)
        assert row["风险分类"] == "D" and "风险分类 D 类" in row["抽取理由"] and "黑名单" in row["抽取理由"]
        assert result.plan.population["D"] == 1 and result.plan.seed == 11
        csv_path, xlsx_path = supervision.write_files(result, tmp_path / "plan")
        text = csv_path.read_text(encoding="utf-8-sig")
        parsed = list(csv.DictReader(io.StringIO(text)))
        assert list(parsed[0]) == list(supervision.HEADERS) and len(parsed) == 3
        sheet = load_workbook(xlsx_path).active
        assert sheet["A1"].value == "双随机抽查名单"
        assert [c.value for c in sheet[5]] == list(supervision.HEADERS)
        assert sheet.max_row == 5 + 3

    def test_bad_input_names_the_field_and_stores_nothing(self, session):
        with pytest.raises(InvalidPlan) as caught:
            supervision.make_plan(session, REGULATOR, department="", region="99x", size=0, seed=-1)
        assert {e.field for e in caught.value.errors} == {"department", "region", "size", "seed"}

    def test_a_plan_needs_a_score_run(self, session):
        assert repo.latest_run(session) is None  # every test rolls back its runs
        with pytest.raises(NoScoreRun):
            supervision.make_plan(session, REGULATOR, department="SAMR", region="370000", size=1, seed=1)


cli = CliRunner()


def invoke(*args: str):
    return cli.invoke(app, list(args), catch_exceptions=False)


def test_score_run_and_plan_commands(isolated_store, tmp_path):
    from ecredit import db

    assert invoke("db", "upgrade").exit_code == 0
    with db.session_scope() as session:
        platform = make_platform(session, code="qilu")
        for i in range(5):
            make_shop(session, platform=platform, platform_shop_id=f"Q{i}", region_code="370102")
    result = invoke("score", "run", "--as-of", "2026-06-30", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert summary["counts"]["shop"]["entities"] == 5 and summary["model"].startswith("ecredit-credit@")
    table = invoke("score", "run")
    assert table.exit_code == 0 and "shop" in table.output
    bad = cli.invoke(app, ["score", "run", "--as-of", "30.06.2026"])
    assert bad.exit_code == 2 and "--as-of" in bad.output
    out = tmp_path / "plan"
    planned = invoke(
        "supervision",
        "plan",
        "--department",
        "SAMR-JN",
        "--region",
        "370100",
        "--size",
        "2",
        "--seed",
        "5",
        "--out",
        str(out),
    )
    assert planned.exit_code == 0, planned.output
    assert (tmp_path / "plan.csv").exists() and (tmp_path / "plan.xlsx").exists()
    rows = list(csv.DictReader(io.StringIO((tmp_path / "plan.csv").read_text(encoding="utf-8-sig"))))
    assert len(rows) == 2
    again = tmp_path / "again"
    invoke(
        "supervision",
        "plan",
        "--department",
        "SAMR-JN",
        "--region",
        "370100",
        "--size",
        "2",
        "--seed",
        "5",
        "--out",
        str(again),
    )
    assert (tmp_path / "again.csv").read_text(encoding="utf-8-sig") == (tmp_path / "plan.csv").read_text(
        encoding="utf-8-sig"
    )
    wrong = cli.invoke(
        app, ["supervision", "plan", "--department", "SAMR", "--region", "12", "--size", "2", "--seed", "5"]
    )
    assert wrong.exit_code == 2 and "region" in wrong.output
