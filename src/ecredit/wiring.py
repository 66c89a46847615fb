"""Subscribes upper modules' handlers to lower modules' domain events (DESIGN.md §14).

The one place that knows every module. Handlers are added here as the capabilities that need them land
(lists revoking marks on ``ListEntryPublished``, monitoring linking shops on ``ShopRegistered``, ...).
Today: monitoring's real-time checks on intake's ``RecordsAccepted``, credit records from confirmed
(and re-opened) warnings, list nominations by rule from new credit records, list entries flagged when
a record they rest on is withdrawn, and a refresh of a subject's credit evaluations when a record of it
is repaired, withdrawn, restored or corrected.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

MAX_EVIDENCE_MEMBERS = 200  # member refs copied into a record's evidence; the warning keeps them all


def wire() -> None:
    """Install every subscription (idempotent)."""
    from ecredit.kit import events
    from ecredit.monitoring import realtime
    from ecredit.security import approvals
    from ecredit.verification import service as verification_service

    for event in realtime.EVENTS:  # intake's RecordsAccepted -> the real-time checks (DESIGN.md §5)
        events.subscribe(event, realtime.handle)

    approvals.register_executor(
        "marks.revoke", verification_service.check_mark_access, verification_service.execute_revoke
    )

    from ecredit.monitoring.events import WarningConfirmed, WarningReopened

    events.subscribe(WarningConfirmed, records_from_confirmed_warning)
    events.subscribe(WarningReopened, records_of_reopened_warning)

    from ecredit.records.events import RecordCreated, RecordWithdrawn

    events.subscribe(RecordCreated, nominations_from_record)
    events.subscribe(RecordWithdrawn, list_basis_withdrawn)

    # Lists (issue 7): enforcement orders and marks on publication, orders lifted on removal, and the
    # check inside intake (a listed operator opening a shop raises a warning)
    from ecredit.lists import enforcement, intake_guard
    from ecredit.lists.events import ListEntryPublished, ListEntryRemoved
    from ecredit.subjects.events import ShopRegistered

    events.subscribe(ListEntryPublished, enforcement.on_entry_published)
    events.subscribe(ListEntryRemoved, enforcement.on_entry_removed)
    events.subscribe(ShopRegistered, intake_guard.on_shop_registered)

    from ecredit.records.events import RecordCorrected, RecordRepaired, RecordRestored

    # A person changed what a subject's records say (DESIGN.md §14: RecordRepaired -> scores are refreshed):
    # the subject's evaluations are refreshed at once. New records (bulk imports among them) wait for the
    # next `ecredit score run`.
    for event in (RecordRepaired, RecordWithdrawn, RecordRestored, RecordCorrected):
        events.subscribe(event, scores_after_record_change)


def nominations_from_record(session: Session, event: Any) -> None:
    """A new credit record may complete a list type's rule: a confirmed brushing warning's record
    nominates its subject for the fake-trading list at once (idempotent per subject and list)."""
    from ecredit.lists import service as lists_service
    from ecredit.security.principals import system

    lists_service.nominate_on_record(
        session, system("lists"), record_id=event.record_id, subject_id=event.subject_id, kind=event.kind
    )


def list_basis_withdrawn(session: Session, event: Any) -> None:
    """A withdrawn record that open list entries rest on: their withdrawal (or drop) becomes due."""
    from ecredit.lists import service as lists_service

    lists_service.flag_basis_withdrawn(session, record_id=event.record_id)


def records_from_confirmed_warning(session: Session, event: Any) -> None:
    """A confirmed warning becomes a ``confirmed_warning`` credit record of each subject it names, with the
    warning's id, kind, summary and members as evidence (idempotent per warning and subject)."""
    from ecredit.kit.clock import today
    from ecredit.monitoring import repository as monitoring_repo
    from ecredit.records import service as records_service
    from ecredit.security.principals import system

    warning = monitoring_repo.get_warning(session, event.warning_id)
    if warning is None or not event.subject_ids:
        return
    members = monitoring_repo.members_of(session, [warning.id])[warning.id]
    principal = system("records")
    for subject_id in event.subject_ids:
        own = [m for m in members if m.subject_id in (None, subject_id)]
        refs = [f"{m.role}:{m.platform}:{m.ref}" for m in own[:MAX_EVIDENCE_MEMBERS]]
        records_service.record_confirmed_warning(
            session,
            principal,
            subject_id=subject_id,
            warning_id=warning.id,
            warning_kind=warning.kind,
            summary=warning.summary,
            decided_on=today(),
            evidence={
                "platform": warning.platform,
                "members": refs,
                "member_count": len(own),
                "shop_ids": [m.shop_id for m in own if m.shop_id],
                "confirmed_by": event.confirmed_by,
                "confirmation_reason": event.reason,
                "detector": f"{warning.detector} {warning.detector_version}",
                "score": warning.score,
                "confidence": warning.confidence,
            },
        )


def records_of_reopened_warning(session: Session, event: Any) -> None:
    """A confirmed warning re-opened: the records made from its confirmation are withdrawn."""
    from ecredit.monitoring import repository as monitoring_repo
    from ecredit.records import service as records_service
    from ecredit.security.principals import system

    if event.previous_status != "confirmed":
        return
    subject_ids = monitoring_repo.subject_ids_of(session, [event.warning_id])[event.warning_id]
    records_service.withdraw_warning_records(
        session,
        system("records"),
        warning_id=event.warning_id,
        subject_ids=subject_ids,
        reason=f"warning re-opened by {event.reopened_by}: {event.reason}",
    )


def scores_after_record_change(session: Session, event: Any) -> None:
    """A record was repaired, withdrawn, restored or corrected: refresh its subject's credit evaluations
    (``scoring.refresh``: the records indicators and overrides recomputed for that subject alone)."""
    from ecredit.scoring import refresh

    refresh.refresh_subject(session, event.subject_id, cause=f"{type(event).__name__} {event.record_id}")
