"""Real-name verification of shop operators, expiry, and trusted certification marks."""

from __future__ import annotations

import datetime as dt

import pytest

from ecredit.kit.clock import add_months, utc_now
from ecredit.kit.policy import policy
from ecredit.verification import service
from tests.builders import ADMIN, make_legal_rep, make_register_entry, make_shop, make_subject


def _verified_org_shop(session, **register_overrides):
    org = make_subject(session, name="济南泉城优品商贸有限公司")
    rep = make_legal_rep(session, org, name="王伟")
    make_register_entry(session, org, **({"legal_rep_name": rep.name} | register_overrides))
    return make_shop(session, operator=org), org


def _codes(verification) -> set[str]:
    return {r["code"] for r in verification.reasons}


class TestVerifyShop:
    def test_organisation_matching_the_register_is_verified_and_marked(self, session):
        shop, _ = _verified_org_shop(session)
        v = service.verify_shop(session, ADMIN, shop.id)
        assert v.outcome == "verified", v.reasons
        assert v.policy_ref == policy("verification").ref
        assert shop.verification_status == "verified"
        assert v.expires_at == add_months(
            v.checked_at, policy("verification").value("reverification_interval")
        )
        mark = service.current_mark(session, ADMIN, shop.id)
        assert mark.level == "L2" and mark.revoked_at is None

    def test_missing_register_entry_is_rejected_with_reason(self, session):
        shop = make_shop(session)
        v = service.verify_shop(session, ADMIN, shop.id)
        assert v.outcome == "rejected"
        assert "register.match" in _codes(v)

    @pytest.mark.parametrize("status", ["注销", "吊销", "迁出"])
    def test_inactive_register_status_is_rejected(self, session, status):
        shop, _ = _verified_org_shop(session, status=status)
        v = service.verify_shop(session, ADMIN, shop.id)
        assert v.outcome == "rejected" and "register.status" in _codes(v)

    def test_name_mismatch_is_rejected(self, session):
        shop, _ = _verified_org_shop(session, name="济南别的公司")
        assert "register.name" in _codes(service.verify_shop(session, ADMIN, shop.id))

    def test_fullwidth_brackets_in_names_still_match(self, session):
        org = make_subject(session, name="山东甲乙(济南)商贸有限公司")
        rep = make_legal_rep(session, org)
        make_register_entry(session, org, name="山东甲乙（济南）商贸有限公司", legal_rep_name=rep.name)
        shop = make_shop(session, operator=org)
        assert service.verify_shop(session, ADMIN, shop.id).outcome == "verified"

    def test_legal_representative_mismatch_is_rejected(self, session):
        shop, _ = _verified_org_shop(session, legal_rep_name="李雷")
        assert "legal_rep.match" in _codes(service.verify_shop(session, ADMIN, shop.id))

    def test_natural_person_operator_is_verified_on_id_number(self, session):
        person = make_subject(session, kind="person")
        shop = make_shop(session, operator=person)
        v = service.verify_shop(session, ADMIN, shop.id)
        assert v.outcome == "verified", v.reasons
        assert service.current_mark(session, ADMIN, shop.id).level == "L1"

    def test_failed_reverification_revokes_the_mark(self, session):
        shop, org = _verified_org_shop(session)
        service.verify_shop(session, ADMIN, shop.id)
        mark = service.current_mark(session, ADMIN, shop.id)
        make_register_entry(session, org, status="吊销", legal_rep_name="王伟")
        v = service.verify_shop(session, ADMIN, shop.id)
        assert v.outcome == "rejected"
        session.refresh(mark)
        assert mark.revoked_at is not None and "verification failed" in mark.revoked_reason
        assert service.check_mark(session, mark.token).status == "revoked"


