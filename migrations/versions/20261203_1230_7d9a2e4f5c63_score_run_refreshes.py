"""score run refreshes (the full run a one-subject refresh starts from); credit points deducted for brushing

Revision ID: 7d9a2e4f5c63
Revises: 7d2e4c9a1b30
Create Date: 2026-12-03 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d9a2e4f5c63"
down_revision: str | None = "7d2e4c9a1b30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("score_run", schema=None) as batch_op:
        batch_op.add_column(sa.Column("base_run_id", sa.String(length=26), nullable=True))
        batch_op.create_index(batch_op.f("ix_score_run_base_run_id"), ["base_run_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_score_run_base_run_id_score_run"), "score_run", ["base_run_id"], ["id"]
        )
    with op.batch_alter_table("credit_points", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deducted_points", sa.BigInteger(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("credit_points", schema=None) as batch_op:
        batch_op.drop_column("deducted_points")
    with op.batch_alter_table("score_run", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_score_run_base_run_id_score_run"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_score_run_base_run_id"))
        batch_op.drop_column("base_run_id")
