"""The warnings API: problem+json errors, triage over HTTP, tenants and regions."""

from __future__ import annotations

import pytest

from ecredit.monitoring.findings import WarningKind
from tests.builders import make_platform, make_shop
from tests.monitoring.support import account, finding, record, record_of, ring, shop

PROBLEM = "application/problem+json"


@pytest.fixture
def warnings(session):
    qilu = make_platform(session, code="qilu")
    haibin = make_platform(session, code="haibin")
    make_shop(session, platform=qilu, platform_shop_id="Q1", region_code="370102")
    make_shop(session, platform=haibin, platform_shop_id="H1", region_code="370202")
    ring_q, ring_h, payer = record(
        session,
        ring("qilu", ["Q1"], ["qa"], ["QL-O-1"], score=9.0),
        ring("haibin", ["H1"], ["ha"], score=4.0),
        finding(
            [account("qilu", "qa"), shop("haibin", "H1")], kind=WarningKind.shared_payer, summary="payer"
        ),
    )
    return {"qilu": qilu, "haibin": haibin, "ring_q": ring_q.id, "ring_h": ring_h.id, "payer": payer.id}


class TestRead:
    def test_list_and_detail(self, client, warnings):
        page = client.get("/api/v1/warnings", params={"kind": "brushing_ring", "limit": 1})
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["items"]) == 1 and body["next_cursor"] == body["items"][0]["id"]
        more = client.get("/api/v1/warnings", params={"kind": "brushing_ring", "cursor": body["next_cursor"]})
        assert more.json()["next_cursor"] is None
        # Newest first: by id, which starts with the creation time.
        ids = [body["items"][0]["id"], *(w["id"] for w in more.json()["items"])]
        assert ids == sorted([warnings["ring_q"], warnings["ring_h"]], reverse=True)
        detail = client.get(f"/api/v1/warnings/{warnings['ring_q']}").json()
        assert detail["status"] == "open" and detail["details"] == {"orders": 20}
        assert [(m["role"], m["ref"]) for m in detail["members"]] == [
            ("shop", "Q1"),
            ("account", "qa"),
            ("object", "QL-O-1"),
        ]
        assert detail["members"][0]["shop_id"] and detail["subject_ids"] == [
            detail["members"][0]["subject_id"]
        ]

    def test_a_platform_sees_its_own_warnings_and_members_only(self, client_as, warnings):
        qilu = client_as("platform", platform=warnings["qilu"])
        assert {w["id"] for w in qilu.get("/api/v1/warnings").json()["items"]} == {
            warnings["ring_q"],
            warnings["payer"],
        }
        assert qilu.get(f"/api/v1/warnings/{warnings['ring_h']}").status_code == 404
        payer = qilu.get(f"/api/v1/warnings/{warnings['payer']}").json()
        assert [(m["platform"], m["ref"]) for m in payer["members"]] == [("qilu", "qa")]
        assert qilu.post(f"/api/v1/warnings/{warnings['ring_q']}/confirm", json={}).status_code == 403

    def test_a_regulator_sees_the_region(self, client_as, warnings):
        jinan = client_as("regulator", region="3701")
        assert [w["id"] for w in jinan.get("/api/v1/warnings").json()["items"]] == [warnings["ring_q"]]
        assert jinan.get(f"/api/v1/warnings/{warnings['ring_h']}").status_code == 404

    def test_invalid_filters_are_422_naming_the_field(self, client, warnings):
        for params, field in (
            ({"kind": "price_gouging"}, "kind"),
            ({"created_from": "2026-01-01T00:00:00"}, "created_from"),  # no offset: ambiguous
            ({"cursor": "nope"}, "cursor"),
            ({"min_score": "nan"}, "min_score"),
            ({"created_to": "0.5"}, "created_to"),  # not a Unix time: the document says date-time
        ):
            response = client.get("/api/v1/warnings", params=params)
            assert response.status_code == 422, (params, response.text)
            assert response.headers["content-type"].startswith(PROBLEM)
            assert [e["field"] for e in response.json()["errors"]] == [field]

    def test_instants_with_an_offset_in_any_rfc_3339_spelling(self, client, warnings):
        for value in ("2000-01-01T00:00:00Z", "2000-01-01t08:00:00.5+08:00", "2000-01-01 00:00:00z"):
            response = client.get("/api/v1/warnings", params={"created_from": value})
            assert response.status_code == 200, (value, response.text)
            assert len(response.json()["items"]) == 3

    def test_anonymous_and_banks_are_refused(self, anon, client_as, warnings):
        assert anon.get("/api/v1/warnings").status_code == 401
        assert client_as("bank").get(f"/api/v1/warnings/{warnings['ring_q']}").status_code == 403


