"""The migrations build exactly the tables the models declare, on the engine under test (SQLite, or
PostgreSQL with ECREDIT_TEST_DATABASE_URL). A model changed without its migration, or a migration chain
merged in the wrong order, fails here instead of in a deployment."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from ecredit import all_models, migrate


def test_the_migrated_store_matches_the_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, all_models.metadata)
    assert differences == []


def test_the_migrations_form_one_chain():
    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(script.get_heads()) == 1, script.get_heads()
    assert len(script.get_bases()) == 1, script.get_bases()
