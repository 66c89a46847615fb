"""Writing the audit trail from services: one call per state change, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ecredit.security import audit
from ecredit.security.principals import Principal


def record_change(
    session: Session,
    principal: Principal,
    action: str,
    object_type: str,
    object_id: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append the audit entry of a state change made by ``principal`` (never clear personal data)."""
    audit.record(
        session,
        actor=principal.actor,
        role=principal.role.value,
        action=action,
        object_type=object_type,
        object_id=object_id,
        request_id=principal.request_id,
        details=details,
    )
