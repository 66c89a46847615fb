"""Dual control (四眼原则): actions that need a second regulator's approval before they take effect.

Which actions need it is configuration (``policy/security.toml: dual_control_actions``). A request stores
the action, its object and its parameters; a *different* principal allowed the same action on the same
object approves it, and only then does the action run, through the executor the owning module registered
(``register_executor``, wired at start-up). Requests lapse after ``approval_validity_days``. Every step is
audited; the approval and the action commit together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ecredit.db import Base
from ecredit.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from ecredit.kit.clock import utc_now
from ecredit.kit.ids import new_id
from ecredit.kit.policy import policy
from ecredit.kit.types import UTCDateTime
from ecredit.security.masking import mask_free_text
from ecredit.security.permissions import authorize
from ecredit.security.principals import Principal
from ecredit.security.trail import record_change


class Approval(Base):
    """A request for an action that needs a second person, and its outcome."""

    __tablename__ = "approval"

    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_id)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(26))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(String(500))
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|approved|rejected|lapsed
    requested_by: Mapped[str] = mapped_column(String(100))
    requested_role: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(String(500))


class ApprovalNotFound(NotFound):
    code = "approvals.not_found"


class ApprovalClosed(Conflict):
    code = "approvals.closed"


class SamePerson(Forbidden):
    code = "approvals.same_person"


# action -> (check the caller may act on the object: raises NotFound/Forbidden, run the action)
Checker = Callable[[Session, Principal, str], None]
Executor = Callable[[Session, Principal, str, dict[str, Any]], None]
_executors: dict[str, tuple[Checker, Executor]] = {}


def register_executor(action: str, check: Checker, execute: Executor) -> None:
    """Let the module owning ``action`` say how to check access to its object and how to carry it out."""
    _executors[action] = (check, execute)


def needs_second_person(principal: Principal, action: str) -> bool:
    """True when ``principal`` may not do ``action`` alone (administrators at the CLI act alone, audited)."""
    return action in policy("security").value("dual_control_actions") and principal.role.value == "regulator"


def request(
    session: Session,
    principal: Principal,
    *,
    action: str,
    object_type: str,
    object_id: str,
    params: dict[str, Any],
    reason: str,
) -> Approval:
    """File a request for ``action``; it takes effect when a second person approves it."""
    authorize(principal, action)
    check, _ = _executor(action)
    check(session, principal, object_id)
    days = policy("security").value("approval_validity_days")
    approval = Approval(
        id=new_id(),
        action=action,
        object_type=object_type,
        object_id=object_id,
        params=params,
        reason=mask_free_text(reason),
        requested_by=principal.actor,
        requested_role=principal.role.value,
        expires_at=utc_now() + dt.timedelta(days=days),
    )
    session.add(approval)
    session.flush()
    record_change(session, principal, "approvals.request", "approval", approval.id, {"action": action})
    return approval


def _executor(action: str) -> tuple[Checker, Executor]:
    try:
        return _executors[action]
    except KeyError:
        raise ValidationFailed(
            f"no executor for {action}", errors=[FieldError("action", "not wired for dual control")]
        ) from None


def _open(session: Session, principal: Principal, approval_id: str, now: dt.datetime) -> Approval:
    approval = session.get(Approval, approval_id)
    if approval is None:
        raise ApprovalNotFound(f"no approval request {approval_id}")
    authorize(principal, approval.action)
    check, _ = _executor(approval.action)
    try:
        check(session, principal, approval.object_id)
    except NotFound:
        raise ApprovalNotFound(f"no approval request {approval_id}") from None
    if approval.state == "pending" and approval.expires_at <= now:
        approval.state = "lapsed"
        session.flush()
    if approval.state != "pending":
        raise ApprovalClosed(f"the request is {approval.state}")
    return approval


def approve(session: Session, principal: Principal, approval_id: str, *, note: str | None = None) -> Approval:
    """Approve a pending request as a second person; the action runs in the same transaction."""
    now = utc_now()
    approval = _open(session, principal, approval_id, now)
    if approval.requested_by == principal.actor:
        raise SamePerson("the person who asked cannot approve")
    approval.state = "approved"
    approval.decided_by = principal.actor
    approval.decided_at = now
    approval.decision_note = mask_free_text(note) if note else None
    session.flush()
    record_change(
        session, principal, "approvals.approve", "approval", approval.id, {"action": approval.action}
    )
    _, execute = _executor(approval.action)
    execute(session, principal, approval.object_id, dict(approval.params))
    return approval


def reject(session: Session, principal: Principal, approval_id: str, *, note: str) -> Approval:
    """Turn a pending request down (anyone allowed the action, including the requester withdrawing it)."""
    now = utc_now()
    approval = _open(session, principal, approval_id, now)
    approval.state = "rejected"
    approval.decided_by = principal.actor
    approval.decided_at = now
    approval.decision_note = mask_free_text(note)
    session.flush()
    record_change(
        session, principal, "approvals.reject", "approval", approval.id, {"action": approval.action}
    )
    return approval


def pending(session: Session, principal: Principal, *, limit: int = 100) -> Sequence[Approval]:
    """Pending requests for actions the caller may decide, on objects the caller may see."""
    rows = session.scalars(
        select(Approval)
        .where(Approval.state == "pending", Approval.expires_at > utc_now())
        .order_by(Approval.id)
    ).all()
    out = []
    for approval in rows:
        try:
            authorize(principal, approval.action)
            _executor(approval.action)[0](session, principal, approval.object_id)
        except (Forbidden, NotFound):
            continue
        out.append(approval)
        if len(out) >= limit:
            break
    return out
