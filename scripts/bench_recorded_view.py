"""Print the CPU and wall milliseconds of a page viewed again and again, in process (docs/BENCHMARKS.md).

    FINPORTAL_DATABASE_URL=... FINPORTAL_REDIS_URL=... .venv/bin/python \
        scripts/bench_recorded_view.py scale-bank-01-1 /bank/referrals/101549 --repeat 300

Signs in as USER (the password of ``flask scale-data``), opens URL ten times to warm up,
then ``--repeat`` times, each with a database session of its own as a server's request has,
and prints the mean wall and CPU milliseconds per view, how many were answered from the page
cache, and the statements one view runs. Made for the bank's referral page, whose every view
is recorded (an audit event, its chain, a commit) before its kept page is looked up.
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import event

from finportal import create_app
from finportal.crawl import signed_in
from finportal.extensions import db


def main() -> None:
    """Time the views."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("user")
    parser.add_argument("url")
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    client, _home = signed_in(app, args.user)

    def view() -> object:
        with app.app_context():
            db.session.remove()
        return client.get(args.url)

    for _ in range(10):
        view()
    statements: list[str] = []
    event.listen(
        app.extensions["finportal_engine"],
        "before_cursor_execute",
        lambda *a: statements.append(" ".join(a[2].split())[:90]),
    )
    wall, cpu, kept = time.perf_counter(), time.process_time(), 0
    for _ in range(args.repeat):
        answer = view()
        kept += answer.headers.get("X-Page-Cache") == "hit"  # type: ignore[attr-defined]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"{args.url}: {wall * 1000 / args.repeat:.2f} ms wall, {cpu * 1000 / args.repeat:.2f} ms"
        f" CPU per view; {kept}/{args.repeat} kept; {len(statements) / args.repeat:.1f}"
        " statements per view:"
    )
    for statement in statements[: len(statements) // args.repeat]:
        print("   ", statement)


if __name__ == "__main__":
    main()
