"""Replica resources, allocations and team GPU quotas.

Revision ID: 0011_resources_quotas
Revises: 0010_nodes
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_resources_quotas"
down_revision = "0010_nodes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("revisions") as batch:
        batch.add_column(sa.Column("resources", sa.Text(), nullable=True))
    with op.batch_alter_table("replicas") as batch:
        batch.add_column(sa.Column("allocation", sa.Text(), nullable=True))
    op.create_table(
        "quotas",
        sa.Column("team", sa.String(63), primary_key=True),
        sa.Column("gpu_model", sa.String(32), primary_key=True),
        sa.Column("guaranteed_milli", sa.Integer(), nullable=False),
        sa.Column("borrow_limit_milli", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("quotas")
    with op.batch_alter_table("replicas") as batch:
        batch.drop_column("allocation")
    with op.batch_alter_table("revisions") as batch:
        batch.drop_column("resources")
