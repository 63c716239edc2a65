"""Budgets per team.

Revision ID: 0008_budgets
Revises: 0007_usage
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_budgets"
down_revision = "0007_usage"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budgets",
        sa.Column("team", sa.String(63), primary_key=True),
        sa.Column("soft", sa.Float(), nullable=False),
        sa.Column("hard", sa.Float(), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(128), nullable=False),
        sa.Column("alerted_period", sa.String(32), nullable=False, server_default=""),
    )


def downgrade() -> None:
    op.drop_table("budgets")
