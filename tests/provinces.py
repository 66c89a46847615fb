"""A simulated province in a store and lake of their own (``demo.build``), for the tests that need a whole
province: detectors, the credit evaluation, the lists end to end. On PostgreSQL the store is a fresh schema
of the test database, dropped afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ecredit import db
from ecredit.config import get_settings
from ecredit.security import context
from tests.conftest import pg_schema


@contextlib.contextmanager
def province_store(data: Path, *, scale: str, seed: int, monitor: bool) -> Iterator[Path]:
    """Build the province under ``data`` and point the settings at its store; yields the province's files."""
    from ecredit import demo

    with pytest.MonkeyPatch.context() as mp, pg_schema("p") as url:
        mp.setenv("ECREDIT_DATA_DIR", str(data))
        if url:
            mp.setenv("ECREDIT_DATABASE_URL", url)
        get_settings.cache_clear()
        db.get_engine.cache_clear()
        context.reset()
        try:
            demo.build(seed=seed, log=lambda _: None, scale=scale, monitor=monitor)
            yield next((data / "demo").iterdir())
        finally:
            db.get_engine().dispose()
            db.get_engine.cache_clear()
    get_settings.cache_clear()
    context.reset()
