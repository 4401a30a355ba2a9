"""jobs: attempts (retries with backoff) and runner (which process runs it)

Revision ID: e4a7c2d9f318
Revises: 3a8ff3d12796
Create Date: 2026-11-30 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e4a7c2d9f318'
down_revision = '3a8ff3d12796'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('runner', sa.String(length=80), nullable=True))


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('runner')
        batch_op.drop_column('attempts')
