"""Access control end to end: tenants, regions, credentials, clear reads, limits and headers."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select

from ecredit.config import get_settings
from ecredit.security import credentials
from ecredit.security.masking import find_pii
from ecredit.security.principals import Role
from tests.builders import id_number, make_platform, make_shop, make_subject, uscc


def _new_shop(client, platform_code: str, shop_key: str, region: str = "370102") -> dict:
    org = client.post(
        "/api/v1/subjects",
        json={"kind": "organisation", "name": f"{shop_key}商贸有限公司", "uscc": uscc(region)},
    )
    assert org.status_code == 201, org.text
    shop = client.post(
        "/api/v1/shops",
        json={
            "platform": platform_code,
            "platform_shop_id": shop_key,
            "name": f"{shop_key}店",
            "operator_id": org.json()["id"],
        },
    )
    assert shop.status_code == 201, shop.text
    return shop.json()


class TestTenants:
    """C1: platform A never sees or changes platform B's data."""

    def test_platform_sees_only_its_own_shops_and_subjects(self, client_as, session):
        pa, pb = make_platform(session), make_platform(session)
        a, b = client_as("platform", platform=pa), client_as("platform", platform=pb)
        shop = _new_shop(a, pa.code, "A-1")
        assert a.get(f"/api/v1/shops/{shop['id']}").status_code == 200
        assert b.get(f"/api/v1/shops/{shop['id']}").status_code == 404
        assert b.get(f"/api/v1/subjects/{shop['operator_id']}").status_code == 404
        assert b.get(f"/api/v1/platforms/{pa.code}/shops/A-1").status_code == 404
        assert b.patch(f"/api/v1/shops/{shop['id']}", json={"name": "劫持"}).status_code == 404
        assert b.post(f"/api/v1/shops/{shop['id']}/verify").status_code == 404
        assert b.get("/api/v1/shops").json()["items"] == []
        assert shop["id"] in [s["id"] for s in a.get("/api/v1/shops").json()["items"]]

    def test_platform_cannot_register_shops_for_another(self, client_as, session):
        pa, pb = make_platform(session), make_platform(session)
        a, b = client_as("platform", platform=pa), client_as("platform", platform=pb)
        shop = _new_shop(a, pa.code, "A-2")
        r = b.post(
            "/api/v1/shops",
            json={
                "platform": pa.code,
                "platform_shop_id": "B-x",
                "name": "x",
                "operator_id": shop["operator_id"],
            },
        )
        assert r.status_code == 403
        r = b.post(
            "/api/v1/shops",
            json={
                "platform": pb.code,
                "platform_shop_id": "B-x",
                "name": "x",
                "operator_id": shop["operator_id"],
            },
        )
        assert r.status_code == 404 and r.json()["errors"][0]["field"] == "operator_id"

    def test_second_platform_registering_the_same_operator_is_linked(self, client_as, session):
        pa, pb = make_platform(session), make_platform(session)
        a, b = client_as("platform", platform=pa), client_as("platform", platform=pb)
        code = uscc()
        first = a.post(
            "/api/v1/subjects", json={"kind": "organisation", "name": "共同经营有限公司", "uscc": code}
        )
        second = b.post(
            "/api/v1/subjects", json={"kind": "organisation", "name": "共同经营有限公司", "uscc": code}
        )
        assert (first.status_code, second.status_code) == (201, 200)
        assert first.json()["id"] == second.json()["id"]
        assert b.get(f"/api/v1/subjects/{second.json()['id']}").status_code == 200


class TestRegions:
    def test_regulator_sees_only_its_region(self, client_as, session):
        jinan = make_shop(session, operator=make_subject(session, uscc=uscc("370102")))
        qingdao = make_shop(session, operator=make_subject(session, uscc=uscc("370202")))
        reg = client_as("regulator", region="3701")
        assert reg.get(f"/api/v1/shops/{jinan.id}").status_code == 200
        assert reg.get(f"/api/v1/shops/{qingdao.id}").status_code == 404
        ids = {s["id"] for s in reg.get("/api/v1/shops", params={"limit": 200}).json()["items"]}
        assert jinan.id in ids and qingdao.id not in ids
        province = client_as("regulator", region="37")
        assert province.get(f"/api/v1/shops/{qingdao.id}").status_code == 200


