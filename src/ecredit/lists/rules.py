"""The listing procedure as a pure transition table (DOMAIN.md §2.3; RELIABILITY.md C11).

``allowed(state, action, role)`` answers whether ``role`` may take ``action`` on an entry in ``state`` for
*some* list type; ``next_state(list_type, state, action)`` is the precise answer for one type, honouring
its optional steps (``ListType.steps``: notify, defence, review, higher_approval; nominate, decide and
publish are always required). Pure: no database, no clock. The service adds what needs either (who
nominated, which region, whether a window has run out, the calendar).

Paths (the optional steps in brackets)::

    None --nominate--> nominated [--notify--> notified [--record_defence|close_defence--> defence_recorded]]
         [--review--> reviewed] --decide--> decided [--approve_higher--> approved] --publish--> published
    any pending state --drop--> dropped          (no basis; the party proves no intent, Order 44 Art. 12)
    published --withdraw--> withdrawn | --expire--> expired | --repair--> repaired (repairable types)
    published --object / answer_objection--> published  (an objection does not change the entry's state)
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from ecredit.lists.catalogue import ListType
from ecredit.lists.models import PENDING_STATES, EntryState
from ecredit.security.principals import Role


class Action(enum.StrEnum):
    nominate = "nominate"
    notify = "notify"
    record_defence = "record_defence"
    close_defence = "close_defence"
    review = "review"
    decide = "decide"
    approve_higher = "approve_higher"
    publish = "publish"
    withdraw = "withdraw"
    object = "object"
    answer_objection = "answer_objection"
    expire = "expire"
    repair = "repair"
    drop = "drop"


S = EntryState
STAFF = frozenset({Role.regulator, Role.admin})

# Who may take each action. ``security/permissions.py`` holds the same table as ``lists.<action>`` (floor 1
# cannot import this module); tests/lists/test_rules.py checks that the two agree.
ROLES: Mapping[Action, frozenset[Role]] = {
    Action.nominate: STAFF,
    Action.notify: STAFF,
    Action.record_defence: STAFF,  # staff record the statement the party filed (in writing or in person)
    Action.close_defence: STAFF,
    Action.review: STAFF,
    Action.decide: STAFF,
    Action.approve_higher: STAFF,
    Action.publish: STAFF,
    Action.withdraw: STAFF,
    Action.object: frozenset({Role.regulator, Role.admin, Role.platform}),  # a platform for its merchant
    Action.answer_objection: STAFF,
    Action.expire: frozenset({Role.admin}),  # the daily job (ecredit lists run-expiry)
    Action.repair: STAFF,  # the responsible department decides (谁认定、谁修复)
    Action.drop: STAFF,
}

# The states each action may start from, for some list type (the union over the optional steps).
_SOURCES: Mapping[Action, frozenset[EntryState | None]] = {
    Action.nominate: frozenset({None}),
    Action.notify: frozenset({S.nominated}),
    Action.record_defence: frozenset({S.notified}),
    Action.close_defence: frozenset({S.notified}),
    Action.review: frozenset({S.nominated, S.notified, S.defence_recorded}),
    Action.decide: frozenset({S.nominated, S.notified, S.defence_recorded, S.reviewed}),
    Action.approve_higher: frozenset({S.decided}),
    Action.publish: frozenset({S.decided, S.approved}),
    Action.withdraw: frozenset({S.published}),
    Action.object: frozenset({S.published}),
    Action.answer_objection: frozenset({S.published}),
    Action.expire: frozenset({S.published}),
    Action.repair: frozenset({S.published}),
    Action.drop: PENDING_STATES,
}

# Actions recorded in the history that leave the state as it is.
STAYING = frozenset({Action.object, Action.answer_objection})


def allowed(state: EntryState | str | None, action: Action | str, role: Role | str) -> bool:
    """True when ``role`` may take ``action`` on an entry in ``state`` for at least one list type."""
    try:
        act = Action(action)
        who = Role(role)
        current = None if state is None else EntryState(state)
    except ValueError:
        return False
    return who in ROLES[act] and current in _SOURCES[act]


def _before_review(t: ListType) -> EntryState:
    """The state an entry of type ``t`` is in when the steps before review are done."""
    if t.requires("defence"):
        return S.defence_recorded
    if t.requires("notify"):
        return S.notified
    return S.nominated


def _before_decision(t: ListType) -> EntryState:
    return S.reviewed if t.requires("review") else _before_review(t)


def next_state(
    list_type: ListType, state: EntryState | str | None, action: Action | str
) -> EntryState | None:
    """The state ``action`` leads to from ``state`` for ``list_type``; None when the step is not allowed
    there (a step the type does not have, a step skipped, a step out of order, a closed entry)."""
    try:
        act = Action(action)
        current = None if state is None else EntryState(state)
    except ValueError:
        return None
    t = list_type
    match act:
        case Action.nominate:
            return S.nominated if current is None else None
        case Action.notify:
            return S.notified if t.requires("notify") and current is S.nominated else None
        case Action.record_defence | Action.close_defence:
            return S.defence_recorded if t.requires("defence") and current is S.notified else None
        case Action.review:
            return S.reviewed if t.requires("review") and current is _before_review(t) else None
        case Action.decide:
            return S.decided if current is _before_decision(t) else None
        case Action.approve_higher:
            return S.approved if t.requires("higher_approval") and current is S.decided else None
        case Action.publish:
            ready = S.approved if t.requires("higher_approval") else S.decided
            return S.published if current is ready else None
        case Action.withdraw:
            return S.withdrawn if current is S.published else None
        case Action.expire:
            return S.expired if current is S.published else None
        case Action.repair:
            return S.repaired if t.repairable and current is S.published else None
        case Action.object | Action.answer_objection:
            return S.published if current is S.published else None
        case Action.drop:
            return S.dropped if current in PENDING_STATES else None
    return None  # pragma: no cover  (match is exhaustive over Action)


def path(list_type: ListType) -> tuple[Action, ...]:
    """The steps from nomination to publication for ``list_type``, in order (its happy path)."""
    steps = [Action.nominate]
    if list_type.requires("notify"):
        steps.append(Action.notify)
    if list_type.requires("defence"):
        steps.append(Action.record_defence)
    if list_type.requires("review"):
        steps.append(Action.review)
    steps.append(Action.decide)
    if list_type.requires("higher_approval"):
        steps.append(Action.approve_higher)
    steps.append(Action.publish)
    return tuple(steps)


def next_steps(list_type: ListType, state: EntryState | str | None) -> tuple[Action, ...]:
    """Every action that ``next_state`` accepts from ``state`` for ``list_type`` (shown to staff)."""
    return tuple(a for a in Action if next_state(list_type, state, a) is not None)
