"""The warnings and monitor commands against a store of their own: list, show, triage, export, evaluate."""

from __future__ import annotations

import csv
import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ecredit.cli import app
from ecredit.monitoring import service
from ecredit.monitoring.findings import Finding, Member, MemberRole, WarningKind
from ecredit.security.audit import AuditEntry
from tests.builders import make_platform, make_shop
from tests.monitoring.support import account, finding, record_of, ring, run, shop
from tests.monitoring.test_evaluate import EXPECTED, MEMBERS, write_truth

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture
def store(isolated_store):
    """A migrated store of its own with qilu's shop Q1 registered and three warnings committed."""
    from ecredit import db

    assert invoke("db", "upgrade").exit_code == 0
    with db.session_scope() as session:
        qilu = make_platform(session, code="qilu")
        make_platform(session, code="haibin")
        make_shop(session, platform=qilu, platform_shop_id="Q1")
        service.record_findings(
            session,
            run(),
            [
                ring(
                    "qilu",
                    ["Q1", "Q2"],
                    ["u1", "u2"],
                    ["QL-O-1", "QL-O-2"],
                    score=9.5,
                    summary="ring, with a comma",
                )
            ],
        )
        service.record_findings(
            session,
            run("reopened_shop"),
            [
                finding(
                    [shop("haibin", "N1"), shop("qilu", "Q1", linked=True), account("qilu", "u7")],
                    kind=WarningKind.reopened_shop,
                    platform="haibin",
                    score=1.0,
                    summary="re-opened",
                )
            ],
        )
        service.record_findings(
            session,
            run("empty_parcel"),
            [
                finding(
                    [shop("qilu", "Q2"), record_of("qilu", "TS1", "parcels")],
                    kind=WarningKind.empty_parcel,
                    score=2.0,
                )
            ],
        )
    return isolated_store


def _ids_by_kind() -> dict[str, str]:
    return {w["kind"]: w["id"] for w in _json_lines(invoke("warnings", "list", "--json").stdout)}


class TestListAndShow:
    def test_list_filters_and_json(self, store):
        everything = _json_lines(invoke("warnings", "list", "--json").stdout)
        assert {w["kind"] for w in everything} == {"empty_parcel", "reopened_shop", "brushing_ring"}
        assert [w["id"] for w in everything] == sorted((w["id"] for w in everything), reverse=True)
        only = _json_lines(invoke("warnings", "list", "--json", "--platform", "haibin").stdout)
        assert [w["kind"] for w in only] == ["reopened_shop"]
        assert len(_json_lines(invoke("warnings", "list", "--json", "--limit", "2").stdout)) == 2
        table = invoke("warnings", "list", "--kind", "brushing_ring")
        assert table.exit_code == 0 and "1 warning(s)" in table.stdout

    def test_show_prints_the_evidence(self, store):
        warning_id = _ids_by_kind()["brushing_ring"]
        shown = json.loads(invoke("warnings", "show", warning_id, "--json").stdout)
        assert [m["ref"] for m in shown["members"]] == ["Q1", "Q2", "u1", "u2", "QL-O-1", "QL-O-2"]
        text = invoke("warnings", "show", warning_id)
        assert text.exit_code == 0 and "QL-O-2" in text.stdout and "ring, with a comma" in text.stdout

    def test_a_bad_kind_is_one_line_and_exit_2(self, store):
        from tests.test_cli import run_ecredit

        result = run_ecredit("warnings", "list", "--kind", "nonsense")
        assert result.returncode == 2
        assert result.stderr.startswith("error: --kind must be one of brushing_ring")


class TestTriage:
    def test_confirm_dismiss_reopen_as_a_named_user(self, store):
        from ecredit import db

        warning_id = _ids_by_kind()["brushing_ring"]
        assert "is confirmed" in invoke("warnings", "confirm", warning_id, "--user", "wang").stdout
        refused = runner.invoke(app, ["warnings", "dismiss", warning_id, "--user", "wang", "--reason", "x"])
        assert refused.exit_code != 0 and "cannot be dismissed" in str(refused.exception)
        reopened = invoke(
            "warnings", "reopen", warning_id, "--user", "li", "--reason", "call 13912345678 first"
        )
        assert "is open" in reopened.stdout
        shown = json.loads(invoke("warnings", "show", warning_id, "--json").stdout)
        assert (shown["status"], shown["triaged_by"], shown["triage_reason"]) == (
            "open",
            "cli:li",
            "call 139****5678 first",
        )
        with db.session_scope(read_only=True) as session:
            entries = session.scalars(
                select(AuditEntry).where(AuditEntry.object_id == warning_id).order_by(AuditEntry.seq)
            ).all()
        assert [(e.action, e.actor) for e in entries] == [
            ("warnings.confirm", "cli:wang"),
            ("warnings.reopen", "cli:li"),
        ]

    def test_dismiss_without_a_reason_fails(self, store):
        from tests.test_cli import run_ecredit

        warning_id = _ids_by_kind()["brushing_ring"]
        result = run_ecredit("warnings", "dismiss", warning_id, "--user", "wang")
        assert result.returncode == 2 and "reason" in result.stderr
        assert json.loads(invoke("warnings", "show", warning_id, "--json").stdout)["status"] == "open"


