"""referrals.matures_on: the loan's maturity, stored and indexed for the maturity list

Revision ID: b3d5f7a9c146
Revises: a7c3e9f1b254
Create Date: 2026-11-30 13:20:00.000000

"""

from datetime import date

from alembic import op
import sqlalchemy as sa
from dateutil.relativedelta import relativedelta


# revision identifiers, used by Alembic.
revision = "b3d5f7a9c146"
down_revision = "a7c3e9f1b254"
branch_labels = None
depends_on = None

#: Rows written per UPDATE statement of the backfill.
CHUNK = 5000


def upgrade():
    # Issue 12: the advisors' maturity list computed every running loan's maturity in Python
    # to keep a page of 50 (~17,000 loans per view at a district's scale). Stored, it is
    # filtered, sorted and paged in SQL.
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("matures_on", sa.Date(), nullable=True))
        batch_op.create_index("ix_referrals_matures_on", ["matures_on"], unique=False)
    # Backfill: the first disbursal plus the last approved term (services.maturities.
    # maturity_date: a month end stays in its month, as relativedelta counts).
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            """
            SELECT d.referral_id, d.occurred_on, a.term_months
            FROM (SELECT referral_id, MIN(id) AS first_id FROM loan_outcomes
                  WHERE event = 'disbursed' GROUP BY referral_id) f
            JOIN loan_outcomes d ON d.id = f.first_id
            JOIN (SELECT referral_id, MAX(id) AS last_id FROM bank_decisions
                  WHERE decision = 'approved' AND term_months IS NOT NULL
                  GROUP BY referral_id) l ON l.referral_id = d.referral_id
            JOIN bank_decisions a ON a.id = l.last_id
            """
        )
    ).all()
    update = sa.text("UPDATE referrals SET matures_on = :day WHERE id = :id")
    values = []
    for referral_id, occurred_on, term in rows:
        if isinstance(occurred_on, str):  # SQLite hands dates back as text
            occurred_on = date.fromisoformat(occurred_on[:10])
        values.append({"id": referral_id, "day": occurred_on + relativedelta(months=int(term))})
    for start in range(0, len(values), CHUNK):
        conn.execute(update, values[start : start + CHUNK])


def downgrade():
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_matures_on")
        batch_op.drop_column("matures_on")
