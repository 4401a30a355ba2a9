"""enterprise: qualifying new hires (创业担保贷款)

Revision ID: 5b8e2d41c7a9
Revises: 7d1c5e2a9b40
Create Date: 2026-11-28 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b8e2d41c7a9'
down_revision = '7d1c5e2a9b40'
branch_labels = None
depends_on = None


def upgrade():
    # 当年新招用符合创业担保贷款申请条件的人员数 (财金〔2020〕21号): the start-up
    # guarantee loan's test is these hires as a share of staff.
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.add_column(sa.Column('qualifying_new_hires', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('enterprises', schema=None) as batch_op:
        batch_op.drop_column('qualifying_new_hires')
