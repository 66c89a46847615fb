"""RELIABILITY.md C8 as a hypothesis state machine: the REST intake never diverges from the model of the
IETF idempotency-key draft (same key + same body → the first answer; same key + other body → 422; still
processing → 409; missing key → 400; keys scoped per platform)."""

from __future__ import annotations

import json
import uuid

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select, update

from ecredit.analytics.models import LakeBatch
from ecredit.intake import loads
from ecredit.intake.models import IntakeRequest
from tests.builders import make_platform, make_shop
from tests.intake.helpers import order, review

# A few bodies: two valid order batches, a valid review batch, and an invalid batch.
BODIES = [
    ("orders", [order(1), order(2)]),
    ("orders", [order(3)]),
    ("reviews", [review(1)]),
    ("orders", [order(4, amount_cents=-1)]),
]
VALID = {0: 2, 1: 1, 2: 1}  # body index -> records stored when accepted


def test_intake_follows_the_idempotency_model(session, client_as):
    platforms = [make_platform(session), make_platform(session)]
    for p in platforms:
        make_shop(session, platform=p, platform_shop_id="S-1")
    clients = [client_as("platform", platform=p) for p in platforms]
    bind = session.get_bind()

    class IntakeModel(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.run = uuid.uuid4().hex[:8]  # keys of earlier examples never collide with this one's
            # (platform, key) -> {"fp": body index, "answer": (status, bytes) | None, "state": ...}
            self.model: dict[tuple[int, str], dict] = {}
            self.stored = [0, 0]  # records accepted per platform in this example

        def key(self, k: int) -> str:
            return f"{self.run}-{k}"

        def raw(self, b: int) -> bytes:
            return json.dumps(BODIES[b][1]).encode()

        def send(self, p: int, k: int, b: int):
            kind = BODIES[b][0]
            return clients[p].post(
                f"/api/v1/intake/{kind}",
                content=self.raw(b),
                headers={"Idempotency-Key": self.key(k), "Content-Type": "application/json"},
            )

        @rule(p=st.integers(0, 1), k=st.integers(0, 2), b=st.integers(0, len(BODIES) - 1))
        def post(self, p: int, k: int, b: int) -> None:
            r = self.send(p, k, b)
            entry = self.model.get((p, k))
            if entry is not None and entry["fp"] != b:
                assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused", r.text
                return
            if entry is not None and entry["state"] == "processing":
                assert r.status_code == 409 and r.headers["retry-after"], r.text
                return
            if entry is not None and entry["state"] == "done":
                assert (r.status_code, r.content) == entry["answer"]
                assert r.headers.get("idempotent-replayed") == "true"
                return
            # New key, or a claim whose request died: this request does the work.
            expected = 201 if b in VALID else 422
            assert r.status_code == expected, r.text
            if expected == 201:
                self.stored[p] += VALID[b]
            self.model[(p, k)] = {"fp": b, "answer": (r.status_code, r.content), "state": "done"}

        @rule(p=st.integers(0, 1))
        def post_without_key(self, p: int) -> None:
            r = clients[p].post("/api/v1/intake/orders", json=BODIES[0][1])
            assert r.status_code == 400 and r.json()["code"] == "idempotency_key_missing"

        @rule(p=st.integers(0, 1), k=st.integers(0, 2), b=st.integers(0, len(BODIES) - 1))
        def start_elsewhere(self, p: int, k: int, b: int) -> None:
            """Another request with this key is in flight (its claim is committed, its work not done)."""
            if (p, k) in self.model:
                return
            fp = loads.fingerprint(BODIES[b][0], "application/json", self.raw(b))
            owner = loads._claim(bind, platforms[p].id, self.key(k), BODIES[b][0], fp, 3600)
            assert isinstance(owner, str)
            self.model[(p, k)] = {"fp": b, "answer": None, "state": "processing"}

        @rule(p=st.integers(0, 1), k=st.integers(0, 2))
        def the_other_request_dies(self, p: int, k: int) -> None:
            """The in-flight request's process died: its lease runs out, and a retry takes it over."""
            entry = self.model.get((p, k))
            if entry is None or entry["state"] != "processing":
                return
            with loads.transaction(bind) as s:
                s.execute(
                    update(IntakeRequest)
                    .where(
                        IntakeRequest.platform_id == platforms[p].id,
                        IntakeRequest.idempotency_key == self.key(k),
                    )
                    .values(lease_until=IntakeRequest.created_at)
                )
            entry["state"] = "abandoned"

        @invariant()
        def each_accepted_batch_is_stored_once(self) -> None:
            for p, platform in enumerate(platforms):
                rows = session.scalar(
                    select(func.coalesce(func.sum(LakeBatch.rows), 0)).where(
                        LakeBatch.platform == platform.code,
                        LakeBatch.idempotency_key.like(f"rest:{self.run}-%"),
                    )
                )
                assert rows == self.stored[p]

    run_state_machine_as_test(
        IntakeModel,
        settings=settings(
            max_examples=25,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
