"""Drift: sampled rows, reference data per model version, the latest verdict per deployment.

Revision ID: 0010_drift
Revises: 0009_validation_figures
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_drift"
down_revision = "0009_validation_figures"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drift_samples",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deployment", sa.String(63), nullable=False),
        sa.Column("revision", sa.Integer()),
        sa.Column("features", sa.Text(), nullable=False),
        sa.Column("prediction", sa.Float()),
    )
    op.create_index("ix_drift_samples_deployment", "drift_samples", ["deployment"])
    op.create_table(
        "drift_references",
        sa.Column("model", sa.String(63), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("columns", sa.Text(), nullable=False),
        sa.Column("rows", sa.Text(), nullable=False),
        sa.Column("predictions", sa.Text(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sample_id", sa.BigInteger()),
    )
    op.create_table(
        "drift_status",
        sa.Column("deployment", sa.String(63), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drifted", sa.Boolean(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("drift_status")
    op.drop_table("drift_references")
    op.drop_table("drift_samples")
