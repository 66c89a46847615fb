"""REST routes of the lists: the catalogue, the steps with problem+json refusals, documents, the queue,
repair by a platform for its own merchant, and the public read of entries in force."""

from __future__ import annotations

import datetime as dt

from ecredit.kit.clock import frozen_today
from ecredit.subjects.models import Subject
from tests.builders import make_platform, make_record, make_shop, make_subject

DAY = dt.date(2026, 6, 1)


def _nominate(client, session, subject=None, list_type="ecommerce_fake_trading"):
    subject = subject or make_subject(session)
    record = make_record(session, subject, today=DAY)
    r = client.post(
        "/api/v1/lists/entries",
        json={
            "subject_id": subject.id,
            "list_type": list_type,
            "reason": "组织刷单炒信，联系人13912345678",
            "basis_record_ids": [record.id],
            "evidence": {"warning": "W-1"},
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def _publish(a, b, entry_id):
    for who, path, body in [
        (a, "notify", {"reason": "告知"}),
        (a, "record-defence", {"statement": "无异议", "filed_on": DAY.isoformat()}),
        (b, "review", {"reason": "复核"}),
        (a, "decide", {"reason": "决定"}),
        (a, "publish", {"reason": "公示"}),
    ]:
        r = who.post(f"/api/v1/lists/entries/{entry_id}/{path}", json=body)
        assert r.status_code == 200, (path, r.text)
    return r.json()["entry"]


class TestCatalogue:
    def test_the_types_are_public_with_sources_and_procedure(self, anon):
        body = anon.get("/api/v1/lists/types").json()
        serious = next(t for t in body["types"] if t["key"] == "samr_serious")
        assert serious["procedure"] == [
            "nominate",
            "notify",
            "record_defence",
            "review",
            "decide",
            "approve_higher",
            "publish",
        ]
        assert serious["source"] and all(m["legal_basis"] and m["source"] for m in serious["measures"])
        assert body["settings"]["withdrawal_within_workdays"] == 3 and body["version"].startswith("lists@")


class TestSteps:
    def test_the_whole_path_by_two_regulators_with_documents(self, session, client_as):
        a = client_as("regulator", region="370102", department="market")
        b = client_as("regulator", region="370102", department="market")
        with frozen_today(DAY):
            entry = _nominate(a, session)
            assert "13912345678" not in entry["reason"] and entry["next_steps"] == ["notify", "drop"]
            r = a.post(f"/api/v1/lists/entries/{entry['id']}/notify", json={"reason": "告知"})
            notice = r.json()["document"]
            assert notice["kind"] == "notice" and r.json()["entry"]["defence_until"] == "2026-06-08"
            doc = a.get(f"/api/v1/lists/documents/{notice['id']}")
            assert doc.status_code == 200 and doc.headers["content-type"].startswith("text/html")
            assert "陈述和申辩" in doc.text and doc.headers["etag"] == f'"{notice["sha256"]}"'
            # the nominator may not review
            r = a.post(
                f"/api/v1/lists/entries/{entry['id']}/record-defence",
                json={"statement": "无", "filed_on": "2026-06-01"},
            )
            assert r.status_code == 200
            r = a.post(f"/api/v1/lists/entries/{entry['id']}/review", json={"reason": "自审"})
            assert r.status_code == 409 and r.json()["code"] == "lists.separation_of_duties"
            for who, path in ((b, "review"), (a, "decide"), (a, "publish")):
                assert (
                    who.post(f"/api/v1/lists/entries/{entry['id']}/{path}", json={"reason": "x"}).status_code
                    == 200
                )
            detail = a.get(f"/api/v1/lists/entries/{entry['id']}").json()
        assert detail["state"] == "published" and detail["record_id"]
        assert [h["action"] for h in detail["history"]] == [
            "nominate",
            "notify",
            "record_defence",
            "review",
            "decide",
            "publish",
        ]
        assert [d["kind"] for d in detail["documents"]] == ["notice", "decision"]

    def test_a_step_not_allowed_yet_is_a_409_problem_naming_the_state(self, session, client):
        with frozen_today(DAY):
            entry = _nominate(client, session)
            r = client.post(f"/api/v1/lists/entries/{entry['id']}/publish", json={"reason": "抢先"})
        assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "lists.invalid_transition" and r.json()["errors"][0]["field"] == "state"
        assert "allowed now: notify, drop" in r.json()["detail"]

    def test_bad_input_is_a_422_and_changes_nothing(self, session, client):
        with frozen_today(DAY):
            entry = _nominate(client, session)
            client.post(f"/api/v1/lists/entries/{entry['id']}/notify", json={"reason": "告知"})
            r = client.post(
                f"/api/v1/lists/entries/{entry['id']}/record-defence",
                json={"statement": "x", "filed_on": "2026-06-05"},
            )
            assert r.status_code == 422 and r.json()["errors"][0]["field"] == "filed_on"
            r = client.post(f"/api/v1/lists/entries/{entry['id']}/notify", json={"reason": "", "extra": 1})
            assert r.status_code == 422
            assert client.get(f"/api/v1/lists/entries/{entry['id']}").json()["state"] == "notified"

    def test_outsiders_are_refused(self, session, client, client_as):
        with frozen_today(DAY):
            entry = _nominate(client, session)
        bank = client_as("bank")
        assert (
            bank.post(f"/api/v1/lists/entries/{entry['id']}/notify", json={"reason": "x"}).status_code == 403
        )
        assert client_as(None).get(f"/api/v1/lists/entries/{entry['id']}").status_code == 401
        other = client_as("regulator", region="3702", department="market")
        assert other.get(f"/api/v1/lists/entries/{entry['id']}").status_code == 404  # another city


class TestPublicRead:
    def test_pending_entries_are_not_public(self, session, client, anon):
        with frozen_today(DAY):
            entry = _nominate(client, session)
            client.post(f"/api/v1/lists/entries/{entry['id']}/notify", json={"reason": "告知"})
            url = f"/api/v1/subjects/{entry['subject_id']}/list-entries"
            assert anon.get(url).json()["items"] == []

    def test_published_then_withdrawn(self, session, client_as, anon):
        a = client_as("regulator", region="370102", department="market")
        b = client_as("admin")
        with frozen_today(DAY):
            entry = _nominate(a, session)
            _publish(a, b, entry["id"])
            body = anon.get(f"/api/v1/subjects/{entry['subject_id']}/list-entries").json()
            [item] = body["items"]
            assert item["list_name"] == "电子商务领域炒信失信主体名单" and "139****5678" in item["reason"]
            assert set(item) == {
                "id",
                "list_type",
                "list_name",
                "colour",
                "issuing_body",
                "legal_basis",
                "reason",
                "published_on",
                "effective_until",
            }
            r = a.post(
                f"/api/v1/lists/entries/{entry['id']}/withdraw",
                json={"reason": "处罚被撤销", "basis_revoked_on": "2026-06-01"},
            )
            assert r.status_code == 200 and r.json()["deadline"] == "2026-06-04" and not r.json()["late"]
            assert anon.get(f"/api/v1/subjects/{entry['subject_id']}/list-entries").json()["items"] == []

    def test_persons_are_never_shown(self, session, anon):
        person = make_subject(session, kind="person")
        assert anon.get(f"/api/v1/subjects/{person.id}/list-entries").status_code == 404


class TestObjectionsAndRepair:
    def test_a_platform_objects_and_applies_for_its_own_merchant(self, session, client_as):
        platform = make_platform(session)
        shop = make_shop(session, platform=platform)
        stranger = make_subject(session)
        a = client_as("regulator", region="370102", department="market")
        b = client_as("admin")
        p = client_as("platform", platform=platform)
        with frozen_today(DAY):
            own = _nominate(a, session, subject=session.get(Subject, shop.operator_id))
            other = _nominate(a, session, subject=stranger)
            _publish(a, b, own["id"])
            _publish(a, b, other["id"])
            r = p.post(
                f"/api/v1/lists/entries/{own['id']}/objections",
                json={"grounds": "刷单系误判", "filed_on": "2026-06-01"},
            )
            assert r.status_code == 201 and r.json()["due_on"] == "2026-06-15"
            r = p.post(
                f"/api/v1/lists/entries/{other['id']}/objections",
                json={"grounds": "x", "filed_on": "2026-06-01"},
            )
            assert r.status_code == 404
            objection = client_as("admin").post(
                f"/api/v1/lists/objections/{own['id']}/answer", json={"upheld": False, "answer": "x"}
            )
            assert objection.status_code == 404
            r = p.post(
                "/api/v1/lists/repair-applications",
                json={
                    "target_type": "list_entry",
                    "target_id": own["id"],
                    "statement": "已整改",
                    "duties_fulfilled": True,
                    "duties_evidence": {"receipt": "R-1"},
                },
            )
            assert r.status_code == 201 and r.json()["channel"] == "api"
            assert r.json()["conditions"]["items"]["commitment"]["met"] is False
        with frozen_today(dt.date(2026, 6, 16)):
            queue = a.get("/api/v1/lists/queue").json()
        assert {i["kind"] for i in queue} >= {"objection"}
        assert all(i["due_on"] < "2026-06-16" or i["due_unknown"] for i in queue)
