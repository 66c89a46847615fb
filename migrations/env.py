"""Alembic environment: migrates the configured store (or the connection handed in by ecredit.migrate)."""

from __future__ import annotations

from alembic import context

from ecredit import all_models
from ecredit.db import get_engine

target_metadata = all_models.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with get_engine().connect() as conn:
        _run(conn)
        conn.commit()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `ecredit db upgrade`")
run_migrations_online()
