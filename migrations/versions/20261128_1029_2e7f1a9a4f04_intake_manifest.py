"""intake manifest: the event lake's manifest (lake_batch, lake_file) and REST idempotency records

Revision ID: 2e7f1a9a4f04
Revises: 463678da5d73
Create Date: 2026-11-28 10:29:29.695686
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ecredit.kit.types

revision: str = "2e7f1a9a4f04"
down_revision: str | None = "463678da5d73"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lake_batch",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("idempotency_key", sa.String(length=300), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("created_at", ecredit.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lake_batch")),
        sa.UniqueConstraint(
            "platform", "idempotency_key", name=op.f("uq_lake_batch_platform_idempotency_key")
        ),
    )
    op.create_table(
        "lake_file",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("batch_id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("partition_date", sa.Date(), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("retired_at", ecredit.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("retired_by", sa.String(length=26), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["lake_batch.id"], name=op.f("fk_lake_file_batch_id_lake_batch")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lake_file")),
        sa.UniqueConstraint("path", name=op.f("uq_lake_file_path")),
    )
    with op.batch_alter_table("lake_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lake_file_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index("ix_lake_file_partition", ["kind", "platform", "partition_date"], unique=False)

    op.create_table(
        "intake_request",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("platform_id", sa.String(length=26), nullable=False),
        sa.Column("idempotency_key", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("lease_until", ecredit.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response", sa.Text(), nullable=True),
        sa.Column("batch_id", sa.String(length=26), nullable=True),
        sa.Column("created_at", ecredit.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", ecredit.kit.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["lake_batch.id"], name=op.f("fk_intake_request_batch_id_lake_batch")
        ),
        sa.ForeignKeyConstraint(
            ["platform_id"], ["platform.id"], name=op.f("fk_intake_request_platform_id_platform")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_request")),
        sa.UniqueConstraint(
            "platform_id", "idempotency_key", name=op.f("uq_intake_request_platform_id_idempotency_key")
        ),
    )


def downgrade() -> None:
    op.drop_table("intake_request")
    with op.batch_alter_table("lake_file", schema=None) as batch_op:
        batch_op.drop_index("ix_lake_file_partition")
        batch_op.drop_index(batch_op.f("ix_lake_file_batch_id"))

    op.drop_table("lake_file")
    op.drop_table("lake_batch")
