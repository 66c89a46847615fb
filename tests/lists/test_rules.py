"""The transition table of the listing procedure, exhaustively (RELIABILITY.md C11)."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from ecredit.lists import rules
from ecredit.lists.catalogue import catalogue
from ecredit.lists.models import PENDING_STATES, TERMINAL_STATES, EntryState
from ecredit.lists.rules import Action, allowed, next_state
from ecredit.security.permissions import PERMISSIONS
from ecredit.security.principals import Role

TYPES = catalogue().types
STATES: list[EntryState | None] = [None, *EntryState]


class TestTheTableAgreesWithItself:
    @pytest.mark.parametrize("key", sorted(TYPES))
    def test_every_step_a_type_accepts_is_allowed_for_exactly_its_roles(self, key):
        t = TYPES[key]
        for state, action, role in itertools.product(STATES, Action, Role):
            if next_state(t, state, action) is not None:
                assert allowed(state, action, role) == (role in rules.ROLES[action]), (state, action, role)

    def test_every_allowed_step_is_accepted_by_some_type_or_needs_an_optional_step(self):
        # allowed() is the union over the steps a type may have: for each (state, action) it accepts there
        # is a combination of optional steps for which next_state accepts it too.
        base = TYPES["samr_serious"]
        variants = [
            dataclasses.replace(base, steps=tuple(s), repairable=True)
            for n in range(5)
            for s in itertools.combinations(("notify", "defence", "review", "higher_approval"), n)
            if "defence" not in s or "notify" in s
        ]
        for state, action in itertools.product(STATES, Action):
            if allowed(state, action, Role.admin) or allowed(state, action, Role.regulator):
                assert any(next_state(v, state, action) is not None for v in variants), (state, action)

    def test_the_roles_match_the_permission_table(self):
        for action, roles in rules.ROLES.items():
            assert set(PERMISSIONS[f"lists.{action.value}"]) == set(roles), action


class TestPaths:
    @pytest.mark.parametrize("key", sorted(TYPES))
    def test_the_happy_path_reaches_published_and_nothing_else_is_accepted_on_the_way(self, key):
        t = TYPES[key]
        state: EntryState | None = None
        for step in rules.path(t):
            forward = next_state(t, state, step)
            assert forward is not None, (state, step)
            # from every state on the way, only the next step, drop (pending) and the
            # neighbouring defence action are accepted among the forward steps
            others = [
                a
                for a in Action
                if a not in (step, Action.drop, Action.close_defence, Action.record_defence)
                and next_state(t, state, a) is not None
            ]
            assert others == [], (state, others)
            state = forward
        assert state is EntryState.published

    def test_the_serious_list_needs_every_optional_step(self):
        t = TYPES["samr_serious"]
        assert rules.path(t) == (
            Action.nominate,
            Action.notify,
            Action.record_defence,
            Action.review,
            Action.decide,
            Action.approve_higher,
            Action.publish,
        )
        assert next_state(t, EntryState.nominated, Action.review) is None  # no skipping the notice
        assert next_state(t, EntryState.decided, Action.publish) is None  # no publishing unapproved
        assert next_state(t, EntryState.notified, Action.close_defence) is EntryState.defence_recorded

    def test_a_type_without_a_step_refuses_it(self):
        red = TYPES["red_trustworthy"]  # review only
        assert next_state(red, EntryState.nominated, Action.notify) is None
        assert next_state(red, EntryState.nominated, Action.review) is EntryState.reviewed
        assert next_state(red, EntryState.decided, Action.approve_higher) is None
        assert next_state(red, EntryState.decided, Action.publish) is EntryState.published
        abnormal = TYPES["abnormal_operation"]  # notify, review: no defence window
        assert next_state(abnormal, EntryState.notified, Action.record_defence) is None
        assert next_state(abnormal, EntryState.notified, Action.review) is EntryState.reviewed

    def test_published_entries_leave_only_by_withdrawal_expiry_or_repair(self):
        t = TYPES["ecommerce_fake_trading"]
        leaving = {a: next_state(t, EntryState.published, a) for a in Action}
        assert {a for a, s in leaving.items() if s not in (None, EntryState.published)} == {
            Action.withdraw,
            Action.expire,
            Action.repair,
        }
        assert leaving[Action.object] is EntryState.published  # objections do not change the state
        assert next_state(TYPES["red_trustworthy"], EntryState.published, Action.repair) is None

    @pytest.mark.parametrize("state", sorted(TERMINAL_STATES))
    def test_closed_entries_accept_nothing(self, state):
        for t, action, role in itertools.product(TYPES.values(), Action, Role):
            assert next_state(t, state, action) is None
            assert not allowed(state, action, role)

    @pytest.mark.parametrize("state", sorted(PENDING_STATES))
    def test_every_pending_entry_may_be_dropped_by_staff_only(self, state):
        assert allowed(state, Action.drop, Role.regulator) and allowed(state, Action.drop, Role.admin)
        for role in set(Role) - {Role.regulator, Role.admin}:
            assert not allowed(state, Action.drop, role)

    def test_nobody_outside_the_authorities_takes_a_procedural_step(self):
        outsiders = {Role.public, Role.bank, Role.department, Role.agency}
        for state, action, role in itertools.product(STATES, Action, outsiders):
            assert not allowed(state, action, role)
        assert allowed(EntryState.published, Action.object, Role.platform)
        assert not allowed(EntryState.published, Action.withdraw, Role.platform)
        assert not allowed(EntryState.published, Action.expire, Role.regulator)

    def test_unknown_values_are_refused(self):
        t = TYPES["samr_serious"]
        assert not allowed("nominated", "promote", "admin")
        assert not allowed("limbo", "notify", "admin")
        assert not allowed("nominated", "notify", "root")
        assert next_state(t, "limbo", "notify") is None and next_state(t, "nominated", "promote") is None


class TestNextSteps:
    def test_next_steps_name_what_may_follow(self):
        t = TYPES["ecommerce_fake_trading"]
        assert rules.next_steps(t, EntryState.notified) == (
            Action.record_defence,
            Action.close_defence,
            Action.drop,
        )
        assert rules.next_steps(t, None) == (Action.nominate,)
