"""RELIABILITY.md C9 and C10 for intake: kill -9 the server while platforms stream batches, restart it, retry
the unacknowledged batches with their keys, and check that every acknowledged batch is stored exactly once,
with its audit entry, and that nothing half-written is visible (on SQLite, and on PostgreSQL when
``ECREDIT_TEST_DATABASE_URL`` is set)."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import func, select, text

from tests.intake.helpers import order

BATCHES = 40
PER_BATCH = 100
KILL_AFTER_ACKS = 8
DEADLINE_S = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, port: int) -> None:
        self.port = port
        exe = Path(sys.executable).with_name("ecredit")
        env = os.environ | {"ECREDIT_INTAKE_LEASE_SECONDS": "2"}
        self.proc = subprocess.Popen(
            [str(exe), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started = time.monotonic()
        while time.monotonic() - started < 30:
            try:
                status, _, _ = request(port, "GET", "/healthz", None, {})
                if status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError("the server did not start")

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def request(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str]):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


@pytest.mark.slow
def test_kill_9_mid_stream_loses_nothing_acknowledged_and_stores_nothing_twice(isolated_store):
    from ecredit import db, migrate
    from ecredit.analytics.lake import Lake
    from ecredit.analytics.models import LakeBatch, LakeFile
    from ecredit.intake.models import IntakeRequest
    from ecredit.security import audit, credentials
    from ecredit.security.audit import AuditEntry
    from ecredit.security.principals import Role
    from tests.builders import make_platform, make_shop

    migrate.upgrade(db.get_engine())
    with db.session_scope() as session:
        platform = make_platform(session, code="crashplat")
        make_shop(session, platform=platform, platform_shop_id="S-1")
        token = credentials.create_api_key(
            session, role=Role.platform, label="crash", created_by="test", platform_id=platform.id
        ).token
    db.get_engine().dispose()

    bodies = {k: json.dumps([order(k * 1000 + i) for i in range(PER_BATCH)]).encode() for k in range(BATCHES)}

    def post(port: int, k: int):
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"batch-{k}",
        }
        return request(port, "POST", "/api/v1/intake/orders", bodies[k], headers)

    acked: dict[int, dict] = {}
    lock = threading.Lock()
    next_batch = iter(range(BATCHES))
    started = time.monotonic()

    # Phase 1: two clients stream batches; the server is killed with requests in flight.
    server = Server(_free_port())
    try:

        def client() -> None:
            while True:
                with lock:
                    k = next(next_batch, None)
                if k is None:
                    return
                try:
                    status, _, body = post(server.port, k)
                except OSError:
                    return  # the server died: this batch is not acknowledged
                if status == 201:
                    with lock:
                        acked[k] = json.loads(body)

        threads = [threading.Thread(target=client) for _ in range(2)]
        for t in threads:
            t.start()
        while len(acked) < KILL_AFTER_ACKS and any(t.is_alive() for t in threads):
            time.sleep(0.005)
        server.kill()
        for t in threads:
            t.join(30)
    finally:
        server.stop()
    assert KILL_AFTER_ACKS <= len(acked) < BATCHES, "the kill did not land mid-stream"

    # Phase 2: restart, retry every unacknowledged batch with its key; replay a few acknowledged ones.
    server = Server(_free_port())
    try:
        answers: dict[int, dict] = {}
        for k in [*range(BATCHES), *list(acked)[:3]]:
            while True:
                assert time.monotonic() - started < DEADLINE_S, "retries took too long"
                status, headers, body = post(server.port, k)
                if status == 409:  # the killed request's claim: wait for its lease to run out
                    time.sleep(float(headers.get("Retry-After", "1")))
                    continue
                assert status == 201, body
                answers[k] = json.loads(body)
                break
        for k, first in acked.items():
            assert answers[k] == first, "an acknowledged batch must get its first answer"
    finally:
        server.stop()

    # Every acknowledged batch is stored exactly once, with the batch id it was acknowledged with.
    engine = db.get_engine()
    with db.session_scope(read_only=True) as session:
        batches = session.scalars(select(LakeBatch).where(LakeBatch.source == "rest")).all()
        by_key = {b.idempotency_key: b for b in batches}
        assert len(batches) == BATCHES == len(by_key)
        for k, first in acked.items():
            assert by_key[f"rest:batch-{k}"].id == first["batch_id"]
            assert by_key[f"rest:batch-{k}"].rows == PER_BATCH
        assert all(b.rows == PER_BATCH for b in batches)
        # C10: one audit entry per stored batch, and the chain verifies.
        audited = session.scalar(select(func.count()).where(AuditEntry.action == "intake.submit"))
        assert audited == BATCHES
        assert audit.verify_chain(session).ok
        assert session.scalar(select(func.count()).where(IntakeRequest.state != "done")) == 0
        # Nothing half-written is visible: every listed file exists, is complete and matches its checksum.
        files = Lake.active_files(session, "orders")
        lake = Lake()
        for f in files:
            data = (lake.root / f.path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == f.sha256
        listed_batches = set(session.scalars(select(LakeFile.batch_id).distinct()))
        assert listed_batches == {b.id for b in batches}
        con = duckdb.connect()
        source = lake.source_sql(lake.paths(files))
        total, distinct = con.execute(f"SELECT count(*), count(DISTINCT order_id) FROM {source}").fetchone()
        assert total == distinct == BATCHES * PER_BATCH
        stats = lake.stats(session)["orders"]
        assert stats["records"] == stats["rows"] == BATCHES * PER_BATCH
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
