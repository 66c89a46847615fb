"""Credit record services: repair hides but keeps history, withdrawal and its deadline, audit entries,
domain events, commitments, platform penalties and confirmed warnings."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ecredit import wiring
from ecredit.errors import Forbidden
from ecredit.kit import events
from ecredit.monitoring import service as monitoring_service
from ecredit.records import repository as repo
from ecredit.records import service
from ecredit.records.errors import (
    DuplicateRecord,
    InvalidRecord,
    InvalidTransition,
    RecordNotFound,
    RepairNotAllowed,
)
from ecredit.records.events import RecordCreated, RecordRepaired, RecordRestored, RecordWithdrawn
from ecredit.records.models import CreditRecord
from ecredit.records.schemas import (
    CommitmentBreach,
    CommitmentCreate,
    CommitmentFulfil,
    PlatformPenaltyCreate,
    RecordCorrect,
    RecordCreate,
)
from ecredit.security.audit import AuditEntry
from ecredit.security.principals import Principal, Role
from ecredit.subjects.errors import SubjectNotFound
from ecredit.subjects.models import Subject
from tests.builders import ADMIN, make_platform, make_record, make_shop, make_subject
from tests.monitoring.support import record as record_findings
from tests.monitoring.support import ring

D26 = dt.date(2026, 5, 6)
JINAN = Principal(actor="user:jinan", role=Role.regulator, region_prefix="3701", department="commerce")
QINGDAO = Principal(actor="user:qingdao", role=Role.regulator, region_prefix="3702", department="commerce")
MARKET = Principal(actor="user:market", role=Role.regulator, region_prefix="3701", department="market")


@pytest.fixture
def announced():
    seen: list = []

    def keep(_session, event):
        seen.append(event)

    kinds = (RecordCreated, RecordRepaired, RecordWithdrawn, RecordRestored)
    for kind in kinds:
        events.subscribe(kind, keep)
    yield seen
    for kind in kinds:
        events._handlers[kind].remove(keep)


def _audit(session, object_id):
    stmt = select(AuditEntry).where(AuditEntry.object_id == object_id).order_by(AuditEntry.seq)
    return session.scalars(stmt).all()


def _public(session, record, day):
    return [r.id for r in service.public_records(session, subject_id=record.subject_id, today=day)]


def _sign_repair(session, subject, principal=ADMIN, on=dt.date(2026, 9, 1)):
    data = CommitmentCreate(
        subject_id=subject.id,
        type="repair",
        text="本企业承诺所提交材料真实有效，如有虚假愿承担相应责任",
        source_department="济南市商务局",
        signed_on=on,
    )
    return service.sign_commitment(session, principal, data, today=on)


class TestCreate:
    def test_created_is_audited_with_history_and_announced(self, session, announced):
        record = make_record(session, today=D26, decided_on=D26)
        (created,) = [e for e in announced if isinstance(e, RecordCreated)]
        assert (created.record_id, created.kind, created.effect, created.severity) == (
            record.id,
            "administrative_penalty",
            "negative",
            "general",
        )
        (entry,) = _audit(session, record.id)
        assert entry.action == "records.create" and entry.details["rule"] == "ndrc36_general"
        (event,) = repo.events_of(session, record.id)
        assert (event.seq, event.action, event.actor) == (1, "created", ADMIN.actor)
        assert record.amount_cents == 5_000_000

    def test_a_retry_returns_the_first_record_and_other_content_is_a_conflict(self, session):
        subject = make_subject(session)
        first = make_record(session, subject, today=D26, decided_on=D26, source_ref="济商罚〔2026〕7号")
        data = RecordCreate(
            subject_id=subject.id,
            kind="administrative_penalty",
            title="虚构交易",
            source_department="济南市商务局",
            source_ref="济商罚〔2026〕7号",
            decided_on=D26,
            legal_basis="《中华人民共和国电子商务法》第十七条、第八十五条",
            penalty_types=["fine"],
            amount_cents=5_000_000,
        )
        again, created = service.create_record(session, ADMIN, data, today=D26)
        assert (again.id, created) == (first.id, False)
        with pytest.raises(DuplicateRecord):
            service.create_record(session, ADMIN, data.model_copy(update={"amount_cents": 1}), today=D26)

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"decided_on": dt.date(2026, 5, 7)}, "decided_on"),
            ({"legal_basis": None}, "legal_basis"),
            ({"penalty_types": []}, "penalty_types"),
            ({"amount_cents": None}, "amount_cents"),
            ({"ban_until": dt.date(2026, 1, 1)}, "ban_until"),
            ({"kind": "list_entry", "list_colour": "black"}, "publicity_until"),
            ({"kind": "complaint_outcome"}, "outcome"),
        ],
    )
    def test_invalid_records_name_the_field_and_change_nothing(self, session, fields, field):
        subject = make_subject(session)
        with pytest.raises(InvalidRecord) as exc:
            make_record(session, subject, today=D26, **({"decided_on": D26} | fields))
        assert field in [e.field for e in exc.value.errors]
        assert repo.records_of(session, subject.id) == []

    def test_personal_data_in_free_text_is_masked(self, session):
        record = make_record(session, today=D26, decided_on=D26, summary="当事人电话13912345678")
        assert record.summary == "当事人电话139****5678"

    def test_a_regulator_records_only_in_its_region(self, session):
        qingdao_subject = make_subject(session, region_code="370202")
        data = RecordCreate(
            subject_id=qingdao_subject.id,
            kind="award",
            title="诚信经营示范",
            source_department="济南市商务局",
            decided_on=D26,
        )
        with pytest.raises(SubjectNotFound) as exc:
            service.create_record(session, JINAN, data, today=D26)
        assert exc.value.errors[0].field == "subject_id"
        record, _ = service.create_record(session, QINGDAO, data, today=D26)
        assert record.effect == "positive"


class TestRepair:
    def test_repair_hides_from_public_and_scoring_but_the_archive_keeps_it_with_history(
        self, session, announced
    ):
        record = make_record(session, today=D26, decided_on=D26)  # general: 3 months to 1 year
        commitment = _sign_repair(session, session.get(Subject, record.subject_id))
        day = dt.date(2026, 9, 1)
        assert record.id in _public(session, record, day)
        service.repair_record(
            session, ADMIN, record.id, reason="罚款已缴清，已整改", commitment_id=commitment.id, today=day
        )
        assert record.id not in _public(session, record, day)
        assert record.id not in [r.id for r in service.scoring_records(session, as_of=day)]
        internal, items = service.subject_records(session, ADMIN, record.subject_id, today=day)
        assert internal and [(r.id, r.status) for r in items if r.kind == "administrative_penalty"] == [
            (record.id, "repaired")
        ]
        detail = service.get_record_detail(session, ADMIN, record.id, today=day)
        assert [h.action for h in detail.history] == ["created", "repaired"]
        assert detail.history[1].details["commitment_id"] == commitment.id
        assert [e.action for e in _audit(session, record.id)] == ["records.create", "records.repair"]
        assert any(isinstance(e, RecordRepaired) and e.record_id == record.id for e in announced)
        # The public view of the subject no longer shows it, and never did show the history.
        internal, public = service.subject_records(
            session, Principal(actor="anonymous", role=Role.public), record.subject_id, today=day
        )
        assert not internal and record.id not in [r.id for r in public]

    def test_repair_before_the_minimum_period_is_refused(self, session):
        record = make_record(session, today=D26, decided_on=D26)
        commitment = _sign_repair(session, session.get(Subject, record.subject_id), on=D26)
        with pytest.raises(RepairNotAllowed) as exc:
            service.repair_record(
                session, ADMIN, record.id, reason="x", commitment_id=commitment.id, today=dt.date(2026, 8, 5)
            )
        assert exc.value.errors[0].field == "publicity_min_until"
        assert record.status == "active"

    def test_repair_needs_a_signed_repair_commitment_of_the_subject(self, session):
        record = make_record(session, today=D26, decided_on=D26)
        other = _sign_repair(session, make_subject(session))
        day = dt.date(2026, 9, 1)
        for commitment_id in (None, other.id):
            with pytest.raises(RepairNotAllowed):
                service.repair_record(
                    session, ADMIN, record.id, reason="x", commitment_id=commitment_id, today=day
                )

    def test_a_rule_that_forbids_repair(self, session):
        record = make_record(
            session,
            today=dt.date(2030, 1, 1),
            decided_on=dt.date(2025, 5, 6),
            penalty_types=["licence_revocation"],
            amount_cents=None,
            specific_serious=True,
        )
        with pytest.raises(RepairNotAllowed) as exc:
            service.repair_record(session, ADMIN, record.id, reason="x", today=dt.date(2029, 1, 1))
        assert exc.value.errors[0].field == "rule"

    def test_restore_makes_a_repaired_record_public_again(self, session, announced):
        record = make_record(session, today=D26, decided_on=D26)
        commitment = _sign_repair(session, session.get(Subject, record.subject_id))
        day = dt.date(2026, 9, 1)
        service.repair_record(
            session, ADMIN, record.id, reason="修复", commitment_id=commitment.id, today=day
        )
        service.restore_record(session, ADMIN, record.id, reason="承诺不实", today=day)
        assert record.id in _public(session, record, day)
        assert [e.action for e in repo.events_of(session, record.id)] == ["created", "repaired", "restored"]
        with pytest.raises(InvalidTransition):
            service.restore_record(session, ADMIN, record.id, reason="again", today=day)

    def test_only_the_department_that_made_it_repairs_it(self, session):
        subject = make_subject(session, region_code="370102")
        record, _ = service.create_record(
            session,
            JINAN,
            RecordCreate(
                subject_id=subject.id,
                kind="administrative_penalty",
                title="虚构交易",
                source_department="济南市商务局",
                decided_on=D26,
                legal_basis="电子商务法第十七条",
                penalty_types=["fine"],
                amount_cents=5_000_000,
            ),
            today=D26,
        )
        assert record.details["department_code"] == "commerce"
        with pytest.raises(Forbidden):
            service.repair_record(session, MARKET, record.id, reason="x", today=dt.date(2026, 9, 1))


class TestWithdraw:
    def test_withdrawal_inside_the_deadline(self, session, announced):
        record = make_record(session, today=D26, decided_on=D26, source_department="济南市市场监督管理局")
        # revoked on Friday 2026-06-05: 3 working days -> Wednesday 2026-06-10
        withdrawn, timing = service.withdraw_record(
            session,
            ADMIN,
            record.id,
            reason="复议撤销",
            basis_revoked_on=dt.date(2026, 6, 5),
            today=dt.date(2026, 6, 10),
        )
        assert withdrawn.status == "withdrawn"
        assert (timing["deadline"], timing["late"]) == ("2026-06-10", False)
        assert record.id not in _public(session, record, dt.date(2026, 6, 10))
        assert record.id not in [r.id for r in service.scoring_records(session, as_of=dt.date(2026, 6, 10))]
        (event,) = [e for e in announced if isinstance(e, RecordWithdrawn)]
        assert event.late is False
        entry = _audit(session, record.id)[-1]
        assert entry.action == "records.withdraw" and entry.details["late"] is False

    def test_a_late_withdrawal_is_made_and_flagged(self, session):
        record = make_record(session, today=D26, decided_on=D26, source_department="济南市市场监督管理局")
        _, timing = service.withdraw_record(
            session,
            ADMIN,
            record.id,
            reason="复议撤销",
            basis_revoked_on=dt.date(2026, 6, 5),
            today=dt.date(2026, 6, 11),
        )
        assert timing["late"] is True
        assert repo.events_of(session, record.id)[-1].details["late"] is True

    def test_ndrc_regime_counts_calendar_days(self, session):
        record = make_record(session, today=D26, decided_on=D26)
        _, timing = service.withdraw_record(
            session,
            ADMIN,
            record.id,
            reason="撤销",
            basis_revoked_on=dt.date(2026, 6, 5),
            today=dt.date(2026, 6, 8),
        )
        assert (timing["deadline"], timing["late"]) == ("2026-06-08", False)

    def test_a_deadline_in_a_year_without_calendar_data_is_flagged_not_guessed(self, session):
        record = make_record(
            session, today=dt.date(2027, 1, 5), decided_on=D26, source_department="济南市市场监督管理局"
        )
        _, timing = service.withdraw_record(
            session,
            ADMIN,
            record.id,
            reason="撤销",
            basis_revoked_on=dt.date(2026, 12, 31),
            today=dt.date(2027, 1, 5),
        )
        assert timing["deadline"] is None and timing["late"] is False and "2027" in timing["deadline_unknown"]

    def test_twice_is_refused_and_dates_are_checked(self, session):
        record = make_record(session, today=D26, decided_on=D26)
        with pytest.raises(InvalidRecord):
            service.withdraw_record(
                session,
                ADMIN,
                record.id,
                reason="x",
                basis_revoked_on=dt.date(2026, 6, 9),
                today=dt.date(2026, 6, 8),
            )
        service.withdraw_record(
            session,
            ADMIN,
            record.id,
            reason="x",
            basis_revoked_on=dt.date(2026, 6, 8),
            today=dt.date(2026, 6, 8),
        )
        with pytest.raises(InvalidTransition):
            service.withdraw_record(
                session,
                ADMIN,
                record.id,
                reason="x",
                basis_revoked_on=dt.date(2026, 6, 8),
                today=dt.date(2026, 6, 8),
            )


class TestCorrect:
    def test_a_correction_reclassifies_and_keeps_what_changed(self, session, announced):
        record = make_record(session, today=D26, decided_on=D26)  # 50,000 yuan: general, 1 year
        assert (record.severity, record.rule) == ("general", "ndrc36_general")
        service.correct_record(
            session,
            ADMIN,
            record.id,
            RecordCorrect(reason="罚款金额更正", amount_cents=200_000_000),
            today=dt.date(2026, 6, 1),
        )
        assert (record.severity, record.rule, record.amount_cents) == (
            "serious",
            "ndrc36_serious",
            200_000_000,
        )
        assert record.publicity_until == dt.date(2029, 5, 6)
        last = repo.events_of(session, record.id)[-1]
        assert last.action == "corrected" and last.reason == "罚款金额更正"
        assert last.details["changed"]["severity"] == ["general", "serious"]
        assert last.details["changed"]["publicity_until"] == ["2027-05-06", "2029-05-06"]
        assert _audit(session, record.id)[-1].action == "records.correct"
        # A retry of the corrected content is recognised as the same record.
        again, created = service.create_record(
            session,
            ADMIN,
            RecordCreate(
                subject_id=record.subject_id,
                kind="administrative_penalty",
                title=record.title,
                source_department=record.source_department,
                source_ref=record.source_ref,
                decided_on=D26,
                legal_basis=record.legal_basis,
                penalty_types=["fine"],
                amount_cents=200_000_000,
            ),
            today=dt.date(2026, 6, 1),
        )
        assert (again.id, created) == (record.id, False)

    def test_a_class_given_by_the_source_stays_unless_corrected(self, session):
        record = make_record(session, today=D26, decided_on=D26, severity="minor")
        service.correct_record(
            session, ADMIN, record.id, RecordCorrect(reason="x", title="更正标题"), today=D26
        )
        assert (record.severity, record.title) == ("minor", "更正标题")
        service.correct_record(
            session, ADMIN, record.id, RecordCorrect(reason="x", severity="serious"), today=D26
        )
        assert record.rule == "ndrc36_serious"

    def test_only_active_records_are_corrected_and_bad_values_name_the_field(self, session):
        record = make_record(session, today=D26, decided_on=D26)
        with pytest.raises(InvalidRecord) as exc:
            service.correct_record(
                session,
                ADMIN,
                record.id,
                RecordCorrect(reason="x", decided_on=dt.date(2026, 6, 2)),
                today=D26,
            )
        assert exc.value.errors[0].field == "decided_on"
        service.withdraw_record(session, ADMIN, record.id, reason="x", basis_revoked_on=D26, today=D26)
        with pytest.raises(InvalidTransition):
            service.correct_record(session, ADMIN, record.id, RecordCorrect(reason="x", title="y"), today=D26)


class TestArchive:
    def test_internal_list_shows_the_derived_expired_status(self, session):
        subject = make_subject(session)
        record = make_record(session, subject, today=D26, decided_on=D26)
        _, items = service.subject_records(session, ADMIN, subject.id, today=dt.date(2027, 5, 7))
        assert [(r.id, r.status) for r in items] == [(record.id, "expired")]
        found = service.search_records(session, ADMIN, status="expired", today=dt.date(2027, 5, 7))
        assert record.id in [r.id for r in found]
        assert record.id not in [
            r.id for r in service.search_records(session, ADMIN, status="active", today=dt.date(2027, 5, 7))
        ]

    def test_a_regulator_searches_its_own_region_only(self, session):
        jinan = make_record(session, make_subject(session, region_code="370102"), today=D26, decided_on=D26)
        qingdao = make_record(session, make_subject(session, region_code="370202"), today=D26, decided_on=D26)
        found = {r.id for r in service.search_records(session, JINAN, limit=200, today=D26)}
        assert jinan.id in found and qingdao.id not in found
        assert {jinan.id, qingdao.id} <= {
            r.id for r in service.search_records(session, ADMIN, limit=200, today=D26)
        }
        with pytest.raises(RecordNotFound):
            service.get_record_detail(session, JINAN, qingdao.id, today=D26)

    def test_natural_persons_have_no_public_records(self, session):
        person = make_subject(session, kind="person")
        make_record(session, person, today=D26, decided_on=D26)
        with pytest.raises(SubjectNotFound):
            service.subject_records(session, Principal(actor="anonymous", role=Role.public), person.id)


class TestCommitments:
    def test_sign_fulfil_and_breach_become_records(self, session):
        subject = make_subject(session)
        on = dt.date(2026, 6, 1)
        kept = _sign_repair(session, subject, on=on)
        sign_record = session.get(CreditRecord, kept.record_id)
        assert (sign_record.kind, sign_record.effect) == ("commitment", "neutral")
        kept = service.fulfil_commitment(session, ADMIN, kept.id, CommitmentFulfil(on=on), today=on)
        fulfilled = session.get(CreditRecord, kept.outcome_record_id)
        assert (kept.status, fulfilled.kind, fulfilled.effect) == (
            "fulfilled",
            "commitment_fulfilled",
            "positive",
        )
        broken = _sign_repair(session, subject, on=on)
        broken = service.breach_commitment(
            session, ADMIN, broken.id, CommitmentBreach(on=on, reason="材料虚假"), today=on
        )
        breach = session.get(CreditRecord, broken.outcome_record_id)
        assert (broken.status, breach.kind, breach.effect, breach.severity) == (
            "breached",
            "commitment_breach",
            "negative",
            "serious",
        )
        assert breach.rule == "ndrc36_serious"
        assert breach.evidence["commitment_id"] == broken.id
        with pytest.raises(InvalidTransition):
            service.fulfil_commitment(session, ADMIN, broken.id, CommitmentFulfil(on=on), today=on)
        assert [e.action for e in _audit(session, broken.id)] == ["commitments.sign", "commitments.breach"]

    def test_only_configured_types_are_accepted(self, session):
        from pydantic import ValidationError

        with pytest.raises(ValidationError):
            CommitmentCreate(
                subject_id=make_subject(session).id,
                type="nonsense",
                text="x",
                source_department="y",
                signed_on=D26,
            )
        assert set(service.commitment_types()) >= {"repair", "notification"}


class TestPlatformPenalty:
    def test_a_platform_penalises_its_own_shop_only(self, session):
        platform = make_platform(session)
        shop = make_shop(session, platform=platform)
        other = make_shop(session)
        principal = Principal(actor="key:p", role=Role.platform, platform_id=platform.id)
        data = PlatformPenaltyCreate(
            shop_id=shop.id,
            measure="suspension",
            ref="PEN-1",
            decided_on=D26,
            rule="《平台交易规则》第12条 虚假交易",
            reason="刷单，订单号 A1 A2",
            evidence={"orders": "A1;A2"},
        )
        record, created = service.record_platform_penalty(session, principal, data, today=D26)
        assert created and (record.kind, record.subject_id, record.severity) == (
            "platform_penalty",
            shop.operator_id,
            "minor",
        )
        assert record.evidence["shop_id"] == shop.id and record.evidence["orders"] == "A1;A2"
        again, created = service.record_platform_penalty(session, principal, data, today=D26)
        assert (again.id, created) == (record.id, False)
        from ecredit.subjects.errors import ShopNotFound

        with pytest.raises(ShopNotFound):
            service.record_platform_penalty(
                session, principal, data.model_copy(update={"shop_id": other.id, "ref": "PEN-2"}), today=D26
            )


class TestConfirmedWarnings:
    def test_a_confirmed_warning_becomes_a_record_of_its_subject_once(self, session):
        wiring.wire()
        platform = make_platform(session, code="qiluw")
        operator = make_subject(session)
        make_shop(session, platform=platform, platform_shop_id="Q1", operator=operator, region_code="370102")
        (warning,) = record_findings(session, ring("qiluw", ["Q1"], ["qa", "qb"], ["O-1"]))
        monitoring_service.confirm_warning(session, ADMIN, warning.id, reason="核实")
        records = [r for r in repo.records_of(session, operator.id) if r.kind == "confirmed_warning"]
        assert len(records) == 1
        (r,) = records
        assert r.evidence["warning_id"] == warning.id and r.evidence["warning_kind"] == "brushing_ring"
        assert r.evidence["summary"] == warning.summary
        assert set(r.evidence["members"]) == {
            "shop:qiluw:Q1",
            "account:qiluw:qa",
            "account:qiluw:qb",
            "object:qiluw:O-1",
        }
        assert (r.effect, r.severity) == ("negative", "general")
        # The handler is idempotent: announcing again changes nothing.
        wiring.records_from_confirmed_warning(
            session,
            monitoring_service.WarningConfirmed(
                warning_id=warning.id,
                kind=warning.kind,
                platform="qiluw",
                subject_ids=(operator.id,),
                shop_ids=(),
                confirmed_by="cli:test",
                reason=None,
            ),
        )
        assert len([r for r in repo.records_of(session, operator.id) if r.kind == "confirmed_warning"]) == 1
        # Re-opened: the record made from the confirmation is withdrawn.
        monitoring_service.reopen_warning(session, ADMIN, warning.id, reason="证据不足")
        assert r.status == "withdrawn"
