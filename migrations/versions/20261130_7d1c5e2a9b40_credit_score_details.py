"""credit score details: missing and coerced inputs, advisor context

Revision ID: 7d1c5e2a9b40
Revises: 82e9d80f2b10
Create Date: 2026-11-30 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d1c5e2a9b40'
down_revision = '82e9d80f2b10'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('credit_scores', schema=None) as batch_op:
        batch_op.add_column(sa.Column('details', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('credit_scores', schema=None) as batch_op:
        batch_op.drop_column('details')
