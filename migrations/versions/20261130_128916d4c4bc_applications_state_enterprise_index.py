"""an index the queue's searched counts read instead of the applications table

Revision ID: 128916d4c4bc
Revises: 6a43fe646b8b
Create Date: 2026-11-30 21:00:00.000000

"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "128916d4c4bc"
down_revision = "6a43fe646b8b"
branch_labels = None
depends_on = None


def upgrade():
    # Issue 12 (stop 25): a search of the advisor's queue counts each tab and its list among
    # the found firms' applications (or the one numbered); with 100,000 applications these
    # counts read the index instead of the table's rows.
    op.create_index(
        "ix_applications_state_enterprise", "applications", ["state", "enterprise_id", "id"]
    )


def downgrade():
    op.drop_index("ix_applications_state_enterprise", table_name="applications")
