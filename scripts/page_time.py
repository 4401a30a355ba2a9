"""Print the wall-clock milliseconds of pages, one request at a time (docs/BENCHMARKS.md).

    FINPORTAL_DATABASE_URL=... .venv/bin/python scripts/page_time.py demo-admin /admin/users

Signs in as USER (``-`` for anonymous; the password of ``flask scale-data``), opens each URL
once to warm caches, then ``--repeat`` times through the test client (no server, no network)
and prints the status, the median milliseconds and the size of the answer. The SQL part of
the same request is what ``scripts/page_sql.py`` prints.
"""

from __future__ import annotations

import argparse
import statistics
import time

from finportal import create_app
from finportal.crawl import signed_in


def main() -> None:
    """Time each page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("user", help="username, or - for anonymous")
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per page")
    args = parser.parse_args()
    app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    client, _home = signed_in(app, args.user)
    for url in args.urls:
        client.get(url)
        times = []
        for _ in range(max(1, args.repeat)):
            started = time.perf_counter()
            answer = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        size = len(answer.data) / 1024
        print(f"{answer.status_code} {statistics.median(times):9.1f} ms {size:9.1f} KB  {url}")


if __name__ == "__main__":
    main()
