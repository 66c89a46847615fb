"""Credit repair (信用修复, DOMAIN.md §2.6) removing every public trace, and nomination by rule."""

from __future__ import annotations

import datetime as dt

import pytest

from ecredit.kit import clock
from ecredit.kit import events as kit_events
from ecredit.lists import service
from ecredit.lists.errors import DuplicateEntry, RepairNotAllowed
from ecredit.lists.models import EntryState
from ecredit.records import repository as records_repo
from ecredit.records import service as records_service
from ecredit.records.schemas import CommitmentCreate
from ecredit.scoring import repository as scoring_repo
from ecredit.subjects.models import Subject
from tests.builders import make_record, make_subject
from tests.lists.support import ADMIN, COUNTY, DAY, drive, nominate

AFTER_A_YEAR = dt.date(2027, 6, 2)


def _commitment(session, subject_id, on=DAY):
    return records_service.sign_commitment(
        session,
        ADMIN,
        CommitmentCreate(
            subject_id=subject_id,
            type="repair",
            text="本单位承诺所提交材料真实",
            source_department="济南市市场监督管理局",
            signed_on=on,
        ),
        today=on,
    )


def _apply(session, entry, commitment_id, today, **kw):
    return service.apply_for_repair(
        session,
        kw.pop("principal", ADMIN),
        service.RepairRequest(
            target_type="list_entry",
            target_id=entry.id,
            statement="已整改，罚款已缴纳",
            duties_fulfilled=kw.pop("duties_fulfilled", True),
            duties_evidence=kw.pop("duties_evidence", {"receipt": "缴款书 2026-001"}),
            commitment_id=commitment_id,
            channel="portal_staff",
        ),
        today=today,
    )


class TestRepair:
    def test_before_the_minimum_period_the_conditions_say_why_and_approval_is_refused(self, session):
        entry = drive(session, nominate(session))
        commitment = _commitment(session, entry.subject_id)
        application = _apply(session, entry, commitment.id, dt.date(2026, 7, 1))
        items = application.conditions["items"]
        assert items["minimum_period"] == {"met": False, "why": "repair may be granted from 2027-06-01"}
        assert items["commitment"]["met"] and items["duties_fulfilled"]["met"] and items["no_repeat"]["met"]
        assert application.due_on == dt.date(2026, 7, 15)
        with pytest.raises(RepairNotAllowed, match="minimum_period"):
            service.decide_repair(
                session, COUNTY, application.id, approve=True, reason="准予", today=dt.date(2026, 7, 2)
            )
        assert application.status == "submitted" and entry.state == EntryState.published
        with pytest.raises(DuplicateEntry):
            _apply(session, entry, commitment.id, dt.date(2026, 7, 1))

    def test_approval_removes_every_public_trace_and_keeps_the_archive(self, session):
        removed = []
        kit_events.subscribe(service.ListEntryRemoved, lambda s, e: removed.append(e))
        try:
            entry = drive(session, nominate(session))
            commitment = _commitment(session, entry.subject_id)
            application = _apply(session, entry, commitment.id, AFTER_A_YEAR)
            assert application.due_unknown and application.due_on is None  # no 2027 calendar yet
            assert service.public_entries(session, ADMIN, entry.subject_id, today=AFTER_A_YEAR)
            record_id = entry.record_id
            assert record_id in {
                r.id
                for r in records_service.public_records(
                    session, subject_id=entry.subject_id, today=AFTER_A_YEAR
                )
            }
            assert any(
                row.subject_id == entry.subject_id and row.kind == "list_entry"
                for row in scoring_repo.counting_records(session)
            )
            service.decide_repair(
                session, COUNTY, application.id, approve=True, reason="准予修复", today=AFTER_A_YEAR
            )
        finally:
            kit_events.clear()
        assert entry.state == EntryState.repaired and application.status == "approved"
        assert removed[-1].reason == "repaired"
        # gone from the public list, the public records and the score's input
        assert service.public_entries(session, ADMIN, entry.subject_id, today=AFTER_A_YEAR) == []
        assert record_id not in {
            r.id
            for r in records_service.public_records(session, subject_id=entry.subject_id, today=AFTER_A_YEAR)
        }
        assert not any(
            row.subject_id == entry.subject_id and row.kind == "list_entry"
            for row in scoring_repo.counting_records(session)
        )
        # kept in the archive with its history
        assert records_repo.get_record(session, record_id).status == "repaired"
        detail = service.entry_detail(session, entry)
        assert detail.history[-1].action == "repair" and detail.repair_applications[0].status == "approved"
        assert "repair_decision" in [d.kind for d in detail.documents]

    def test_a_repeat_or_missing_duties_block_approval(self, session):
        entry = drive(session, nominate(session))
        commitment = _commitment(session, entry.subject_id)
        make_record(
            session,
            session.get(Subject, entry.subject_id),
            decided_on=dt.date(2026, 9, 1),
            today=AFTER_A_YEAR,
        )
        application = _apply(session, entry, commitment.id, AFTER_A_YEAR, duties_evidence={})
        items = application.conditions["items"]
        assert not items["no_repeat"]["met"] and not items["duties_fulfilled"]["met"]
        with pytest.raises(RepairNotAllowed) as exc:
            service.decide_repair(
                session, COUNTY, application.id, approve=True, reason="x", today=AFTER_A_YEAR
            )
        assert {e.field for e in exc.value.errors} == {"conditions.no_repeat", "conditions.duties_fulfilled"}
        service.decide_repair(
            session, COUNTY, application.id, approve=False, reason="不符合条件", today=AFTER_A_YEAR
        )
        assert application.status == "rejected" and entry.state == EntryState.published

    def test_a_red_list_entry_is_not_repaired(self, session):
        entry = drive(session, nominate(session, "red_trustworthy", evidence={"grade": "AAA"}))
        with pytest.raises(RepairNotAllowed):
            _apply(session, entry, None, DAY)

    def test_a_credit_record_is_repaired_through_an_application(self, session):
        record = make_record(session, today=DAY, decided_on=dt.date(2025, 1, 1))
        commitment = _commitment(session, record.subject_id)
        application = service.apply_for_repair(
            session,
            ADMIN,
            service.RepairRequest(
                "record", record.id, "已缴纳罚款", True, {"receipt": "R1"}, commitment.id, "cli"
            ),
            today=DAY,
        )
        assert all(v["met"] for v in application.conditions["items"].values()), application.conditions
        service.decide_repair(session, ADMIN, application.id, approve=True, reason="准予", today=DAY)
        assert record.status == "repaired"


