"""enterprises.legal_representative (法定代表人) and indexes to find shared contacts across firms

Revision ID: d8a2f4c6b135
Revises: c4e1f7a2d913
Create Date: 2026-11-30 18:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "d8a2f4c6b135"
down_revision = "c4e1f7a2d913"
branch_labels = None
depends_on = None


def upgrade():
    # Issue 14, consistency flags: the same legal representative or mobile number on
    # several firms is found by one set-based query over these indexes.
    op.add_column(
        "enterprises", sa.Column("legal_representative", sa.String(length=50), nullable=True)
    )
    op.create_index(
        "ix_enterprises_legal_representative", "enterprises", ["legal_representative"]
    )
    op.create_index("ix_users_phone", "users", ["phone"])


def downgrade():
    op.drop_index("ix_users_phone", table_name="users")
    op.drop_index("ix_enterprises_legal_representative", table_name="enterprises")
    with op.batch_alter_table("enterprises", schema=None) as batch_op:
        batch_op.drop_column("legal_representative")
