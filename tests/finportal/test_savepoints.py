"""A test's rolled-back sessions leave no savepoint open (tests/conftest.py, the tests' engine).

Each session of a test works in a savepoint of the test's transaction; a rollback to it
used to keep it open, so later work nested ever deeper and, on PostgreSQL, every write
held one more transaction-id lock until the test ended.
"""

from __future__ import annotations

from sqlalchemy import update

from tests.finportal.test_fuzz_harness import _follow_savepoints, _transaction_id_locks

ROLLBACKS = 60


def test_rolled_back_writes_leave_no_savepoint_and_no_lock_behind(db_session, create_user):
    """A session that writes and rolls back again and again (a refused form, each time)."""
    from finportal.extensions import db
    from finportal.models import User

    user = create_user("sme")
    connection = db.test_bind
    postgres = connection.dialect.name == "postgresql"
    live = _follow_savepoints(connection)
    locks_before = _transaction_id_locks(connection) if postgres else 0

    for n in range(ROLLBACKS):
        db_session.execute(update(User).where(User.id == user.id).values(phone=f"1380000{n:04d}"))
        db_session.rollback()

    if postgres:
        # Before: one lock more per rollback.
        assert _transaction_id_locks(connection) - locks_before <= 2
    assert live == []
    assert db_session.get(User, user.id).phone in (None, "")
