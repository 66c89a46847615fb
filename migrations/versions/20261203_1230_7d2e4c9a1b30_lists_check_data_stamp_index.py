"""lists: an index on list_entry.updated_at (the lists data stamp of every check answer)

Revision ID: 7d2e4c9a1b30
Revises: 7d2e4f6a8b13
Create Date: 2026-12-03 12:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7d2e4c9a1b30"
down_revision: str | None = "7d2e4f6a8b13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("list_entry", schema=None) as batch_op:
        batch_op.create_index("ix_list_entry_updated_at", ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("list_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_list_entry_updated_at")
