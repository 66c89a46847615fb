"""``ecredit records import``: 双公示 penalty and licence files (CSV in UTF-8 or GB18030, Excel), bad rows
rejected one by one with their reason, fines in 万元 to fen exactly, idempotent re-runs."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ecredit.cli import app
from ecredit.errors import EcreditError
from ecredit.kit.clock import today
from ecredit.kit.tabular import Row
from ecredit.records import importer
from ecredit.records.models import CreditRecord
from ecredit.security.audit import AuditEntry
from ecredit.subjects.models import Subject
from ecredit.verification import register
from tests.builders import ADMIN, id_number, make_subject, uscc

runner = CliRunner()
HEADER = [
    "行政相对人名称",
    "行政相对人类别",
    "行政相对人代码_1（统一社会信用代码）",
    "证件类型",
    "证件号码",
    "行政处罚决定书文号",
    "违法行为类型",
    "违法事实",
    "处罚依据",
    "处罚类别",
    "处罚内容",
    "罚款金额（万元）",
    "处罚决定日期",
    "公示截止期",
    "处罚机关",
    "数据来源单位",
]
SAMR = "济南市市场监督管理局"


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _row(name, code, ref, *, fine="0.5", decided="2026-06-01", authority=SAMR, types="罚款", person=None):
    return [
        name,
        "自然人" if person else "法人及非法人组织",
        "" if person else code,
        "身份证" if person else "",
        person or "",
        ref,
        "虚构交易",
        "组织虚假交易，联系电话13912345678",
        "《中华人民共和国电子商务法》第十七条",
        types,
        "罚款",
        fine,
        decided,
        "",
        authority,
        SAMR,
    ]


def _write(path: Path, rows, *, encoding="utf-8", header=HEADER) -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _rejects(path: Path) -> dict[int, str]:
    with path.with_name(path.name + ".rejects.csv").open(encoding="utf-8") as fh:
        return {int(r["row"]): r["reason"] for r in csv.DictReader(fh)}


@pytest.fixture
def store(isolated_store):
    """A store of its own: two registered companies, a person, and a company known only to the register."""
    from ecredit import db

    assert invoke("db", "upgrade").exit_code == 0
    with db.session_scope() as session:
        a, b = make_subject(session), make_subject(session)
        person_id = id_number()
        person = make_subject(session, kind="person", id_number=person_id)
        only_in_register = uscc()
        result = register.import_batch(
            session,
            ADMIN,
            [Row(1, {"name": "济南登记簿商贸有限公司", "uscc": only_in_register, "status": "存续"})],
        )
        assert not result.rejected
        ids = {
            "a": (a.id, a.uscc),
            "b": (b.id, b.uscc),
            "person": (person.id, person_id),
            "register": (None, only_in_register),
        }
    return isolated_store, ids


def _records():
    from ecredit import db

    with db.session_scope(read_only=True) as session:
        return session.scalars(select(CreditRecord).order_by(CreditRecord.source_ref)).all()


class TestPenaltyImport:
    def test_good_rows_load_and_each_bad_row_is_reported(self, store):
        root, ids = store
        bad_uscc = ids["a"][1][:-1] + ("0" if ids["a"][1][-1] != "0" else "1")
        future = (today() + dt.timedelta(days=30)).isoformat()
        stranger = id_number()
        path = _write(
            root / "penalties.csv",
            [
                _row("甲公司", ids["a"][1], "济市监罚〔2026〕1号"),  # 1 good: 0.5 万元
                _row("乙公司", ids["b"][1], "济市监罚〔2026〕2号", fine="1.234567"),  # 2 good
                _row("甲公司", bad_uscc, "济市监罚〔2026〕3号"),  # 3 bad USCC
                _row("甲公司", ids["a"][1], "济市监罚〔2026〕4号", fine="五千"),  # 4 fine not a number
                _row("甲公司", ids["a"][1], "济市监罚〔2026〕5号", decided=future),  # 5 future date
                _row("甲公司", ids["a"][1], "济市监罚〔2026〕6号", authority=""),  # 6 missing authority
                _row("丙公司", uscc(), "济市监罚〔2026〕7号"),  # 7 valid USCC, registered nowhere
                _row("登记簿公司", ids["register"][1], "济市监罚〔2026〕8号"),  # 8 only in the register
                _row("张三", "", "济市监罚〔2026〕9号", person=ids["person"][1]),  # 9 a registered person
                _row("李四", "", "济市监罚〔2026〕10号", person=stranger),  # 10 unknown person
                _row("甲公司", ids["a"][1], "济市监罚〔2026〕1号"),  # 11 row 1 again
                _row("甲公司", ids["a"][1], "济市监罚〔2026〕12号", types="罚款、训诫"),  # 12 unknown type
                _row("甲公司", ids["a"][1], "济市监罚〔2026〕13号", fine="-1"),  # 13 negative fine
            ],
        )
        result = invoke("records", "import", str(path), "--kind", "penalty")
        assert result.exit_code == 1
        assert (
            "4 records loaded, 1 already recorded, 1 subjects registered from the business register"
            in result.stdout
        )
        assert "8 rejected" in result.stdout
        rejects = _rejects(path)
        assert set(rejects) == {3, 4, 5, 6, 7, 10, 12, 13}
        assert rejects[3].startswith("统一社会信用代码:")
        assert rejects[4].startswith("罚款金额: not a number")
        assert "future" in rejects[5]
        assert rejects[6] == "处罚机关: required"
        assert rejects[7] == "统一社会信用代码: subject not registered"
        assert rejects[10] == "证件号码: subject not registered"
        assert "训诫" in rejects[12] and "not a non-negative number" in rejects[13]
        raw = path.with_name(path.name + ".rejects.csv").read_text(encoding="utf-8")
        assert stranger not in raw and "13912345678" not in raw  # personal data masked in the rejects
        records = {r.source_ref: r for r in _records()}
        assert set(records) == {f"济市监罚〔2026〕{n}号" for n in (1, 2, 8, 9)}
        first = records["济市监罚〔2026〕1号"]
        assert first.amount_cents == 500_000  # 0.5 万元 = 5,000 yuan
        assert records["济市监罚〔2026〕2号"].amount_cents == 1_234_567
        assert first.rule == "samr45_criticism_or_lower_fine"  # 5,000 yuan: a lower-amount fine
        assert records["济市监罚〔2026〕2号"].rule == "samr45_other"
        assert first.evidence == {"import_file": "penalties.csv", "import_row": 1}
        assert "139****5678" in first.summary
        assert records["济市监罚〔2026〕9号"].subject_id == ids["person"][0]

    def test_a_rerun_loads_nothing_twice(self, store):
        root, ids = store
        path = _write(
            root / "p.csv", [_row("甲公司", ids["a"][1], "R-1"), _row("乙公司", ids["b"][1], "R-2")]
        )
        assert invoke("records", "import", str(path), "--kind", "penalty").exit_code == 0
        result = invoke("records", "import", str(path), "--kind", "penalty")
        assert result.exit_code == 0 and "0 records loaded, 2 already recorded" in result.stdout
        assert len(_records()) == 2
        from ecredit import db

        with db.session_scope(read_only=True) as session:
            audited = session.scalars(select(AuditEntry).where(AuditEntry.action == "records.create")).all()
        assert len(audited) == 2
        changed = _write(root / "p2.csv", [_row("甲公司", ids["a"][1], "R-1", fine="9")])
        assert invoke("records", "import", str(changed), "--kind", "penalty").exit_code == 1
        assert _rejects(changed)[1].startswith("决定书文号: already recorded as ")
        assert {r.source_ref: r.amount_cents for r in _records()}["R-1"] == 500_000

    def test_gb18030_is_detected(self, store):
        root, ids = store
        path = _write(root / "gbk.csv", [_row("甲公司", ids["a"][1], "G-1")], encoding="gb18030")
        result = invoke("records", "import", str(path), "--kind", "penalty")
        assert result.exit_code == 0, result.stdout
        (record,) = _records()
        assert record.title == "虚构交易" and record.source_department == SAMR

    def test_a_wrong_encoding_is_a_clear_error(self, store):
        root, ids = store
        path = _write(root / "gbk.csv", [_row("甲公司", ids["a"][1], "G-1")], encoding="gb18030")
        with pytest.raises(EcreditError, match="header row is not UTF-8"):
            invoke("records", "import", str(path), "--kind", "penalty", "--encoding", "utf-8")
        assert _records() == []

    def test_a_row_in_another_encoding_is_rejected_alone(self, store):
        root, ids = store
        path = _write(root / "mixed.csv", [_row("甲公司", ids["a"][1], "M-1")])
        with path.open("ab") as fh:
            line = ",".join(_row("乙公司", ids["b"][1], "M-2")) + "\r\n"
            fh.write(line.encode("gb18030"))
        result = invoke("records", "import", str(path), "--kind", "penalty")
        assert result.exit_code == 1
        assert _rejects(path) == {2: "row is not valid UTF-8"}
        assert [r.source_ref for r in _records()] == ["M-1"]

    def test_missing_columns_are_named(self, store):
        root, ids = store
        header = [h for h in HEADER if h != "处罚机关"]
        path = _write(root / "p.csv", [[*_row("甲公司", ids["a"][1], "X")[:-2], SAMR]], header=header)
        with pytest.raises(EcreditError, match=r"missing column.*处罚机关"):
            invoke("records", "import", str(path), "--kind", "penalty")
        result = invoke("records", "import", str(path), "--kind", "penalty", "--source-department", SAMR)
        assert result.exit_code == 0 and _records()[0].source_department == SAMR


class TestExcelImport:
    def test_an_xlsx_file_with_typed_cells(self, store):
        from openpyxl import Workbook

        root, ids = store
        workbook = Workbook()
        sheet = workbook.active
        sheet.append(["序号", *HEADER])
        good = _row("甲公司", ids["a"][1], "X-1", fine="3")
        good[11] = 3.5  # a number cell: 3.5 万元
        good[12] = dt.datetime(2026, 6, 2)  # a date cell
        sheet.append([1, *good])
        bad = _row("乙公司", ids["b"][1], "X-2")
        bad[11] = "abc"
        sheet.append([2, *bad])
        path = root / "penalties.xlsx"
        workbook.save(path)
        result = invoke("records", "import", str(path), "--kind", "penalty")
        assert result.exit_code == 1
        assert _rejects(path) == {2: "罚款金额: not a number (万元): 'abc'"}
        (record,) = _records()
        assert (record.amount_cents, record.decided_on) == (3_500_000, dt.date(2026, 6, 2))
        assert record.rule == "samr45_other"  # 35,000 yuan is above the lower-amount threshold


class TestLicenceImport:
    def test_a_licence_is_shown_while_valid(self, store):
        root, ids = store
        header = [
            "行政相对人名称",
            "统一社会信用代码",
            "行政许可决定文书名称",
            "行政许可决定文书号",
            "许可类别",
            "许可证书名称",
            "许可编号",
            "许可内容",
            "许可决定日期",
            "有效期自",
            "有效期至",
            "许可机关",
        ]
        row = [
            "甲公司",
            ids["a"][1],
            "食品经营许可决定书",
            "JY137010200001",
            "普通",
            "食品经营许可证",
            "JY137010200001",
            "预包装食品销售",
            "2026年3月1日",
            "2026-03-01",
            "2031-02-28",
            SAMR,
        ]
        path = _write(root / "licences.csv", [row], header=header)
        assert invoke("records", "import", str(path), "--kind", "licence").exit_code == 0
        (record,) = _records()
        assert (record.kind, record.effect, record.rule) == ("administrative_licence", "neutral", "licence")
        assert (record.decided_on, record.publicity_until) == (dt.date(2026, 3, 1), dt.date(2031, 2, 28))
        assert record.details["licence_number"] == "JY137010200001"


class TestCells:
    @pytest.mark.parametrize(
        ("value", "fen"),
        [("0.5", 500_000), ("12", 12_000_000), ("0.000001", 1), ("1,000", 1_000_000_000), (2.25, 2_250_000)],
    )
    def test_wanyuan_to_fen_is_exact(self, value, fen):
        assert importer.wanyuan_to_fen({"罚款金额": value}, "罚款金额") == fen

    @pytest.mark.parametrize("value", ["0.0000001", "NaN", "1e400x", "五千", True])
    def test_wanyuan_refuses_what_is_not_an_amount(self, value):
        from ecredit.kit.rows import RowRejected

        with pytest.raises(RowRejected):
            importer.wanyuan_to_fen({"罚款金额": value}, "罚款金额")

    def test_headers_are_normalised(self):
        mapping = importer.column_map("penalty")
        row = importer.canonical_row({"罚款金额 (万元)": "1", "序号": "3", "处罚机关": " x "}, mapping)
        assert row == {"罚款金额": "1", "处罚机关": "x"}


def test_the_subject_is_not_created_from_nothing(store):
    root, _ = store
    from ecredit import db

    with db.session_scope(read_only=True) as session:
        before = len(session.scalars(select(Subject)).all())
    path = _write(root / "p.csv", [_row("丙公司", uscc(), "N-1")])
    assert invoke("records", "import", str(path), "--kind", "penalty").exit_code == 1
    with db.session_scope(read_only=True) as session:
        assert len(session.scalars(select(Subject)).all()) == before
