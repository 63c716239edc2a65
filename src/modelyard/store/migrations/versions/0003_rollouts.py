"""rollouts: revision replica counts, rollouts, rollout history, revision validations

Revision ID: 0003_rollouts
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = '0003_rollouts'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replicas', sa.Integer(), nullable=True))

    op.create_table('rollouts',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('deployment', sa.String(length=63), nullable=False),
    sa.Column('stable_revision', sa.Integer(), nullable=False),
    sa.Column('candidate_revision', sa.Integer(), nullable=False),
    sa.Column('strategy', sa.String(length=16), nullable=False),
    sa.Column('steps', sa.String(length=255), nullable=False),
    sa.Column('step_interval_s', sa.Float(), nullable=False),
    sa.Column('max_error_rate_increase', sa.Float(), nullable=False),
    sa.Column('max_p95_ratio', sa.Float(), nullable=False),
    sa.Column('latency_slack_s', sa.Float(), nullable=False),
    sa.Column('min_requests', sa.Integer(), nullable=False),
    sa.Column('shadow_percent', sa.Integer(), nullable=False),
    sa.Column('max_surge', sa.Integer(), nullable=False),
    sa.Column('max_unavailable', sa.Integer(), nullable=False),
    sa.Column('keep_old_s', sa.Float(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('state_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('step_index', sa.Integer(), nullable=False),
    sa.Column('step_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['deployment'], ['deployments.name'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rollouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rollouts_deployment'), ['deployment'], unique=False)

    op.create_table('rollout_history',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('deployment', sa.String(length=63), nullable=False),
    sa.Column('rollout_id', sa.String(length=40), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('figures', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['deployment'], ['deployments.name'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rollout_history', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rollout_history_deployment'), ['deployment'], unique=False)

    op.create_table('revision_validations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('deployment', sa.String(length=63), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['deployment', 'revision'], ['revisions.deployment', 'revisions.number'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('revision_validations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revision_validations_deployment'), ['deployment'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('revision_validations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revision_validations_deployment'))
    op.drop_table('revision_validations')
    with op.batch_alter_table('rollout_history', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rollout_history_deployment'))
    op.drop_table('rollout_history')
    with op.batch_alter_table('rollouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rollouts_deployment'))
    op.drop_table('rollouts')
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.drop_column('replicas')
