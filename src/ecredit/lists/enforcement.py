"""Platform enforcement orders (联合惩戒 on the platforms, DESIGN.md §7, DOMAIN.md §2.7).

When a black-list entry is published (``ListEntryPublished``), every measure of its list type that carries a
``platform_order`` becomes an order to every platform where the subject operates: one per shop for measures
with target ``shops``, one per platform otherwise. Each is due in the measure's ``order_deadline_workdays``
working days on the Chinese calendar (a deadline in a year without calendar data is flagged ``due_unknown``,
never guessed). Publishing again (a retry) issues nothing twice. The subject's shops' trusted marks are
revoked through verification at the same time (DESIGN.md §14).

When the entry leaves the list (``ListEntryRemoved``: expired, repaired, withdrawn), its orders are lifted:
the platform must undo the measure within ``lift_within_workdays`` and report it.

Platforms report completion and the undo through the API; a report after the deadline is kept and marked
late. Late or missing feedback is an indicator of the platform's own evaluation (scoring reads a snapshot of
the ``enforcement_order`` table: ``platform/enforcement_feedback.sql``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from ecredit.errors import Conflict, FieldError, NotFound
from ecredit.kit.clock import today as legal_today
from ecredit.kit.ids import new_id
from ecredit.kit.workdays import CalendarUnknown, add_workdays
from ecredit.lists import check_repository as repo
from ecredit.lists.catalogue import Catalogue, catalogue
from ecredit.lists.events import ListEntryPublished, ListEntryRemoved
from ecredit.lists.models import Colour, EnforcementOrder, ListEntry, OrderStatus
from ecredit.security.masking import mask_free_text
from ecredit.security.permissions import authorize
from ecredit.security.principals import Principal, system
from ecredit.security.trail import record_change
from ecredit.subjects.models import ORGANISATION_KINDS
from ecredit.verification import service as verification_service

LISTS = system("lists")
_PUBLIC_KINDS = frozenset(k.value for k in ORGANISATION_KINDS)
_OPEN = frozenset({OrderStatus.issued.value, OrderStatus.completed.value})


class OrderNotFound(NotFound):
    code = "orders.not_found"


class OrderStateConflict(Conflict):
    code = "orders.invalid_state"


def _due(start: dt.date, workdays: int) -> tuple[dt.date | None, bool]:
    """(deadline, unknown?): ``workdays`` working days after ``start``; unknown past the calendar's data."""
    try:
        return add_workdays(start, workdays), False
    except CalendarUnknown:
        return None, True


# ---------------------------------------------------------------- issuing and lifting (event handlers)


def on_entry_published(session: Session, event: ListEntryPublished) -> None:
    """``ListEntryPublished`` → orders to the platforms and marks revoked (black lists only)."""
    if event.colour != Colour.black.value:
        return
    issue_orders(session, event.entry_id)


def on_entry_removed(session: Session, event: ListEntryRemoved) -> None:
    """``ListEntryRemoved`` → the entry's orders are lifted."""
    lift_orders(session, event.entry_id, reason=event.reason)


def issue_orders(
    session: Session, entry_id: str, *, today: dt.date | None = None, cat: Catalogue | None = None
) -> list[EnforcementOrder]:
    """Issue the orders of a published black-list entry (idempotent); returns the orders issued now."""
    cat = cat or catalogue()
    entry = repo.get_entry(session, entry_id)
    if entry is None or entry.colour != Colour.black.value:
        return []
    lt = cat.list_type(entry.list_type)
    measures = [m for m in cat.measures_of(lt.key) if m.platform_order]
    issued_on = entry.published_on or today or legal_today()
    shops = repo.shops_of_subjects(session, [entry.subject_id])
    have = repo.order_keys_of_entry(session, entry.id)
    rows: list[EnforcementOrder] = []
    for m in measures:
        due_on, unknown = _due(issued_on, int(m.order_deadline_workdays or 0))
        if m.target == "shops":
            targets = [(platform_id, shop_id) for _, shop_id, platform_id, _ in shops]
        else:  # the subject's accounts on each platform where it operates
            targets = sorted({(platform_id, None) for _, _, platform_id, _ in shops})
        for platform_id, shop_id in targets:
            if (platform_id, m.key, shop_id) in have:
                continue
            have.add((platform_id, m.key, shop_id))
            rows.append(
                EnforcementOrder(
                    id=new_id(),
                    entry_id=entry.id,
                    platform_id=platform_id,
                    shop_id=shop_id,
                    measure=m.key,
                    order_kind=m.platform_order,
                    status=OrderStatus.issued.value,
                    issued_on=issued_on,
                    due_on=due_on,
                    due_unknown=unknown,
                    legal_basis=f"{m.legal_basis}；{lt.legal_basis}",
                    policy_version=cat.version,
                )
            )
    if rows:
        session.add_all(rows)
        session.flush()
        record_change(
            session,
            LISTS,
            "orders.issue",
            "list_entry",
            entry.id,
            {
                "orders": len(rows),
                "platforms": len({r.platform_id for r in rows}),
                "measures": sorted({r.measure for r in rows}),
            },
        )
    if any(m.platform_order == "revoke_mark" for m in measures):
        _revoke_marks(session, entry, [shop_id for _, shop_id, _, _ in shops])
    return rows