class TestTriage:
    def test_dismiss_without_a_reason_is_422_with_the_field(self, client, warnings):
        for body in ({}, {"reason": ""}, {"reason": "   "}):
            response = client.post(f"/api/v1/warnings/{warnings['ring_q']}/dismiss", json=body)
            assert response.status_code == 422, response.text
            assert response.headers["content-type"].startswith(PROBLEM)
            problem = response.json()
            assert problem["code"] == "validation_failed"
            assert [e["field"] for e in problem["errors"]] == ["reason"]

    def test_confirm_then_confirm_again_is_409_until_reopened(self, client_as, warnings):
        regulator = client_as("regulator", region="3701")
        url = f"/api/v1/warnings/{warnings['ring_q']}"
        confirmed = regulator.post(f"{url}/confirm", json={"reason": "orders checked"})
        assert confirmed.status_code == 200, confirmed.text
        assert (confirmed.json()["status"], confirmed.json()["triage_reason"]) == (
            "confirmed",
            "orders checked",
        )
        again = regulator.post(f"{url}/dismiss", json={"reason": "changed my mind"})
        assert again.status_code == 409 and again.headers["content-type"].startswith(PROBLEM)
        assert again.json()["code"] == "warnings.invalid_transition"
        reopened = regulator.post(f"{url}/reopen", json={"reason": "the platform objected"})
        assert reopened.json()["status"] == "open"
        assert regulator.post(f"{url}/dismiss", json={"reason": "the platform was right"}).json()[
            "status"
        ] == ("dismissed")

    def test_unknown_fields_and_unknown_warnings(self, client, warnings):
        extra = client.post(f"/api/v1/warnings/{warnings['ring_q']}/confirm", json={"verdict": "yes"})
        assert extra.status_code == 422 and extra.json()["errors"][0]["field"] == "verdict"
        missing = client.post("/api/v1/warnings/01ARZ3NDEKTSV4RRFFQ69G5FAV/confirm", json={})
        assert missing.status_code == 404 and missing.json()["code"] == "warnings.warning_not_found"


@pytest.fixture
def cross_platform(session):
    """A ring with shops and accounts on qilu and haibin, and a haibin shop re-opened from a qilu shop."""
    qilu = make_platform(session, code="qilu")
    haibin = make_platform(session, code="haibin")
    make_shop(session, platform=qilu, platform_shop_id="QL-S-1", region_code="370102")
    make_shop(session, platform=haibin, platform_shop_id="HB-S-1", region_code="370202")
    members = [
        shop("qilu", "QL-S-1"),
        shop("haibin", "HB-S-1"),
        account("qilu", "qa7"),
        account("haibin", "hb9"),
    ]
    members += [record_of("qilu", "QL-O-1"), record_of("haibin", "HB-O-2")]
    ring_both, reopened = record(
        session,
        finding(
            members,
            platform="haibin",
            summary="accounts qa7 (qilu) and hb9 (haibin) bought from QL-S-1 and HB-S-1; see HB-O-2",
            details={
                "orders": 2,
                "shops": [
                    {"platform": "qilu", "shop_id": "QL-S-1", "orders": 1},
                    {"platform": "haibin", "shop_id": "HB-S-1", "orders": 1},
                ],
                "largest": {"platform": "haibin", "shop_id": "HB-S-1", "buyers": ["hb9"]},
                "note": "HB-S-1 is the busier shop; qa7 also bought elsewhere",
            },
        ),
        finding(
            [shop("qilu", "QL-S-1"), shop("haibin", "HB-S-1", linked=True)],
            kind=WarningKind.reopened_shop,
            summary="shop QL-S-1 opened 9 days after shop HB-S-1 (haibin) closed",
            details={
                "new_shop": {"platform": "qilu", "shop_id": "QL-S-1"},
                "old_shops": [{"platform": "haibin", "shop_id": "HB-S-1", "orders": 40, "refunds": 9}],
                "links": ["operator"],
            },
        ),
    )
    return {"qilu": qilu, "haibin": haibin, "ring": ring_both.id, "reopened": reopened.id}


