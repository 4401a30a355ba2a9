"""Print how many times a stale shared page is rendered when its readers ask for it at once
(docs/BENCHMARKS.md).

    FINPORTAL_DATABASE_URL=... FINPORTAL_REDIS_URL=... .venv/bin/python \\
        scripts/bench_herd.py /advisor/dashboard scale-advisor-01 scale-advisor-02 ... --rounds 5

Signs each USER in (``flask scale-data``'s password: advisors of one duty share the page),
keeps URL, then in each round makes every kept page stale (as a write would) and lets all the
users ask for URL at the same instant, each in a thread of its own (as the web workers of one
or several servers would). Prints, per round, how many of the answers were rendered and how
long the slowest one took.
"""

from __future__ import annotations

import argparse
import threading
import time
from typing import Any

from finportal import create_app, page_cache
from finportal.crawl import signed_in
from finportal.extensions import db


def main() -> None:
    """Run the rounds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("users", nargs="+")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    app = create_app({"WTF_CSRF_ENABLED": False})
    cache = page_cache.cache_of(app)
    assert cache is not None, "needs FINPORTAL_REDIS_URL (the page cache)"
    clients = [signed_in(app, user)[0] for user in args.users]
    for client in clients:
        client.get(args.url)

    def ask(client: Any, start: threading.Barrier, answers: list[tuple[bool, float]]) -> None:
        with app.app_context():
            db.session.remove()
            start.wait()
            began = time.perf_counter()
            answer = client.get(args.url)
            answers.append(
                (answer.headers.get(page_cache.HEADER) == "hit", time.perf_counter() - began)
            )
            db.session.remove()

    for n in range(args.rounds):
        cache.move_on()
        start = threading.Barrier(len(clients))
        answers: list[tuple[bool, float]] = []
        threads = [threading.Thread(target=ask, args=(c, start, answers)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        rendered = sum(not hit for hit, _ in answers)
        slowest = max(seconds for _, seconds in answers)
        print(
            f"round {n + 1}: {rendered} of {len(answers)} answers rendered;"
            f" slowest {slowest * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
