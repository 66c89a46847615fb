"""End to end on the simulated ``small`` province (issue 7's acceptance), through the REST API of the real
application over a store and lake of their own:

confirmed brushing warnings nominate their shops' operators; after the steps and the windows (a controllable
clock) the entries are published, enforcement orders reach every platform where the operators run shops,
``POST /api/v1/check`` restricts a listed company and its legal representative, and a shop the same operator
opens afterwards raises a warning at intake; after repair, every public trace is gone.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from ecredit.db import session_scope
from ecredit.kit.clock import frozen_today
from tests.provinces import province_store

pytestmark = pytest.mark.slow

SEED = 5
CONFIRMED = 2  # brushing warnings a regulator confirms
DAY = dt.date(2026, 6, 1)  # the confirmation (a Monday; the calendar knows 2026)


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The small province simulated, registered, verified, ingested and monitored, in a store of its own."""
    with province_store(
        tmp_path_factory.mktemp("small-province"), scale="small", seed=SEED, monitor=True
    ) as p:
        yield p


def _clients(platform_codes: list[str]):
    """Test clients of the real application with keys of their own (committed in the province's store)."""
    from fastapi.testclient import TestClient

    from ecredit.app import create_app
    from ecredit.security import credentials
    from ecredit.security.principals import Role
    from ecredit.subjects.models import Platform

    def key(session, role: Role, **scope) -> dict[str, str]:
        new = credentials.create_api_key(session, role=role, label=f"e2e {role}", created_by="test", **scope)
        return {"Authorization": f"Bearer {new.token}"}

    with session_scope() as session:
        staff = {"region_prefix": "37", "department": "market"}
        headers = {
            "a": key(session, Role.regulator, **staff),
            "b": key(session, Role.regulator, **staff),
            "bank": key(session, Role.bank),
        }
        platforms = {p.code: p.id for p in session.scalars(select(Platform)) if p.code in platform_codes}
        for code, pid in platforms.items():
            headers[code] = key(session, Role.platform, platform_id=pid)
    app = create_app()
    headers["anon"] = {}
    return {who: TestClient(app, raise_server_exceptions=False, headers=h) for who, h in headers.items()}


def _shop_rows(province: Path) -> list[dict[str, str]]:
    rows = []
    for path in sorted(province.glob("*/shops.csv")):
        with path.open(encoding="utf-8") as fh:
            rows += [dict(r, platform=path.parent.name) for r in csv.DictReader(fh)]
    return rows


