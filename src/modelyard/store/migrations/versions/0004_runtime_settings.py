"""Per-revision batching settings.

Revision ID: 0004_runtime_settings
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_runtime_settings"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("revisions") as batch:
        batch.add_column(sa.Column("max_batch_size", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("max_batch_delay_ms", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("revisions") as batch:
        batch.drop_column("max_batch_delay_ms")
        batch.drop_column("max_batch_size")
