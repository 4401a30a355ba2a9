"""Print the CPU and Redis round trips of a session's views of shared pages another session
rendered: its first view of each, then its later ones (docs/BENCHMARKS.md).

    FINPORTAL_DATABASE_URL=... FINPORTAL_REDIS_URL=... .venv/bin/python \\
        scripts/bench_first_views.py scale-bank-01-1 scale_bank_01 --pages 80

Signs two sessions in as USER (``flask scale-data``'s password), lets the first open
``--pages`` of the bank's referrals twice (their shared pages kept), then the second opens
each once (a first view: a bank user opening a referral its colleague opened), then each
again. Prints the mean CPU milliseconds, the Redis commands and the statements a view took,
and how many views were answered from the page cache (``--profile N``: then where later views'
time goes, the N costliest calls). Keep ``--pages`` under what a reader's
share of a minute's budget holds (about 100 referral pages with the default budget).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from redis import Redis
from sqlalchemy import event, text

from finportal import create_app
from finportal.crawl import signed_in
from finportal.extensions import db


def main() -> None:
    """Time the first and the later views."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("user")
    parser.add_argument("bank_code")
    parser.add_argument("--pages", type=int, default=80)
    parser.add_argument(
        "--profile", type=int, default=0, help="then print the N costliest calls of later views"
    )
    args = parser.parse_args()
    app = create_app({"WTF_CSRF_ENABLED": False})
    with app.app_context():
        ids = db.session.scalars(
            text(
                "SELECT r.id FROM referrals r JOIN banks b ON b.id = r.bank_id"
                " WHERE b.code = :code ORDER BY r.id DESC LIMIT :n"
            ),
            {"code": args.bank_code, "n": args.pages},
        ).all()
    counted = {"redis": 0, "statements": 0}
    command = Redis.execute_command

    def counting(self: Redis, *a: Any, **k: Any) -> Any:
        counted["redis"] += 1
        return command(self, *a, **k)

    Redis.execute_command = counting  # type: ignore[method-assign]
    event.listen(
        app.extensions["finportal_engine"],
        "before_cursor_execute",
        lambda *_: counted.__setitem__("statements", counted["statements"] + 1),
    )
    colleague, _ = signed_in(app, args.user)
    reader, _ = signed_in(app, args.user)  # before the pages are kept: a sign-in is a write

    def view(client: Any, referral_id: int) -> bool:
        with app.app_context():
            db.session.remove()
        answer = client.get(f"/bank/referrals/{referral_id}", headers={"Accept-Encoding": "gzip"})
        return answer.headers.get("X-Page-Cache") == "hit"

    for _ in range(2):
        for referral_id in ids:
            view(colleague, referral_id)
    view(reader, ids[0])  # the reader's first view of the scope: its checks run once
    for label in ("first views", "later views"):
        counted.update(redis=0, statements=0)
        cpu, kept = time.process_time(), 0
        for referral_id in ids[1:]:
            kept += view(reader, referral_id)
        cpu = time.process_time() - cpu
        n = len(ids) - 1
        print(
            f"{label}: {cpu * 1000 / n:.2f} ms CPU, {counted['redis'] / n:.1f} Redis commands,"
            f" {counted['statements'] / n:.1f} statements a view; {kept}/{n} kept"
        )
    if args.profile:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        profile.enable()
        for referral_id in ids[1:]:
            view(reader, referral_id)
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)


if __name__ == "__main__":
    main()