class TestExport:
    def test_csv_columns_and_id_lists(self, store):
        out = store / "warnings.csv"
        result = invoke("warnings", "export", "--format", "csv", "--out", str(out))
        assert result.exit_code == 0 and "3 warnings written" in result.stdout
        with out.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = {r["kind"]: r for r in reader}
        assert reader.fieldnames[:8] == [
            "warning_id",
            "kind",
            "platform",
            "shop_ids",
            "account_ids",
            "object_ids",
            "score",
            "summary",
        ]
        assert {"confidence", "status", "detector", "detector_version", "created_at"} <= set(
            reader.fieldnames
        )
        ring_row = rows["brushing_ring"]
        assert (ring_row["shop_ids"], ring_row["account_ids"], ring_row["object_ids"]) == (
            "Q1;Q2",
            "u1;u2",
            "QL-O-1;QL-O-2",
        )
        assert (ring_row["score"], ring_row["summary"], ring_row["status"]) == (
            "9.5",
            "ring, with a comma",
            "open",
        )
        assert ring_row["subject_ids"] and ";" not in ring_row["subject_ids"]  # Q1 is registered, Q2 is not
        reopened = rows["reopened_shop"]
        # A member on another platform than the warning's (haibin) is written platform:ref.
        assert (reopened["shop_ids"], reopened["linked_shop_ids"], reopened["account_ids"]) == (
            "N1",
            "qilu:Q1",
            "qilu:u7",
        )

    def test_jsonl_has_the_same_rows_and_filters_apply(self, store):
        out = store / "warnings.jsonl"
        invoke("warnings", "export", "--format", "jsonl", "--out", str(out), "--kind", "brushing_ring")
        (row,) = _json_lines(out.read_text(encoding="utf-8"))
        assert (row["shop_ids"], row["object_ids"], row["score"]) == ("Q1;Q2", "QL-O-1;QL-O-2", 9.5)

    def test_an_export_is_audited(self, store):
        from ecredit import db

        invoke("warnings", "export", "--format", "csv", "--out", str(store / "w.csv"), "--status", "open")
        with db.session_scope(read_only=True) as session:
            entry = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
        assert entry.action == "warnings.export"
        assert entry.details == {"rows": 3, "format": "csv", "filters": {"status": "open"}}


def _findings_from_members() -> list[tuple[str, Finding]]:
    """One warning per (kind, role) group of the evaluation's member rows, plus a dismissed one."""
    groups: dict[str, list[Member]] = {}
    for kind, role, platform, ref, object_kind, linked in MEMBERS:
        groups.setdefault(kind, []).append(Member(MemberRole(role), platform, ref, object_kind, linked))
    out = []
    for kind, members in groups.items():
        out.append((kind, finding(sorted(set(members), key=str), kind=WarningKind(kind))))
    # A second extortion warning that a regulator dismissed: its account is no prediction.
    out.append(("dismissed", finding([account("qilu", "e9")], kind=WarningKind.extortion_reviewer)))
    return out


class TestMonitorEvaluate:
    def test_scores_the_stored_warnings_that_are_not_dismissed(self, isolated_store):
        from ecredit import db
        from tests.builders import ADMIN

        assert invoke("db", "upgrade").exit_code == 0
        with db.session_scope() as session:
            for name, f in _findings_from_members():
                service.record_findings(session, run(f"{name}-detector"), [f])
        with db.session_scope() as session:
            items, _ = service.list_warnings(
                session,
                ADMIN,
                service.WarningFilters(kind=WarningKind.extortion_reviewer),
                cursor=None,
                limit=5,
            )
            dismissed = next(w for w in items if w.member_counts.accounts == 1)
            service.dismiss_warning(session, ADMIN, dismissed.id, reason="a real complaint")
        province = write_truth(isolated_store / "province")
        result = invoke("monitor", "evaluate", "--truth", str(province), "--json")
        assert result.exit_code == 0, result.output
        rows = {f"{r['kind']} {r['unit']}": r for r in _json_lines(result.stdout)}
        assert list(rows) == list(EXPECTED)
        for label, (truth, predicted, tp, fp, fn, precision, recall, f1) in EXPECTED.items():
            row = rows[label]
            assert (row["truth"], row["predicted"], row["tp"], row["fp"], row["fn"]) == (
                truth,
                predicted,
                tp,
                fp,
                fn,
            )
            for key, value in (("precision", precision), ("recall", recall), ("f1", f1)):
                assert row[key] == (None if value is None else pytest.approx(value)), (label, key)
        table = invoke("monitor", "evaluate", "--truth", str(province))
        assert "empty_parcel" in table.stdout and "0.889" in table.stdout
