"""public data (无感核查, issue 14): authorisations, imports and verified facts

Revision ID: d61ecd95558f
Revises: 54d04a230ad6
Create Date: 2026-11-30 09:09:00.698279

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd61ecd95558f'
down_revision = "54d04a230ad6"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('data_authorisations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_data_authorisations_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'], name=op.f('fk_data_authorisations_granted_by_id_users')),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['users.id'], name=op.f('fk_data_authorisations_withdrawn_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_authorisations'))
    )
    with op.batch_alter_table('data_authorisations', schema=None) as batch_op:
        batch_op.create_index('ix_data_authorisations_firm_source', ['enterprise_id', 'source'], unique=False)

    op.create_table('data_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('connector', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=True),
    sa.Column('job_id', sa.String(length=36), nullable=True),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_data_imports_created_by_id_users')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_data_imports_enterprise_id_enterprises')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_imports'))
    )
    with op.batch_alter_table('data_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_imports_source'), ['source'], unique=False)
        batch_op.create_index(batch_op.f('ix_data_imports_state'), ['state'], unique=False)

    op.create_table('verified_facts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enterprise_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('item', sa.String(length=60), nullable=False),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('authorisation_id', sa.Integer(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['authorisation_id'], ['data_authorisations.id'], name=op.f('fk_verified_facts_authorisation_id_data_authorisations')),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprises.id'], name=op.f('fk_verified_facts_enterprise_id_enterprises')),
    sa.ForeignKeyConstraint(['import_id'], ['data_imports.id'], name=op.f('fk_verified_facts_import_id_data_imports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verified_facts')),
    sa.UniqueConstraint('enterprise_id', 'item', name=op.f('uq_verified_facts_enterprise_id_item'))
    )
    with op.batch_alter_table('verified_facts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verified_facts_enterprise_id'), ['enterprise_id'], unique=False)




def downgrade():

    with op.batch_alter_table('verified_facts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verified_facts_enterprise_id'))

    op.drop_table('verified_facts')
    with op.batch_alter_table('data_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_imports_state'))
        batch_op.drop_index(batch_op.f('ix_data_imports_source'))

    op.drop_table('data_imports')
    with op.batch_alter_table('data_authorisations', schema=None) as batch_op:
        batch_op.drop_index('ix_data_authorisations_firm_source')

    op.drop_table('data_authorisations')
