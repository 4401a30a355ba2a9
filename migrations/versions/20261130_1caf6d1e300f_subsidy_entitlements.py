"""subsidy entitlements, public lists (公示) and payouts (一口兑付); repayment amounts on loan events

Revision ID: 1caf6d1e300f
Revises: 5c1e9d0b7a42
Create Date: 2026-11-30 05:51:21.063278

Upgrade: create ``subsidy_publications``, ``subsidy_entitlements``, ``subsidy_payouts`` and
``subsidy_payout_lines`` (an entitlement is paid at most once: unique ``entitlement_id``); add
the principal, interest and fee a repayment paid, and the first-loan mark of a disbursal, to
``loan_outcomes`` (nullable: earlier events carry none). Downgrade drops them again.
"""
from alembic import op
import sqlalchemy as sa

import finportal.models.base


# revision identifiers, used by Alembic.
revision = '1caf6d1e300f'
down_revision = '5c1e9d0b7a42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('subsidy_payouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('created_at', finportal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('total', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('checksum', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_subsidy_payouts_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_payouts'))
    )
    with op.batch_alter_table('subsidy_payouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_payouts_period'), ['period'], unique=False)

    op.create_table('subsidy_publications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('published_at', finportal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_subsidy_publications_published_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_publications'))
    )
    with op.batch_alter_table('subsidy_publications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_publications_period'), ['period'], unique=False)

    op.create_table('subsidy_entitlements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('referral_id', sa.Integer(), nullable=False),
    sa.Column('loan_outcome_id', sa.Integer(), nullable=False),
    sa.Column('product_version_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('base', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('computed', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('exclusion', sa.String(length=40), nullable=True),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('publication_id', sa.Integer(), nullable=True),
    sa.Column('due_at', finportal.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_at', finportal.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('objection', sa.Text(), nullable=False),
    sa.Column('resolution', sa.Text(), nullable=False),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', finportal.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_subsidy_entitlements_amount_not_negative')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_subsidy_entitlements_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['loan_outcome_id'], ['loan_outcomes.id'], name=op.f('fk_subsidy_entitlements_loan_outcome_id_loan_outcomes')),
    sa.ForeignKeyConstraint(['product_version_id'], ['product_versions.id'], name=op.f('fk_subsidy_entitlements_product_version_id_product_versions')),
    sa.ForeignKeyConstraint(['publication_id'], ['subsidy_publications.id'], name=op.f('fk_subsidy_entitlements_publication_id_subsidy_publications')),
    sa.ForeignKeyConstraint(['referral_id'], ['referrals.id'], name=op.f('fk_subsidy_entitlements_referral_id_referrals')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_subsidy_entitlements_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_entitlements')),
    sa.UniqueConstraint('loan_outcome_id', 'kind', name=op.f('uq_subsidy_entitlements_loan_outcome_id_kind'))
    )
    with op.batch_alter_table('subsidy_entitlements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_entitlements_enterprise_id'), ['enterprise_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_entitlements_period'), ['period'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_entitlements_publication_id'), ['publication_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_entitlements_referral_id'), ['referral_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_entitlements_state'), ['state'], unique=False)

    op.create_table('subsidy_payout_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payout_id', sa.Integer(), nullable=False),
    sa.Column('entitlement_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('reversed_at', finportal.models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reversed_by_id', sa.Integer(), nullable=True),
    sa.Column('reversal_reason', sa.Text(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_subsidy_payout_lines_amount_positive')),
    sa.ForeignKeyConstraint(['entitlement_id'], ['subsidy_entitlements.id'], name=op.f('fk_subsidy_payout_lines_entitlement_id_subsidy_entitlements')),
    sa.ForeignKeyConstraint(['payout_id'], ['subsidy_payouts.id'], name=op.f('fk_subsidy_payout_lines_payout_id_subsidy_payouts')),
    sa.ForeignKeyConstraint(['reversed_by_id'], ['users.id'], name=op.f('fk_subsidy_payout_lines_reversed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subsidy_payout_lines')),
    sa.UniqueConstraint('entitlement_id', name=op.f('uq_subsidy_payout_lines_entitlement_id'))
    )
    with op.batch_alter_table('subsidy_payout_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_payout_lines_payout_id'), ['payout_id'], unique=False)

    with op.batch_alter_table('loan_outcomes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('principal_paid', sa.Numeric(precision=18, scale=2), nullable=True))
        batch_op.add_column(sa.Column('interest_paid', sa.Numeric(precision=18, scale=2), nullable=True))
        batch_op.add_column(sa.Column('fee_paid', sa.Numeric(precision=18, scale=2), nullable=True))
        batch_op.add_column(sa.Column('first_loan', sa.Boolean(), nullable=True))



def downgrade():
    with op.batch_alter_table('loan_outcomes', schema=None) as batch_op:
        batch_op.drop_column('first_loan')
        batch_op.drop_column('fee_paid')
        batch_op.drop_column('interest_paid')
        batch_op.drop_column('principal_paid')

    with op.batch_alter_table('subsidy_payout_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_payout_lines_payout_id'))

    op.drop_table('subsidy_payout_lines')
    with op.batch_alter_table('subsidy_entitlements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_entitlements_state'))
        batch_op.drop_index(batch_op.f('ix_subsidy_entitlements_referral_id'))
        batch_op.drop_index(batch_op.f('ix_subsidy_entitlements_publication_id'))
        batch_op.drop_index(batch_op.f('ix_subsidy_entitlements_period'))
        batch_op.drop_index(batch_op.f('ix_subsidy_entitlements_enterprise_id'))

    op.drop_table('subsidy_entitlements')
    with op.batch_alter_table('subsidy_publications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_publications_period'))

    op.drop_table('subsidy_publications')
    with op.batch_alter_table('subsidy_payouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_payouts_period'))

    op.drop_table('subsidy_payouts')
