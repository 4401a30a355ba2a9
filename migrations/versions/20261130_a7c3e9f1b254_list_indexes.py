"""indexes the advisor's queue and the bank's inbox read their pages and counts from

Revision ID: a7c3e9f1b254
Revises: d61ecd95558f
Create Date: 2026-11-30 12:40:00.000000

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "a7c3e9f1b254"
down_revision = "d61ecd95558f"
branch_labels = None
depends_on = None


def upgrade():
    # Issue 12: with 100,000 applications the queue's page (deadline order) and its tab
    # counts, and a bank's inbox counts per state, read these indexes instead of the tables.
    op.create_index(
        "ix_applications_state_due",
        "applications",
        ["state", "first_response_due_at", "id"],
    )
    op.create_index("ix_referrals_bank_id_state", "referrals", ["bank_id", "state", "due_at"])


def downgrade():
    op.drop_index("ix_referrals_bank_id_state", table_name="referrals")
    op.drop_index("ix_applications_state_due", table_name="applications")
