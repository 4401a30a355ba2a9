"""Two workers delivering the outbox at the same time send every message exactly once."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from finportal.extensions import db
from finportal.models import Notification, OutboxMessage, User, utcnow
from finportal.services import notifications, outbox
from tests.smtp_server import SmtpServer

MESSAGES = 40


def test_two_workers_at_once_send_each_message_once(app: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("FINPORTAL_BASE_URL", "http://localhost")
    server = SmtpServer(delay=0.05).start()  # slow: the workers overlap
    config = {**app.config, **server.config()}
    with app.app_context():
        engine = db.get_engine()
    name = f"race-{uuid.uuid4().hex[:8]}"
    with Session(engine) as session:
        user = User(
            username=name,
            password_hash="x",
            role="advisor",
            email=f"{name}@example.cn",
            email_verified_at=utcnow(),
        )
        session.add(user)
        session.flush()
        for n in range(MESSAGES):
            notifications.notify(session, user_id=user.id, title=(f"消息{n}", f"Message {n}"))
        session.commit()
        user_id = user.id
    try:
        barrier = threading.Barrier(2)
        results: list[dict[str, int]] = []
        errors: list[BaseException] = []

        def worker() -> None:
            try:
                with Session(engine) as session:
                    barrier.wait()
                    while True:  # small batches, so the two workers' claims interleave
                        counts = outbox.deliver_due(session, limit=5, config=config)
                        results.append(counts)
                        if not counts["sent"]:
                            break
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == []
        received = server.wait_for(MESSAGES)
        assert sum(r["sent"] for r in results) == MESSAGES
        subjects = sorted(m.subject for m in received)
        assert len(subjects) == len(set(subjects)) == MESSAGES
        with Session(engine) as session:
            states = session.scalars(
                select(OutboxMessage.state).where(OutboxMessage.user_id == user_id)
            ).all()
        assert sorted(states) == ["sent"] * MESSAGES
    finally:
        server.stop()
        with Session(engine) as session:
            session.execute(delete(OutboxMessage).where(OutboxMessage.user_id == user_id))
            session.execute(delete(Notification).where(Notification.user_id == user_id))
            session.execute(delete(User).where(User.id == user_id))
            session.commit()
