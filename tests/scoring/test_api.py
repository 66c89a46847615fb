"""GET /api/v1/subjects/{id}/credit: the explanation a person may ask for (PIPL Art. 24), by role."""

from __future__ import annotations

from ecredit.scoring import repository as repo
from ecredit.scoring import spec
from tests.builders import make_platform, make_shop, make_subject
from tests.scoring.support import add_record, score


def _url(subject_id: str) -> str:
    return f"/api/v1/subjects/{subject_id}/credit"


class TestCredit:
    def test_a_regulator_gets_the_full_explanation(self, session, client_as):
        shop = make_shop(session)
        subject = repo.subjects_by_ids(session, {shop.operator_id})[0]
        add_record(session, subject, severity="serious")
        run_id = score(session)
        body = client_as("regulator").get(_url(subject.id)).json()
        assert body["detail"] == "full" and body["run_id"] == run_id
        assert body["model"] == spec.load().ref and body["snapshot"] is not None
        (evaluation,) = body["evaluations"]
        assert evaluation["shop_id"] == shop.id and evaluation["entity"] == "shop"
        assert evaluation["override"] == "serious_penalty" and evaluation["risk_class"] in ("C", "D")
        assert body["score"] == evaluation["score"] and body["grade"] == evaluation["grade"]
        by_key = {c["indicator"]: c for c in evaluation["contributions"]}
        assert set(by_key) == {i.key for i in spec.load().for_entity("shop")}
        penalties = by_key["penalties"]
        assert penalties["raw"] == spec.load().record_weights["serious"]
        assert penalties["points"] + penalties["lost"] == penalties["weight"]
        assert "行政处罚" in penalties["explanation_zh"] and "Penalties" in penalties["explanation_en"]
        assert "主要失分项" in evaluation["summary_zh"] and "行政处罚与失信记录" in evaluation["summary_zh"]
        assert sum(c["points"] for c in evaluation["contributions"]) > 0
        assert "第二十四条" in body["notice_zh"] and "PIPL Art. 24" in body["notice_en"]

    def test_the_public_sees_the_grade_only(self, session, anon):
        shop = make_shop(session)
        score(session)
        body = anon.get(_url(shop.operator_id)).json()
        assert body["detail"] == "public"
        assert body["score"] is None and body["risk_class"] is None and body["evaluations"] == []
        (public,) = body["public_evaluations"]
        assert set(public) == {"entity", "shop_id", "shop_name", "grade", "grade_name_zh", "grade_name_en"}
        assert public["grade"] in spec.GRADES

    def test_natural_persons_are_not_public(self, session, anon, client_as):
        person = make_subject(session, kind="person")
        make_shop(session, operator=person)
        score(session)
        assert anon.get(_url(person.id)).status_code == 404
        assert client_as("regulator").get(_url(person.id)).json()["detail"] == "full"

    def test_a_platform_sees_its_own_shops_only(self, session, client_as):
        mine, theirs = make_platform(session), make_platform(session)
        operator = make_subject(session)
        own = make_shop(session, platform=mine, operator=operator)
        make_shop(session, platform=theirs, operator=operator)
        score(session)
        body = client_as("platform", platform=mine).get(_url(operator.id)).json()
        assert [e["shop_id"] for e in body["evaluations"]] == [own.id]
        stranger = make_shop(session, platform=theirs)
        assert client_as("platform", platform=mine).get(_url(stranger.operator_id)).status_code == 404

    def test_not_evaluated_yet_is_404_problem(self, session, client_as):
        subject = make_subject(session)
        response = client_as("regulator").get(_url(subject.id))
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "scoring.evaluation_not_found"

    def test_a_malformed_id_is_422(self, client_as):
        assert client_as("regulator").get(_url("not-an-id")).status_code == 422
