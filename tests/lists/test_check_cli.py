"""``ecredit check`` and ``ecredit orders list|report|overdue`` against a store of their own."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from ecredit.cli import app
from ecredit.errors import EcreditError
from ecredit.kit.clock import frozen_today
from ecredit.security.pii import reveal
from tests.builders import make_legal_rep, make_shop, make_subject, uscc
from tests.lists.check_support import TODAY, make_list_entry, publish

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture
def store(isolated_store):
    from ecredit import db, wiring

    wiring.wire()
    assert invoke("db", "upgrade").exit_code == 0
    with db.session_scope() as session:
        company = make_subject(session)
        person = make_legal_rep(session, company)
        shop = make_shop(session, operator=company)
        entry = make_list_entry(session, company, list_type="ecommerce_fake_trading", published_on=TODAY)
        publish(session, entry)
        return {
            "uscc": company.uscc,
            "person": person.id,
            "id_number": reveal(person, "id_number"),
            "masked": person.id_number_masked,
            "platform": shop.platform_id,
            "entry": entry.id,
        }


def test_check_from_options_and_a_file_with_id_numbers(store, tmp_path):
    subjects = tmp_path / "subjects.csv"
    subjects.write_text(f"# bank batch\n{store['id_number']}\nuscc,{uscc()}\n\n", encoding="utf-8")
    with frozen_today(TODAY):
        result = invoke(
            "check", "--action", "loan", "--uscc", store["uscc"], "--file", str(subjects), "--json"
        )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert [a["answer"] for a in body["results"]] == ["restricted", "restricted", "unknown"]
    assert body["data_version"]["stamp"] and store["id_number"] not in result.stdout
    assert body["results"][1]["ref"] == store["masked"]
    with frozen_today(TODAY):
        table = invoke("check", "--action", "loan", "--uscc", store["uscc"])
    assert "1 restricted" in table.stdout and "data version" in table.stdout


def test_bad_input_is_an_error_without_the_value(store, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("370102199001011230\n", encoding="utf-8")
    with pytest.raises(EcreditError) as exc:
        invoke("check", "--action", "loan", "--file", str(bad))
    assert "line 1" in str(exc.value) and "370102199001011230" not in str(exc.value)
    with pytest.raises(EcreditError, match="action"):
        invoke("check", "--action", "fly", "--uscc", store["uscc"])


def test_orders_list_report_and_overdue(store):
    from ecredit import db
    from ecredit.subjects.models import Platform

    with db.session_scope(read_only=True) as session:
        code = session.get(Platform, store["platform"]).code
    with frozen_today(TODAY):
        listed = invoke("orders", "list", "--entry", store["entry"], "--json")
    orders = [json.loads(line) for line in listed.stdout.splitlines()]
    assert len(orders) == 5 and {o["status"] for o in orders} == {"issued"}
    first = orders[0]["id"]
    reported = invoke(
        "orders", "report", first, "--platform", code, "--report", "已执行", "--on", TODAY.isoformat()
    )
    assert reported.exit_code == 0 and "completed (on time)" in reported.stdout
    later = "2026-07-15"
    with frozen_today(dt.date.fromisoformat(later)):
        overdue = invoke("orders", "overdue", "--json")
    ids = {json.loads(line)["id"] for line in overdue.stdout.splitlines()}
    assert first not in ids and len(ids) == 4
