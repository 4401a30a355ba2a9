"""Audit events that change no record, written to the trail seconds after they happen.

DESIGN.md wants every packet view as an audit event. A bank's first view of a referral moves
it (sent -> viewed) and is written with that change, in the request. A view after it changes
nothing; written in the request, its event cost most of the page (the chain's lock, a
commit, the page cache's generations moved): docs/BENCHMARKS.md, stops 27-29. With Redis
configured such an event is instead pushed on a Redis list in the request (one round trip),
and the periodic task ``audit_queue`` (every :data:`DRAIN_SECONDS`) writes the waiting
events to the trail, each with the time and the user of the view, linked into the chain like
every other event (``services/audit.py``).

Nothing is lost, and nothing is written twice:

- Redis unreachable: the event is written in the request, as without Redis.
- Redis keeps the list in its append-only file (``scripts/prod.sh``), as it keeps the job
  queue; the list is named after the database, so two portals on one Redis keep apart.
- Each event carries a key (``data.queued``). A drain takes events from the head of the list,
  writes those whose key the trail does not hold yet, commits, and only then removes them:
  a drain that dies in between leaves them for the next, which skips what was written.
- Two drains never run at once (a lock in Redis that lapses after :data:`LOCK_SECONDS`).

Without Redis (the embedded default) there is no queue: every event is written in the
request. ``flask --app wsgi audit drain`` writes the waiting events at once; ``audit
verify`` says how many wait.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal.models import AuditEvent, utcnow
from finportal.services import audit
from finportal.services.audit import record_event

if TYPE_CHECKING:
    from flask import Flask

#: Seconds between two drains (the scheduler's interval): how late a queued event reaches
#: the trail at most, while the scheduler runs.
DRAIN_SECONDS = 10
#: Events one drain writes in each transaction (the chain's lock is held through their links).
CHUNK = 200
#: Seconds after which a drain's lock lapses (a drain killed while holding it).
LOCK_SECONDS = 60
#: Seconds a push waits for Redis before the event is written in the request instead.
SOCKET_TIMEOUT_SECONDS = 0.1
#: The key an event carries in its data.
KEY = "queued"
#: The fields of a queued event besides its key and time (as ``record_event`` takes them).
_FIELDS = ("actor_id", "action", "object_type", "object_id", "from_state", "to_state")


class AuditQueue:
    """One Redis list of audit events waiting for the trail of one database."""

    def __init__(self, url: str, database_url: str) -> None:
        from redis import Redis

        from finportal.page_cache import RELEASE_IF_HELD_SCRIPT, database_space

        self.redis = Redis.from_url(
            url,
            socket_timeout=SOCKET_TIMEOUT_SECONDS,
            socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        )
        self.key = f"finportal:audit-queue:{database_space(database_url)}"
        self.lock_key = self.key + ":drain"
        self._unlock = self.redis.register_script(RELEASE_IF_HELD_SCRIPT)

    def push(self, event: dict[str, Any]) -> bool:
        """Queue an event that changes no record (its :data:`_FIELDS`), stamped now; tell
        whether Redis took it (if not, the caller writes it with ``record_event``)."""
        item = {
            KEY: uuid.uuid4().hex,
            "at": utcnow().astimezone(UTC).isoformat(timespec="microseconds"),
            **{name: event[name] for name in _FIELDS},
        }
        try:
            self.redis.rpush(self.key, json.dumps(item, sort_keys=True))
        except Exception:  # noqa: BLE001 - Redis away: the caller writes the event now
            return False
        return True

    def waiting(self) -> int:
        """Return how many events wait for the trail."""
        return int(self.redis.llen(self.key))

    def drain(self, session: Session, *, chunk: int = CHUNK) -> int:
        """Write the waiting events to the trail, oldest first, ``chunk`` per transaction;
        return how many were written (0 while another drain runs)."""
        token = uuid.uuid4().hex
        if not self.redis.set(self.lock_key, token, nx=True, ex=LOCK_SECONDS):
            return 0
        written = 0
        try:
            while True:
                raw = self.redis.lrange(self.key, 0, chunk - 1)
                if not raw:
                    return written
                written += _write(session, [json.loads(value) for value in raw])
                with self.redis.pipeline(transaction=False) as pipe:
                    for value in raw:
                        pipe.lrem(self.key, 1, value)
                    pipe.expire(self.lock_key, LOCK_SECONDS)
                    pipe.execute()
        finally:
            self._unlock(keys=[self.lock_key], args=[token])


def _write(session: Session, items: list[dict[str, Any]]) -> int:
    """Write the events not yet in the trail and commit (the chain links them); return how many."""
    keys = [item[KEY] for item in items]
    times = {item[KEY]: datetime.fromisoformat(item["at"]) for item in items}
    # An event written by a drain bears the time it was queued at: the trail's events of the
    # items' span of time (its index on ``at``) hold every one written before. Looked up by
    # record, as before, it read every event of the viewed records, each view ever recorded:
    # a drain's cost grew with every view (docs/BENCHMARKS.md, "3 December 2026, late").
    done = set(
        session.scalars(
            select(AuditEvent.data[KEY].as_string()).where(
                AuditEvent.at.between(min(times.values()), max(times.values())),
                AuditEvent.data[KEY].as_string().in_(keys),
            )
        )
    )
    fresh = [item for item in items if item[KEY] not in done]
    for item in fresh:
        event = record_event(
            session, **{name: item[name] for name in _FIELDS}, data={KEY: item[KEY]}
        )
        event.at = times[item[KEY]]
    audit.commit_batch(session)
    return len(fresh)


def of(app: Flask) -> AuditQueue | None:
    """Return the app's audit queue, or None without one (no Redis, or turned off)."""
    url = app.config.get("AUDIT_QUEUE_URL")
    if not url:
        return None
    kept = app.extensions.get("finportal_audit_queue")
    if kept is None or kept[0] != url:
        kept = (url, AuditQueue(url, str(app.config["DATABASE_URL"])))
        app.extensions["finportal_audit_queue"] = kept
    queue: AuditQueue = kept[1]
    return queue
