"""Compiled forward graphs on revisions (``deploy --compile``).

Revision ID: 0013_compile
Revises: 0012_instances
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_compile"
down_revision = "0012_instances"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("revisions") as batch:
        batch.add_column(sa.Column("compile", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("revisions") as batch:
        batch.drop_column("compile")