class TestClearReads:
    def test_regulator_reads_in_clear_with_a_purpose_and_it_is_audited(self, client_as, session):
        from ecredit.security.audit import AuditEntry

        number = id_number("370102")
        person = make_subject(session, kind="person", id_number=number, phone="13912345678")
        reg = client_as("regulator", region="3701")
        r = reg.get(f"/api/v1/subjects/{person.id}/personal-data", params={"purpose": "case_investigation"})
        assert r.status_code == 200, r.text
        assert r.json()["id_number"] == number and r.json()["phone"] == "13912345678"
        assert r.headers["cache-control"] == "no-store"
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "pii.clear_read").order_by(AuditEntry.seq.desc())
        ).first()
        assert entry.object_id == person.id and entry.details["purpose"] == "case_investigation"
        assert number not in str(entry.details)

    def test_without_a_configured_purpose_it_is_refused(self, client_as, session):
        person = make_subject(session, kind="person", id_number=id_number("370102"))
        reg = client_as("regulator", region="3701")
        r = reg.get(f"/api/v1/subjects/{person.id}/personal-data", params={"purpose": "curiosity"})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "purpose"

    @pytest.mark.parametrize("role", ["admin", "agency", "bank", "department"])
    def test_other_roles_never_read_in_clear(self, client_as, session, role):
        person = make_subject(session, kind="person")
        r = client_as(role).get(
            f"/api/v1/subjects/{person.id}/personal-data", params={"purpose": "case_investigation"}
        )
        assert r.status_code == 403


class TestApiKeys:
    def test_lifecycle(self, app, session, make_token):
        from fastapi.testclient import TestClient

        token = make_token("agency")
        c = TestClient(app, headers={"Authorization": f"Bearer {token}"})
        assert c.get("/api/v1/platforms").status_code == 200
        key_id = token.split("_")[1]
        credentials.revoke_api_key(session, key_id)
        r = c.get("/api/v1/platforms")
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")

    def test_expired_malformed_and_forged_keys_are_401(self, app, session):
        from fastapi.testclient import TestClient

        new = credentials.create_api_key(
            session,
            role=Role.agency,
            label="old",
            created_by="test",
            expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        )
        forged = new.token[:-4] + ("AAAA" if not new.token.endswith("AAAA") else "BBBB")
        for token in [new.token, "eck_short", forged, "garbage"]:
            r = TestClient(app, headers={"Authorization": f"Bearer {token}"}).get("/api/v1/platforms")
            assert r.status_code == 401, token
        r = TestClient(app, headers={"Authorization": "Basic dXNlcjpwYXNz"}).get("/api/v1/platforms")
        assert r.status_code == 401

    def test_verified_keys_are_cached_for_a_short_time_and_revocation_clears_the_cache(
        self, app, session, make_token, monkeypatch
    ):
        from fastapi.testclient import TestClient
        from sqlalchemy import update

        from ecredit.security.models import ApiKey

        token = make_token("agency")
        c = TestClient(app, headers={"Authorization": f"Bearer {token}"})
        assert c.get("/api/v1/platforms").status_code == 200
        key_id = token.split("_")[1]
        # Revoked behind this process's back (another replica): trusted until the cache entry runs out.
        session.execute(
            update(ApiKey).where(ApiKey.key_id == key_id).values(revoked_at=dt.datetime.now(dt.UTC))
        )
        assert c.get("/api/v1/platforms").status_code == 200
        monkeypatch.setattr(get_settings(), "auth_cache_seconds", 0)
        assert c.get("/api/v1/platforms").status_code == 401
        monkeypatch.setattr(get_settings(), "auth_cache_seconds", 10)
        credentials.forget_verified()
        assert c.get("/api/v1/platforms").status_code == 401

    def test_a_recently_verified_key_costs_no_session(self, app, session, make_token, monkeypatch):
        """A write authenticated from the in-process cache opens no read session (and no worker-thread
        hop) for authentication; with the cache off, authentication reads the store in its own session."""
        from fastapi.testclient import TestClient

        from ecredit.kit.http import db_read_session

        shop = make_shop(session)
        c = TestClient(app, headers={"Authorization": f"Bearer {make_token('admin')}"})
        assert c.get("/api/v1/platforms").status_code == 200  # verified in the store, now cached
        opened = []
        test_session = app.dependency_overrides[db_read_session]

        def counting():
            opened.append(1)
            yield from test_session()

        app.dependency_overrides[db_read_session] = counting
        assert c.patch(f"/api/v1/shops/{shop.id}", json={"name": "新名字"}).status_code == 200
        assert opened == []
        monkeypatch.setattr(get_settings(), "auth_cache_seconds", 0)
        assert c.patch(f"/api/v1/shops/{shop.id}", json={"name": "新名字二"}).status_code == 200
        assert opened == [1]

    def test_key_is_stored_only_as_a_hash(self, session):
        from ecredit.security.models import ApiKey

        new = credentials.create_api_key(session, role=Role.agency, label="x", created_by="test")
        row = session.scalars(select(ApiKey).where(ApiKey.key_id == new.key.key_id)).one()
        secret = new.token.split("_", 2)[2]
        assert secret not in row.secret_hash and new.token.startswith("eck_")


