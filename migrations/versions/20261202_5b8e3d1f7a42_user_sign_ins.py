"""users' sign-in states in a table of their own

Revision ID: 5b8e3d1f7a42
Revises: 128916d4c4bc
Create Date: 2026-12-02 19:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

import finportal.models.base

# revision identifiers, used by Alembic.
revision = "5b8e3d1f7a42"
down_revision = "128916d4c4bc"
branch_labels = None
depends_on = None


def upgrade():
    # Issue 12: each sign-in and sign-out wrote the user's row, and the page cache follows
    # writes per table, so every page showing any user's name went stale with each of them.
    op.create_table(
        "user_sign_ins",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_version", sa.Integer(), nullable=False),
        sa.Column(
            "last_login_at", finportal.models.base.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_user_sign_ins_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_user_sign_ins")),
    )
    op.execute(
        "INSERT INTO user_sign_ins (user_id, session_version, last_login_at) "
        "SELECT id, session_version, last_login_at FROM users"
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("last_login_at")
        batch_op.drop_column("session_version")


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column(
                "last_login_at", finportal.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
    op.execute(
        "UPDATE users SET session_version = s.session_version, last_login_at = s.last_login_at "
        "FROM user_sign_ins AS s WHERE s.user_id = users.id"
    )
    op.drop_table("user_sign_ins")
