"""Dual control: a regulator's mark revocation takes effect only when a second regulator approves it."""

from __future__ import annotations

from sqlalchemy import select

from ecredit.security.audit import AuditEntry
from ecredit.verification import service as verification
from tests.builders import ADMIN, make_legal_rep, make_register_entry, make_shop, make_subject, uscc


def _marked_shop(session, region="370102"):
    org = make_subject(session, uscc=uscc(region))
    rep = make_legal_rep(session, org)
    make_register_entry(session, org, legal_rep_name=rep.name)
    shop = make_shop(session, operator=org)
    verification.verify_shop(session, ADMIN, shop.id)
    return verification.current_mark(session, ADMIN, shop.id)


class TestDualControl:
    def test_request_then_second_regulator_approves(self, client_as, session):
        mark = _marked_shop(session)
        first, second = client_as("regulator", region="3701"), client_as("regulator", region="37")
        r = first.post(f"/api/v1/marks/{mark.id}/revoke", json={"reason": "虚假宣传"})
        assert r.status_code == 202, r.text
        approval = r.json()
        assert approval["state"] == "pending" and approval["action"] == "marks.revoke"
        assert client_as(None).get(f"/api/v1/marks/{mark.token}").json()["status"] == "valid"
        assert [a["id"] for a in second.get("/api/v1/approvals").json()] == [approval["id"]]
        r = second.post(f"/api/v1/approvals/{approval['id']}/approve", json={"note": "同意"})
        assert r.status_code == 200 and r.json()["state"] == "approved"
        assert client_as(None).get(f"/api/v1/marks/{mark.token}").json()["status"] == "revoked"
        actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq.desc()).limit(3)).all()
        assert actions == ["marks.revoke", "approvals.approve", "approvals.request"]

    def test_the_requester_cannot_approve_their_own_request(self, client_as, session):
        mark = _marked_shop(session)
        first = client_as("regulator", region="3701")
        approval = first.post(f"/api/v1/marks/{mark.id}/revoke", json={"reason": "x"}).json()
        r = first.post(f"/api/v1/approvals/{approval['id']}/approve", json={})
        assert r.status_code == 403 and r.json()["code"] == "approvals.same_person"
        assert client_as(None).get(f"/api/v1/marks/{mark.token}").json()["status"] == "valid"

    def test_a_regulator_outside_the_region_does_not_see_or_approve_it(self, client_as, session):
        mark = _marked_shop(session, region="370102")
        approval = (
            client_as("regulator", region="3701")
            .post(f"/api/v1/marks/{mark.id}/revoke", json={"reason": "x"})
            .json()
        )
        qingdao = client_as("regulator", region="3702")
        assert qingdao.get("/api/v1/approvals").json() == []
        assert qingdao.post(f"/api/v1/approvals/{approval['id']}/approve", json={}).status_code == 404

    def test_rejected_or_decided_requests_are_closed(self, client_as, session):
        mark = _marked_shop(session)
        first, second = client_as("regulator", region="3701"), client_as("regulator", region="3701")
        approval = first.post(f"/api/v1/marks/{mark.id}/revoke", json={"reason": "x"}).json()
        assert (
            second.post(f"/api/v1/approvals/{approval['id']}/reject", json={"note": "证据不足"}).status_code
            == 200
        )
        r = second.post(f"/api/v1/approvals/{approval['id']}/approve", json={})
        assert r.status_code == 409
        assert client_as(None).get(f"/api/v1/marks/{mark.token}").json()["status"] == "valid"

    def test_platforms_cannot_request_or_decide(self, client_as, session):
        mark = _marked_shop(session)
        platform = client_as("agency")
        assert platform.post(f"/api/v1/marks/{mark.id}/revoke", json={"reason": "x"}).status_code == 403
        assert platform.get("/api/v1/approvals").status_code == 403

    def test_an_administrator_acts_alone(self, client, session):
        mark = _marked_shop(session)
        r = client.post(f"/api/v1/marks/{mark.id}/revoke", json={"reason": "x"})
        assert r.status_code == 200 and r.json()["revoked_at"]


class TestPersonalDataInReasons:
    def test_a_phone_number_typed_into_a_reason_is_masked_in_the_audit(self, client, session):
        mark = _marked_shop(session)
        r = client.post(f"/api/v1/marks/{mark.id}/revoke", json={"reason": "举报人电话13812345678"})
        assert r.status_code == 200, r.text
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "marks.revoke").order_by(AuditEntry.seq.desc())
        ).first()
        assert "13812345678" not in str(entry.details) and "138****5678" in entry.details["reason"]