class TestLogin:
    def test_login_use_logout(self, anon, app, session):
        from fastapi.testclient import TestClient

        credentials.create_user(
            session,
            username="wang",
            password="correct horse battery",
            role=Role.regulator,
            region_prefix="37",
        )
        r = anon.post("/api/v1/auth/login", json={"username": "wang", "password": "correct horse battery"})
        assert r.status_code == 200, r.text
        token = r.json()["token"]
        staff = TestClient(app, headers={"Authorization": f"Bearer {token}"})
        assert staff.get("/api/v1/platforms").status_code == 200
        assert staff.post("/api/v1/auth/logout").status_code == 204
        assert staff.get("/api/v1/platforms").status_code == 401

    def test_lockout_after_repeated_failures(self, anon, session):
        from ecredit.kit.policy import policy

        credentials.create_user(session, username="li", password="correct horse battery", role=Role.admin)
        for _ in range(policy("security").value("lockout_threshold")):
            r = anon.post("/api/v1/auth/login", json={"username": "li", "password": "wrong password!!"})
            assert r.status_code == 401
        r = anon.post("/api/v1/auth/login", json={"username": "li", "password": "correct horse battery"})
        assert r.status_code == 401 and r.json()["code"] == "auth.account_locked"

    def test_login_is_rate_limited(self, anon, monkeypatch):
        monkeypatch.setattr(get_settings(), "rate_limit_login_per_minute", 3)
        codes = [
            anon.post("/api/v1/auth/login", json={"username": "x", "password": "y"}).status_code
            for _ in range(4)
        ]
        assert codes[:3] == [401, 401, 401] and codes[3] == 429


class TestLimitsAndHeaders:
    def test_public_lookup_rate_limit_answers_429_with_retry_after(self, anon, monkeypatch):
        monkeypatch.setattr(get_settings(), "rate_limit_public_per_minute", 5)
        codes = [anon.get("/api/v1/marks/abc").status_code for _ in range(6)]
        assert codes[:5] == [200] * 5
        last = anon.get("/api/v1/marks/abc")
        assert last.status_code == 429 and int(last.headers["retry-after"]) >= 1
        assert last.headers["content-type"].startswith("application/problem+json")

    def test_body_too_large_is_413(self, client, monkeypatch):
        r = client.post(
            "/api/v1/subjects",
            content=b"{" + b" " * (get_settings().max_body_bytes + 1) + b"}",
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 413

    def test_request_id_and_security_headers(self, anon):
        r = anon.get("/api/v1/marks/abc", headers={"X-Request-ID": "trace-123"})
        assert r.headers["x-request-id"] == "trace-123"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "no-store"
        forged = anon.get("/api/v1/marks/abc", headers={"X-Request-ID": "bad id\tinjected"})
        assert forged.headers["x-request-id"] != "bad id\tinjected"

    def test_docs_are_off_in_production(self, monkeypatch):
        from fastapi.testclient import TestClient

        from ecredit.app import create_app

        monkeypatch.setattr(get_settings(), "mode", "production")
        c = TestClient(create_app())
        assert c.get("/docs").status_code == 404 and c.get("/openapi.json").status_code == 404
        assert "strict-transport-security" in c.get("/healthz").headers


class TestNoPersonalDataInLogs:
    def test_requests_with_personal_data_log_none(self, client_as, session, caplog):
        caplog.set_level(logging.DEBUG)
        number = id_number("370102")
        reg = client_as("regulator", region="3701")
        person = reg.post(
            "/api/v1/subjects",
            json={"kind": "person", "name": "赵\n六", "id_number": number, "phone": "13800138000"},
        )
        reg.get(
            f"/api/v1/subjects/{person.json()['id']}/personal-data", params={"purpose": "case_investigation"}
        )
        client_as(None).get("/api/v1/platforms", headers={"Authorization": f"Bearer eck_{number}"})
        text = "\n".join(r.getMessage() for r in caplog.records)
        assert not find_pii(text), find_pii(text)
        assert number not in text and "13800138000" not in text
        assert all("\n" not in r.getMessage() for r in caplog.records if r.name == "ecredit.security")