def _revoke_marks(session: Session, entry: ListEntry, shop_ids: Sequence[str]) -> None:
    """Revoke the trusted marks of the listed subject's shops (verification's own service)."""
    reason = f"black-list entry {entry.id} ({entry.list_type}) published: measure platform_revoke_mark"
    for shop_id in shop_ids:
        revoked = verification_service.revoke_shop_marks(session, shop_id, reason=reason)
        if revoked:
            record_change(
                session, LISTS, "marks.revoke", "shop", shop_id, {"marks": revoked, "entry_id": entry.id}
            )


def lift_orders(session: Session, entry_id: str, *, reason: str, today: dt.date | None = None) -> int:
    """Lift the open orders of an entry that left the list; returns how many were lifted."""
    today = today or legal_today()
    orders = repo.orders_of_entry(session, entry_id, _OPEN)
    if not orders:
        return 0
    lift_due, _unknown = _due(today, int(catalogue().settings["lift_within_workdays"]))
    for order in orders:
        order.status = OrderStatus.lifted.value
        order.lifted_on = today
        order.lift_due_on = lift_due
    session.flush()
    record_change(
        session,
        LISTS,
        "orders.lift",
        "list_entry",
        entry_id,
        {"orders": len(orders), "reason": reason, "lift_due_on": lift_due.isoformat() if lift_due else None},
    )
    return len(orders)


# ---------------------------------------------------------------- platforms' reports


def _late_after(due_on: dt.date | None) -> dt.date | None:
    """The last day a report is on time: the deadline plus the grace (``late_feedback_grace_workdays``)."""
    if due_on is None:
        return None
    grace = int(catalogue().settings["late_feedback_grace_workdays"])
    if grace <= 0:
        return due_on
    last, unknown = _due(due_on, grace)
    return due_on if unknown else last


def is_late(reported_on: dt.date | None, due_on: dt.date | None) -> bool | None:
    """True when reported after the deadline (None: not reported, or no known deadline)."""
    limit = _late_after(due_on)
    if reported_on is None or limit is None:
        return None
    return reported_on > limit


def is_overdue(order: EnforcementOrder, today: dt.date) -> bool:
    """Past a deadline with no report: issued and not completed, or lifted and not undone."""
    if order.status == OrderStatus.issued.value:
        limit = _late_after(order.due_on)
    elif order.status == OrderStatus.lifted.value:
        limit = _late_after(order.lift_due_on)
    else:
        return False
    return limit is not None and today > limit


def _own_order(session: Session, principal: Principal, order_id: str) -> EnforcementOrder:
    grant = authorize(principal, "orders.report")
    order = repo.get_order(session, order_id, for_update=True)
    if order is None or (grant.platform_id and order.platform_id != grant.platform_id):
        raise OrderNotFound(f"no enforcement order {order_id} of yours")
    return order


def report_completion(
    session: Session, principal: Principal, order_id: str, *, report: str, today: dt.date
) -> dict[str, Any]:
    """The platform carried out the measure. A repeat answers the first report; a report after the
    deadline is recorded and marked late."""
    order = _own_order(session, principal, order_id)
    if order.status == OrderStatus.completed.value:
        return order_views(session, [order], today)[0]
    if order.status != OrderStatus.issued.value:
        raise OrderStateConflict(
            f"order {order_id} is {order.status}: the entry left the list, report the undo instead",
            errors=[FieldError("status", order.status)],
        )
    order.status = OrderStatus.completed.value
    order.reported_on = today
    order.report = mask_free_text(report)
    session.flush()
    late = is_late(today, order.due_on)
    record_change(
        session,
        principal,
        "orders.report",
        "enforcement_order",
        order.id,
        {"late": late, "kind": "completion"},
    )
    return order_views(session, [order], today)[0]


