"""RELIABILITY.md C11 and C12 through the REST API: a hypothesis state machine drives random sequences of
steps by random roles (and lets the clock run). No step the transition table forbids is ever accepted; a
refused step (401/403/404/409/422) changes nothing (state, history, audit); every accepted step adds
exactly its history row and its audit entry, by the caller's role, and lands on the table's state."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from sqlalchemy import func, select

from ecredit.kit import clock
from ecredit.lists import rules
from ecredit.lists.catalogue import catalogue
from ecredit.lists.models import ListEntry, ListEntryEvent, Objection
from ecredit.lists.rules import Action
from ecredit.security.audit import AuditEntry
from ecredit.security.principals import Role
from tests.builders import make_platform, make_record, make_subject

START = dt.date(2026, 6, 1)
LEAVING = {Action.drop, Action.withdraw}  # the forward rule leaves these to the random one
NO_SUCH = "01ARZ3NDEKTSV4RRFFQ69G5FAV"

# action -> (path, body for the day)
ROUTES = {
    Action.notify: ("notify", lambda day: {"reason": "告知"}),
    Action.record_defence: (
        "record-defence",
        lambda day: {"statement": "申辩意见", "filed_on": day.isoformat()},
    ),
    Action.close_defence: ("close-defence", lambda day: {"reason": "期满"}),
    Action.review: ("review", lambda day: {"reason": "复核"}),
    Action.decide: ("decide", lambda day: {"reason": "决定"}),
    Action.approve_higher: ("approve", lambda day: {"reason": "批准"}),
    Action.publish: ("publish", lambda day: {"reason": "公示"}),
    Action.withdraw: ("withdraw", lambda day: {"reason": "依据撤销", "basis_revoked_on": day.isoformat()}),
    Action.drop: ("drop", lambda day: {"reason": "不予列入", "ground": "no_basis"}),
    Action.object: ("objections", lambda day: {"grounds": "异议理由", "filed_on": day.isoformat()}),
    Action.answer_objection: ("answer", lambda day: {"upheld": False, "answer": "异议不成立"}),
}


def test_no_illegal_step_is_ever_accepted(session, client_as):
    platform = make_platform(session)
    actors = {
        "county_a": (client_as("regulator", region="370102", department="market"), Role.regulator),
        "county_b": (client_as("regulator", region="370102", department="market"), Role.regulator),
        "city": (client_as("regulator", region="3701", department="market"), Role.regulator),
        "commerce": (client_as("regulator", region="370102", department="commerce"), Role.regulator),
        "admin": (client_as("admin"), Role.admin),
        "platform": (client_as("platform", platform=platform), Role.platform),
        "bank": (client_as("bank"), Role.bank),
        "public": (client_as(None), Role.public),
    }
    types = sorted(catalogue().types)
    seen: set[str] = set()
    turns = itertools.count()
    refused: set[int] = set()

    class Procedure(RuleBasedStateMachine):
        @initialize()
        def nominate(self):
            list_type = types[next(turns) % len(types)]  # each type in turn: every procedure is walked
            self.day = START
            self.accepted: list[str] = []
            subject = make_subject(session)
            record = make_record(session, subject, today=START)
            client, _ = actors["county_a"]
            with clock.frozen_today(self.day):
                r = client.post(
                    "/api/v1/lists/entries",
                    json={
                        "subject_id": subject.id,
                        "list_type": list_type,
                        "reason": "提名",
                        "basis_record_ids": [record.id],
                        "evidence": {"k": "v"},
                    },
                )
            assert r.status_code == 201, r.text
            self.entry_id = r.json()["id"]
            self.list_type = catalogue().list_type(list_type)

        def _snapshot(self):
            session.expire_all()
            entry = session.get(ListEntry, self.entry_id)
            history = session.scalar(
                select(func.count())
                .select_from(ListEntryEvent)
                .where(ListEntryEvent.entry_id == self.entry_id)
            )
            audits = session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.object_id == self.entry_id)
                .order_by(AuditEntry.seq)
            ).all()
            return entry.state, history, list(audits)

        def _objection_id(self) -> str:
            open_one = session.scalars(
                select(Objection.id).where(
                    Objection.entry_id == self.entry_id, Objection.status.in_(["registered", "verifying"])
                )
            ).first()
            return open_one or NO_SUCH

        @rule(days=st.integers(min_value=1, max_value=9))
        def time_passes(self, days):
            self.day += dt.timedelta(days=days)

        @rule(action=st.sampled_from(list(ROUTES)), who=st.sampled_from(sorted(actors)))
        def step(self, action, who):
            self._take(action, who)

        @rule(
            pick=st.integers(min_value=0, max_value=10),
            who=st.sampled_from(["county_b", "city", "admin"]),
        )
        def forward(self, pick, who):
            # a forward step the table offers now, by an insider who is not the nominator, so that deep
            # states are reached (the nominator, outsiders and every other step come from ``step``)
            state, _, _ = self._snapshot()
            offered = [a for a in rules.next_steps(self.list_type, state) if a in ROUTES and a not in LEAVING]
            if offered:
                self._take(offered[pick % len(offered)], who)

        def teardown(self):
            seen.update(getattr(self, "accepted", []))

        def _take(self, action, who):
            client, role = actors[who]
            path, body = ROUTES[action]
            if action is Action.answer_objection:
                url = f"/api/v1/lists/objections/{self._objection_id()}/answer"
            else:
                url = f"/api/v1/lists/entries/{self.entry_id}/{path}"
            state, history, audits = self._snapshot()
            with clock.frozen_today(self.day):
                r = client.post(url, json=body(self.day))
            after_state, after_history, after_audits = self._snapshot()
            assert r.status_code < 500, r.text
            legal = rules.next_state(self.list_type, state, action)
            if r.status_code < 300:
                # accepted: the table allows it, for this role, and it lands where the table says
                where = (self.list_type.key, state, action, who)
                assert legal is not None and rules.allowed(state, action, role), where
                if action is Action.answer_objection:
                    assert after_state == state
                else:
                    assert after_state == legal.value
                assert after_history == history + 1
                assert after_audits == [*audits, f"lists.{action.value}"]
                row = session.scalars(
                    select(ListEntryEvent)
                    .where(ListEntryEvent.entry_id == self.entry_id)
                    .order_by(ListEntryEvent.seq.desc())
                ).first()
                assert (row.action, row.from_state, row.to_state, row.role) == (
                    action.value,
                    state,
                    after_state,
                    role.value,
                )
                self.accepted.append(action.value)
            else:
                assert r.status_code in (401, 403, 404, 409, 422), r.text
                refused.add(r.status_code)
                assert r.headers["content-type"].startswith("application/problem+json")
                assert (after_state, after_history, after_audits) == (state, history, audits)
                if legal is None and r.status_code not in (401, 403, 404):
                    assert r.status_code == 409, r.text  # out of order: a conflict, never a 422

    run_state_machine_as_test(
        Procedure,
        settings=settings(
            max_examples=40,
            stateful_step_count=40,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
    # the run went deep: every kind of step was accepted somewhere
    assert seen >= {"notify", "record_defence", "review", "decide", "approve_higher", "publish", "object"}, (
        seen
    )
    assert refused >= {401, 403, 409}, refused
