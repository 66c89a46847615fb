"""``ecredit records list|show|withdraw|repair`` and ``ecredit commitments sign|fulfil|breach`` against a
store of their own."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ecredit.cli import app
from ecredit.errors import EcreditError
from ecredit.records.models import CreditCommitment, CreditRecord
from tests.builders import make_record, make_subject

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def store(isolated_store):
    from ecredit import db

    assert invoke("db", "upgrade").exit_code == 0
    with db.session_scope() as session:
        subject = make_subject(session)
        decided = dt.date.today() - dt.timedelta(days=200)
        record = make_record(session, subject, decided_on=decided, source_department="济南市商务局")
        return {"subject": subject.id, "record": record.id}


def _one(model, id_):
    from ecredit import db

    with db.session_scope(read_only=True) as session:
        return session.scalars(select(model).where(model.id == id_)).one()


def test_list_and_show(store):
    result = invoke("records", "list", "--subject", store["subject"], "--json")
    (line,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert (line["id"], line["status"], line["rule"]) == (store["record"], "active", "ndrc36_general")
    table = invoke("records", "list", "--status", "active")
    assert store["record"] in table.stdout and "1 record(s)" in table.stdout
    shown = invoke("records", "show", store["record"])
    assert "ndrc36_general" in shown.stdout and "created" in shown.stdout


def test_repair_with_a_commitment_then_withdraw(store):
    signed = invoke(
        "commitments",
        "sign",
        "--subject",
        store["subject"],
        "--type",
        "repair",
        "--text",
        "承诺材料真实有效",
        "--department",
        "济南市商务局",
        "--user",
        "wang",
    )
    assert signed.exit_code == 0, signed.stdout
    commitment_id = signed.stdout.split()[1]
    repaired = invoke(
        "records",
        "repair",
        store["record"],
        "--user",
        "wang",
        "--reason",
        "已整改",
        "--commitment",
        commitment_id,
    )
    assert repaired.exit_code == 0 and _one(CreditRecord, store["record"]).status == "repaired"
    today = dt.date.today().isoformat()
    withdrawn = invoke(
        "records", "withdraw", store["record"], "--user", "wang", "--reason", "撤销", "--revoked-on", today
    )
    assert "on time" in withdrawn.stdout or "deadline unknown" in withdrawn.stdout
    assert _one(CreditRecord, store["record"]).status == "withdrawn"
    history = json.loads(invoke("records", "show", store["record"], "--json").stdout)["history"]
    assert [(h["action"], h["actor"]) for h in history][1:] == [
        ("repaired", "cli:wang"),
        ("withdrawn", "cli:wang"),
    ]


def test_fulfil_and_breach(store):
    ids = []
    for _ in range(2):
        out = invoke(
            "commitments",
            "sign",
            "--subject",
            store["subject"],
            "--type",
            "industry",
            "--text",
            "诚信经营",
            "--department",
            "济南市商务局",
            "--user",
            "li",
        )
        ids.append(out.stdout.split()[1])
    assert invoke("commitments", "fulfil", ids[0], "--user", "li").exit_code == 0
    assert invoke("commitments", "breach", ids[1], "--user", "li", "--reason", "售假").exit_code == 0
    assert [_one(CreditCommitment, i).status for i in ids] == ["fulfilled", "breached"]
    with pytest.raises(EcreditError, match="cannot change again"):
        invoke("commitments", "fulfil", ids[1], "--user", "li")


def test_bad_options_are_clear(store):
    with pytest.raises(EcreditError, match="--status"):
        invoke("records", "list", "--status", "gone")
    with pytest.raises(EcreditError, match="--revoked-on"):
        invoke(
            "records", "withdraw", store["record"], "--user", "x", "--reason", "r", "--revoked-on", "tomorrow"
        )
    with pytest.raises(EcreditError, match="--kind must be penalty or licence"):
        invoke("records", "import", __file__, "--kind", "award")
