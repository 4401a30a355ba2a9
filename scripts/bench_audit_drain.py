"""Print the CPU and time the audit queue's drain takes an event (docs/BENCHMARKS.md).

    FINPORTAL_DATABASE_URL=... FINPORTAL_REDIS_URL=... .venv/bin/python \\
        scripts/bench_audit_drain.py scale_bank_01 --events 2000 --referrals 50

Pushes EVENTS views, in turn, of the bank's REFERRALS viewed referrals with the longest trails
(as bank users opening kept referral pages do, ``bank_actions.queue_view``; a load test's
referrals are opened thousands of times), then drains them into the audit trail as the
periodic ``audit_queue`` task does, and prints this process's CPU and the wall time an event.
The events are written to the database's trail: run it on a benchmark database (``flask
scale-data``), never on one that holds real users' records.
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import text

from finportal import audit_queue, create_app
from finportal.extensions import db
from finportal.services import bank_actions


def main() -> None:
    """Push, then drain and time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bank_code")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--referrals", type=int, default=50)
    args = parser.parse_args()
    app = create_app({})
    with app.app_context():
        queue = audit_queue.of(app)
        if queue is None:
            raise SystemExit("no audit queue: set FINPORTAL_REDIS_URL")
        queue.drain(db.session)  # what waited before: not timed
        viewed = db.session.execute(
            text(
                "SELECT r.id, min(u.id), (SELECT count(*) FROM audit_events e"
                "   WHERE e.object_type = 'referral' AND e.object_id = r.id) AS trail"
                " FROM referrals r JOIN banks b ON b.id = r.bank_id"
                " JOIN users u ON u.bank_id = b.id"
                " WHERE b.code = :code AND r.state = 'viewed'"
                " GROUP BY r.id ORDER BY trail DESC, r.id LIMIT :n"
            ),
            {"code": args.bank_code, "n": args.referrals},
        ).all()
        trails = sorted(trail for *_, trail in viewed)
        print(
            f"{len(viewed)} referrals, their trails {trails[0]}-{trails[-1]} events"
            f" (median {trails[len(trails) // 2]})"
        )
        for n in range(args.events):
            referral_id, user_id, _trail = viewed[n % len(viewed)]
            bank_actions.queue_view(queue, referral_id, "viewed", actor_id=user_id)
        cpu, wall = time.process_time(), time.perf_counter()
        written = queue.drain(db.session)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(
            f"{written} events drained: {1000 * cpu / written:.3f} ms CPU and"
            f" {1000 * wall / written:.3f} ms wall an event (this process; PostgreSQL's own"
            " work is in the wall time)"
        )


if __name__ == "__main__":
    main()