class TestNominationByRule:
    def _brushing_record(self, session, subject, day=DAY):
        return records_service.record_confirmed_warning(
            session,
            ADMIN,
            subject_id=subject.id,
            warning_id=f"W{subject.id[-6:]}",
            warning_kind="brushing_ring",
            summary="刷单团伙",
            decided_on=day,
            evidence={"members": ["a", "b"]},
        )[0]

    def test_a_confirmed_brushing_warning_nominates_at_once_and_only_once(self, session):
        from ecredit import wiring

        wiring.wire()
        try:
            subject = make_subject(session)
            with clock.frozen_today(DAY):
                record = self._brushing_record(session, subject)
                [entry] = service.search_entries(session, ADMIN, subject_id=subject.id)
                assert entry.list_type == "ecommerce_fake_trading" and entry.basis_record_ids == [record.id]
                assert entry.nomination_source == "rule:ecommerce_fake_trading"
                assert entry.evidence["records"][0]["id"] == record.id
                assert (
                    service.nominate_by_rule(
                        session, ADMIN, list_type="ecommerce_fake_trading", subject_id=subject.id
                    )
                    is None
                )
                records_service.record_confirmed_warning(
                    session,
                    ADMIN,
                    subject_id=subject.id,
                    warning_id="W-second",
                    warning_kind="brushing_ring",
                    summary="又一次",
                    decided_on=DAY,
                    evidence={},
                )
                assert len(service.search_entries(session, ADMIN, subject_id=subject.id)) == 1
        finally:
            kit_events.clear()

    def test_other_warnings_and_old_ones_do_not_match(self, session):
        subject = make_subject(session)
        records_service.record_confirmed_warning(
            session,
            ADMIN,
            subject_id=subject.id,
            warning_id="W-x",
            warning_kind="fake_reviews",
            summary="x",
            decided_on=DAY,
            evidence={},
        )
        assert (
            service.nominate_by_rule(
                session, ADMIN, list_type="ecommerce_fake_trading", subject_id=subject.id, today=DAY
            )
            is None
        )
        self._brushing_record(session, subject, day=dt.date(2025, 1, 5))
        assert (
            service.nominate_by_rule(
                session, ADMIN, list_type="ecommerce_fake_trading", subject_id=subject.id, today=DAY
            )
            is None
        )
        result = service.evaluate_rule(
            session, service.catalogue().list_type("ecommerce_fake_trading"), subject.id, DAY
        )
        assert not result.matched and "0 matching" in result.why

    def test_the_red_list_rule_needs_grades(self, session):
        subject = make_subject(session)
        result = service.evaluate_rule(
            session, service.catalogue().list_type("red_trustworthy"), subject.id, DAY
        )
        assert not result.matched and "grades none" in result.why
