"""Listing warnings (filters, pages, scopes) and triaging them (rules, audit, events)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from ecredit.errors import Forbidden
from ecredit.kit import events
from ecredit.monitoring import service
from ecredit.monitoring.errors import InvalidTransition, InvalidTriage, WarningNotFound
from ecredit.monitoring.events import WarningConfirmed, WarningReopened
from ecredit.monitoring.findings import WarningKind
from ecredit.monitoring.models import RiskWarning, WarningStatus
from ecredit.monitoring.service import WarningFilters
from ecredit.security.audit import AuditEntry
from ecredit.security.principals import Principal, Role
from tests.builders import ADMIN, make_platform, make_shop, make_subject
from tests.monitoring.support import account, finding, record, ring, run, shop

JINAN = Principal(actor="user:jinan", role=Role.regulator, region_prefix="3701")
PROVINCE = Principal(actor="user:province", role=Role.regulator)
BANK = Principal(actor="key:bank", role=Role.bank)


def _ids(session, principal=ADMIN, **filters):
    items, _ = service.list_warnings(session, principal, WarningFilters(**filters), cursor=None, limit=200)
    return [w.id for w in items]


@pytest.fixture
def province(session):
    """Two platforms; qilu's shop Q1 in Jinan (3701), haibin's shop H1 in Qingdao (3702); four warnings."""
    qilu = make_platform(session, code="qilu")
    haibin = make_platform(session, code="haibin")
    jinan_operator = make_subject(session)
    make_shop(session, platform=qilu, platform_shop_id="Q1", region_code="370102", operator=jinan_operator)
    make_shop(session, platform=haibin, platform_shop_id="H1", region_code="370202")
    w = record(
        session,
        ring("qilu", ["Q1"], ["qa", "qb"], score=9.0),
        ring("haibin", ["H1"], ["ha"], score=4.0),
        finding(
            [account("qilu", "qa"), account("qilu", "qc")],
            kind=WarningKind.shared_payer,
            score=6.0,
            summary="payer",
        ),
        # A shop re-opened on haibin, linked to qilu's Q1 (evidence only).
        finding(
            [shop("haibin", "H1"), shop("qilu", "Q1", linked=True)],
            kind=WarningKind.reopened_shop,
            score=1.0,
            summary="operator of an earlier shop",
        ),
    )
    return {
        "qilu": qilu,
        "haibin": haibin,
        "ring_q": w[0],
        "ring_h": w[1],
        "payer": w[2],
        "reopened": w[3],
        "operator": jinan_operator,
    }


class TestListFilters:
    def test_newest_first_and_each_filter(self, session, province):
        p = province
        everything = [p["reopened"].id, p["payer"].id, p["ring_h"].id, p["ring_q"].id]
        assert _ids(session) == sorted(everything, reverse=True)
        assert set(_ids(session, kind=WarningKind.brushing_ring)) == {p["ring_q"].id, p["ring_h"].id}
        assert set(_ids(session, platform="haibin")) == {p["ring_h"].id, p["reopened"].id}
        assert set(_ids(session, shop="Q1")) == {p["ring_q"].id, p["reopened"].id}
        assert _ids(session, shop="Q1", platform="qilu") == [p["ring_q"].id]
        assert set(_ids(session, account="qa")) == {p["ring_q"].id, p["payer"].id}
        assert set(_ids(session, min_score=5.0)) == {p["ring_q"].id, p["payer"].id}
        # The operator of Q1: its ring, not the re-opened shop's warning (Q1 is only linked there).
        assert _ids(session, subject_id=p["operator"].id) == [p["ring_q"].id]

    def test_status_filter(self, session, province):
        service.dismiss_warning(session, ADMIN, province["ring_h"].id, reason="a popular shop")
        assert _ids(session, status=WarningStatus.dismissed) == [province["ring_h"].id]
        assert province["ring_h"].id not in _ids(session, status=WarningStatus.open)

    def test_created_range(self, session, province):
        old = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)
        session.execute(
            update(RiskWarning).where(RiskWarning.id == province["payer"].id).values(created_at=old)
        )
        session.expire_all()
        cut = dt.datetime(2026, 1, 10, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # == old
        assert _ids(session, created_to=cut) == []
        assert _ids(session, created_from=cut, created_to=cut + dt.timedelta(seconds=1)) == [
            province["payer"].id
        ]
        # Instants at the calendar's edges are clamped, not an error.
        far = dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=14)))
        assert len(_ids(session, created_from=far)) == 4

    def test_pages_follow_the_cursor_without_overlap(self, session, province):
        seen, cursor = [], None
        while True:
            page, cursor = service.list_warnings(session, ADMIN, WarningFilters(), cursor=cursor, limit=3)
            seen += [w.id for w in page]
            if cursor is None:
                break
        assert seen == _ids(session) and len(seen) == 4

    def test_list_items_count_members_and_name_subjects(self, session, province):
        items, _ = service.list_warnings(
            session,
            ADMIN,
            WarningFilters(kind=WarningKind.brushing_ring, platform="qilu"),
            cursor=None,
            limit=5,
        )
        (item,) = items
        assert (item.member_counts.shops, item.member_counts.accounts, item.member_counts.objects) == (
            1,
            2,
            0,
        )
        assert item.subject_ids == [province["operator"].id]


class TestScopes:
    def test_a_regulator_sees_warnings_with_a_shop_in_the_region(self, session, province):
        # ring_q has Q1 (Jinan); the re-opened warning is about H1 (Qingdao) and names Q1 only as linked.
        assert _ids(session, JINAN) == [province["ring_q"].id]
        with pytest.raises(WarningNotFound):
            service.get_warning(session, JINAN, province["ring_h"].id)

    def test_a_province_wide_regulator_sees_everything_even_account_only_warnings(self, session, province):
        assert len(_ids(session, PROVINCE)) == 4
        assert service.get_warning(session, PROVINCE, province["payer"].id).id == province["payer"].id

    def test_a_platform_sees_warnings_about_its_own_shops_and_accounts_and_only_its_members(
        self, session, province
    ):
        qilu = Principal(actor="key:q", role=Role.platform, platform_id=province["qilu"].id)
        haibin = Principal(actor="key:h", role=Role.platform, platform_id=province["haibin"].id)
        assert set(_ids(session, qilu)) == {province["ring_q"].id, province["payer"].id}
        assert set(_ids(session, haibin)) == {province["ring_h"].id, province["reopened"].id}
        with pytest.raises(WarningNotFound):
            service.get_warning(session, qilu, province["reopened"].id)  # Q1 is only linked evidence there
        detail = service.get_warning(session, haibin, province["reopened"].id)
        assert [(m.platform, m.ref) for m in detail.members] == [("haibin", "H1")]

    def test_roles_without_the_permission_are_refused(self, session, province):
        with pytest.raises(Forbidden):
            _ids(session, BANK)
        platform = Principal(actor="key:q", role=Role.platform, platform_id=province["qilu"].id)
        with pytest.raises(Forbidden):
            service.confirm_warning(session, platform, province["ring_q"].id)


@pytest.fixture
def announced():
    """The monitoring events announced during the test."""
    seen: list = []
    handler = seen.append

    def record(_session, event):
        handler(event)

    events.subscribe(WarningConfirmed, record)
    events.subscribe(WarningReopened, record)
    yield seen
    for event_type in (WarningConfirmed, WarningReopened):
        events._handlers[event_type].remove(record)  # no public unsubscribe: only tests need it


def _audit(session, warning_id):
    stmt = select(AuditEntry).where(AuditEntry.object_id == warning_id).order_by(AuditEntry.seq)
    return session.scalars(stmt).all()


class TestTriage:
    def test_confirm_is_audited_and_announced_with_the_subjects(self, session, province, announced):
        w = service.confirm_warning(
            session, JINAN, province["ring_q"].id, reason="orders checked, 13912345678"
        )
        assert (w.status, w.triaged_by, w.triage_reason) == (
            "confirmed",
            "user:jinan",
            "orders checked, 139****5678",
        )
        (entry,) = _audit(session, w.id)
        assert (entry.action, entry.actor, entry.role) == ("warnings.confirm", "user:jinan", "regulator")
        assert entry.details == {
            "kind": "brushing_ring",
            "from": "open",
            "to": "confirmed",
            "reason": "orders checked, 139****5678",
        }
        (event,) = announced
        assert isinstance(event, WarningConfirmed)
        assert (event.warning_id, event.subject_ids, event.confirmed_by) == (
            w.id,
            (province["operator"].id,),
            "user:jinan",
        )
        assert len(event.shop_ids) == 1

    def test_confirm_without_a_reason_is_allowed(self, session, province):
        assert service.confirm_warning(session, ADMIN, province["ring_h"].id).triage_reason is None

    @pytest.mark.parametrize("reason", [None, "", "   "])
    def test_dismiss_needs_a_reason(self, session, province, reason):
        with pytest.raises(InvalidTriage) as caught:
            service.dismiss_warning(session, ADMIN, province["ring_h"].id, reason=reason)
        assert [e.field for e in caught.value.errors] == ["reason"]
        assert session.get(RiskWarning, province["ring_h"].id).status == "open"

    def test_a_triaged_warning_is_triaged_again_only_after_reopening(self, session, province, announced):
        wid = province["ring_h"].id
        service.dismiss_warning(session, ADMIN, wid, reason="popular shop, honest buyers")
        for step in (service.confirm_warning, service.dismiss_warning):
            with pytest.raises(InvalidTransition):
                step(session, ADMIN, wid, reason="again")
        with pytest.raises(InvalidTriage):
            service.reopen_warning(session, ADMIN, wid, reason="")
        reopened = service.reopen_warning(session, ADMIN, wid, reason="new orders seen")
        assert (reopened.status, reopened.triage_reason) == ("open", "new orders seen")
        with pytest.raises(InvalidTransition):
            service.reopen_warning(session, ADMIN, wid, reason="already open")
        assert service.confirm_warning(session, ADMIN, wid, reason="confirmed").status == "confirmed"
        assert [e.action for e in _audit(session, wid)] == [
            "warnings.dismiss",
            "warnings.reopen",
            "warnings.confirm",
        ]
        assert [type(e).__name__ for e in announced] == ["WarningReopened", "WarningConfirmed"]
        assert announced[0].previous_status == "dismissed"

    def test_a_regulator_cannot_triage_outside_the_region(self, session, province):
        with pytest.raises(WarningNotFound):
            service.dismiss_warning(session, JINAN, province["ring_h"].id, reason="not mine")

    def test_a_warning_that_does_not_exist(self, session):
        with pytest.raises(WarningNotFound):
            service.confirm_warning(session, ADMIN, "01ARZ3NDEKTSV4RRFFQ69G5FAV")


class TestTransitions:
    @pytest.mark.parametrize(
        ("status", "step", "after"),
        [
            ("open", "confirm", "confirmed"),
            ("open", "dismiss", "dismissed"),
            ("open", "reopen", None),
            ("confirmed", "confirm", None),
            ("confirmed", "dismiss", None),
            ("confirmed", "reopen", "open"),
            ("dismissed", "confirm", None),
            ("dismissed", "dismiss", None),
            ("dismissed", "reopen", "open"),
        ],
    )
    def test_the_table(self, status, step, after):
        result = service.next_status(WarningStatus(status), step)
        assert (result.value if result else None) == after


def test_recording_after_a_triage_in_the_same_session_sees_fresh_values(session):
    (w,) = record(session, ring("qilu", ["S1"], ["a"], score=1.0))
    assert w.score == 1.0
    service.record_findings(session, run(), [ring("qilu", ["S1"], ["a"], score=2.0)])
    assert w.score == 2.0 and w.seen_count == 2  # the object the session holds was refreshed
