"""Per key page: SQL statements and median time of single requests (docs/BENCHMARKS.md).

    FINPORTAL_DATABASE_URL=sqlite:////path/scale.db .venv/bin/python scripts/bench_pages.py

Runs in-process through the Flask test client (no gunicorn), on a database filled by
``flask --app wsgi scale-data``: it signs in as that command's accounts, opens each page once
to warm up, then ``--repeat`` times, and prints per page the status, the SQL statements of one
request and the median (and slowest) wall time, and the median process CPU time of one request
with its ratio to the bare route (``/health/live``, measured first in the same run: the
in-process form of the load test's "÷ bare"). Without ``--token`` it creates an API token for
the first scale bank (one row in ``api_tokens``). ``--page-cache REDIS_URL`` times pages answered from the page cache (every request after
the warm-up is a kept page); ``--profile FILE`` writes a cProfile of the
timed requests (read it with ``python -m pstats FILE``).

``--read-only`` writes nothing, for a database others share: every transaction is read-only
(PostgreSQL refuses any write, so a page that writes answers 500), users are signed in by
their session id instead of the login form (which records the sign-in), no API token is
created (the API page is skipped unless ``--token`` gives one) and no duty is given.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import re
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from finportal import create_app
from finportal.extensions import db

PASSWORD = "finportal-demo"  # noqa: S105 - the documented demo password

#: The key pages of issue 12 (``--only key``).
KEY_PAGES = (
    "catalogue,sme_home,matches,application,advisor_queue,review,dashboard,bank_inbox,referral,"
    "api_list"
)

#: (user or None, [(label, URL or a function of the client that finds the URL)])
Pages = list[tuple[str | None, list[tuple[str, Any]]]]


def _first(pattern: str, page: str) -> Callable[[Any], str | None]:
    def find(client: Any) -> str | None:
        match = re.search(pattern, client.get(page).text)
        return match.group(0) if match else None

    return find


PAGES: Pages = [
    (None, [("bare", "/health/live"), ("catalogue", "/products/")]),
    (
        "scale-sme-00002",
        [
            ("sme_home", "/sme/"),
            ("matches", "/sme/matches"),
            ("application", _first(r"/sme/applications/\d+", "/sme/applications")),
            ("sme_loans", "/sme/loans"),
        ],
    ),
    (
        "scale-advisor-01",
        [
            ("advisor_queue", "/advisor/"),
            ("review", _first(r"/advisor/applications/\d+", "/advisor/")),
            ("dashboard", "/advisor/dashboard"),
            # issue 15: the queue's history tabs and search, complaints, the assignment board
            ("queue_closed", "/advisor/?tab=closed"),
            ("queue_rejected", "/advisor/?tab=rejected&page=20"),
            ("search_name", "/advisor/?tab=closed&q=%E7%A7%91%E6%8A%80"),
            ("search_uscc", "/advisor/?q=91310112"),
            ("search_number", "/advisor/?tab=closed&q=%2350000"),
            ("complaints", "/advisor/complaints"),
            ("board", "/advisor/assignment"),
            ("board_unassigned", "/advisor/assignment?tab=unassigned"),
            ("maturities", "/advisor/maturities"),
            ("maturities_all", "/advisor/maturities?within=all"),
        ],
    ),
    (
        "scale-bank-01-1",
        [
            ("bank_inbox", "/bank/"),
            ("referral", _first(r"/bank/referrals/\d+", "/bank/?tab=viewed")),
        ],
    ),
]


def _api_token(app: Any) -> str:
    from finportal.models import Bank
    from finportal.services import api_tokens

    with app.app_context():
        bank = db.session.scalar(select(Bank).where(Bank.code == "scale_bank_01"))
        if bank is None:
            sys.exit("no bank scale_bank_01: fill the database with flask scale-data first")
        _token, plain = api_tokens.create_token(
            db.session, bank_id=bank.id, actor_id=None, label="bench_pages"
        )
        db.session.commit()
        return plain


def _supervise(app: Any) -> None:
    """Give scale-advisor-01 the supervisor's duty, so the assignment board opens (issue 15)."""
    from finportal.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "scale-advisor-01"))
        if user is not None and user.duty is None:
            user.duty = "supervisor"
            db.session.commit()


