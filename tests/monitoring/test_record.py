"""Recording detector findings as risk warnings: new, refreshed, triage kept, set-based."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import event, func, select

from ecredit.monitoring import service
from ecredit.monitoring.errors import InvalidFinding
from ecredit.monitoring.findings import WarningKind
from ecredit.monitoring.models import RiskWarning, WarningMember
from ecredit.security.audit import AuditEntry
from tests.builders import ADMIN, make_platform, make_shop, make_subject
from tests.monitoring.support import finding, record, record_of, ring, run, shop, stored


def _members(session, warning_id):
    stmt = select(WarningMember).where(WarningMember.warning_id == warning_id).order_by(WarningMember.seq)
    return session.scalars(stmt).all()


def _count(session, model, *where):
    return session.scalar(select(func.count()).select_from(model).where(*where))


class TestNewFindings:
    def test_a_finding_becomes_an_open_warning_with_its_members_in_order(self, session):
        f = ring("qilu", ["QILU-2", "QILU-1"], ["u9", "u1"], ["QL-O-5"], score=12.5, confidence=0.8)
        summary = service.record_findings(session, run(), [f])
        assert (summary.new, summary.updated) == (1, 0)
        (w,) = stored(session, f)
        assert (w.kind, w.platform, w.status, w.score, w.confidence) == (
            "brushing_ring",
            "qilu",
            "open",
            12.5,
            0.8,
        )
        assert (w.detector, w.detector_version, w.engine, w.seen_count) == (
            "brushing_ring",
            "1.0",
            "duckdb",
            1,
        )
        assert w.fingerprint == f.fingerprint("brushing_ring")
        assert [(m.seq, m.role, m.ref) for m in _members(session, w.id)] == [
            (0, "shop", "QILU-1"),
            (1, "shop", "QILU-2"),
            (2, "account", "u1"),
            (3, "account", "u9"),
            (4, "object", "QL-O-5"),
        ]

    def test_shops_the_registry_knows_carry_their_shop_and_operator(self, session):
        platform = make_platform(session, code="qilu")
        operator = make_subject(session)
        known = make_shop(session, platform=platform, operator=operator, platform_shop_id="QILU-7")
        other_platform_same_ref = make_platform(session, code="haibin")
        make_shop(session, platform=other_platform_same_ref, platform_shop_id="QILU-8")
        (w,) = record(session, ring("qilu", ["QILU-7", "QILU-8"], ["u1"]))
        resolved = {m.ref: (m.shop_id, m.subject_id) for m in _members(session, w.id) if m.role == "shop"}
        # QILU-8 exists only on haibin: a member of qilu does not resolve to it.
        assert resolved == {"QILU-7": (known.id, operator.id), "QILU-8": (None, None)}

    def test_one_audit_entry_per_recording(self, session):
        before = _count(session, AuditEntry, AuditEntry.action == "warnings.record")
        service.record_findings(session, run(), [ring("qilu", ["S1"], ["a"]), ring("qilu", ["S2"], ["b"])])
        entry = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
        assert _count(session, AuditEntry, AuditEntry.action == "warnings.record") == before + 1
        assert (entry.action, entry.object_id) == ("warnings.record", "brushing_ring")
        assert entry.details["new"] == 2 and entry.details["snapshot"] == run().snapshot

    def test_the_same_pattern_twice_in_one_run_is_one_warning_with_the_higher_score(self, session):
        low = ring("qilu", ["S1"], ["a", "b"], score=3.0, summary="weak")
        high = ring("qilu", ["S1"], ["a", "b"], ["O-1"], score=9.0, summary="strong")
        assert service.record_findings(session, run(), [low, high]).new == 1
        (w,) = stored(session, high)
        assert (w.score, w.summary) == (9.0, "strong")

    def test_the_same_members_from_another_detector_are_another_warning(self, session):
        f = ring("qilu", ["S1"], ["a"])
        (first,) = record(session, f)
        (second,) = record(session, f, detector_run=run("dense_block_v2"))
        assert first.id != second.id


class TestFindingsSeenAgain:
    def test_a_pattern_found_again_refreshes_its_warning(self, session):
        (before,) = record(session, ring("qilu", ["S1"], ["a", "b"], ["O-1"], score=5.0))
        created, first_seen = before.created_at, before.last_seen_at
        again = ring(
            "qilu", ["S1"], ["a", "b"], ["O-1", "O-2"], score=8.0, summary="grew", details={"orders": 2}
        )
        summary = service.record_findings(
            session, run(version="1.1", snapshot="01BX5ZZKBKACTAV9WEVGEMMVRZ"), [again]
        )
        assert (summary.new, summary.updated) == (0, 1)
        after = session.get(RiskWarning, before.id)
        assert (after.score, after.summary, after.details, after.seen_count) == (
            8.0,
            "grew",
            {"orders": 2},
            2,
        )
        assert (after.detector_version, after.snapshot) == ("1.1", "01BX5ZZKBKACTAV9WEVGEMMVRZ")
        assert after.created_at == created and after.last_seen_at >= first_seen
        assert [m.ref for m in _members(session, after.id)] == ["S1", "a", "b", "O-1", "O-2"]
        assert _count(session, RiskWarning, RiskWarning.detector == "brushing_ring") == 1

    @pytest.mark.parametrize("step", ["dismiss", "confirm"])
    def test_a_triaged_warning_keeps_its_status_and_triage(self, session, step):
        (w,) = record(session, ring("qilu", ["S1"], ["a"], score=5.0))
        triage = service.dismiss_warning if step == "dismiss" else service.confirm_warning
        triage(session, ADMIN, w.id, reason="looked at the orders")
        decided = (w.status, w.triage_reason, w.triaged_by, w.triaged_at)
        summary = service.record_findings(session, run(), [ring("qilu", ["S1"], ["a"], ["O-9"], score=7.0)])
        assert (summary.new, summary.updated) == (0, 1)
        after = session.get(RiskWarning, w.id)
        assert (after.status, after.triage_reason, after.triaged_by, after.triaged_at) == decided
        assert after.status in {"dismissed", "confirmed"}
        assert (after.score, after.seen_count) == (7.0, 2)
        assert [m.ref for m in _members(session, w.id)] == ["S1", "a", "O-9"]

    def test_new_and_known_patterns_in_one_run(self, session):
        record(session, ring("qilu", ["S1"], ["a"]))
        summary = service.record_findings(
            session,
            run(),
            [ring("qilu", ["S1"], ["a"]), ring("qilu", ["S2"], ["b"]), ring("qilu", ["S3"], ["c"])],
        )
        assert (summary.new, summary.updated) == (2, 1)


class TestFindingContract:
    @pytest.mark.parametrize(
        ("override", "field"),
        [
            ({"confidence": 1.5}, "findings[0].confidence"),
            ({"score": float("nan")}, "findings[0].score"),
            ({"summary": "  "}, "findings[0].summary"),
            ({"kind": "price_gouging"}, "findings[0].kind"),
        ],
    )
    def test_a_broken_finding_fails_the_run_naming_the_field(self, session, override, field):
        f = ring("qilu", ["S1"], ["a"])
        for key, value in override.items():
            setattr(f, key, value)
        with pytest.raises(InvalidFinding) as caught:
            service.record_findings(session, run(), [f])
        assert [e.field for e in caught.value.errors] == [field]

    def test_details_become_plain_json(self, session):
        details = {"counts": np.array([1, 2]), "density": np.float64(0.5), "nan": float("nan"), 3: "x"}
        (w,) = record(session, ring("qilu", ["S1"], ["a"], details=details))
        session.expire(w)
        assert session.get(RiskWarning, w.id).details == {
            "counts": [1, 2],
            "density": 0.5,
            "nan": None,
            "3": "x",
        }

    def test_clear_personal_numbers_in_the_evidence_are_masked_but_record_ids_kept(self, session):
        f = finding(
            [shop("qilu", "S1"), record_of("qilu", "TS000000000828", "parcels")],
            kind=WarningKind.empty_parcel,
            summary="parcel TS000000000828 to 13912345678 weighed 20 g",
            details={"payer": "370102199003071238", "parcels": ["TS000000000828"]},
        )
        (w,) = record(session, f)
        assert w.summary == "parcel TS000000000828 to 139****5678 weighed 20 g"
        assert w.details == {"payer": "370102********1238", "parcels": ["TS000000000828"]}


class TestSetBasedRecording:
    def test_thousands_of_members_take_a_handful_of_statements(self, session, engine):
        findings = [
            ring(
                "qilu",
                [f"S{i}", f"S{i + 1}"],
                [f"a{i}-{j}" for j in range(20)],
                [f"O{i}-{j}" for j in range(28)],
            )
            for i in range(0, 1000, 2)
        ]
        statements: list[str] = []

        def count(_conn, _cursor, statement, _params, _context, _executemany):
            statements.append(" ".join(statement.split()[:3]).upper())

        connection = session.connection()
        event.listen(connection, "before_cursor_execute", count)
        try:
            first = service.record_findings(session, run(), findings)
            first_statements = list(statements)
            statements.clear()
            second = service.record_findings(session, run(), findings)
            second_statements = list(statements)
            findings[0].members.append(record_of("qilu", "O-new"))
            statements.clear()
            third = service.record_findings(session, run(), findings)
        finally:
            event.remove(connection, "before_cursor_execute", count)
        assert (first.new, first.updated, second.new, second.updated, third.updated) == (500, 0, 0, 500, 500)
        assert _count(session, WarningMember) == 25_001
        # A statement per row would be 25,000 INSERTs; set-based it is a few (COPY on PostgreSQL counts 0).
        inserts = [s for s in first_statements if s.startswith("INSERT")]
        assert len(inserts) <= 10 and len(first_statements) <= 40, first_statements
        # Found again with the same members, warnings are updated but their members are not rewritten;
        # with one member more, only that warning's members are.
        writes = [s for s in second_statements if "WARNING_MEMBER" in s and not s.startswith("SELECT")]
        assert not writes, second_statements
        assert [s for s in statements if s.startswith("DELETE")] == ["DELETE FROM WARNING_MEMBER"]
        changed = stored(session, findings[0])[0]
        assert _count(session, WarningMember, WarningMember.warning_id == changed.id) == 51
