"""Intake announces ``RecordsAccepted`` in the transaction that commits a batch (DESIGN.md §14): once per
accepted batch, with the batch's valid rows; never for a replay, a refused batch or a batch loaded before."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ecredit.analytics.models import LakeBatch
from ecredit.intake import loads
from ecredit.intake.events import RecordsAccepted
from ecredit.kit import events
from ecredit.security.principals import system
from tests.builders import make_platform, make_shop
from tests.intake.helpers import order, write_csv


@pytest.fixture
def heard() -> Iterator[list[tuple[RecordsAccepted, bool]]]:
    """The events announced, each with whether its batch's manifest row was visible to the handler."""
    seen: list[tuple[RecordsAccepted, bool]] = []

    def listen(session: Session, event: RecordsAccepted) -> None:
        in_transaction = (
            session.scalar(select(LakeBatch.id).where(LakeBatch.id == event.batch_id)) is not None
        )
        seen.append((event, in_transaction))

    events.subscribe(RecordsAccepted, listen)
    yield seen
    events._handlers[RecordsAccepted].remove(listen)


@pytest.fixture
def platform(session):
    p = make_platform(session, code="qilu")
    make_shop(session, platform=p, platform_shop_id="S-1")
    return p


def post(client, records, key):
    return client.post("/api/v1/intake/orders", json=records, headers={"Idempotency-Key": key})


class TestRest:
    def test_once_per_accepted_batch_inside_its_transaction(self, client_as, platform, heard):
        api = client_as("platform", platform=platform)
        r = post(api, [order(i) for i in range(3)], "k-1")
        assert r.status_code == 201
        ((event, in_transaction),) = heard
        assert (event.kind, event.platform, event.batch_id, event.source) == (
            "orders",
            "qilu",
            r.json()["batch_id"],
            "rest",
        )
        assert in_transaction and event.records.column("order_id").to_pylist() == ["O-0", "O-1", "O-2"]
        assert Path(event.lake_root).is_dir()

        assert post(api, [order(i) for i in range(3)], "k-1").headers["Idempotent-Replayed"] == "true"
        assert post(api, [order(9, amount_cents=-1)], "k-2").status_code == 422
        assert len(heard) == 1


class TestFiles:
    def test_once_per_committed_batch_and_not_again_on_a_rerun(self, isolated_store, heard):
        from ecredit import db, migrate

        migrate.upgrade(db.get_engine())
        with db.session_scope() as session:
            p = make_platform(session, code="qilu")
            make_shop(session, platform=p, platform_shop_id="S-1")
        path = write_csv(isolated_store / "orders.csv", [order(i) for i in range(5)] + [order(7, shop="NO")])
        admin = system("test")
        summary = loads.ingest_file(path, platform="qilu", principal=admin, batch_rows=2)
        assert (summary.loaded, summary.rejected, summary.batches) == (5, 1, 3)
        assert [(e.source, e.records.num_rows, inside) for e, inside in heard] == [
            ("file", 2, True),
            ("file", 2, True),
            ("file", 1, True),
        ]
        loads.ingest_file(path, platform="qilu", principal=admin, batch_rows=2)
        assert len(heard) == 3
