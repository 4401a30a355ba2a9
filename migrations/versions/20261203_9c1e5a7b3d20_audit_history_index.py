"""a record's audit history indexed without repeated views; its events by action

Revision ID: 9c1e5a7b3d20
Revises: 5b8e3d1f7a42
Create Date: 2026-12-03 20:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "9c1e5a7b3d20"
down_revision = "5b8e3d1f7a42"
branch_labels = None
depends_on = None

#: The view actions as this revision knows them (finportal.rows.EVERY_VIEW_ACTION).
WITHOUT_VIEWS = "action NOT IN ('referral.opened')"


def upgrade():
    # Issue 12: a referral a bank opened thousands of times has thousands of events, and every
    # read of its history (the review page, the firm's timeline, its answers, its downloads)
    # read them all to find a handful: the histories pages show now have an index without
    # the repeated views, and a record's events of one action are found by the action too.
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_object")
        batch_op.create_index(
            "ix_audit_events_object", ["object_type", "object_id", "action"], unique=False
        )
        batch_op.create_index(
            "ix_audit_events_history",
            ["object_type", "object_id"],
            unique=False,
            postgresql_where=sa.text(WITHOUT_VIEWS),
            sqlite_where=sa.text(WITHOUT_VIEWS),
        )


def downgrade():
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_history")
        batch_op.drop_index("ix_audit_events_object")
        batch_op.create_index("ix_audit_events_object", ["object_type", "object_id"], unique=False)
