"""``ecredit lists …`` and ``ecredit calendar load`` against a store of their own."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecredit.cli import app
from ecredit.kit import clock, workdays
from tests.builders import make_record, make_subject

runner = CliRunner()
DAY = dt.date(2026, 6, 1)
TABLE_2027 = Path(__file__).resolve().parents[1] / "data" / "holidays-2027-test.csv"


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def store(isolated_store):
    from ecredit import db

    assert invoke("db", "upgrade").exit_code == 0
    with db.session_scope() as session:
        subject = make_subject(session)
        record = make_record(session, subject, today=DAY)
        ids = {"subject": subject.id, "record": record.id}
    yield ids
    workdays.install([])


def _entry(store) -> str:
    with clock.frozen_today(DAY):
        r = invoke(
            "lists",
            "nominate",
            "--subject",
            store["subject"],
            "--type",
            "ecommerce_fake_trading",
            "--user",
            "alice",
            "--reason",
            "组织刷单",
            "--basis",
            store["record"],
            "--evidence",
            "warning=W-1",
            "--json",
        )
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)["id"]


def test_the_procedure_step_by_step(store):
    entry = _entry(store)
    with clock.frozen_today(DAY):
        r = invoke("lists", "publish", entry, "--user", "alice", "--reason", "抢先")
        assert r.exit_code == 2 and "cannot take the step publish" in r.output and "notify" in r.output
        assert "is notified" in invoke("lists", "notify", entry, "--user", "alice", "--reason", "告知").output
        assert (
            invoke("lists", "record-defence", entry, "--user", "alice", "--statement", "无异议").exit_code
            == 0
        )
        r = invoke("lists", "review", entry, "--user", "alice", "--reason", "自审")
        assert r.exit_code == 2 and "another regulator" in r.output
        assert invoke("lists", "review", entry, "--user", "bob", "--reason", "复核").exit_code == 0
        assert (
            "document 信列决"
            in invoke("lists", "decide", entry, "--user", "alice", "--reason", "决定").output
        )
        assert (
            "is published" in invoke("lists", "publish", entry, "--user", "alice", "--reason", "公示").output
        )
        shown = invoke("lists", "show", entry, "--json")
    detail = json.loads(shown.stdout)
    assert [h["action"] for h in detail["history"]] == [
        "nominate",
        "notify",
        "record_defence",
        "review",
        "decide",
        "publish",
    ]
    assert [h["actor"] for h in detail["history"]][3] == "cli:bob"
    table = invoke("lists", "list", "--state", "published")
    assert entry in table.stdout and "1 entry" in table.stdout
    with clock.frozen_today(dt.date(2029, 6, 1)):
        r = invoke("lists", "run-expiry", "--json")
    assert entry in json.loads(r.stdout)["expired"]


def test_a_2027_deadline_is_flagged_then_computed_after_the_calendar_is_loaded(store):
    entry = _entry(store)
    with clock.frozen_today(dt.date(2026, 12, 29)):
        r = invoke("lists", "notify", entry, "--user", "alice", "--reason", "告知")
        assert "deadline unknown" in r.output
        queue = invoke("lists", "queue", "--json")
        [item] = [json.loads(line) for line in queue.stdout.splitlines()]
        assert item["entry_id"] == entry and item["due_unknown"] is True
        loaded = invoke("calendar", "load", str(TABLE_2027), "--user", "ops")
        assert loaded.exit_code == 0 and "2027" in loaded.output and "1 deadline(s)" in loaded.output
        workdays.install([])  # a new process reads the table from the store
        shown = json.loads(invoke("lists", "show", entry, "--json").stdout)
    # 5 working days after 2026-12-29: 12-30, 12-31, (2027-01-01 holiday), 01-04, 01-05, 01-06
    assert shown["defence_until"] == "2027-01-06" and shown["due_unknown"] is False
    assert "2027" in invoke("calendar", "years").output


def test_a_bad_calendar_file_is_refused(store, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,kind,name,source\n2027-01-04,workday,x,notice\n", encoding="utf-8")
    from ecredit.errors import EcreditError

    with pytest.raises(EcreditError, match="holiday table"):
        invoke("calendar", "load", str(bad), "--user", "ops")
