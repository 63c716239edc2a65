"""Engine replicas: the engine and its settings on a revision.

Revision ID: 0005_engines
Revises: 0004_runtime_settings
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_engines"
down_revision = "0004_runtime_settings"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("revisions") as batch:
        batch.add_column(sa.Column("engine", sa.String(16), nullable=True))
        batch.add_column(sa.Column("engine_settings", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("revisions") as batch:
        batch.drop_column("engine_settings")
        batch.drop_column("engine")
