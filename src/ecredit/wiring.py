"""Subscribes upper modules' handlers to lower modules' domain events (DESIGN.md §14).

The one place that knows every module. Handlers are added here as the capabilities that need them land
(lists revoking marks on ``ListEntryPublished``, monitoring linking shops on ``ShopRegistered``, ...).
"""

from __future__ import annotations


def wire() -> None:
    """Install every subscription (idempotent)."""
    from ecredit.security import approvals
    from ecredit.verification import service as verification_service

    approvals.register_executor(
        "marks.revoke", verification_service.check_mark_access, verification_service.execute_revoke
    )
