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


def test_another_thread_keeps_its_own_database_while_a_test_runs(
    app, db_session, create_user, tmp_path, monkeypatch
):
    """A portal served from a thread (the browser tests', with its job threads) reads its own
    database, not the connection of the test that runs meanwhile in the same process."""
    import threading

    import flask_migrate

    from finportal import create_app
    from finportal.extensions import db
    from finportal.models import User

    monkeypatch.setenv("FINPORTAL_INSTANCE_PATH", str(tmp_path))
    served = create_app(
        {
            "TESTING": True,
            "CHECK_PACKET_ENVIRONMENT": False,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}",
            "JOBS_MODE": "eager",
        }
    )
    with served.app_context():
        flask_migrate.upgrade()
    user = create_user("sme")  # in the test's transaction only
    seen: dict[str, object] = {}

    def serve() -> None:
        with served.app_context():
            try:
                seen["users"] = db.session.query(User).count()
                seen["found"] = db.session.get(User, user.id) is not None
            finally:
                db.session.remove()

    thread = threading.Thread(target=serve)
    thread.start()
    thread.join(timeout=30)
    assert seen == {"users": 0, "found": False}
    # The test's own thread still works in its transaction.
    assert db.session.get(User, user.id) is not None
