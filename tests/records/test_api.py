"""REST routes of credit records: the public view (masked, inside the window, by the clock), the staff
archive, create/withdraw/repair with problem+json errors, platform penalties, commitments."""

from __future__ import annotations

import datetime as dt

from ecredit.kit.clock import frozen_today
from tests.builders import make_platform, make_record, make_shop, make_subject

D26 = dt.date(2026, 5, 6)


def _penalty(subject_id, **overrides):
    return {
        "subject_id": subject_id,
        "kind": "administrative_penalty",
        "title": "虚构交易",
        "source_department": "济南市商务局",
        "source_ref": "济商罚〔2026〕88号",
        "decided_on": D26.isoformat(),
        "legal_basis": "《中华人民共和国电子商务法》第十七条",
        "penalty_types": ["fine"],
        "amount_cents": 5_000_000,
        "summary": "当事人手机13912345678",
    } | overrides


class TestPublicView:
    def test_the_public_sees_a_record_inside_its_window_only(self, session, anon):
        subject = make_subject(session)
        record = make_record(session, subject, today=D26, decided_on=D26)  # general: until 2027-05-06
        url = f"/api/v1/subjects/{subject.id}/records"
        with frozen_today(dt.date(2027, 5, 6)):
            body = anon.get(url).json()
        assert body["view"] == "public" and [r["id"] for r in body["items"]] == [record.id]
        assert "evidence" not in body["items"][0] and "status" not in body["items"][0]
        with frozen_today(dt.date(2027, 5, 7)):
            assert anon.get(url).json()["items"] == []

    def test_staff_see_the_archive_with_the_derived_status(self, session, client):
        subject = make_subject(session)
        record = make_record(session, subject, today=D26, decided_on=D26)
        with frozen_today(dt.date(2027, 5, 7)):
            body = client.get(f"/api/v1/subjects/{subject.id}/records").json()
            assert body["view"] == "internal"
            assert [(r["id"], r["status"]) for r in body["items"]] == [(record.id, "expired")]
            detail = client.get(f"/api/v1/records/{record.id}").json()
        assert [h["action"] for h in detail["history"]] == ["created"]

    def test_persons_are_not_in_the_public_directory(self, session, anon):
        person = make_subject(session, kind="person")
        make_record(session, person, today=D26, decided_on=D26)
        response = anon.get(f"/api/v1/subjects/{person.id}/records")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")

    def test_a_platform_reads_only_its_own_merchants(self, session, client_as):
        platform = make_platform(session)
        own = make_shop(session, platform=platform).operator_id
        stranger = make_subject(session)
        c = client_as("platform", platform=platform)
        assert c.get(f"/api/v1/subjects/{own}/records").json()["view"] == "public"
        assert c.get(f"/api/v1/subjects/{stranger.id}/records").status_code == 404


class TestWrites:
    def test_create_retry_conflict_and_masking(self, session, client):
        subject = make_subject(session)
        with frozen_today(D26):
            first = client.post("/api/v1/records", json=_penalty(subject.id))
            again = client.post("/api/v1/records", json=_penalty(subject.id))
            other = client.post("/api/v1/records", json=_penalty(subject.id, amount_cents=1))
        assert first.status_code == 201, first.text
        body = first.json()
        assert (body["rule"], body["severity"], body["status"]) == ("ndrc36_general", "general", "active")
        assert body["summary"] == "当事人手机139****5678"
        assert (again.status_code, again.json()["id"]) == (200, body["id"])
        assert other.status_code == 409 and other.json()["code"] == "records.duplicate_record"

    def test_bad_input_names_the_field(self, session, client):
        subject = make_subject(session)
        with frozen_today(D26):
            future = client.post("/api/v1/records", json=_penalty(subject.id, decided_on="2026-05-07"))
            unknown = client.post("/api/v1/records", json=_penalty(subject.id, penalty_types=["flogging"]))
        assert future.status_code == 422 and future.json()["errors"][0]["field"] == "decided_on"
        assert unknown.status_code == 422

    def test_withdraw_and_repair(self, session, client):
        subject = make_subject(session)
        a = make_record(session, subject, today=D26, decided_on=D26)
        b = make_record(session, subject, today=D26, decided_on=D26)
        with frozen_today(dt.date(2026, 9, 1)):
            w = client.post(
                f"/api/v1/records/{a.id}/withdraw",
                json={"reason": "复议撤销", "basis_revoked_on": "2026-08-20"},
            )
            assert w.status_code == 200, w.text
            assert (w.json()["late"], w.json()["deadline"], w.json()["record"]["status"]) == (
                True,
                "2026-08-23",
                "withdrawn",
            )
            c = client.post(
                "/api/v1/commitments",
                json={
                    "subject_id": subject.id,
                    "type": "repair",
                    "text": "承诺材料真实",
                    "source_department": "济南市商务局",
                    "signed_on": "2026-08-31",
                },
            )
            assert c.status_code == 201, c.text
            no_commitment = client.post(f"/api/v1/records/{b.id}/repair", json={"reason": "已整改"})
            assert no_commitment.status_code == 409
            r = client.post(
                f"/api/v1/records/{b.id}/repair", json={"reason": "已整改", "commitment_id": c.json()["id"]}
            )
            assert r.status_code == 200 and r.json()["status"] == "repaired"
            public = client.get(f"/api/v1/subjects/{subject.id}/records").json()["items"]
        assert {x["id"]: x["status"] for x in public if x["kind"] == "administrative_penalty"} == {
            a.id: "withdrawn",
            b.id: "repaired",
        }

    def test_a_platform_reports_a_penalty_of_its_own_shop(self, session, client_as):
        platform = make_platform(session)
        shop = make_shop(session, platform=platform)
        foreign = make_shop(session)
        c = client_as("platform", platform=platform)
        body = {
            "shop_id": shop.id,
            "measure": "termination",
            "ref": "PP-1",
            "decided_on": D26.isoformat(),
            "rule": "平台规则第3条",
            "reason": "售假",
        }
        with frozen_today(D26):
            created = c.post("/api/v1/platform-penalties", json=body)
            retry = c.post("/api/v1/platform-penalties", json=body)
            other = c.post("/api/v1/platform-penalties", json=body | {"shop_id": foreign.id, "ref": "PP-2"})
        assert created.status_code == 201 and created.json()["kind"] == "platform_penalty"
        assert retry.status_code == 200 and retry.json()["id"] == created.json()["id"]
        assert other.status_code == 404
        assert c.post("/api/v1/records", json=_penalty(shop.operator_id)).status_code == 403


class TestCorrect:
    def test_a_correction_through_the_api(self, session, client, client_as):
        record = make_record(session, today=D26, decided_on=D26)
        with frozen_today(dt.date(2026, 6, 1)):
            response = client.post(
                f"/api/v1/records/{record.id}/correct",
                json={"reason": "金额更正", "amount_cents": 200_000_000},
            )
            assert response.status_code == 200, response.text
            assert (response.json()["severity"], response.json()["rule"]) == ("serious", "ndrc36_serious")
            bank = client_as("bank").post(f"/api/v1/records/{record.id}/correct", json={"reason": "x"})
        assert bank.status_code == 403
