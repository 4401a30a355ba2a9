"""The audit trail is a hash chain: appended safely by concurrent writers, verified link by link.

These tests run on a scratch database of the same kind as the test database (a SQLite file,
or a new PostgreSQL database), because they commit and tamper with rows for real.
"""

from __future__ import annotations

import threading
import uuid

import flask_migrate
import pytest
from sqlalchemy import create_engine, delete, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from finportal.models import AuditChainHead, AuditEvent, utcnow
from finportal.services import audit

pytestmark = pytest.mark.db


def _scratch_url(database_url, tmp_path_factory):
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path_factory.mktemp('audit') / 'audit.db'}", None
    name = f"audit_{uuid.uuid4().hex[:8]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    return url, (admin, name)


def _drop(created):
    if created:
        admin, name = created
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def scratch(database_url, tmp_path_factory):
    """An app on its own migrated database; yields (app, engine)."""
    from finportal import create_app

    url, created = _scratch_url(database_url, tmp_path_factory)
    app = create_app(
        {
            "TESTING": True,
            "CHECK_PACKET_ENVIRONMENT": False,
            "DATABASE_URL": url,
            "JOBS_MODE": "eager",
        }
    )
    with app.app_context():
        flask_migrate.upgrade()
    engine = app.extensions["finportal_engine"]
    yield app, engine
    engine.dispose()
    _drop(created)


@pytest.fixture
def chain(scratch):
    """An empty chain at the start of each test; yields the scratch engine."""
    app, engine = scratch
    with engine.begin() as conn:
        conn.execute(delete(AuditEvent))
        conn.execute(update(AuditChainHead).values(seq=0, row_hash=audit.GENESIS_HASH))
    return engine


def record(session, i, **extra):
    return audit.record_event(
        session,
        actor_id=None,
        action="test.happened",
        object_type="thing",
        object_id=i,
        from_state="a",
        to_state="b",
        reason=f"第 {i} 件事",
        data={"i": i, "amount": "1000000.00", "names": ["甲", "乙"], **extra},
    )


def append(engine, count, per_commit=1):
    with Session(engine) as session:
        for i in range(count):
            record(session, i)
            if (i + 1) % per_commit == 0:
                session.commit()
        session.commit()


def links(engine):
    with engine.connect() as conn:
        return conn.execute(
            select(
                AuditEvent.id, AuditEvent.seq, AuditEvent.prev_hash, AuditEvent.row_hash
            ).order_by(AuditEvent.seq)
        ).all()


def verify(engine):
    with Session(engine) as session:
        return audit.verify_chain(session, batch=3)  # small pages: the paging is tested too


# The chain is linked in the database on PostgreSQL and in Python on SQLite: on both engines.
@pytest.mark.both_engines
def test_each_event_carries_the_hash_of_the_one_before(chain):
    append(chain, 4)
    append(chain, 6, per_commit=3)
    with Session(chain) as session:
        # Added straight to the session (not through record_event), with no time given.
        session.add(AuditEvent(action="test.direct", object_type="thing", object_id=99))
        session.commit()
    rows = links(chain)
    assert [r.seq for r in rows] == list(range(1, 12))
    assert rows[0].prev_hash == audit.GENESIS_HASH
    assert all(b.prev_hash == a.row_hash for a, b in zip(rows, rows[1:], strict=False))
    report = verify(chain)
    assert report.ok and report.checked == 11
    assert (report.head_seq, report.head_hash) == (11, rows[-1].row_hash)


@pytest.mark.both_engines
def test_an_event_written_before_its_commit_is_linked_where_it_is(chain):
    with Session(chain) as session:
        first = record(session, 1)
        session.flush()  # written without its link, as a query's autoflush does
        record(session, 2)
        session.commit()
        assert first.seq == 1  # read back: the object holds its row's link
    rows = links(chain)
    assert [r.seq for r in rows] == [1, 2] and rows[1].prev_hash == rows[0].row_hash
    assert verify(chain).ok


def test_rolled_back_events_leave_no_gap(chain):
    with Session(chain) as session:
        record(session, 1)
        session.commit()
        record(session, 2)
        session.flush()
        session.rollback()
        record(session, 3)
        savepoint = session.begin_nested()
        record(session, 4)
        savepoint.rollback()
        record(session, 5)
        session.commit()
    with chain.connect() as conn:
        kept = conn.execute(select(AuditEvent.object_id).order_by(AuditEvent.seq)).scalars().all()
    assert kept == [1, 3, 5]
    assert verify(chain).ok


@pytest.mark.parametrize(
    ("tamper", "broken_seq", "says"),
    [
        ("UPDATE audit_events SET reason = '改过了' WHERE seq = 3", 3, "内容"),
        ("UPDATE audit_events SET actor_id = NULL, object_id = 42 WHERE seq = 2", 2, "内容"),
        ("UPDATE audit_events SET at = at - INTERVAL '1 day' WHERE seq = 4", 4, "内容"),
        ("DELETE FROM audit_events WHERE seq = 3", 3, "缺少第 3 至 3 条"),
        ("DELETE FROM audit_events WHERE seq = 5", 5, "末尾事件被删除"),
        ("UPDATE audit_chain_head SET seq = 4", 5, "链头"),
    ],
)
def test_a_changed_or_removed_row_is_found(chain, scratch, tamper, broken_seq, says):
    if "INTERVAL" in tamper and chain.dialect.name == "sqlite":
        tamper = "UPDATE audit_events SET at = '2020-01-01 00:00:00.000000' WHERE seq = 4"
    append(chain, 5)
    assert verify(chain).ok
    with chain.begin() as conn:
        conn.execute(text(tamper))
    report = verify(chain)
    assert not report.ok
    assert report.broken.seq == broken_seq
    assert says in report.broken.problem_zh

    app, _ = scratch
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"第 {broken_seq} 条" in result.output
    assert says in result.output


