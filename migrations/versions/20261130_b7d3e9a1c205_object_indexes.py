"""audit_events and jobs: indexes on (object_type, object_id) for a record's history and jobs

Revision ID: b7d3e9a1c205
Revises: e4a7c2d9f318
Create Date: 2026-11-30 14:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7d3e9a1c205'
down_revision = 'e4a7c2d9f318'
branch_labels = None
depends_on = None


def upgrade():
    # Plain CREATE INDEX (no batch): SQLite needs no table copy for an index, and the
    # audit table's append-only triggers stay as they are.
    op.create_index('ix_audit_events_object', 'audit_events', ['object_type', 'object_id'])
    op.create_index('ix_jobs_object', 'jobs', ['object_type', 'object_id'])


def downgrade():
    op.drop_index('ix_jobs_object', table_name='jobs')
    op.drop_index('ix_audit_events_object', table_name='audit_events')
