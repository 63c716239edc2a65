"""External deployments: endpoints modelyard did not start.

Revision ID: 0006_endpoints
Revises: 0005_engines
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_endpoints"
down_revision = "0005_engines"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "external_deployments",
        sa.Column("name", sa.String(63), primary_key=True),
        sa.Column("team", sa.String(63), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("urls", sa.Text(), nullable=False),
        sa.Column("upstream_key_env", sa.String(64), nullable=False, server_default=""),
        sa.Column("health_path", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("connect_timeout_s", sa.Float(), nullable=False, server_default="0"),
        sa.Column("read_timeout_s", sa.Float(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("external_deployments")
