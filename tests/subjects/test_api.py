"""The registry's REST API: creation, look-up, search, validation errors as problem+json."""

from __future__ import annotations

from sqlalchemy import func, select

from ecredit.subjects.models import Shop, Subject
from tests.builders import id_number, make_platform, make_shop, make_subject, uscc

PROBLEM = "application/problem+json"


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


class TestCreateSubject:
    def test_creates_an_organisation_and_masks_nothing_public(self, client):
        code = uscc()
        r = client.post(
            "/api/v1/subjects", json={"kind": "organisation", "name": "济南甲商贸有限公司", "uscc": code}
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["uscc"] == code
        assert body["region_code"] == code[2:8]
        assert r.headers["cache-control"] == "no-store"

    def test_person_id_number_and_phone_are_masked(self, client):
        number = id_number()
        r = client.post(
            "/api/v1/subjects",
            json={"kind": "person", "name": "李四", "id_number": number, "phone": "13812345678"},
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert body["id_number"] == number[:6] + "********" + number[-4:]
        assert body["phone"] == "138****5678"
        assert number not in r.text and "13812345678" not in r.text

    def test_bad_uscc_check_character_is_422_naming_the_field(self, client, session):
        before = _count(session, Subject)
        bad = uscc()[:-1] + ("0" if not uscc().endswith("0") else "1")
        r = client.post(
            "/api/v1/subjects", json={"kind": "organisation", "name": "x公司", "uscc": bad[:17] + "0"}
        )
        if r.status_code == 201:  # the random body happened to have check character 0
            return
        assert r.status_code == 422
        assert r.headers["content-type"].startswith(PROBLEM)
        problem = r.json()
        assert problem["status"] == 422 and problem["code"] == "validation_failed"
        assert [e["field"] for e in problem["errors"]] == ["uscc"]
        assert _count(session, Subject) == before

    def test_unknown_field_is_422(self, client):
        r = client.post(
            "/api/v1/subjects", json={"kind": "organisation", "name": "x", "uscc": uscc(), "grade": "AAA"}
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "grade"

    def test_wrong_type_is_422(self, client):
        r = client.post("/api/v1/subjects", json={"kind": "organisation", "name": 12, "uscc": uscc()})
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "name"

    def test_unparseable_json_is_400_and_writes_nothing(self, client, session):
        before = _count(session, Subject)
        r = client.post(
            "/api/v1/subjects",
            content=b'{"kind": "organisation", ',
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 400
        assert r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["code"] == "bad_request"
        assert _count(session, Subject) == before

    def test_fullwidth_trick_in_id_number_is_rejected_with_reason(self, client):
        r = client.post(
            "/api/v1/subjects", json={"kind": "person", "name": "王五", "id_number": "11010520991231001٣"}
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "id_number"

    def test_duplicate_uscc_is_409(self, client):
        code = uscc()
        assert (
            client.post(
                "/api/v1/subjects", json={"kind": "organisation", "name": "甲", "uscc": code}
            ).status_code
            == 201
        )
        r = client.post("/api/v1/subjects", json={"kind": "organisation", "name": "乙", "uscc": code})
        assert r.status_code == 409
        assert r.json()["errors"] == [{"field": "uscc", "message": "already registered"}]

    def test_organisation_without_uscc_is_422(self, client):
        r = client.post("/api/v1/subjects", json={"kind": "organisation", "name": "甲"})
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "uscc"


class TestSearchSubjects:
    def test_by_name_fragment_uscc_and_id_number(self, client, session):
        org = make_subject(session, name="淄博星辰陶瓷有限公司")
        person = make_subject(session, kind="person", name="赵六")
        r = client.get("/api/v1/subjects", params={"q": "星辰陶瓷"})
        assert [s["id"] for s in r.json()["items"]] == [org.id]
        r = client.get("/api/v1/subjects", params={"q": org.uscc})
        assert [s["id"] for s in r.json()["items"]] == [org.id]
        from ecredit.security.pii import reveal

        r = client.get("/api/v1/subjects", params={"q": reveal(person, "id_number")})
        assert [s["id"] for s in r.json()["items"]] == [person.id]

    def test_like_wildcards_match_literally(self, client, session):
        make_subject(session, name="百分百商贸有限公司")
        r = client.get("/api/v1/subjects", params={"q": "%"})
        assert r.status_code == 200
        assert r.json()["items"] == []

    def test_pages_with_a_cursor(self, client, session):
        ids = {make_subject(session, name=f"分页测试{i}有限公司").id for i in range(5)}
        seen: list[str] = []
        cursor = None
        while True:
            params = {"q": "分页测试", "limit": 2} | ({"cursor": cursor} if cursor else {})
            page = client.get("/api/v1/subjects", params=params).json()
            seen += [s["id"] for s in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == sorted(ids)

    def test_limit_bounds(self, client):
        assert client.get("/api/v1/subjects", params={"limit": 0}).status_code == 422
        assert client.get("/api/v1/subjects", params={"limit": 201}).status_code == 422
        assert client.get("/api/v1/subjects", params={"limit": "true"}).status_code == 422


class TestShops:
    def test_create_read_and_lookup_by_platform_id(self, client, session):
        platform = make_platform(session)
        operator = make_subject(session)
        r = client.post(
            "/api/v1/shops",
            json={
                "platform": platform.code,
                "platform_shop_id": "A-1",
                "name": "甲店",
                "operator_id": operator.id,
                "phone": "0531-88886666",
                "address": "山东省济南市历下区泉城路1号",
            },
        )
        assert r.status_code == 201, r.text
        shop = r.json()
        assert shop["phone"] != "0531-88886666" and shop["address"].startswith("山东省济南市历下区")
        assert "泉城路" not in r.text
        r = client.get(f"/api/v1/platforms/{platform.code}/shops/A-1")
        assert r.status_code == 200 and r.json()["id"] == shop["id"]
        r = client.get(f"/api/v1/subjects/{operator.id}/shops")
        assert [s["id"] for s in r.json()["items"]] == [shop["id"]]

    def test_unknown_platform_shop_is_404(self, client, session):
        platform = make_platform(session)
        r = client.get(f"/api/v1/platforms/{platform.code}/shops/nope")
        assert r.status_code == 404 and r.json()["code"] == "subjects.shop_not_found"

    def test_duplicate_shop_id_is_409_and_writes_nothing(self, client, session):
        shop = make_shop(session)
        platform_code = client.get(f"/api/v1/shops/{shop.id}").json()["platform"]
        before = _count(session, Shop)
        r = client.post(
            "/api/v1/shops",
            json={
                "platform": platform_code,
                "platform_shop_id": shop.platform_shop_id,
                "name": "x",
                "operator_id": shop.operator_id,
            },
        )
        assert r.status_code == 409
        assert _count(session, Shop) == before

    def test_platform_cannot_set_verification_status(self, client, session):
        shop = make_shop(session)
        r = client.patch(f"/api/v1/shops/{shop.id}", json={"verification_status": "verified"})
        assert r.status_code == 422


class TestUpdateShop:
    """PATCH /shops/{id}: the change and its hash-chained audit entry, in one transaction."""

    def test_rename_is_audited(self, client, session):
        from ecredit.security import audit
        from ecredit.security.audit import AuditEntry

        shop = make_shop(session)
        r = client.patch(f"/api/v1/shops/{shop.id}", json={"name": "新店名", "category": "服装"})
        assert r.status_code == 200, r.text
        assert r.json()["name"] == "新店名" and r.json()["id"] == shop.id
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
        assert (entry.action, entry.object_type, entry.object_id) == ("shops.update", "shop", shop.id)
        assert entry.details == {"fields": ["category", "name"]}
        assert entry.actor.startswith("key:") and entry.role == "admin"
        assert entry.request_id == r.headers["x-request-id"]
        assert audit.verify_chain(session).ok

    def test_a_shop_out_of_reach_is_404_and_not_audited(self, client_as, session):
        from ecredit.security.audit import AuditHead

        other = make_platform(session)
        shop = make_shop(session)
        head = session.scalar(select(AuditHead.last_seq))
        r = client_as("platform", platform=other).patch(f"/api/v1/shops/{shop.id}", json={"name": "x"})
        assert r.status_code == 404
        assert session.scalar(select(AuditHead.last_seq)) == head


class TestRelations:
    def test_legal_representative(self, client, session):
        org = make_subject(session)
        person = make_subject(session, kind="person")
        r = client.post(
            "/api/v1/relations",
            json={"kind": "legal_representative", "holder_id": person.id, "object_id": org.id},
        )
        assert r.status_code == 201, r.text
        rel = client.get(f"/api/v1/subjects/{org.id}/relations").json()
        assert [(x["kind"], x["holder_id"]) for x in rel] == [("legal_representative", person.id)]

    def test_organisation_cannot_be_legal_representative(self, client, session):
        a, b = make_subject(session), make_subject(session)
        r = client.post(
            "/api/v1/relations", json={"kind": "legal_representative", "holder_id": a.id, "object_id": b.id}
        )
        assert r.status_code == 422


class TestPublicDirectory:
    """Without credentials, subjects search is the public directory of market entities."""

    def test_finds_market_entities_by_name_and_uscc(self, anon, session):
        org = make_subject(session, name="烟台蓬莱果业有限公司")
        assert [s["id"] for s in anon.get("/api/v1/subjects", params={"q": "蓬莱果业"}).json()["items"]] == [
            org.id
        ]
        assert [s["id"] for s in anon.get("/api/v1/subjects", params={"q": org.uscc}).json()["items"]] == [
            org.id
        ]
        assert anon.get(f"/api/v1/subjects/{org.id}").status_code == 200

    def test_never_shows_natural_persons_nor_answers_id_number_searches(self, anon, session):
        from ecredit.security.pii import reveal

        person = make_subject(session, kind="person", name="钱七")
        assert anon.get("/api/v1/subjects", params={"q": "钱七"}).json()["items"] == []
        assert anon.get("/api/v1/subjects", params={"q": reveal(person, "id_number")}).json()["items"] == []
        assert anon.get(f"/api/v1/subjects/{person.id}").status_code == 404

    def test_relations_are_public_but_writes_need_credentials(self, anon, session):
        org = make_subject(session)
        assert anon.get(f"/api/v1/subjects/{org.id}/relations").status_code == 200
        r = anon.post("/api/v1/subjects", json={"kind": "organisation", "name": "x", "uscc": uscc()})
        assert r.status_code == 401
