"""Repeated referral views queued in Redis and written to the audit trail by a drain
(finportal/audit_queue.py), on a real Redis and the test database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from finportal import audit_queue
from finportal.models import AuditEvent, utcnow
from finportal.services import audit, bank_actions


@pytest.fixture
def queue(app: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The portal's audit queue on the test Redis, empty (it outlives the test's database
    transaction, so it is emptied after the test too)."""
    monkeypatch.setitem(app.config, "AUDIT_QUEUE_URL", redis_url)
    made = audit_queue.of(app)
    assert made is not None
    made.redis.delete(made.key, made.lock_key)
    yield made
    made.redis.delete(made.key, made.lock_key)


def _trail(session: Any, referral_id: int) -> list[AuditEvent]:
    session.expire_all()
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "referral", AuditEvent.object_id == referral_id)
            .order_by(AuditEvent.seq)
        )
    )


def _view(session: Any, loop: Any, queue: Any) -> Any:
    return bank_actions.record_view(
        session,
        loop.referral.id,
        bank_id=loop.bank.id,
        actor_id=loop.bank_user.id,
        queue=queue,
    )


def test_a_view_after_the_first_reaches_the_trail_when_the_queue_is_drained(
    db_session, loop, queue
):
    """The first view moves the referral and is in the trail at once; the two after it wait
    in Redis, then are in the trail with their own times and user, linked into the chain."""
    rid = loop.referral.id
    first = _view(db_session, loop, queue)
    assert first is not None and first.state == "viewed"
    assert [e.action for e in _trail(db_session, rid)][-1] == "referral.viewed"
    before = len(_trail(db_session, rid))

    started = utcnow()
    assert _view(db_session, loop, queue) is None
    assert _view(db_session, loop, queue) is None
    ended = utcnow()
    assert len(_trail(db_session, rid)) == before
    assert queue.waiting() == 2

    assert queue.drain(db_session) == 2
    assert queue.waiting() == 0
    opened = _trail(db_session, rid)[before:]
    assert [(e.action, e.from_state, e.to_state, e.actor_id) for e in opened] == [
        ("referral.opened", "viewed", "viewed", loop.bank_user.id)
    ] * 2
    assert all(started <= e.at <= ended for e in opened)
    assert opened[0].at < opened[1].at
    # Linked into the chain, one after the other (the test database's whole chain is shared
    # with other tests: the links of these events are checked, as `audit verify` does).
    assert opened[1].seq == opened[0].seq + 1 and opened[1].prev_hash == opened[0].row_hash
    for event in opened:
        fields = {name: getattr(event, name) for name in audit._WRITTEN_FIELDS}
        assert event.row_hash == audit.event_hash(event.prev_hash, seq=event.seq, **fields)
    assert queue.drain(db_session) == 0


def test_a_drain_cut_short_after_its_commit_writes_nothing_twice(db_session, loop, queue):
    """A drain killed after writing its events and before taking them off the list: the
    next drain finds them written and only takes them off."""
    rid = loop.referral.id
    _view(db_session, loop, queue)
    _view(db_session, loop, queue)
    (waiting,) = queue.redis.lrange(queue.key, 0, -1)
    assert queue.drain(db_session) == 1
    queue.redis.rpush(queue.key, waiting)  # as the killed drain left it

    assert queue.drain(db_session) == 0
    assert queue.waiting() == 0
    assert [e.action for e in _trail(db_session, rid)].count("referral.opened") == 1


def test_a_drain_waits_while_another_runs(db_session, loop, queue):
    """A second drain started while one holds the lock writes nothing; the events wait."""
    _view(db_session, loop, queue)
    _view(db_session, loop, queue)
    queue.redis.set(queue.lock_key, "another drain", ex=60)
    assert queue.drain(db_session) == 0
    assert queue.waiting() == 1
    queue.redis.delete(queue.lock_key)
    assert queue.drain(db_session) == 1


def test_with_redis_away_a_view_is_written_in_the_request(db_session, loop, app):
    """Redis unreachable: the view's event is written with the request, as without Redis."""
    rid = loop.referral.id
    away = audit_queue.AuditQueue("redis://127.0.0.1:9/0", app.config["DATABASE_URL"])
    _view(db_session, loop, away)
    before = len(_trail(db_session, rid))
    _view(db_session, loop, away)
    trail = _trail(db_session, rid)
    assert len(trail) == before + 1
    assert trail[-1].action == "referral.opened"


def test_the_bank_page_queues_its_repeated_views_and_the_commands_write_them(
    app, db_session, loop, queue, login
):
    """A bank user opens a referral three times: each page shows it; ``audit verify`` says
    two views wait, ``audit drain`` writes them, and the trail then holds all three views."""
    rid = loop.referral.id
    client = login(loop.bank_user)
    for _ in range(3):
        page = client.get(f"/bank/referrals/{rid}")
        assert page.status_code == 200
        assert loop.enterprise.name in page.text
    runner = app.test_cli_runner()
    # (Whether the test database's shared chain holds is another test's matter.)
    verified = runner.invoke(args=["audit", "verify"])
    assert "2 more events wait in the queue" in verified.output
    drained = runner.invoke(args=["audit", "drain"])
    assert "2 waiting events written" in drained.output
    actions = [e.action for e in _trail(db_session, rid)]
    assert actions[-3:] == ["referral.viewed", "referral.opened", "referral.opened"]


def test_the_api_queues_its_repeated_views_too(app, db_session, loop, queue):
    """The bank API's referral detail records its repeated views the same way."""
    from finportal.services import api_tokens

    _row, token = api_tokens.create_token(db_session, bank_id=loop.bank.id, actor_id=None)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(2):
        assert (
            client.get(f"/api/v1/referrals/{loop.referral.id}", headers=headers).status_code == 200
        )
    assert queue.waiting() == 1
    assert queue.drain(db_session) == 1
    assert _trail(db_session, loop.referral.id)[-1].at > utcnow() - timedelta(minutes=1)


def test_the_scheduler_drains_the_queue_every_few_seconds(db_session, loop, queue):
    """The periodic task writes what waits, at the interval the module names."""
    from finportal import jobs

    task, interval = jobs.PERIODIC["audit_queue"]
    assert interval == audit_queue.DRAIN_SECONDS <= 60
    _view(db_session, loop, queue)
    _view(db_session, loop, queue)
    assert task(db_session) == {"written": 1}
    assert queue.waiting() == 0
