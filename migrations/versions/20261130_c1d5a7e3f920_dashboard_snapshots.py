"""dashboard_snapshots: the centre's dashboard computed by a periodic job, per language

Revision ID: c1d5a7e3f920
Revises: b7d3e9a1c205
Create Date: 2026-11-30 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa

import finportal.models.base


# revision identifiers, used by Alembic.
revision = 'c1d5a7e3f920'
down_revision = 'b7d3e9a1c205'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'dashboard_snapshots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('as_of', finportal.models.base.UTCDateTime(), nullable=False),
        sa.Column('seconds', sa.Float(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_dashboard_snapshots')),
    )
    op.create_index(
        'ix_dashboard_snapshots_locale_as_of', 'dashboard_snapshots', ['locale', 'as_of']
    )


def downgrade():
    op.drop_index('ix_dashboard_snapshots_locale_as_of', table_name='dashboard_snapshots')
    op.drop_table('dashboard_snapshots')
