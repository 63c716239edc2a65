"""Validation runs: the figures and the command on a recorded validation.

Revision ID: 0009_validation_figures
Revises: 0008_budgets (needs 0003_rollouts)
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_validation_figures"
down_revision = "0008_budgets"
branch_labels = None
depends_on = "0003_rollouts"


def upgrade() -> None:
    with op.batch_alter_table("revision_validations") as batch:
        batch.add_column(sa.Column("figures", sa.Text(), nullable=True))
        batch.add_column(sa.Column("command", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("revision_validations") as batch:
        batch.drop_column("command")
        batch.drop_column("figures")
