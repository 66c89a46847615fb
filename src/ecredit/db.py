"""The operational store: engines, sessions and the transaction boundary.

Services receive a ``Session`` and only ``flush()``; the boundary (an HTTP request, a CLI command, a job)
commits. SQLite runs in WAL mode with ``synchronous=FULL`` (RELIABILITY.md: NORMAL lost acknowledged rows
under power loss), foreign keys on, and writers take the lock up front with ``BEGIN IMMEDIATE``; read-only
sessions begin deferred so readers never queue behind writers.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from ecredit.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

READ_ONLY = "ecredit_read_only"


class Base(DeclarativeBase):
    """Declarative base of every ORM model, with a fixed constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's implicit BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` with ecredit's durability settings applied."""
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def ensure_data_dir() -> None:
    """Create the data directory for the embedded store when it is in use."""
    settings = get_settings()
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)


@functools.cache
def get_engine() -> Engine:
    """The process-wide engine for the configured store."""
    ensure_data_dir()
    return make_engine(get_settings().resolved_database_url)


def session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """A session maker; read-only sessions begin deferred on SQLite."""
    bind = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
    return sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)


@contextlib.contextmanager
def session_scope(*, read_only: bool = False, engine: Engine | None = None) -> Iterator[Session]:
    """One transaction: commit when the block succeeds, roll back when it raises.

    ``read_only`` sessions begin deferred on SQLite (they do not take the write lock up front); they may
    still write small bookkeeping rows, such as an API key's last use.
    """
    session = session_factory(engine or get_engine(), read_only=read_only)()
    try:
        yield session
        session.commit()  # a read-only transaction commits nothing, but bookkeeping writes must stick
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