class TestTenantDetails:
    """Two platform peers each see only their own part of a warning that spans both (RELIABILITY.md C1)."""

    def test_each_peer_sees_its_own_details_members_and_text(self, client_as, cross_platform):
        qilu = client_as("platform", platform=cross_platform["qilu"])
        haibin = client_as("platform", platform=cross_platform["haibin"])
        url = f"/api/v1/warnings/{cross_platform['ring']}"

        mine = qilu.get(url).json()
        assert mine["details"] == {
            "orders": 2,
            "shops": [{"platform": "qilu", "shop_id": "QL-S-1", "orders": 1}],
            "note": "[withheld] is the busier shop; qa7 also bought elsewhere",
        }
        assert mine["summary"] == (
            "accounts qa7 (qilu) and [withheld] ([withheld]) bought from QL-S-1 and [withheld]; "
            "see [withheld]"
        )
        assert {m["platform"] for m in mine["members"]} == {"qilu"}
        assert "HB-" not in qilu.get(url).text and "hb9" not in qilu.get(url).text

        theirs = haibin.get(url).json()
        assert theirs["details"] == {
            "orders": 2,
            "shops": [{"platform": "haibin", "shop_id": "HB-S-1", "orders": 1}],
            "largest": {"platform": "haibin", "shop_id": "HB-S-1", "buyers": ["hb9"]},
            "note": "HB-S-1 is the busier shop; [withheld] also bought elsewhere",
        }
        assert {m["platform"] for m in theirs["members"]} == {"haibin"}
        assert "QL-" not in haibin.get(url).text and "qa7" not in haibin.get(url).text
        listed = {w["id"]: w for w in qilu.get("/api/v1/warnings").json()["items"]}
        assert listed[cross_platform["ring"]]["summary"] == mine["summary"]
        assert listed[cross_platform["ring"]]["member_counts"] == {"shops": 1, "accounts": 1, "objects": 1}

    def test_linked_evidence_of_another_platform_is_left_out(self, client_as, cross_platform):
        qilu = client_as("platform", platform=cross_platform["qilu"])
        body = qilu.get(f"/api/v1/warnings/{cross_platform['reopened']}").json()
        assert body["details"] == {
            "new_shop": {"platform": "qilu", "shop_id": "QL-S-1"},
            "old_shops": [],
            "links": ["operator"],
        }
        assert body["summary"] == "shop QL-S-1 opened 9 days after shop [withheld] ([withheld]) closed"
        assert [m["ref"] for m in body["members"]] == ["QL-S-1"]
        # haibin is no party to it (its shop is linked evidence only): it does not see the warning.
        haibin = client_as("platform", platform=cross_platform["haibin"])
        assert haibin.get(f"/api/v1/warnings/{cross_platform['reopened']}").status_code == 404

    def test_regulators_see_everything(self, client, cross_platform):
        body = client.get(f"/api/v1/warnings/{cross_platform['ring']}").json()
        assert len(body["details"]["shops"]) == 2 and "largest" in body["details"]
        assert "HB-O-2" in body["summary"] and len(body["members"]) == 6

    def test_an_export_by_a_platform_is_scoped_too(self, session, cross_platform):
        from ecredit.monitoring import service
        from ecredit.security.principals import Principal, Role

        qilu = Principal(actor="key:q", role=Role.platform, platform_id=cross_platform["qilu"].id)
        rows = {r["warning_id"]: r for r in service.export_rows(session, qilu, service.WarningFilters())}
        ring_row = rows[cross_platform["ring"]]
        assert "HB-" not in str(ring_row) and "hb9" not in str(ring_row)
        assert ring_row["shop_ids"] == "qilu:QL-S-1" and ring_row["account_ids"] == "qilu:qa7"
