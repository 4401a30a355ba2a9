"""frozen submissions: the profile an application was submitted with

Revision ID: 55bb625f1ea5
Revises: 7b0fb5e245e9
Create Date: 2026-11-30 02:10:00

Applications submitted before this revision get the enterprise's profile as it stands at
the upgrade (the best record there is), marked with the time it was taken.
"""
from datetime import UTC, date, datetime
from decimal import Decimal

from alembic import op
import sqlalchemy as sa

import finportal.models.base


# revision identifiers, used by Alembic.
revision = '55bb625f1ea5'
down_revision = '7b0fb5e245e9'
branch_labels = None
depends_on = None


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def upgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('profile_snapshot', sa.JSON(), nullable=True))

    bind = op.get_bind()
    meta = sa.MetaData()
    enterprises = sa.Table('enterprises', meta, autoload_with=bind)
    applications = sa.Table('applications', meta, autoload_with=bind)
    memberships = sa.Table('memberships', meta, autoload_with=bind)
    parks = sa.Table('parks', meta, autoload_with=bind)
    chambers = sa.Table('chambers', meta, autoload_with=bind)
    from finportal.domain import fields as profile_fields

    columns = [n for n in profile_fields.fields() if n in enterprises.c]
    taken = datetime.now(UTC).isoformat()
    wanted = bind.execute(
        sa.select(applications.c.id, applications.c.enterprise_id).where(
            applications.c.state != 'draft'
        )
    ).all()
    cache = {}
    for app_id, enterprise_id in wanted:
        if enterprise_id not in cache:
            row = bind.execute(
                sa.select(*[enterprises.c[n] for n in columns]).where(
                    enterprises.c.id == enterprise_id
                )
            ).one()
            profile = {n: _plain(v) for n, v in zip(columns, row, strict=True)}
            orgs = bind.execute(
                sa.select(parks.c.code, parks.c.name_zh, chambers.c.code, chambers.c.name_zh)
                .select_from(memberships)
                .outerjoin(parks, parks.c.id == memberships.c.park_id)
                .outerjoin(chambers, chambers.c.id == memberships.c.chamber_id)
                .where(memberships.c.enterprise_id == enterprise_id)
            ).all()
            profile['park_codes'] = sorted(o[0] for o in orgs if o[0])
            profile['chamber_codes'] = sorted(o[2] for o in orgs if o[2])
            cache[enterprise_id] = {
                'taken_at': taken,
                'profile': profile,
                'memberships': {
                    'parks': sorted(o[1] for o in orgs if o[1]),
                    'chambers': sorted(o[3] for o in orgs if o[3]),
                },
            }
        bind.execute(
            applications.update()
            .where(applications.c.id == app_id)
            .values(profile_snapshot=cache[enterprise_id])
        )


def downgrade():
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_column('profile_snapshot')
