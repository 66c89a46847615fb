"""Writing the audit trail from services: one call per state change, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ecredit.security import audit
from ecredit.security.masking import mask_nested
from ecredit.security.principals import Principal


def prepare_change(
    principal: Principal,
    action: str,
    object_type: str,
    object_id: str | None,
    details: dict[str, Any] | None = None,
) -> audit.PendingEntry:
    """The audit entry of a state change, checked and formatted but not yet appended (no I/O).

    A service that writes prepares before its first statement (which takes SQLite's write lock) and
    appends with ``append_change`` inside the transaction, so the lock is held for two statements only.
    """
    return audit.prepare(
        actor=principal.actor,
        role=principal.role.value,
        action=action,
        object_type=object_type,
        object_id=object_id,
        request_id=principal.request_id,
        details=mask_nested(details) if details else details,
    )


def append_change(session: Session, entry: audit.PendingEntry) -> None:
    """Append a prepared entry in the caller's transaction."""
    audit.append(session, entry)


def record_change(
    session: Session,
    principal: Principal,
    action: str,
    object_type: str,
    object_id: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append the audit entry of a state change made by ``principal`` (personal data in details masked)."""
    append_change(session, prepare_change(principal, action, object_type, object_id, details))
