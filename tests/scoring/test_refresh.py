"""A repaired record vanishes from the score at once (DESIGN.md §14: ``RecordRepaired`` -> scores are
refreshed): the records service announces it, ``wiring.py`` refreshes the subject's evaluations alone
(``scoring.refresh``), and the archive keeps the record with its history. SQLite, or PostgreSQL with
ECREDIT_TEST_DATABASE_URL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from ecredit import wiring
from ecredit.records import service as records_service
from ecredit.records.schemas import CommitmentCreate
from ecredit.scoring import refresh, spec, supervision
from ecredit.scoring import repository as repo
from ecredit.scoring.models import CreditScore, ScoreContribution, ScoreRun
from ecredit.security.principals import system
from ecredit.subjects.models import Subject
from tests.builders import ADMIN, make_platform, make_record, make_shop
from tests.monitoring.support import record as record_warnings
from tests.monitoring.support import ring
from tests.scoring.support import evaluate, score, score_of

DECIDED = dt.date(2026, 5, 6)
REPAIRED = dt.date(2026, 9, 1)  # past the general class's minimum period of 3 months


@pytest.fixture(autouse=True)
def _wired():
    wiring.wire()  # idempotent: the application's subscriptions


def _repair(session, record, on=REPAIRED):
    subject = session.get(Subject, record.subject_id)
    commitment = records_service.sign_commitment(
        session,
        ADMIN,
        CommitmentCreate(
            subject_id=subject.id,
            type="repair",
            text="本企业承诺所提交材料真实有效，如有虚假愿承担相应责任",
            source_department="济南市商务局",
            signed_on=on,
        ),
        today=on,
    )
    records_service.repair_record(
        session, ADMIN, record.id, reason="罚款已缴清，已整改", commitment_id=commitment.id, today=on
    )


def _latest(session, shop_id):
    return repo.score_history(session, shop_id, limit=1)[0]


def _contributions(session, run_id, key):
    rows = session.scalars(
        select(ScoreContribution).where(
            ScoreContribution.run_id == run_id, ScoreContribution.entity_key == key
        )
    ).all()
    return {c.indicator: (c.raw, c.observations, c.normalised, c.weight, c.points) for c in rows}


class TestRepairRefreshesTheScore:
    def test_a_repair_raises_the_score_at_once_and_the_archive_keeps_the_record(self, session, client_as):
        shop = make_shop(session)
        subject = session.get(Subject, shop.operator_id)
        clean = score_of(evaluate(session), shop.id)
        record = make_record(session, subject, decided_on=DECIDED, today=DECIDED)  # a general penalty
        first = score(session)
        penalised = _latest(session, shop.id)
        assert penalised.run_id == first and penalised.score < clean["score"]

        _repair(session, record)

        refreshed = _latest(session, shop.id)
        assert refreshed.run_id != first and refreshed.score > penalised.score
        # The same evaluation a full run over the province gives now: the record no longer contributes.
        again = score_of(evaluate(session), shop.id)
        assert (refreshed.score, refreshed.base_score, refreshed.grade, refreshed.risk_class) == (
            again["score"],
            again["base_score"],
            again["grade"],
            again["risk_class"],
        )
        assert refreshed.score == clean["score"]
        mine = _contributions(session, refreshed.run_id, shop.id)
        assert mine["penalties"][0] == 0.0 and mine["penalties"][4] == mine["penalties"][3]
        before = _contributions(session, first, shop.id)
        assert set(mine) == set(before) == {i.key for i in spec.load().for_entity("shop")}
        assert {k: v for k, v in mine.items() if k != "penalties"} == {
            k: v for k, v in before.items() if k != "penalties"
        }
        # The run is a refresh of the full run, not a run of the whole population.
        run = session.get(ScoreRun, refreshed.run_id)
        assert run.base_run_id == first and run.finished_at is not None
        assert run.counts["refresh"]["subject_id"] == subject.id
        assert run.counts["refresh"]["cause"] == f"RecordRepaired {record.id}"
        assert repo.latest_run(session).id == first
        # History keeps both evaluations; the explanation shows the new one.
        assert [h.run_id for h in repo.score_history(session, shop.id)] == [refreshed.run_id, first]
        body = client_as("regulator").get(f"/api/v1/subjects/{subject.id}/credit").json()
        assert body["run_id"] == refreshed.run_id and body["score"] == refreshed.score
        (evaluation,) = body["evaluations"]
        penalties = next(c for c in evaluation["contributions"] if c["indicator"] == "penalties")
        assert penalties["raw"] == 0.0 and penalties["lost"] == 0.0
        # The internal archive keeps the record, repaired, with its history; public outputs drop it.
        internal, items = records_service.subject_records(session, ADMIN, subject.id, today=REPAIRED)
        penalties = [(r.id, r.status) for r in items if r.kind == "administrative_penalty"]
        assert internal and penalties == [(record.id, "repaired")]
        public = records_service.public_records(session, subject_id=subject.id, today=REPAIRED)
        assert record.id not in [r.id for r in public]

    def test_revoking_the_repair_lowers_the_score_again(self, session):
        shop = make_shop(session)
        subject = session.get(Subject, shop.operator_id)
        record = make_record(session, subject, decided_on=DECIDED, today=DECIDED)
        first = score(session)
        penalised = _latest(session, shop.id).score
        _repair(session, record)
        repaired = _latest(session, shop.id)
        records_service.restore_record(session, ADMIN, record.id, reason="承诺不实", today=REPAIRED)
        restored = _latest(session, shop.id)
        assert restored.run_id not in (first, repaired.run_id)
        assert restored.score == penalised < repaired.score
        assert session.get(ScoreRun, restored.run_id).base_run_id == first  # refreshes chain to the full run

    def test_a_withdrawal_refreshes_too(self, session):
        shop = make_shop(session)
        subject = session.get(Subject, shop.operator_id)
        record = make_record(session, subject, decided_on=DECIDED, today=DECIDED, severity=None)
        score(session)
        penalised = _latest(session, shop.id).score
        records_service.withdraw_record(
            session, ADMIN, record.id, reason="原处罚决定被撤销", basis_revoked_on=DECIDED, today=DECIDED
        )
        assert _latest(session, shop.id).score > penalised


class TestScope:
    def test_only_the_subjects_entities_are_re_evaluated(self, session):
        platform = make_platform(session)
        shop = make_shop(session, platform=platform)
        twin = make_shop(session, platform=platform, operator=session.get(Subject, shop.operator_id))
        other = make_shop(session, platform=platform)
        record = make_record(
            session, session.get(Subject, shop.operator_id), decided_on=DECIDED, today=DECIDED
        )
        first = score(session)
        _repair(session, record)
        refreshed = _latest(session, shop.id).run_id
        keys = session.scalars(select(CreditScore.entity_key).where(CreditScore.run_id == refreshed)).all()
        assert sorted(keys) == sorted([shop.id, twin.id])  # both shops of the subject, nobody else
        assert _latest(session, other.id).run_id == first

    def test_what_records_do_not_enter_is_carried_over_from_the_run(self, session):
        platform = make_platform(session)
        shop = make_shop(session, platform=platform, platform_shop_id="RING-7")
        record = make_record(
            session, session.get(Subject, shop.operator_id), decided_on=DECIDED, today=DECIDED
        )
        (warning,) = record_warnings(
            session, ring(platform.code, ["RING-7"], ["a1", "a2", "a3"], confidence=0.8)
        )
        first = score(session)
        warning.status = "dismissed"  # not a records change: the next full run takes it into account
        session.flush()
        _repair(session, record)
        refreshed = _latest(session, shop.id).run_id
        assert (
            _contributions(session, refreshed, shop.id)["monitoring_risk"]
            == (_contributions(session, first, shop.id)["monitoring_risk"])
        )
        assert _contributions(session, refreshed, shop.id)["monitoring_risk"][0] == 0.8

    def test_a_subject_not_evaluated_yet_is_left_to_the_next_run(self, session):
        shop = make_shop(session)
        record = make_record(
            session, session.get(Subject, shop.operator_id), decided_on=DECIDED, today=DECIDED
        )
        _repair(session, record)  # no evaluation to refresh: nothing is written
        assert session.scalar(select(func.count()).select_from(ScoreRun)) == 0
        assert refresh.refresh_subject(session, shop.operator_id, cause="test") is None

    def test_the_records_indicators_are_found_from_their_sql(self):
        assert refresh.record_indicators(spec.load()) == {"penalties", "commitments_and_awards"}


def test_an_inspection_plan_sees_the_refreshed_class(session):
    shop = make_shop(session)
    subject = session.get(Subject, shop.operator_id)
    record = make_record(session, subject, decided_on=DECIDED, today=DECIDED, severity="serious")
    full = score(session)
    penalised = _latest(session, shop.id)
    assert penalised.override == "serious_penalty" and penalised.risk_class in ("C", "D")

    def plan():
        result = supervision.make_plan(
            session, system("test-inspector"), department="market", region="370000", size=1, seed=1
        )
        return result.plan

    before = plan()
    _repair(session, record, on=record.publicity_min_until)
    refreshed = _latest(session, shop.id)
    assert refreshed.override is None and refreshed.risk_class < penalised.risk_class
    after = plan()
    assert before.run_id == after.run_id == full  # plans are drawn over the full run ...
    moved = dict(before.population)  # ... as it stands after the refresh: the shop changed class
    moved[penalised.risk_class] -= 1
    moved[refreshed.risk_class] += 1
    assert after.population == moved
    rows = repo.scores_of_run(session, full, region_prefix=None)
    mine = next(r for r in rows if r[0] == shop.id)
    assert (mine[6], mine[9]) == (refreshed.risk_class, refreshed.run_id)