class TestReverificationDue:
    def test_expired_verification_is_due(self, session):
        shop, _ = _verified_org_shop(session)
        past = utc_now() - dt.timedelta(days=400)
        service.verify_shop(session, ADMIN, shop.id, now=past)
        due = service.shops_due_for_verification(session, limit=10_000)
        assert shop.id in due
        service.verify_shop(session, ADMIN, shop.id)
        assert shop.id not in service.shops_due_for_verification(session, limit=10_000)

    def test_unverified_shops_only_when_asked(self, session):
        shop = make_shop(session)
        assert shop.id not in service.shops_due_for_verification(session, limit=10_000)
        assert shop.id in service.shops_due_for_verification(session, include_unverified=True, limit=10_000)


class TestMarks:
    def test_valid_tampered_and_expired(self, session):
        shop, _ = _verified_org_shop(session)
        service.verify_shop(session, ADMIN, shop.id)
        token = service.current_mark(session, ADMIN, shop.id).token
        assert service.check_mark(session, token).status == "valid"
        payload, sig = token.split(".")
        tampered = payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + sig
        assert service.check_mark(session, tampered).status == "forged"
        assert service.check_mark(session, token[:-3] + "abc").status == "forged"
        assert service.check_mark(session, "not-a-token").status == "forged"
        later = utc_now() + dt.timedelta(days=366)
        assert service.check_mark(session, token, now=later).status == "expired"

    def test_marks_signed_with_an_old_key_stay_verifiable(self, session, monkeypatch):
        from ecredit.security import context

        shop, _ = _verified_org_shop(session)
        service.verify_shop(session, ADMIN, shop.id)
        old = service.current_mark(session, ADMIN, shop.id)
        ring = context.get_keyring().with_new_signing_key()
        monkeypatch.setattr(context, "get_keyring", lambda: ring)
        monkeypatch.setattr(service, "get_keyring", lambda: ring)
        assert service.check_mark(session, old.token).status == "valid"
        service.verify_shop(session, ADMIN, shop.id)
        new = service.current_mark(session, ADMIN, shop.id)
        assert new.key_id == ring.active_signing_key_id != old.key_id
        assert service.check_mark(session, new.token).status == "valid"
        assert service.check_mark(session, old.token).status == "revoked"  # superseded


class TestApi:
    def test_verify_then_public_mark_check(self, client, session):
        shop, _ = _verified_org_shop(session)
        r = client.post(f"/api/v1/shops/{shop.id}/verify")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["outcome"] == "verified" and body["mark_token"]
        check = client.get(f"/api/v1/marks/{body['mark_token']}").json()
        assert check["status"] == "valid" and check["shop_name"] == shop.name
        forged = client.get(f"/api/v1/marks/{body['mark_token'][:-2]}xx").json()
        assert forged["status"] == "forged" and forged["payload"] is None
        history = client.get(f"/api/v1/shops/{shop.id}/verifications").json()
        assert [h["outcome"] for h in history] == ["verified"]
        assert {c["code"] for c in history[0]["checks"]} >= {
            "uscc.format",
            "register.match",
            "legal_rep.match",
        }

    def test_revoke_mark(self, client, session):
        shop, _ = _verified_org_shop(session)
        client.post(f"/api/v1/shops/{shop.id}/verify")
        mark = client.get(f"/api/v1/shops/{shop.id}/mark").json()
        r = client.post(f"/api/v1/marks/{mark['id']}/revoke", json={"reason": "监管部门撤销"})
        assert r.status_code == 200 and r.json()["revoked_reason"] == "监管部门撤销"
        assert client.get(f"/api/v1/marks/{mark['token']}").json()["status"] == "revoked"

    def test_register_entry_address_is_masked(self, client, session):
        org = make_subject(session)
        make_register_entry(session, org, address="山东省济南市历下区泉城路188号")
        r = client.get(f"/api/v1/register/{org.uscc}")
        assert r.status_code == 200
        assert "泉城路" not in r.text and r.json()["address"].startswith("山东省济南市历下区")

    def test_identifier_check_endpoint(self, client):
        r = client.post(
            "/api/v1/identifiers/check", json={"values": ["N2370102MA3C0002XN", "110105209912310010"]}
        )
        assert [x["valid"] for x in r.json()] == [True, False]
        assert client.post("/api/v1/identifiers/check", json={"values": []}).status_code == 422
