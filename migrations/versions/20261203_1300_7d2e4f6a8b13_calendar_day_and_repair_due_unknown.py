"""calendar_day (the operator's holiday table) and repair_application.due_unknown

Revision ID: 7d2e4f6a8b13
Revises: ca9cb3756d19
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ecredit.kit.types

revision: str = "7d2e4f6a8b13"
down_revision: str | None = "ca9cb3756d19"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_day",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("loaded_by", sa.String(length=200), nullable=False),
        sa.Column("loaded_at", ecredit.kit.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_calendar_day")),
    )
    with op.batch_alter_table("repair_application") as batch_op:
        batch_op.add_column(sa.Column("due_unknown", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("repair_application") as batch_op:
        batch_op.drop_column("due_unknown")
    op.drop_table("calendar_day")
