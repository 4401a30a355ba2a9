"""Print every SQL statement of one request to a page, with its time (docs/BENCHMARKS.md).

    FINPORTAL_DATABASE_URL=... .venv/bin/python scripts/page_sql.py scale-advisor-01 /advisor/

Signs in as USER (``-`` for anonymous, password of ``flask scale-data``), opens URL once to
warm caches, then prints the status of a second request, its statement count and the
milliseconds spent in SQL, and one line per statement (time, first 220 characters).
``--explain N`` also prints PostgreSQL's ``EXPLAIN ANALYZE`` of the N-th statement.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from sqlalchemy import event

from finportal import create_app
from finportal.crawl import signed_in
from finportal.extensions import db


def main() -> None:
    """Print the statements of one request."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("user", help="username, or - for anonymous")
    parser.add_argument("url")
    parser.add_argument("--explain", type=int, default=0, help="EXPLAIN ANALYZE statement N")
    args = parser.parse_args()
    app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    client, _home = signed_in(app, args.user)
    client.get(args.url)
    log: list[tuple[float, str, Any]] = []

    def before(conn: Any, _cursor: Any, _statement: str, *_: Any) -> None:
        conn.info["fp_started"] = time.perf_counter()

    def after(conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        log.append(((time.perf_counter() - conn.info["fp_started"]) * 1000, statement, params))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "after_cursor_execute", after)
    status = client.get(args.url).status_code
    total = sum(t for t, _, _ in log)
    print(f"{status} {len(log)} statements {total:.1f} ms in SQL")
    for n, (ms, statement, _) in enumerate(log, 1):
        print(f"{n:3} {ms:7.2f}  {' '.join(statement.split())[:220]}")
    if args.explain:
        _ms, statement, params = log[args.explain - 1]
        with app.app_context(), db.engine.connect() as conn:
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
            print("\n".join(row[0] for row in plan))


if __name__ == "__main__":
    main()
