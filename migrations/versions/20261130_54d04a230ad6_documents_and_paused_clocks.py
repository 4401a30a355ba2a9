"""documents: attached to applications, virus-scan status; paused deadline clocks (issue 14)

Revision ID: 54d04a230ad6
Revises: d8a2f4c6b135
Create Date: 2026-11-30 09:07:05.570646

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "54d04a230ad6"
down_revision = "d8a2f4c6b135"
branch_labels = None
depends_on = None


def upgrade():
    # The clock of an application (advisor) or a referral (bank) stops while the firm
    # supplies what it was asked for (services/deadlines.py).
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clock_paused_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clock_paused_at", sa.DateTime(timezone=True), nullable=True))
    # A bank's request for information can name document kinds.
    with op.batch_alter_table("bank_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document_kinds", sa.JSON(), nullable=True))
    # Documents of an application (contracts, invoices…) and the virus scan's result.
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("application_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "scan_status", sa.String(length=20), nullable=False, server_default="not_scanned"
            )
        )
        batch_op.create_index(
            batch_op.f("ix_documents_application_id"), ["application_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_documents_application_id_applications"),
            "applications",
            ["application_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_documents_application_id_applications"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_documents_application_id"))
        batch_op.drop_column("scan_status")
        batch_op.drop_column("application_id")
    with op.batch_alter_table("bank_decisions", schema=None) as batch_op:
        batch_op.drop_column("document_kinds")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_column("clock_paused_at")
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("clock_paused_at")
