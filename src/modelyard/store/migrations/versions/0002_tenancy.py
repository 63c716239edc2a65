"""tenancy: key scopes, users, audit log

Revision ID: 0002_tenancy
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = "0002_tenancy"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.add_column(sa.Column("scopes", sa.String(length=64), nullable=False,
                                      server_default="inference,management"))
        batch_op.add_column(sa.Column("deployments", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("user_name", sa.String(length=63), nullable=True))
        batch_op.add_column(sa.Column("created_by", sa.String(length=128), nullable=False,
                                      server_default=""))
    op.create_table(
        "users",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("team", sa.String(length=63), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["team"], ["teams.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("name", "team"),
    )
    op.create_table(
        "audit_events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("team", sa.String(length=63), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("before_digest", sa.String(length=80), nullable=True),
        sa.Column("after_digest", sa.String(length=80), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    for column in ("time", "actor", "team", "action", "target"):
        op.create_index(f"ix_audit_events_{column}", "audit_events", [column])
    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": "0" * 64}])


def downgrade() -> None:
    op.drop_table("audit_head")
    for column in ("time", "actor", "team", "action", "target"):
        op.drop_index(f"ix_audit_events_{column}", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("users")
    with op.batch_alter_table("api_keys") as batch_op:
        batch_op.drop_column("created_by")
        batch_op.drop_column("user_name")
        batch_op.drop_column("deployments")
        batch_op.drop_column("scopes")
