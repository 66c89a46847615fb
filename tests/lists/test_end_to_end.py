"""From a confirmed brushing warning to a published listing and back out by repair, through the API with
the application's wiring: the warning's record nominates its subject at once; after the steps and the
windows (a controllable clock) the entry is public; after repair every public trace is gone."""

from __future__ import annotations

import datetime as dt

from ecredit.kit.clock import frozen_today
from ecredit.scoring import repository as scoring_repo
from tests.builders import make_platform, make_shop, make_subject
from tests.monitoring.support import record, ring

DAY = dt.date(2026, 6, 1)


def test_warning_to_listing_to_repair(session, client_as):
    qilu = make_platform(session, code="qilu")
    operator = make_subject(session)
    make_shop(session, platform=qilu, platform_shop_id="Q1", region_code="370102", operator=operator)
    [warning] = record(session, ring("qilu", ["Q1"], ["qa", "qb"], score=9.0))
    a = client_as("regulator", region="370102", department="market")
    b = client_as("regulator", region="370102", department="market")
    anon = client_as(None)

    with frozen_today(DAY):
        assert (
            a.post(f"/api/v1/warnings/{warning.id}/confirm", json={"reason": "核实属实"}).status_code == 200
        )
        [entry] = a.get("/api/v1/lists/entries", params={"subject_id": operator.id}).json()
        assert entry["list_type"] == "ecommerce_fake_trading" and entry["nomination_source"].startswith(
            "rule:"
        )
        assert entry["state"] == "nominated" and len(entry["basis_record_ids"]) == 1
        eid = entry["id"]
        assert a.post(f"/api/v1/lists/entries/{eid}/notify", json={"reason": "告知"}).status_code == 200
    # the party stays silent; the window (5 working days) passes
    with frozen_today(dt.date(2026, 6, 8)):
        r = a.post(f"/api/v1/lists/entries/{eid}/close-defence", json={"reason": "期满"})
        assert r.status_code == 409  # the window's last day
    with frozen_today(dt.date(2026, 6, 9)):
        queue = a.get("/api/v1/lists/queue").json()
        assert [i["kind"] for i in queue if i["entry_id"] == eid] == ["defence_window"]
        for who, step in ((a, "close-defence"), (b, "review"), (a, "decide"), (a, "publish")):
            r = who.post(f"/api/v1/lists/entries/{eid}/{step}", json={"reason": step})
            assert r.status_code == 200, (step, r.text)
        public = anon.get(f"/api/v1/subjects/{operator.id}/list-entries").json()["items"]
        assert [p["id"] for p in public] == [eid]
        records = anon.get(f"/api/v1/subjects/{operator.id}/records").json()["items"]
        assert "list_entry" in {r["kind"] for r in records}

    after = dt.date(2027, 6, 10)
    with frozen_today(DAY):
        commitment = a.post(
            "/api/v1/commitments",
            json={
                "subject_id": operator.id,
                "type": "repair",
                "text": "承诺材料真实",
                "source_department": "济南市市场监督管理局",
                "signed_on": DAY.isoformat(),
            },
        ).json()
    with frozen_today(after):
        application = a.post(
            "/api/v1/lists/repair-applications",
            json={
                "target_type": "list_entry",
                "target_id": eid,
                "statement": "已停止刷单并整改",
                "duties_fulfilled": True,
                "duties_evidence": {"整改报告": "2027-05"},
                "commitment_id": commitment["id"],
            },
        ).json()
        assert all(c["met"] for c in application["conditions"]["items"].values()), application["conditions"]
        r = b.post(
            f"/api/v1/lists/repair-applications/{application['id']}/decide",
            json={"approve": True, "reason": "准予"},
        )
        assert r.status_code == 200 and r.json()["status"] == "approved"
        assert anon.get(f"/api/v1/subjects/{operator.id}/list-entries").json()["items"] == []
        records = anon.get(f"/api/v1/subjects/{operator.id}/records").json()["items"]
        assert "list_entry" not in {r["kind"] for r in records}
        detail = a.get(f"/api/v1/lists/entries/{eid}").json()
    assert detail["state"] == "repaired" and detail["history"][-1]["action"] == "repair"
    assert not any(
        row.subject_id == operator.id and row.kind == "list_entry"
        for row in scoring_repo.counting_records(session)
    )
