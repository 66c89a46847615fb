"""risk warnings: risk_warning (found patterns and their triage) and warning_member (shops, accounts, evidence)

Revision ID: 653831de5f37
Revises: 2e7f1a9a4f04
Create Date: 2026-11-28 12:47:15.244437
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ecredit.kit.types

revision: str = "653831de5f37"
down_revision: str | None = "2e7f1a9a4f04"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_warning",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("detector", sa.String(length=64), nullable=False),
        sa.Column("detector_version", sa.String(length=32), nullable=False),
        sa.Column("engine", sa.String(length=16), nullable=False),
        sa.Column("snapshot", sa.String(length=64), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("triage_reason", sa.String(length=500), nullable=True),
        sa.Column("triaged_by", sa.String(length=200), nullable=True),
        sa.Column("triaged_at", ecredit.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", ecredit.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", ecredit.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("seen_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_warning")),
        sa.UniqueConstraint("detector", "fingerprint", name=op.f("uq_risk_warning_detector_fingerprint")),
    )
    with op.batch_alter_table("risk_warning", schema=None) as batch_op:
        batch_op.create_index("ix_risk_warning_platform", ["platform"], unique=False)
        batch_op.create_index("ix_risk_warning_status_kind", ["status", "kind"], unique=False)

    op.create_table(
        "warning_member",
        sa.Column("warning_id", sa.String(length=26), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("ref", sa.String(length=128), nullable=False),
        sa.Column("object_kind", sa.String(length=16), nullable=True),
        sa.Column("linked", sa.Boolean(), nullable=False),
        sa.Column("shop_id", sa.String(length=26), nullable=True),
        sa.Column("subject_id", sa.String(length=26), nullable=True),
        sa.ForeignKeyConstraint(["shop_id"], ["shop.id"], name=op.f("fk_warning_member_shop_id_shop")),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_warning_member_subject_id_subject")
        ),
        sa.ForeignKeyConstraint(
            ["warning_id"], ["risk_warning.id"], name=op.f("fk_warning_member_warning_id_risk_warning")
        ),
        sa.PrimaryKeyConstraint("warning_id", "seq", name=op.f("pk_warning_member")),
    )
    with op.batch_alter_table("warning_member", schema=None) as batch_op:
        batch_op.create_index("ix_warning_member_ref_platform", ["ref", "platform"], unique=False)
        batch_op.create_index("ix_warning_member_subject_id", ["subject_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("warning_member", schema=None) as batch_op:
        batch_op.drop_index("ix_warning_member_subject_id")
        batch_op.drop_index("ix_warning_member_ref_platform")

    op.drop_table("warning_member")
    with op.batch_alter_table("risk_warning", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_warning_status_kind")
        batch_op.drop_index("ix_risk_warning_platform")

    op.drop_table("risk_warning")
