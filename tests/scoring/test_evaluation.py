"""Evaluation over the store (SQLite, or PostgreSQL with ECREDIT_TEST_DATABASE_URL): records, overrides,
repair, history, platforms and logistics companies, results written with their contributions."""

from __future__ import annotations

import datetime as dt

import pyarrow.compute as pc
from sqlalchemy import func, select

from ecredit.monitoring.findings import WarningKind
from ecredit.scoring import repository as repo
from ecredit.scoring import spec
from ecredit.scoring.models import CreditScore, ScoreContribution, ScoreRun
from tests.builders import make_platform, make_shop, make_subject
from tests.monitoring.support import record as record_warnings
from tests.monitoring.support import ring
from tests.scoring.support import add_record, black_list_entry, contribution, evaluate, score, score_of


class TestRecords:
    def test_a_penalty_lowers_the_score_and_a_repair_removes_it(self, session):
        shop = make_shop(session)
        operator = shop.operator_id
        clean = score_of(evaluate(session), shop.id)
        subject = repo.subjects_by_ids(session, {operator})[0]
        record = add_record(session, subject, severity="general")
        penalised = evaluate(session)
        assert score_of(penalised, shop.id)["score"] < clean["score"]
        assert contribution(penalised, shop.id, "penalties")["raw"] == spec.load().record_weights["general"]
        record.status = "repaired"
        session.flush()
        repaired = evaluate(session)
        assert score_of(repaired, shop.id) == clean  # the repaired record vanishes from the score
        assert contribution(repaired, shop.id, "penalties")["raw"] == 0.0
        record.status = "withdrawn"
        session.flush()
        assert score_of(evaluate(session), shop.id) == clean

    def test_an_expired_record_still_counts(self, session):
        shop = make_shop(session)
        subject = repo.subjects_by_ids(session, {shop.operator_id})[0]
        clean = score_of(evaluate(session), shop.id)["score"]
        add_record(session, subject, publicity_until=dt.date(2026, 4, 1))  # past its window on AS_OF
        assert score_of(evaluate(session), shop.id)["score"] < clean

    def test_a_record_decided_after_the_evaluation_date_does_not_count(self, session):
        shop = make_shop(session)
        subject = repo.subjects_by_ids(session, {shop.operator_id})[0]
        clean = score_of(evaluate(session), shop.id)["score"]
        add_record(session, subject, decided_on=dt.date(2026, 7, 1))
        assert score_of(evaluate(session), shop.id)["score"] == clean

    def test_a_serious_black_list_entry_forces_class_d_and_the_lowest_grade(self, session):
        shop = make_shop(session)
        subject = repo.subjects_by_ids(session, {shop.operator_id})[0]
        black_list_entry(session, subject)
        row = score_of(evaluate(session), shop.id)
        assert row["override"] == "serious_black_list"
        assert row["risk_class"] == "D" and row["grade"] == "C" and row["score"] <= 199

    def test_a_red_list_entry_is_no_override(self, session):
        shop = make_shop(session)
        subject = repo.subjects_by_ids(session, {shop.operator_id})[0]
        clean = score_of(evaluate(session), shop.id)["score"]
        add_record(
            session,
            subject,
            kind="list_entry",
            effect="positive",
            severity=None,
            details={"list_type": "red", "colour": "red", "serious": False},
        )
        row = score_of(evaluate(session), shop.id)
        assert row["override"] is None and row["score"] > clean


class TestWarnings:
    def test_a_brushing_warning_lowers_the_shop_and_a_dismissal_restores_it(self, session):
        platform = make_platform(session)
        shop = make_shop(session, platform=platform, platform_shop_id="RING-1")
        other = make_shop(session, platform=platform, platform_shop_id="HONEST-1")
        before = evaluate(session)
        (warning,) = record_warnings(
            session, ring(platform.code, ["RING-1"], ["u1", "u2", "u3"], confidence=0.9)
        )
        after = evaluate(session)
        assert score_of(after, shop.id)["score"] < score_of(before, shop.id)["score"] - 100
        assert score_of(after, other.id) == score_of(before, other.id)
        assert contribution(after, shop.id, "monitoring_risk")["raw"] == 0.9
        warning.status = "dismissed"
        session.flush()
        assert score_of(evaluate(session), shop.id) == score_of(before, shop.id)

    def test_the_victim_of_an_extortion_reviewer_loses_nothing(self, session):
        platform = make_platform(session)
        shop = make_shop(session, platform=platform, platform_shop_id="VICTIM-1")
        before = score_of(evaluate(session), shop.id)
        finding = ring(platform.code, ["VICTIM-1"], ["x1"], kind=WarningKind.extortion_reviewer)
        record_warnings(session, finding, detector_run=None)
        assert score_of(evaluate(session), shop.id) == before


class TestEntities:
    def test_platforms_and_logistics_companies_get_their_own_indicators(self, session):
        platform = make_platform(session)
        make_shop(session, platform=platform)
        carrier = make_subject(session, kind="logistics_company", name="济南测试快递有限公司")
        ev = evaluate(session)
        model = spec.load()
        plat = ev.contributions["platform"]
        mine = plat.filter(pc.equal(plat.column("entity_key"), platform.subject_id))
        keys = set(mine.column("indicator").to_pylist())
        assert keys == {i.key for i in model.for_entity("platform")}
        assert "enforcement_feedback" in keys and "verification_coverage" in keys
        # No enforcement orders yet: the documented neutral value.
        feedback = contribution(ev, platform.subject_id, "enforcement_feedback", entity="platform")
        assert (
            feedback["raw"] is None
            and feedback["normalised"] == model.indicator("enforcement_feedback").neutral
        )
        row = score_of(ev, carrier.id, entity="logistics")
        assert row["subject_id"] == carrier.id and 0 <= row["score"] <= 1000


class TestStore:
    def test_a_run_stores_scores_contributions_and_keeps_history(self, session):
        shop = make_shop(session)
        first = score(session)
        second = score(session)
        assert first != second
        rows = session.scalars(select(CreditScore).where(CreditScore.entity_key == shop.id)).all()
        assert {r.run_id for r in rows} == {first, second}  # one row per run: history kept
        assert len({(r.score, r.grade, r.risk_class) for r in rows}) == 1  # same data, same model: same score
        run = session.get(ScoreRun, second)
        assert run.model == spec.load().ref and run.finished_at is not None
        assert run.counts["shop"]["entities"] >= 1
        n = session.scalar(
            select(func.count())
            .select_from(ScoreContribution)
            .where(ScoreContribution.run_id == second, ScoreContribution.entity_key == shop.id)
        )
        assert n == len(spec.load().for_entity("shop"))
        latest = repo.latest_scores_of_subject(session, shop.operator_id)
        assert [x.run_id for x in latest] == [second]
        assert latest[0].model == spec.load().ref and latest[0].shop_id == shop.id
