"""Subscribes upper modules' handlers to lower modules' domain events (DESIGN.md §14).

The one place that knows every module. Handlers are added here as the capabilities that need them land
(lists revoking marks on ``ListEntryPublished``, monitoring linking shops on ``ShopRegistered``, ...).
Today: monitoring's real-time checks on intake's ``RecordsAccepted``.
"""

from __future__ import annotations


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
