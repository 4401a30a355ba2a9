"""renewals: the running loan (referral) a renewal application renews (续贷)

Revision ID: c4e1f7a2d913
Revises: c4f1a7d2e913
Create Date: 2026-11-30 16:00:00.000000

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "c4e1f7a2d913"
down_revision = "c4f1a7d2e913"
branch_labels = None
depends_on = None


def upgrade():
    # A renewal application goes to the bank of the loan it renews first (issue 13).
    op.create_table(
        "renewals",
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_renewals_application_id_applications"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referrals.id"], name=op.f("fk_renewals_referral_id_referrals")
        ),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_renewals")),
    )
    with op.batch_alter_table("renewals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_renewals_referral_id"), ["referral_id"], unique=False)


def downgrade():
    with op.batch_alter_table("renewals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_renewals_referral_id"))
    op.drop_table("renewals")