def test_a_rehashed_row_breaks_the_next_link_and_an_anchor_catches_a_rewrite(chain, scratch):
    app, _ = scratch
    runner = app.test_cli_runner()
    append(chain, 5)
    anchor = runner.invoke(args=["audit", "head"]).output.strip()
    assert anchor.startswith("5:")

    # An attacker edits event 3 and recomputes its own hash: the link from event 4 breaks.
    with Session(chain) as session:
        row = session.scalar(select(AuditEvent).where(AuditEvent.seq == 3))
        row.reason = "改过了"
        row.row_hash = rehashed = audit.event_hash(row.prev_hash, **audit._fields(row))
        session.commit()
    report = verify(chain)
    assert report.broken.seq == 4 and "前一条" in report.broken.problem_zh

    # Rewriting every later link and the head makes the chain consistent again: only a
    # head kept outside the database (the anchor) shows the rewrite.
    with Session(chain) as session:
        prev = rehashed
        for later in session.scalars(
            select(AuditEvent).where(AuditEvent.seq > 3).order_by(AuditEvent.seq)
        ):
            later.prev_hash = prev
            later.row_hash = prev = audit.event_hash(prev, **audit._fields(later))
        session.execute(update(AuditChainHead).values(row_hash=prev))
        session.commit()
    assert verify(chain).ok
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "审计链完整" in ok.output
    caught = runner.invoke(args=["audit", "verify", "--anchor", anchor])
    assert caught.exit_code == 1 and "第 5 条" in caught.output


def test_an_event_written_around_the_portal_is_reported(chain):
    append(chain, 2)
    with chain.begin() as conn:
        conn.execute(
            insert(AuditEvent.__table__).values(
                at=utcnow(), action="forged", object_type="thing", reason=""
            )
        )
    report = verify(chain)
    assert report.broken is not None and report.broken.seq is None
    assert "不在链中" in report.broken.problem_zh


def test_concurrent_writers_never_fork_the_chain(chain):
    writers, commits = 4, 8
    barrier = threading.Barrier(writers)
    errors = []

    def write(w):
        try:
            with Session(chain) as session:
                barrier.wait(timeout=10)
                for i in range(commits):
                    record(session, w * 100 + i)
                    record(session, w * 100 + i, second=True)
                    session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    rows = links(chain)
    assert [r.seq for r in rows] == list(range(1, writers * commits * 2 + 1))
    assert verify(chain).ok
    with chain.connect() as conn:
        # Both events of one commit are neighbours in the chain.
        pairs = conn.execute(
            select(AuditEvent.object_id, func.min(AuditEvent.seq), func.max(AuditEvent.seq))
            .group_by(AuditEvent.object_id)
            .order_by(AuditEvent.object_id)
        ).all()
    assert all(high - low == 1 for _, low, high in pairs)


def test_the_migration_chains_existing_events_and_can_go_back(database_url, tmp_path_factory):
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from finportal import create_app

    url, created = _scratch_url(database_url, tmp_path_factory)
    app = create_app({"TESTING": True, "CHECK_PACKET_ENVIRONMENT": False, "DATABASE_URL": url})
    engine = app.extensions["finportal_engine"]
    old_events = sa.table(
        "audit_events",
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("action", sa.String()),
        sa.column("object_type", sa.String()),
        sa.column("object_id", sa.Integer()),
        sa.column("reason", sa.Text()),
        sa.column("data", sa.JSON()),
    )
    try:
        with app.app_context():
            flask_migrate.upgrade(revision="c30f9989c20a")  # before the chain
            with engine.begin() as conn:
                for day, object_id in ((3, 30), (1, 10), (2, 20)):  # ids not in time order
                    conn.execute(
                        old_events.insert().values(
                            at=datetime(2026, 11, day, 8, 0, 0, 123456, tzinfo=UTC),
                            action="application.submitted",
                            object_type="application",
                            object_id=object_id,
                            reason="历史事件",
                            data={"amount": "1000000.00", "term": 12},
                        )
                    )
            flask_migrate.upgrade()
            with engine.connect() as conn:
                chained = (
                    conn.execute(select(AuditEvent.object_id).order_by(AuditEvent.seq))
                    .scalars()
                    .all()
                )
            assert chained == [10, 20, 30]  # in the order they happened
            report = verify(engine)
            assert report.ok and report.checked == 3
            # New events continue the migrated chain.
            append(engine, 2)
            assert verify(engine).ok and verify(engine).checked == 5

            flask_migrate.downgrade(revision="c30f9989c20a")
            inspector = sa.inspect(engine)
            assert "seq" not in {c["name"] for c in inspector.get_columns("audit_events")}
            assert "audit_chain_head" not in inspector.get_table_names()
            flask_migrate.upgrade()
            assert verify(engine).ok and verify(engine).checked == 5
    finally:
        engine.dispose()
        _drop(created)


@pytest.mark.slow
def test_the_demo_history_verifies_though_it_is_backdated(demo_app):
    """The demo invents months of history and backdates it: it still forms one valid chain.

    ``demo_app``'s database holds the demo loaded from empty and committed for real.
    """
    app = demo_app
    chain = app.extensions["finportal_engine"]
    report = verify(chain)
    assert report.ok, report.broken
    assert report.checked > 50
    with chain.connect() as conn:
        unchained = conn.scalar(select(func.count()).where(AuditEvent.seq.is_(None)))
    assert unchained == 0
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
