"""audit hash chain: seq, prev_hash, row_hash on audit_events; audit_chain_head

Existing events are chained in the order they happened (time, then id), so a database
upgraded from before the chain verifies from its first event on.

Revision ID: 7b0fb5e245e9
Revises: 5b8e2d41c7a9
Create Date: 2026-11-29 23:59:00

"""
from alembic import op
import sqlalchemy as sa

from finportal.models.base import UTCDateTime


# revision identifiers, used by Alembic.
revision = '7b0fb5e245e9'
down_revision = '5b8e2d41c7a9'
branch_labels = None
depends_on = None

CHUNK = 1000


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('row_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_seq'), ['seq'])
    op.create_table(
        'audit_chain_head',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('row_hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head')),
    )
    _chain_existing_events()


def _chain_existing_events():
    # The same canonical form and hash as the running portal (services/audit.py).
    from finportal.services.audit import GENESIS_HASH, HEAD_ID, event_hash

    bind = op.get_bind()
    events = sa.table(
        'audit_events',
        sa.column('id', sa.Integer()),
        sa.column('at', UTCDateTime()),
        sa.column('actor_id', sa.Integer()),
        sa.column('action', sa.String()),
        sa.column('object_type', sa.String()),
        sa.column('object_id', sa.Integer()),
        sa.column('from_state', sa.String()),
        sa.column('to_state', sa.String()),
        sa.column('reason', sa.Text()),
        sa.column('data', sa.JSON()),
        sa.column('seq', sa.Integer()),
        sa.column('prev_hash', sa.String()),
        sa.column('row_hash', sa.String()),
    )
    ids = bind.execute(sa.select(events.c.id).order_by(events.c.at, events.c.id)).scalars().all()
    seq, prev = 0, GENESIS_HASH
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        rows = {
            row.id: row
            for row in bind.execute(sa.select(events).where(events.c.id.in_(chunk)))
        }
        updates = []
        for event_id in chunk:
            row = rows[event_id]
            seq += 1
            digest = event_hash(
                prev,
                seq=seq,
                at=row.at,
                actor_id=row.actor_id,
                action=row.action,
                object_type=row.object_type,
                object_id=row.object_id,
                from_state=row.from_state,
                to_state=row.to_state,
                reason=row.reason,
                data=row.data,
            )
            updates.append({'_id': event_id, 'seq': seq, 'prev_hash': prev, 'row_hash': digest})
            prev = digest
        bind.execute(
            events.update()
            .where(events.c.id == sa.bindparam('_id'))
            .values(
                seq=sa.bindparam('seq'),
                prev_hash=sa.bindparam('prev_hash'),
                row_hash=sa.bindparam('row_hash'),
            ),
            updates,
        )
    head = sa.table(
        'audit_chain_head',
        sa.column('id', sa.Integer()),
        sa.column('seq', sa.Integer()),
        sa.column('row_hash', sa.String()),
    )
    bind.execute(head.insert().values(id=HEAD_ID, seq=seq, row_hash=prev))


def downgrade():
    op.drop_table('audit_chain_head')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_events_seq'), type_='unique')
        batch_op.drop_column('row_hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
