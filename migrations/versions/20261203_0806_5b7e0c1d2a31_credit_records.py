"""credit records: credit_record (facts about subjects with their publicity window), credit_record_event
(their append-only history) and credit_commitment (信用承诺)

Revision ID: 5b7e0c1d2a31
Revises: 653831de5f37
Create Date: 2026-12-03 08:06:30.967959
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ecredit.kit.types

revision: str = "5b7e0c1d2a31"
down_revision: str | None = "653831de5f37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_record",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("subject_id", sa.String(length=26), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("effect", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("source_department", sa.String(length=200), nullable=False),
        sa.Column("source_ref", sa.String(length=128), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("publicity_from", sa.Date(), nullable=False),
        sa.Column("publicity_min_until", sa.Date(), nullable=False),
        sa.Column("publicity_until", sa.Date(), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", ecredit.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ecredit.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_credit_record_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_record")),
        sa.UniqueConstraint(
            "source_ref",
            "source_department",
            "kind",
            name=op.f("uq_credit_record_source_ref_source_department_kind"),
        ),
    )
    with op.batch_alter_table("credit_record", schema=None) as batch_op:
        batch_op.create_index("ix_credit_record_kind", ["kind"], unique=False)
        batch_op.create_index("ix_credit_record_publicity_until", ["publicity_until"], unique=False)
        batch_op.create_index(batch_op.f("ix_credit_record_subject_id"), ["subject_id"], unique=False)
        batch_op.create_index("ix_credit_record_subject_id_status", ["subject_id", "status"], unique=False)

    op.create_table(
        "credit_commitment",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("subject_id", sa.String(length=26), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.Column("record_id", sa.String(length=26), nullable=True),
        sa.Column("outcome_record_id", sa.String(length=26), nullable=True),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.Column("signed_by", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", ecredit.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", ecredit.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["outcome_record_id"],
            ["credit_record.id"],
            name=op.f("fk_credit_commitment_outcome_record_id_credit_record"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"], ["credit_record.id"], name=op.f("fk_credit_commitment_record_id_credit_record")
        ),
        sa.ForeignKeyConstraint(
            ["subject_id"], ["subject.id"], name=op.f("fk_credit_commitment_subject_id_subject")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_commitment")),
    )
    with op.batch_alter_table("credit_commitment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_commitment_subject_id_status", ["subject_id", "status"], unique=False
        )

    op.create_table(
        "credit_record_event",
        sa.Column("record_id", sa.String(length=26), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("at", ecredit.kit.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"], ["credit_record.id"], name=op.f("fk_credit_record_event_record_id_credit_record")
        ),
        sa.PrimaryKeyConstraint("record_id", "seq", name=op.f("pk_credit_record_event")),
    )


def downgrade() -> None:
    op.drop_table("credit_record_event")
    with op.batch_alter_table("credit_commitment", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_commitment_subject_id_status")

    op.drop_table("credit_commitment")
    with op.batch_alter_table("credit_record", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_record_subject_id_status")
        batch_op.drop_index(batch_op.f("ix_credit_record_subject_id"))
        batch_op.drop_index("ix_credit_record_publicity_until")
        batch_op.drop_index("ix_credit_record_kind")

    op.drop_table("credit_record")