def _read_only(engine: Engine) -> None:
    """Make every transaction of ``engine`` read-only (PostgreSQL): a write fails."""
    if engine.dialect.name != "postgresql":
        sys.exit("--read-only needs PostgreSQL (SQLite has no read-only transactions)")

    @event.listens_for(engine, "connect")
    def _set(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        dbapi_connection.commit()


def _sign_in(app: Any, client: Any, username: str) -> None:
    """Sign ``username`` in by its session id (as ``web/access.py`` loads it), writing nothing."""
    from finportal.models import User

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            sys.exit(f"no user {username}: fill the database with flask scale-data first")
        session_id = user.get_id()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True


def main(argv: list[str] | None = None) -> None:
    """Print one line per page (or JSON): status, statements of one request, median ms."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timed requests per page")
    parser.add_argument("--token", default="", help="an API token of scale_bank_01")
    parser.add_argument("--only", default="", help="comma-separated page labels, or 'key'")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--profile", default="", help="write a cProfile of the timed requests")
    parser.add_argument(
        "--page-cache",
        default="off",
        help="a Redis URL: time pages answered from the page cache (default: off, rendered)",
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="write nothing (PostgreSQL): read-only transactions, no sign-in record or token",
    )
    args = parser.parse_args(argv)
    only = {p for p in (KEY_PAGES if args.only == "key" else args.only).split(",") if p}
    if only:
        only.add("bare")  # the reference of the CPU ratio
    profiler = cProfile.Profile() if args.profile else None

    app = create_app(
        {
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "PAGE_CACHE_URL": None if args.page_cache == "off" else args.page_cache,
        }
    )
    counter = {"n": 0}

    def count(*_: Any, **__: Any) -> None:
        counter["n"] += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        if args.read_only:
            _read_only(db.engine)
            db.engine.dispose()  # connections opened so far were not read-only
    token = args.token or ("" if args.read_only else _api_token(app))
    if not args.read_only:
        _supervise(app)
    results: list[dict[str, Any]] = []

    def measure(client: Any, label: str, url: str, headers: dict[str, str] | None = None) -> None:
        client.get(url, headers=headers or {})  # warm-up
        times, cpu, queries, status, size = [], [], 0, 0, 0
        for _ in range(max(1, args.repeat)):
            counter["n"] = 0
            started, started_cpu = time.perf_counter(), time.process_time()
            if profiler is not None and label != "bare":
                profiler.enable()
            answer = client.get(url, headers=headers or {})
            if profiler is not None:
                profiler.disable()
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - started_cpu) * 1000)
            queries, status = counter["n"], answer.status_code
            size = len(answer.get_data())
        cpu_ms = statistics.median(cpu)
        bare_ms = next((r["cpu_ms"] for r in results if r["page"] == "bare"), cpu_ms)
        row = {
            "page": label,
            "url": url,
            "status": status,
            "queries": queries,
            "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1),
            "cpu_ms": round(cpu_ms, 2),
            "cpu_x_bare": round(cpu_ms / bare_ms, 1) if bare_ms else None,
            "repeat": len(times),
            "bytes": size,
        }
        results.append(row)
        if not args.json:
            print(
                f"{label:14} {url:36} {status} {queries:7} queries "
                f"{row['median_ms']:10.1f} ms median {row['max_ms']:10.1f} ms max "
                f"{row['cpu_ms']:8.2f} ms CPU {row['cpu_x_bare']:6.1f}x bare {size / 1024:8.1f} KB",
                flush=True,
            )

    pages: Pages = [
        *PAGES,
        ("", [("api_list", "/api/v1/referrals/")]),
    ]
    for user, urls in pages:
        wanted = [(label, url) for label, url in urls if not only or label in only]
        if user == "" and not token:
            wanted = []  # --read-only without --token: no API token to use
        if not wanted:
            continue
        client = app.test_client()
        if user and args.read_only:
            _sign_in(app, client, user)
        elif user:
            client.post("/auth/login", data={"username": user, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token}"} if user == "" else None
        for label, url in wanted:
            target = url(client) if callable(url) else url
            if target:
                measure(client, label, target, headers)
    if profiler is not None:
        profiler.dump_stats(args.profile)
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