def report_lift(
    session: Session, principal: Principal, order_id: str, *, report: str, today: dt.date
) -> dict[str, Any]:
    """The platform undid the measure of a lifted order (idempotent; a late report is marked late)."""
    order = _own_order(session, principal, order_id)
    if order.status == OrderStatus.lift_confirmed.value:
        return order_views(session, [order], today)[0]
    if order.status != OrderStatus.lifted.value:
        raise OrderStateConflict(
            f"order {order_id} is {order.status}: only a lifted order is undone",
            errors=[FieldError("status", order.status)],
        )
    order.status = OrderStatus.lift_confirmed.value
    order.lift_reported_on = today
    order.report = mask_free_text(f"{order.report or ''}\n[lift] {report}".strip())
    session.flush()
    late = is_late(today, order.lift_due_on)
    record_change(
        session, principal, "orders.report", "enforcement_order", order.id, {"late": late, "kind": "lift"}
    )
    return order_views(session, [order], today)[0]


# ---------------------------------------------------------------- reading


def order_views(session: Session, orders: Sequence[EnforcementOrder], today: dt.date) -> list[dict[str, Any]]:
    """The read form of orders (``OrderRead``), with their lateness and overdue flags."""
    cat = catalogue()
    platforms, shops, entries = repo.order_context(session, orders)
    out = []
    for o in orders:
        subject_id, kind, name, _uscc, list_type = entries.get(o.entry_id, (None, None, None, None, None))
        measure = cat.measures.get(o.measure)
        shop = shops.get(o.shop_id) if o.shop_id else None
        out.append(
            {
                "id": o.id,
                "entry_id": o.entry_id,
                "list_type": list_type,
                "subject_id": subject_id,
                "subject_name": name if kind in _PUBLIC_KINDS else None,
                "platform": platforms.get(o.platform_id, o.platform_id),
                "shop_id": o.shop_id,
                "platform_shop_id": shop[0] if shop else None,
                "measure": o.measure,
                "measure_name_zh": measure.name_zh if measure else None,
                "order_kind": o.order_kind,
                "status": o.status,
                "issued_on": o.issued_on,
                "due_on": o.due_on,
                "due_unknown": o.due_unknown,
                "reported_on": o.reported_on,
                "late": is_late(o.reported_on, o.due_on),
                "overdue": is_overdue(o, today),
                "report": o.report,
                "lifted_on": o.lifted_on,
                "lift_due_on": o.lift_due_on,
                "lift_reported_on": o.lift_reported_on,
                "lift_late": is_late(o.lift_reported_on, o.lift_due_on),
                "legal_basis": o.legal_basis,
                "policy_version": o.policy_version,
            }
        )
    return out


def _page(
    session: Session, rows: Sequence[EnforcementOrder], limit: int, today: dt.date, *, overdue: bool = False
) -> tuple[list[dict[str, Any]], str | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = rows[-1].id if more else None
    if overdue:  # the SQL cut is a superset when a grace is configured: keep exactly the overdue ones
        rows = [o for o in rows if is_overdue(o, today)]
    return order_views(session, rows, today), cursor


def list_orders(
    session: Session,
    principal: Principal,
    *,
    today: dt.date,
    status: str | None = None,
    overdue: bool = False,
    entry_id: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], str | None]:
    """Orders oldest first: a platform's own, every one for staff; ``overdue``: past a deadline unreported."""
    grant = authorize(principal, "orders.read")
    rows = repo.search_orders(
        session,
        platform_id=grant.platform_id,
        status=status,
        overdue_on=_overdue_cut(today) if overdue else None,
        entry_id=entry_id,
        after_id=cursor,
        limit=limit + 1,
    )
    return _page(session, rows, limit, today, overdue=overdue)


def overdue_orders(
    session: Session, principal: Principal, *, today: dt.date, cursor: str | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], str | None]:
    """Every platform's orders past a deadline with no report (the regulators' queue)."""
    authorize(principal, "orders.overdue")
    rows = repo.search_orders(
        session,
        platform_id=None,
        status=None,
        overdue_on=_overdue_cut(today),
        after_id=cursor,
        limit=limit + 1,
    )
    return _page(session, rows, limit, today, overdue=True)


def _overdue_cut(today: dt.date) -> dt.date:
    """The SQL filter's day: a deadline before it has passed (with no grace: today itself)."""
    grace = int(catalogue().settings["late_feedback_grace_workdays"])
    if grace <= 0:
        return today
    # With a grace of g working days, a deadline d has passed when d + g < today: approximate the cut by
    # going back g calendar days (never more than the exact rule), then keep exactly the overdue ones.
    return today - dt.timedelta(days=grace)
