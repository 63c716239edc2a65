"""Usage metering: a row per request, replica time per hour bucket.

Revision ID: 0007_usage
Revises: 0005_engines
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_usage"
down_revision = "0005_engines"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "usage_records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("team", sa.String(63), nullable=False),
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("deployment", sa.String(63), nullable=False),
        sa.Column("revision", sa.Integer()),
        sa.Column("model", sa.String(63), nullable=False),
        sa.Column("model_version", sa.Integer()),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("latency_s", sa.Float(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_usage_records_time", "usage_records", ["time"])
    op.create_index("ix_usage_records_team", "usage_records", ["team"])
    op.create_index("ix_usage_records_deployment", "usage_records", ["deployment"])
    op.create_table(
        "resource_usage",
        sa.Column("replica_id", sa.String(80), primary_key=True),
        sa.Column("bucket", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("team", sa.String(63), nullable=False),
        sa.Column("deployment", sa.String(63), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(63), nullable=False),
        sa.Column("model_version", sa.Integer()),
        sa.Column("gpu_model", sa.String(63), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("cpu_seconds", sa.Float(), nullable=False),
        sa.Column("gpu_seconds", sa.Float(), nullable=False),
        sa.Column("accrued_until", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_resource_usage_team", "resource_usage", ["team"])
    op.create_index("ix_resource_usage_deployment", "resource_usage", ["deployment"])


def downgrade() -> None:
    op.drop_table("resource_usage")
    op.drop_table("usage_records")
