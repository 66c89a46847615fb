"""The listing procedure through the service, step by step (RELIABILITY.md C11, C12, C16)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ecredit.errors import Forbidden
from ecredit.kit import clock
from ecredit.kit import events as kit_events
from ecredit.lists import service
from ecredit.lists.errors import (
    DuplicateEntry,
    InvalidStep,
    InvalidTransition,
    SeparationOfDuties,
)
from ecredit.lists.events import ListEntryPublished, ListEntryRemoved
from ecredit.lists.models import EntryState, ListDocument, ListEntryEvent
from ecredit.lists.rules import Action
from ecredit.records import repository as records_repo
from ecredit.security.audit import AuditEntry
from ecredit.subjects.models import Subject
from tests.builders import make_record, make_subject
from tests.lists.support import ADMIN, COMMERCE, COUNTY, COUNTY_B, DAY, PROVINCE, drive, nominate


def _audits(session, entry_id):
    return session.scalars(
        select(AuditEntry).where(AuditEntry.object_id == entry_id).order_by(AuditEntry.seq)
    ).all()


def _history(session, entry_id):
    return session.scalars(
        select(ListEntryEvent).where(ListEntryEvent.entry_id == entry_id).order_by(ListEntryEvent.seq)
    ).all()


@pytest.fixture
def announced():
    seen = []
    kit_events.subscribe(ListEntryPublished, lambda s, e: seen.append(e))
    kit_events.subscribe(ListEntryRemoved, lambda s, e: seen.append(e))
    yield seen
    kit_events.clear()


class TestNominate:
    def test_a_regulator_nominates_with_basis_and_evidence(self, session):
        entry = nominate(session)
        assert entry.state == EntryState.nominated and entry.nomination_source == "regulator"
        assert entry.region_code == "370102" and entry.colour == "black" and entry.policy_version
        [h] = _history(session, entry.id)
        assert (h.action, h.from_state, h.to_state, h.actor) == ("nominate", None, "nominated", COUNTY.actor)
        assert [a.action for a in _audits(session, entry.id)] == ["lists.nominate"]

    def test_a_second_open_entry_is_a_conflict(self, session):
        entry = nominate(session)
        with pytest.raises(DuplicateEntry):
            nominate(session, subject=session.get(Subject, entry.subject_id))

    def test_black_lists_need_basis_records_and_evidence(self, session):
        subject = make_subject(session)
        with pytest.raises(InvalidStep) as exc:
            service.nominate(
                session,
                COUNTY,
                service.Nomination(subject_id=subject.id, list_type="samr_serious", reason="x"),
                today=DAY,
            )
        assert {e.field for e in exc.value.errors} == {"basis_record_ids", "evidence"}

    def test_an_unknown_type_or_a_foreign_record_is_refused(self, session):
        subject, other = make_subject(session), make_subject(session)
        foreign = make_record(session, other, today=DAY)
        with pytest.raises(InvalidStep, match="no list type"):
            service.nominate(
                session,
                COUNTY,
                service.Nomination(subject.id, "flogging_list", "x", [foreign.id], {"a": "b"}),
            )
        with pytest.raises(InvalidStep) as exc:
            service.nominate(
                session, COUNTY, service.Nomination(subject.id, "samr_serious", "x", [foreign.id], {"a": "b"})
            )
        assert exc.value.errors[0].field == "basis_record_ids[0]"

    def test_another_department_may_not_run_the_list(self, session):
        with pytest.raises(Forbidden):
            nominate(session, principal=COMMERCE)


class TestNotifyAndDefence:
    def test_the_notice_is_a_document_with_reasons_basis_rights_and_deadline(self, session):
        entry = nominate(session, "samr_serious")
        _, notice = service.notify(session, COUNTY, entry.id, reason="送达告知书", today=DAY)
        assert entry.state == EntryState.notified and entry.notified_on == DAY
        assert entry.defence_until == dt.date(2026, 6, 8) == entry.due_on  # 5 working days
        html = notice.content.decode()
        for text in ("告知书", "陈述和申辩", "听证", "2026-06-08", "第十二条", entry.reason):
            assert text in html, text
        import hashlib

        assert notice.sha256 == hashlib.sha256(notice.content).hexdigest() and notice.number.startswith(
            "信列告〔2026〕"
        )
        assert _history(session, entry.id)[-1].details["document_id"] == notice.id

    def test_a_statement_after_the_window_is_refused_and_the_window_closes_only_once_passed(self, session):
        entry = nominate(session)
        service.notify(session, COUNTY, entry.id, reason="告知", today=DAY)
        with pytest.raises(InvalidTransition, match="runs until"):
            service.close_defence(session, COUNTY, entry.id, reason="逾期", today=DAY)
        late = dt.date(2026, 6, 10)
        with pytest.raises(InvalidTransition, match="closed on"):
            service.record_defence(session, COUNTY, entry.id, statement="迟到", filed_on=late, today=late)
        service.close_defence(session, COUNTY, entry.id, reason="期满未申辩", today=late)
        assert entry.state == EntryState.defence_recorded and entry.due_on is None

    def test_a_window_reaching_into_an_unknown_year_is_flagged(self, session):
        entry = nominate(session)
        service.notify(session, COUNTY, entry.id, reason="告知", today=dt.date(2026, 12, 29))
        assert entry.due_unknown and entry.due_on is None and entry.defence_until is None
        with pytest.raises(InvalidTransition, match="unknown"):
            service.close_defence(session, COUNTY, entry.id, reason="x", today=dt.date(2026, 12, 31))
        [item] = [
            i for i in service.queue(session, ADMIN, today=dt.date(2026, 12, 31)) if i.entry_id == entry.id
        ]
        assert item.due_unknown and item.kind == "defence_window"


class TestReviewDecideApprove:
    def test_the_nominator_may_not_review(self, session):
        entry = drive(session, nominate(session), Action.record_defence)
        before = len(_history(session, entry.id))
        with pytest.raises(SeparationOfDuties):
            service.review(session, COUNTY, entry.id, reason="自审", today=DAY)
        assert entry.state == EntryState.defence_recorded and len(_history(session, entry.id)) == before
        service.review(session, COUNTY_B, entry.id, reason="复核", today=DAY)
        assert entry.state == EntryState.reviewed

    def test_higher_approval_needs_the_next_level_up(self, session):
        entry = drive(session, nominate(session, "samr_serious"), Action.decide)
        assert entry.due_on == dt.date(2026, 6, 30)  # publication within 20 working days (Dragon Boat 6-19)
        for same_level in (COUNTY_B,):
            with pytest.raises(SeparationOfDuties):
                service.approve_higher(session, same_level, entry.id, reason="x", today=DAY)
        with pytest.raises(InvalidTransition):
            service.publish(session, COUNTY, entry.id, reason="未经批准", today=DAY)
        service.approve_higher(session, PROVINCE, entry.id, reason="同意", today=DAY)
        assert entry.state == EntryState.approved and entry.higher_approval_by == PROVINCE.actor

    def test_a_step_out_of_order_changes_nothing(self, session):
        entry = nominate(session)
        for step in (
            lambda: service.review(session, COUNTY_B, entry.id, reason="x", today=DAY),
            lambda: service.decide(session, COUNTY, entry.id, reason="x", today=DAY),
            lambda: service.publish(session, COUNTY, entry.id, reason="x", today=DAY),
            lambda: service.withdraw(session, COUNTY, entry.id, reason="x", basis_revoked_on=DAY, today=DAY),
        ):
            with pytest.raises(InvalidTransition):
                step()
        assert entry.state == EntryState.nominated and len(_history(session, entry.id)) == 1
        assert len(_audits(session, entry.id)) == 1


class TestPublish:
    def test_publication_makes_the_record_and_announces(self, session, announced):
        entry = drive(session, nominate(session))
        assert entry.state == EntryState.published and entry.published_on == DAY
        assert entry.effective_until == dt.date(2029, 5, 31) and entry.early_removal_from == dt.date(
            2027, 6, 1
        )
        record = records_repo.get_record(session, entry.record_id)
        assert record.kind == "list_entry" and record.publicity_until == entry.effective_until
        assert record.details["list_colour"] == "black"
        assert [type(e).__name__ for e in announced] == ["ListEntryPublished"]
        assert entry.is_in_force(DAY) and not entry.is_in_force(dt.date(2029, 6, 1))
        actions = [h.action for h in _history(session, entry.id)]
        assert actions == ["nominate", "notify", "record_defence", "review", "decide", "publish"]
        assert [a.action for a in _audits(session, entry.id)] == [f"lists.{a}" for a in actions]
        assert service.public_entries(session, ADMIN, entry.subject_id, today=DAY)[0].id == entry.id


class TestWithdrawAndDrop:
    def test_withdrawal_hides_the_entry_and_its_record(self, session, announced):
        entry = drive(session, nominate(session))
        later = dt.date(2026, 6, 10)
        _, timing = service.withdraw(
            session,
            COUNTY,
            entry.id,
            reason="处罚决定被撤销",
            basis_revoked_on=dt.date(2026, 6, 4),
            today=later,
        )
        assert timing == {"basis_revoked_on": "2026-06-04", "deadline": "2026-06-09", "late": True}
        assert entry.state == EntryState.withdrawn and entry.closed_on == later
        assert records_repo.get_record(session, entry.record_id).status == "withdrawn"
        assert service.public_entries(session, ADMIN, entry.subject_id, today=later) == []
        assert announced[-1].reason == "withdrawn"
        kinds = session.scalars(select(ListDocument.kind).where(ListDocument.entry_id == entry.id)).all()
        assert "removal" in kinds

    def test_a_basis_record_withdrawn_makes_the_withdrawal_due(self, session):
        from ecredit import wiring
        from ecredit.records import service as records_service

        wiring.wire()
        try:
            entry = drive(session, nominate(session))
            with clock.frozen_today(DAY):
                records_service.withdraw_record(
                    session, ADMIN, entry.basis_record_ids[0], reason="撤销", basis_revoked_on=DAY, today=DAY
                )
            assert entry.due_on == dt.date(2026, 6, 4)
            [item] = [
                i for i in service.queue(session, ADMIN, today=dt.date(2026, 6, 5)) if i.entry_id == entry.id
            ]
            assert item.kind == "withdrawal" and item.overdue_workdays == 1
        finally:
            kit_events.clear()

    def test_drop_ends_a_pending_procedure(self, session):
        entry = drive(session, nominate(session), Action.notify)
        service.drop(session, COUNTY, entry.id, reason="当事人证明无主观故意", ground="no_intent", today=DAY)
        assert entry.state == EntryState.dropped and entry.closed_on == DAY
        with pytest.raises(InvalidTransition):
            service.drop(session, COUNTY, entry.id, reason="again", ground="other", today=DAY)


class TestExpiry:
    def test_expiry_stores_expired_and_announces(self, session, announced):
        entry = drive(session, nominate(session))
        assert service.run_expiry(session, ADMIN, today=dt.date(2029, 5, 31))["expired"] == []
        result = service.run_expiry(session, ADMIN, today=dt.date(2029, 6, 1))
        assert entry.id in result["expired"] and entry.state == EntryState.expired
        assert announced[-1].reason == "expired"
        assert service.run_expiry(session, ADMIN, today=dt.date(2029, 6, 2))["expired"] == []

    def test_a_long_abnormal_operation_listing_is_escalated_once(self, session):
        entry = drive(session, nominate(session, "abnormal_operation"))
        result = service.run_expiry(session, ADMIN, today=dt.date(2029, 6, 1))
        [escalation] = result["escalated"]
        assert escalation["from"] == entry.id
        serious = service.get_entry(session, ADMIN, escalation["to"])
        assert serious.list_type == "samr_serious" and serious.nomination_source == f"escalation:{entry.id}"
        service.drop(session, COUNTY, serious.id, reason="复核不予列入", ground="no_basis", today=DAY)
        assert service.run_expiry(session, ADMIN, today=dt.date(2029, 6, 2))["escalated"] == []

    def test_only_the_job_expires(self, session):
        with pytest.raises(Forbidden):
            service.run_expiry(session, COUNTY, today=DAY)


class TestObjections:
    def test_an_objection_is_registered_verified_and_answered(self, session):
        entry = drive(session, nominate(session))
        objection = service.file_objection(
            session, COUNTY, entry.id, grounds="记录有误", filed_on=DAY, today=DAY
        )
        assert objection.due_on == dt.date(2026, 6, 15)  # 10 working days
        service.verify_objection(session, COUNTY, objection.id, note="调取原始记录", today=DAY)
        _, document = service.answer_objection(
            session, COUNTY, objection.id, upheld=False, answer="经核查，列入依据属实", today=DAY
        )
        assert objection.status == "rejected" and entry.state == EntryState.published
        assert "异议不成立" in document.content.decode()
        with pytest.raises(InvalidTransition):
            service.answer_objection(session, COUNTY, objection.id, upheld=False, answer="again", today=DAY)

    def test_an_upheld_objection_withdraws_the_entry(self, session):
        entry = drive(session, nominate(session))
        objection = service.file_objection(
            session, COUNTY, entry.id, grounds="主体错误", filed_on=DAY, today=DAY
        )
        with pytest.raises(InvalidStep):
            service.answer_objection(session, COUNTY, objection.id, upheld=True, answer="成立", today=DAY)
        service.answer_objection(
            session, COUNTY, objection.id, upheld=True, answer="成立", remedy="withdraw", today=DAY
        )
        assert entry.state == EntryState.withdrawn
        assert [h.action for h in _history(session, entry.id)][-3:] == [
            "object",
            "answer_objection",
            "withdraw",
        ]

    def test_an_upheld_objection_may_correct_the_reasons(self, session):
        entry = drive(session, nominate(session))
        objection = service.file_objection(
            session, COUNTY, entry.id, grounds="金额有误", filed_on=DAY, today=DAY
        )
        service.answer_objection(
            session,
            COUNTY,
            objection.id,
            upheld=True,
            answer="部分成立",
            remedy="correct",
            correction="更正后的理由",
            today=DAY,
        )
        assert entry.state == EntryState.published and entry.reason == "更正后的理由"

    def test_objections_only_on_published_entries(self, session):
        entry = nominate(session)
        with pytest.raises(InvalidTransition):
            service.file_objection(session, COUNTY, entry.id, grounds="x", filed_on=DAY, today=DAY)
