"""Benchmark notifications beyond the portal: writing outbox rows, and delivering them by SMTP.

Usage: .venv/bin/python scripts/bench_outbox.py [--users 5000] [--json]

Builds a scratch database (SQLite in a temporary folder, or ``FINPORTAL_DATABASE_URL``
when set: use a throwaway PostgreSQL), adds ``--users`` users, then measures:

- ``notify_plain_s``: ``notify()`` once per user, one commit, users without any address
  (no outbox rows: the cost as before the outbox);
- ``notify_outbox_s``: the same for users with a verified e-mail (one outbox row each);
- ``deliver_s`` / ``deliver_per_s``: ``outbox.deliver_due`` sending them all to a local
  SMTP server (aiosmtpd, a dev dependency), one SMTP connection per message.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import flask_migrate
    from sqlalchemy import func, insert, select

    from finportal import create_app
    from finportal.extensions import db
    from finportal.models import OutboxMessage, User, utcnow
    from finportal.services import notifications, outbox
    from tests.smtp_server import SmtpServer

    folder = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    os.environ.setdefault("FINPORTAL_INSTANCE_PATH", str(folder))
    url = os.environ.get("FINPORTAL_DATABASE_URL") or f"sqlite:///{folder / 'bench.db'}"
    server = SmtpServer().start()
    app = create_app({"DATABASE_URL": url, "JOBS_MODE": "eager", **server.config()})
    results: dict[str, float | int] = {"users": args.users}
    with app.app_context():
        flask_migrate.upgrade()
        session = db.session
        now = utcnow()
        for group, verified in (("plain", None), ("mail", now)):
            session.execute(
                insert(User),
                [
                    {
                        "username": f"bench-{group}-{n}",
                        "password_hash": "x",
                        "role": "advisor",
                        "email": f"bench-{group}-{n}@example.cn",
                        "email_verified_at": verified,
                    }
                    for n in range(args.users)
                ],
            )
        session.commit()
        for group in ("plain", "mail"):
            ids = session.scalars(
                select(User.id).where(User.username.like(f"bench-{group}-%")).order_by(User.id)
            ).all()
            started = time.perf_counter()
            for user_id in ids:
                notifications.notify(session, user_id=user_id, title=("基准消息", "Benchmark"))
            session.commit()
            key = "notify_plain_s" if group == "plain" else "notify_outbox_s"
            results[key] = round(time.perf_counter() - started, 3)
        results["outbox_rows"] = int(
            session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
        )
        started = time.perf_counter()
        sent = 0
        while True:
            counts = outbox.deliver_due(session, limit=500)
            sent += counts["sent"]
            if not counts["sent"]:
                break
        elapsed = time.perf_counter() - started
        server.wait_for(sent, timeout=60)
        results["sent"] = sent
        results["deliver_s"] = round(elapsed, 3)
        results["deliver_per_s"] = round(sent / elapsed, 1) if elapsed else 0
        results["database"] = url.split(":", 1)[0]
    server.stop()
    if args.json:
        print(json.dumps(results))
    else:
        for key, value in results.items():
            print(f"{key:>16}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
