"""product_drafts (maker-checker publishing) and push_records (what each firm was last told)

Revision ID: c4f1a7d2e913
Revises: 1caf6d1e300f
Create Date: 2026-11-30 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from finportal.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = 'c4f1a7d2e913'
down_revision = '1caf6d1e300f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'product_drafts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('content', sa.JSON(), nullable=False),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.Column('base_version_id', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('drafted_by_id', sa.Integer(), nullable=False),
        sa.Column('drafted_at', UTCDateTime(), nullable=False),
        sa.Column('note', sa.String(length=2000), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', UTCDateTime(), nullable=True),
        sa.Column('decision_note', sa.String(length=2000), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['base_version_id'], ['product_versions.id'], name=op.f('fk_product_drafts_base_version_id_product_versions')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_product_drafts_decided_by_id_users')),
        sa.ForeignKeyConstraint(['drafted_by_id'], ['users.id'], name=op.f('fk_product_drafts_drafted_by_id_users')),
        sa.ForeignKeyConstraint(['version_id'], ['product_versions.id'], name=op.f('fk_product_drafts_version_id_product_versions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_product_drafts')),
    )
    op.create_index(op.f('ix_product_drafts_code'), 'product_drafts', ['code'], unique=False)
    op.create_index(op.f('ix_product_drafts_state'), 'product_drafts', ['state'], unique=False)
    op.create_table(
        'push_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enterprise_id', sa.Integer(), nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=True),
        sa.Column('effective_rate', sa.Numeric(precision=9, scale=6), nullable=True),
        sa.Column('told_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_push_records_enterprise_id_enterprises'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_push_records_product_id_products')),
        sa.ForeignKeyConstraint(['version_id'], ['product_versions.id'], name=op.f('fk_push_records_version_id_product_versions')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_push_records')),
        sa.UniqueConstraint('enterprise_id', 'product_id', name=op.f('uq_push_records_enterprise_id_product_id')),
    )
    op.create_index(op.f('ix_push_records_enterprise_id'), 'push_records', ['enterprise_id'], unique=False)
    op.create_index(op.f('ix_push_records_product_id'), 'push_records', ['product_id'], unique=False)
    # Firms told under the old rule (one notice per firm and product, dedupe key
    # policy_push:<code>:<enterprise id>) keep counting as told, at an unknown cost: the
    # next version pushes them only what is new for them, never the same product again.
    op.execute(
        "INSERT INTO push_records (enterprise_id, product_id, version_id, effective_rate, told_at) "
        "SELECT n.enterprise_id, p.id, NULL, NULL, MIN(n.created_at) FROM notifications n "
        "JOIN products p ON n.dedupe_key = 'policy_push:' || p.code || ':' "
        "|| CAST(n.enterprise_id AS VARCHAR(20)) "
        "WHERE n.kind = 'policy_push' AND n.enterprise_id IS NOT NULL "
        "GROUP BY n.enterprise_id, p.id"
    )


def downgrade():
    op.drop_index(op.f('ix_push_records_product_id'), table_name='push_records')
    op.drop_index(op.f('ix_push_records_enterprise_id'), table_name='push_records')
    op.drop_table('push_records')
    op.drop_index(op.f('ix_product_drafts_state'), table_name='product_drafts')
    op.drop_index(op.f('ix_product_drafts_code'), table_name='product_drafts')
    op.drop_table('product_drafts')
