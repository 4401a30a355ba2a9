"""monitor_snapshots: the credit model's fairness monitor computed by a job, per language

Revision ID: 6a43fe646b8b
Revises: b3d5f7a9c146
Create Date: 2026-11-30 18:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

import finportal.models.base


# revision identifiers, used by Alembic.
revision = '6a43fe646b8b'
down_revision = 'b3d5f7a9c146'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'monitor_snapshots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('as_of', finportal.models.base.UTCDateTime(), nullable=False),
        sa.Column('seconds', sa.Float(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_monitor_snapshots')),
    )
    op.create_index(
        'ix_monitor_snapshots_locale_as_of', 'monitor_snapshots', ['locale', 'as_of']
    )


def downgrade():
    op.drop_index('ix_monitor_snapshots_locale_as_of', table_name='monitor_snapshots')
    op.drop_table('monitor_snapshots')
