"""Model instances per replica on revisions.

Revision ID: 0012_instances
Revises: 0011_resources_quotas
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_instances"
down_revision = "0011_resources_quotas"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("revisions") as batch:
        batch.add_column(sa.Column("instances", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("revisions") as batch:
        batch.drop_column("instances")
