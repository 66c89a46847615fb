"""Test fixtures: a store built by the Alembic migrations (SQLite by default, PostgreSQL when
``ECREDIT_TEST_DATABASE_URL`` is set), one rolled-back transaction per test, and the app wired to it."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_DATA_DIR = Path(tempfile.mkdtemp(prefix="ecredit-test-"))
os.environ["ECREDIT_DATA_DIR"] = str(_DATA_DIR)
os.environ["ECREDIT_MODE"] = "test"
os.environ.pop("ECREDIT_DATABASE_URL", None)
os.environ.pop("ECREDIT_KEYRING_JSON", None)

from sqlalchemy import Engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from ecredit import migrate  # noqa: E402
from ecredit.config import get_settings  # noqa: E402
from ecredit.db import make_engine  # noqa: E402
from ecredit.security import context  # noqa: E402

PG_URL = os.environ.get("ECREDIT_TEST_DATABASE_URL")


def pytest_report_header(config: pytest.Config) -> str:
    return f"ecredit store under test: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite (embedded)'}"


@pytest.fixture(scope="session")
def spark():
    """The one Spark session of the test process (its JVM takes 15-30 s to start); engines opened with
    ``open_engine("spark")`` are new sessions of it, each with its own temporary views."""
    from ecredit.analytics.engine import spark_session, stop_spark

    session = spark_session()
    yield session
    stop_spark()


def _pg_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@contextlib.contextmanager
def pg_schema(prefix: str) -> Iterator[str | None]:
    """A fresh schema of the PostgreSQL test database, dropped afterwards: yields the URL that uses it, or
    None when the tests run on SQLite."""
    if not PG_URL:
        yield None
        return
    schema = f"{prefix}_{secrets.token_hex(4)}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield _pg_schema_url(PG_URL, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    if PG_URL:
        with pg_schema("t") as url:
            eng = make_engine(url)
            migrate.upgrade(eng)
            yield eng
            eng.dispose()
    else:
        eng = make_engine(f"sqlite:///{_DATA_DIR / 'test.db'}")
        migrate.upgrade(eng)
        yield eng
        eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    connection = engine.connect()
    outer = connection.begin()
    sess = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield sess
    finally:
        sess.close()
        outer.rollback()
        connection.close()


_ULID = re.compile(r"(?<![0-9A-Z])[0-9A-HJKMNP-TV-Z]{26}(?![0-9A-Z])")
_SHA256 = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")

# Responses allowed to carry personal data in clear: the purpose-bound, audited read.
CLEAR_READ_PATHS = ("/personal-data",)


class PiiSweep:
    """ASGI middleware for tests: records every response body that carries a clear ID number or phone
    (RELIABILITY.md C4), except the audited clear-read endpoint."""

    def __init__(self, app):
        self.app = app
        self.hits: list[tuple[str, list[str]]] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].endswith(CLEAR_READ_PATHS):
            await self.app(scope, receive, send)
            return
        from ecredit.security.masking import find_pii

        async def sweeping_send(message):
            if message["type"] == "http.response.body":
                text = message.get("body", b"").decode("utf-8", "replace")
                # Row ids (ULIDs) and document digests (SHA-256 hex) are random: a digit run in one is
                # chance, not a phone number.
                found = find_pii(_SHA256.sub("", _ULID.sub("", text)))
                if found:
                    self.hits.append((scope["path"], found))
            await send(message)

        await self.app(scope, receive, sweeping_send)


@pytest.fixture
def app(session: Session):
    """The application, every request in a savepoint of the test's transaction; every response body is
    swept for clear personal data."""
    from ecredit.app import create_app
    from ecredit.kit.http import db_read_session, db_session

    application = create_app()
    sweep = PiiSweep(application.build_middleware_stack())
    application.middleware_stack = sweep

    def override() -> Iterator[Session]:
        with session.begin_nested():
            yield session

    application.dependency_overrides[db_session] = override
    application.dependency_overrides[db_read_session] = override
    yield application
    assert not sweep.hits, f"clear personal data in responses: {sweep.hits[:3]}"


@pytest.fixture
def make_token(session: Session):
    """Create an API key in the test's transaction: ``make_token("platform", platform=p)``."""
    from ecredit.security import credentials
    from ecredit.security.principals import Role

    def make(role: str, *, platform=None, region: str | None = None, department: str | None = None) -> str:
        new = credentials.create_api_key(
            session,
            role=Role(role),
            label=f"test {role}",
            created_by="test",
            platform_id=platform.id if platform is not None else None,
            region_prefix=region,
            department=department,
        )
        return new.token

    return make


@pytest.fixture
def client_as(app, make_token):
    """``client_as("regulator", region="3701")``: a test client carrying that role's key (None: anonymous)."""
    from fastapi.testclient import TestClient

    clients = []

    def make(role: str | None, **scope):
        headers = {"Authorization": f"Bearer {make_token(role, **scope)}"} if role else {}
        c = TestClient(app, raise_server_exceptions=False, headers=headers)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    from ecredit.security.ratelimit import buckets

    buckets.reset()


@pytest.fixture
def client(client_as):
    """A test client with an administrator's key."""
    return client_as("admin")


@pytest.fixture
def anon(client_as):
    """A test client without credentials."""
    return client_as(None)


@pytest.fixture
def isolated_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh, empty store and key file of its own (for CLI commands, which commit for real)."""
    from ecredit import db

    monkeypatch.setenv("ECREDIT_DATA_DIR", str(tmp_path))
    with pg_schema("c") as url:
        if url:
            monkeypatch.setenv("ECREDIT_DATABASE_URL", url)
        get_settings.cache_clear()
        db.get_engine.cache_clear()
        context.reset()
        yield tmp_path
        db.get_engine().dispose()
        db.get_engine.cache_clear()
    monkeypatch.undo()
    get_settings.cache_clear()
    context.reset()
