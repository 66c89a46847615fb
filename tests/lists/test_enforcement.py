"""Platform enforcement orders: issued once per platform, shop and measure on publication (with working-day
deadlines and the marks revoked), lifted on removal, reported by the platforms (late ones flagged), the
overdue queue, the platform evaluation's feedback indicator; and the listed-operator warning at intake."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from ecredit.kit.clock import frozen_today
from ecredit.kit.workdays import add_workdays
from ecredit.lists import enforcement
from ecredit.lists.catalogue import catalogue
from ecredit.lists.models import EnforcementOrder
from ecredit.monitoring.models import RiskWarning, WarningMember
from ecredit.security.audit import AuditEntry
from ecredit.security.principals import Principal, Role
from ecredit.verification import repository as verification_repo
from ecredit.verification import service as verification_service
from tests.builders import (
    ADMIN,
    make_legal_rep,
    make_platform,
    make_register_entry,
    make_shop,
    make_subject,
)
from tests.lists.check_support import TODAY, make_list_entry, publish, remove

SAMR_ORDERS = sorted(m.key for m in catalogue().measures_of("samr_serious") if m.platform_order)


def _orders(session, entry):
    stmt = select(EnforcementOrder).where(EnforcementOrder.entry_id == entry.id).order_by(EnforcementOrder.id)
    return session.scalars(stmt).all()


def _platform(platform) -> Principal:
    return Principal(actor=f"key:{platform.code}", role=Role.platform, platform_id=platform.id)


@pytest.fixture
def listed(session):
    """A company with shops on two platforms (one verified, with a trusted mark), on the SAMR list."""
    alpha, beta = make_platform(session), make_platform(session)
    company = make_subject(session)
    make_register_entry(session, company, legal_rep_name=make_legal_rep(session, company).name)
    shops = [
        make_shop(session, platform=alpha, operator=company),
        make_shop(session, platform=beta, operator=company),
    ]
    assert verification_service.verify_shop(session, ADMIN, shops[0].id).outcome == "verified"
    entry = make_list_entry(session, company, list_type="samr_serious", published_on=TODAY)
    return {"alpha": alpha, "beta": beta, "company": company, "shops": shops, "entry": entry}


class TestIssue:
    def test_publication_issues_one_order_per_shop_and_platform_measure(self, session, listed):
        publish(session, listed["entry"])
        orders = _orders(session, listed["entry"])
        assert len(orders) == 2 * len(SAMR_ORDERS) and len(SAMR_ORDERS) == 4
        by_shop = {}
        for o in orders:
            by_shop.setdefault(o.shop_id, []).append(o.measure)
        assert {k: sorted(v) for k, v in by_shop.items()} == {s.id: SAMR_ORDERS for s in listed["shops"]}
        assert {o.platform_id for o in orders} == {listed["alpha"].id, listed["beta"].id}
        measure = catalogue().measures["platform_shield_shop"]
        shield = next(o for o in orders if o.measure == "platform_shield_shop")
        assert shield.order_kind == "shield_shop" and shield.status == "issued" and shield.issued_on == TODAY
        assert (
            shield.due_on == add_workdays(TODAY, measure.order_deadline_workdays) and not shield.due_unknown
        )
        assert measure.legal_basis in shield.legal_basis and shield.policy_version == catalogue().version

    def test_publishing_again_issues_nothing_twice(self, session, listed):
        publish(session, listed["entry"])
        publish(session, listed["entry"])
        assert enforcement.issue_orders(session, listed["entry"].id) == []
        assert len(_orders(session, listed["entry"])) == 2 * len(SAMR_ORDERS)
        issued = session.scalars(select(AuditEntry).where(AuditEntry.action == "orders.issue")).all()
        assert len([a for a in issued if a.object_id == listed["entry"].id]) == 1

    def test_the_trusted_marks_of_the_shops_are_revoked(self, session, listed):
        shop = listed["shops"][0]
        assert verification_repo.active_marks_of_shop(session, shop.id)
        publish(session, listed["entry"])
        assert verification_repo.active_marks_of_shop(session, shop.id) == []
        assert "samr_serious" in verification_repo.latest_mark_of_shop(session, shop.id).revoked_reason

    def test_a_red_list_entry_issues_no_order(self, session):
        company = make_subject(session)
        make_shop(session, operator=company)
        entry = make_list_entry(session, company, list_type="red_trustworthy")
        publish(session, entry)
        assert _orders(session, entry) == []

    def test_a_deadline_past_the_calendar_is_flagged_never_guessed(self, session):
        company = make_subject(session)
        make_shop(session, operator=company)
        entry = make_list_entry(
            session, company, list_type="abnormal_operation", published_on=dt.date(2031, 3, 3)
        )
        publish(session, entry)
        [order] = _orders(session, entry)
        assert order.due_on is None and order.due_unknown


class TestLift:
    def test_removal_lifts_the_orders_with_a_deadline_to_undo(self, session, listed):
        publish(session, listed["entry"])
        with frozen_today(TODAY + dt.timedelta(days=7)):
            remove(session, listed["entry"], "withdrawn")
        orders = _orders(session, listed["entry"])
        lift_days = catalogue().settings["lift_within_workdays"]
        assert {o.status for o in orders} == {"lifted"}
        assert {o.lift_due_on for o in orders} == {add_workdays(TODAY + dt.timedelta(days=7), lift_days)}

    def test_the_platform_reports_the_undo(self, session, listed):
        publish(session, listed["entry"])
        remove(session, listed["entry"])
        order = _orders(session, listed["entry"])[0]
        platform = listed["alpha"] if order.platform_id == listed["alpha"].id else listed["beta"]
        view = enforcement.report_lift(session, _platform(platform), order.id, report="已解除", today=TODAY)
        assert view["status"] == "lift_confirmed" and view["lift_late"] is False
        again = enforcement.report_lift(session, _platform(platform), order.id, report="again", today=TODAY)
        assert again["lift_reported_on"] == TODAY


class TestReports:
    def _order_of(self, session, listed, platform_key="alpha"):
        publish(session, listed["entry"])
        platform = listed[platform_key]
        return platform, next(o for o in _orders(session, listed["entry"]) if o.platform_id == platform.id)

    def test_a_report_on_time_and_its_repeat(self, session, listed):
        platform, order = self._order_of(session, listed)
        view = enforcement.report_completion(
            session, _platform(platform), order.id, report="已屏蔽", today=TODAY
        )
        assert view["status"] == "completed" and view["late"] is False and view["reported_on"] == TODAY
        later = TODAY + dt.timedelta(days=30)
        again = enforcement.report_completion(session, _platform(platform), order.id, report="x", today=later)
        assert again["reported_on"] == TODAY and again["report"] == "已屏蔽"

    def test_a_report_after_the_deadline_is_recorded_late(self, session, listed):
        platform, order = self._order_of(session, listed)
        late_day = add_workdays(order.due_on, 1)
        view = enforcement.report_completion(
            session, _platform(platform), order.id, report="done", today=late_day
        )
        assert view["status"] == "completed" and view["late"] is True
        audit = session.scalars(select(AuditEntry).where(AuditEntry.object_id == order.id)).all()
        assert audit[-1].details == {"late": True, "kind": "completion"}

    def test_another_platform_cannot_report_the_order(self, session, listed):
        _, order = self._order_of(session, listed)
        with pytest.raises(enforcement.OrderNotFound):
            enforcement.report_completion(
                session, _platform(listed["beta"]), order.id, report="x", today=TODAY
            )

    def test_a_lifted_order_takes_no_completion_report(self, session, listed):
        platform, order = self._order_of(session, listed)
        remove(session, listed["entry"])
        with pytest.raises(enforcement.OrderStateConflict):
            enforcement.report_completion(session, _platform(platform), order.id, report="x", today=TODAY)


class TestApi:
    def test_a_platform_lists_and_reports_its_own_orders(self, session, client_as, listed):
        publish(session, listed["entry"])
        client = client_as("platform", platform=listed["alpha"])
        with frozen_today(TODAY):
            r = client.get("/api/v1/orders")
            assert r.status_code == 200, r.text
            items = r.json()["items"]
            assert len(items) == len(SAMR_ORDERS) and {i["platform"] for i in items} == {listed["alpha"].code}
            assert all(i["shop_id"] == listed["shops"][0].id and i["legal_basis"] for i in items)
            r = client.post(f"/api/v1/orders/{items[0]['id']}/report", json={"report": "已执行"})
            assert r.status_code == 200 and r.json()["status"] == "completed" and r.json()["late"] is False
            other = client_as("platform", platform=listed["beta"])
            assert (
                other.post(f"/api/v1/orders/{items[1]['id']}/report", json={"report": "x"}).status_code == 404
            )
            assert (
                client.get("/api/v1/orders", params={"status": "completed"}).json()["items"][0]["id"]
                == items[0]["id"]
            )

    def test_staff_see_the_overdue_orders_of_every_platform(self, session, client_as, listed):
        publish(session, listed["entry"])
        order = _orders(session, listed["entry"])[0]
        platform = listed["alpha"] if order.platform_id == listed["alpha"].id else listed["beta"]
        enforcement.report_completion(session, _platform(platform), order.id, report="ok", today=TODAY)
        with frozen_today(add_workdays(order.due_on, 1)):
            r = client_as("regulator").get("/api/v1/orders/overdue")
            mine = client_as("platform", platform=listed["alpha"]).get(
                "/api/v1/orders", params={"overdue": True}
            )
            refused = client_as("platform", platform=listed["alpha"]).get("/api/v1/orders/overdue")
        assert r.status_code == 200, r.text
        ids = {i["id"] for i in r.json()["items"]}
        assert order.id not in ids and len(ids) == 2 * len(SAMR_ORDERS) - 1
        assert all(i["overdue"] for i in r.json()["items"])
        assert mine.status_code == 200 and {i["platform"] for i in mine.json()["items"]} == {
            listed["alpha"].code
        }
        assert refused.status_code == 403


class TestPlatformEvaluation:
    def test_late_and_missing_feedback_lower_the_platform_indicator(self, session, listed):
        from tests.scoring.support import contribution, evaluate

        publish(session, listed["entry"])
        alpha_orders = [o for o in _orders(session, listed["entry"]) if o.platform_id == listed["alpha"].id]
        principal = _platform(listed["alpha"])
        enforcement.report_completion(session, principal, alpha_orders[0].id, report="ok", today=TODAY)
        late_day = add_workdays(alpha_orders[1].due_on, 2)
        enforcement.report_completion(session, principal, alpha_orders[1].id, report="late", today=late_day)
        ev = evaluate(session, as_of=late_day + dt.timedelta(days=1))
        alpha = contribution(ev, listed["alpha"].subject_id, "enforcement_feedback", entity="platform")
        # 4 deadlines came: 1 on time, 1 late, 2 never reported
        assert alpha["raw"] == pytest.approx(0.25) and alpha["n"] == 4
        beta = contribution(ev, listed["beta"].subject_id, "enforcement_feedback", entity="platform")
        assert beta["raw"] == pytest.approx(0.0)
        before = evaluate(session, as_of=TODAY - dt.timedelta(days=1))  # nothing reported or due yet: neutral
        assert (
            contribution(before, listed["alpha"].subject_id, "enforcement_feedback", entity="platform")["raw"]
            is None
        )


class TestIntakeGuard:
    def _warnings(self, session, shop):
        stmt = (
            select(RiskWarning)
            .join(WarningMember, WarningMember.warning_id == RiskWarning.id)
            .where(RiskWarning.kind == "listed_operator", WarningMember.shop_id == shop.id)
        )
        return session.scalars(stmt).all()

    def test_a_listed_operator_opening_a_shop_raises_a_warning_with_the_evidence(self, session):
        company = make_subject(session)
        entry = make_list_entry(session, company, list_type="ecommerce_fake_trading")
        with frozen_today(TODAY):
            shop = make_shop(session, operator=company)
        [warning] = self._warnings(session, shop)
        assert warning.status == "open" and warning.confidence == 1.0 and warning.engine == "intake"
        details = warning.details
        assert details["entry_ids"] == [entry.id] and "platform_restrict_entry" in details["measures"]
        [part] = details["restricted"]
        assert part["role"] == "operator" and part["measures"][0]["legal_basis"]
        assert (
            part["entries"][0]["legal_basis"] == catalogue().list_type("ecommerce_fake_trading").legal_basis
        )
        assert catalogue().version in details["data_version"]

    def test_a_company_whose_legal_representative_is_restricted_raises_a_warning(self, session):
        listed_company, new_company = make_subject(session), make_subject(session)
        person = make_legal_rep(session, listed_company)
        from ecredit.subjects import service as subjects_service
        from ecredit.subjects.schemas import RelationCreate

        subjects_service.add_relation(
            session,
            ADMIN,
            RelationCreate(kind="legal_representative", holder_id=person.id, object_id=new_company.id),
        )
        make_list_entry(session, listed_company, list_type="samr_serious")
        with frozen_today(TODAY):
            shop = make_shop(session, operator=new_company)
        [warning] = self._warnings(session, shop)
        [part] = warning.details["restricted"]
        assert part["role"] == "legal_representative" and part["subject_id"] == person.id
        assert part["measures"][0]["via_subject_id"] == listed_company.id

    def test_an_operator_not_listed_raises_nothing_and_costs_no_check(self, session):
        company = make_subject(session)
        make_list_entry(session, make_subject(session), list_type="ecommerce_fake_trading")
        before = len(session.scalars(select(AuditEntry).where(AuditEntry.action == "lists.check")).all())
        with frozen_today(TODAY):
            shop = make_shop(session, operator=company)
        assert self._warnings(session, shop) == []
        after = len(session.scalars(select(AuditEntry).where(AuditEntry.action == "lists.check")).all())
        assert after == before

    def test_an_entry_published_after_a_first_shop_is_seen_by_the_next(self, session):
        company = make_subject(session)
        with frozen_today(TODAY):
            first = make_shop(session, operator=company)
            make_list_entry(session, company, list_type="ecommerce_fake_trading")
            second = make_shop(session, operator=company)
        assert self._warnings(session, first) == [] and len(self._warnings(session, second)) == 1
