"""A simulated province in a store and lake of their own (``demo.build``), for the tests that need a whole
province: detectors, the credit evaluation, the lists end to end. On PostgreSQL the store is a fresh schema
of the test database, dropped afterwards."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from ecredit import db
from ecredit.config import get_settings
from ecredit.db import make_engine
from ecredit.security import context
from tests.conftest import PG_URL, _pg_schema_url


@contextlib.contextmanager
def province_store(data: Path, *, scale: str, seed: int, monitor: bool) -> Iterator[Path]:
    """Build the province under ``data`` and point the settings at its store; yields the province's files."""
    from ecredit import demo

    schema = admin = None
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ECREDIT_DATA_DIR", str(data))
        if PG_URL:
            schema = f"p_{secrets.token_hex(4)}"
            admin = make_engine(PG_URL)
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            mp.setenv("ECREDIT_DATABASE_URL", _pg_schema_url(PG_URL, schema))
        get_settings.cache_clear()
        db.get_engine.cache_clear()
        context.reset()
        try:
            demo.build(seed=seed, log=lambda _: None, scale=scale, monitor=monitor)
            yield next((data / "demo").iterdir())
        finally:
            db.get_engine().dispose()
            db.get_engine.cache_clear()
            if admin is not None:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()
    get_settings.cache_clear()
    context.reset()