def _ok(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json()


def test_brushing_to_listing_to_check_to_repair(province: Path):
    from ecredit.lists.models import EnforcementOrder, ListEntry
    from ecredit.monitoring.models import RiskWarning
    from ecredit.subjects.models import Platform, Relation, Shop, Subject

    with session_scope(read_only=True) as session:
        platform_codes = [p.code for p in session.scalars(select(Platform).order_by(Platform.code))]
    c = _clients(platform_codes)
    a, b, bank = c["a"], c["b"], c["bank"]

    # 1. A regulator confirms the strongest brushing-ring warnings: each names its shops' operators
    with frozen_today(DAY):
        warnings = _ok(a.get("/api/v1/warnings", params={"kind": "brushing_ring", "status": "open"}))["items"]
        warnings = sorted(warnings, key=lambda w: -w["score"])[:CONFIRMED]
        assert len(warnings) == CONFIRMED
        operators = {sid for w in warnings for sid in w["subject_ids"]}
        assert operators
        for w in warnings:
            _ok(a.post(f"/api/v1/warnings/{w['id']}/confirm", json={"reason": "核实属实：组织刷单"}))

        # 2. ... and the confirmation's records nominate each operator for the fake-trading list at once
        entries = _ok(
            a.get("/api/v1/lists/entries", params={"list_type": "ecommerce_fake_trading", "limit": 200})
        )
        nominated = {e["subject_id"]: e for e in entries}
        assert operators <= set(nominated)
        for sid in operators:
            e = nominated[sid]
            assert e["state"] == "nominated" and e["nomination_source"].startswith("rule:")
            assert e["basis_record_ids"], e
            _ok(a.post(f"/api/v1/lists/entries/{e['id']}/notify", json={"reason": "列入告知"}))

    # 3. The defence window (5 working days) passes unused; a second regulator reviews; decision; publication
    published_on = dt.date(2026, 6, 9)
    with frozen_today(published_on):
        for sid in operators:
            eid = nominated[sid]["id"]
            for who, step in ((a, "close-defence"), (b, "review"), (a, "decide"), (a, "publish")):
                _ok(who.post(f"/api/v1/lists/entries/{eid}/{step}", json={"reason": step}))

    with session_scope(read_only=True) as session:
        listed = {
            e.subject_id: e
            for e in session.scalars(select(ListEntry).where(ListEntry.subject_id.in_(operators)))
        }
        assert {e.state for e in listed.values()} == {"published"}
        # 4. Enforcement orders reach every platform (and shop) where each operator operates
        for sid in operators:
            shops = session.scalars(select(Shop).where(Shop.operator_id == sid)).all()
            orders = session.scalars(
                select(EnforcementOrder).where(EnforcementOrder.entry_id == listed[sid].id)
            ).all()
            assert {s.platform_id for s in shops} <= {o.platform_id for o in orders}
            assert {s.id for s in shops} <= {o.shop_id for o in orders if o.shop_id}
            assert all(o.due_on is not None and o.due_on > published_on for o in orders)
        # a listed company with a current legal representative, and that person's ID number (province files)
        companies = session.execute(
            select(Subject.id, Subject.uscc, Relation.holder_id)
            .join(Relation, Relation.object_id == Subject.id)
            .where(
                Subject.id.in_(operators),
                Relation.kind == "legal_representative",
                Relation.ended_date.is_(None),
            )
        ).all()
        own_platform = session.scalar(select(Platform.code).join(Shop).where(Shop.operator_id.in_(operators)))
    assert companies, "the confirmed rings should include a company with a legal representative"
    company_id, company_uscc, _ = companies[0]
    rep_id_number = next(
        r["legal_rep_id_number"] for r in _shop_rows(province) if r["operator_uscc"] == company_uscc
    )

    with frozen_today(published_on):
        # the platform sees its orders through the API
        orders = _ok(c[own_platform].get("/api/v1/orders"))["items"]
        assert orders and {o["platform"] for o in orders} == {own_platform}

        # 5. The check restricts the company (a loan) and its legal representative, with the reasons
        answer = _ok(
            bank.post("/api/v1/check", json={"action": "loan", "subjects": [{"uscc": company_uscc}]})
        )
        [company_answer] = answer["results"]
        assert company_answer["answer"] == "restricted"
        assert company_answer["entries"] and company_answer["measures"]
        assert all(m["legal_basis"] and m["list_legal_basis"] for m in company_answer["measures"])
        assert answer["data_version"]["catalogue"].startswith("lists@")
        answer = _ok(
            bank.post(
                "/api/v1/check",
                json={"action": "legal_representative", "subjects": [{"id_number": rep_id_number}]},
            )
        )
        [rep_answer] = answer["results"]
        assert rep_answer["answer"] == "restricted", rep_answer
        assert [r["subject_id"] for r in rep_answer["related"]] == [company_id]
        assert rep_id_number not in str(answer)  # masked in the answer

        # 6. The same operator opens a new shop: intake raises a listed-operator warning
        _ok(
            c[own_platform].post(
                "/api/v1/shops",
                json={
                    "platform": own_platform,
                    "platform_shop_id": "E2E-NEW-1",
                    "name": "新开小店",
                    "operator_id": company_id,
                },
            ),
            201,
        )
        fresh = _ok(a.get("/api/v1/warnings", params={"kind": "listed_operator", "subject_id": company_id}))[
            "items"
        ]
        assert len(fresh) == 1 and fresh[0]["platform"] == own_platform

    # 7. Repair after the minimum period (12 months): every public trace goes
    with frozen_today(published_on):
        commitment = _ok(
            a.post(
                "/api/v1/commitments",
                json={
                    "subject_id": company_id,
                    "type": "repair",
                    "text": "承诺所提交材料真实，已停止刷单炒信并完成整改",
                    "source_department": "山东省市场监督管理局",
                    "signed_on": published_on.isoformat(),
                },
            ),
            201,
        )
    with frozen_today(dt.date(2027, 6, 15)):  # past early_removal_from (published + 12 months)
        application = _ok(
            a.post(
                "/api/v1/lists/repair-applications",
                json={
                    "target_type": "list_entry",
                    "target_id": listed[company_id].id,
                    "statement": "已停止刷单并整改，处罚义务已履行",
                    "duties_fulfilled": True,
                    "duties_evidence": {"整改报告": "2027-06"},
                    "commitment_id": commitment["id"],
                },
            ),
            201,
        )
        assert all(x["met"] for x in application["conditions"]["items"].values()), application["conditions"]
        decided = _ok(
            b.post(
                f"/api/v1/lists/repair-applications/{application['id']}/decide",
                json={"approve": True, "reason": "准予修复"},
            )
        )
        assert decided["status"] == "approved"
        anon = c["anon"]
        assert _ok(anon.get(f"/api/v1/subjects/{company_id}/list-entries"))["items"] == []
        kinds = {r["kind"] for r in _ok(anon.get(f"/api/v1/subjects/{company_id}/records"))["items"]}
        assert "list_entry" not in kinds
        [after] = _ok(
            bank.post("/api/v1/check", json={"action": "loan", "subjects": [{"uscc": company_uscc}]})
        )["results"]
        assert after["answer"] == "allowed" and after["entries"] == []
    with session_scope(read_only=True) as session:
        entry = session.get(ListEntry, listed[company_id].id)
        assert entry.state == "repaired"  # kept in the archive
        statuses = set(
            session.scalars(select(EnforcementOrder.status).where(EnforcementOrder.entry_id == entry.id))
        )
        assert statuses == {"lifted"}
        assert session.scalar(select(RiskWarning.id).where(RiskWarning.kind == "listed_operator")) is not None
