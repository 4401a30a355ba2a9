"""Find pages whose work grows with the tables: crawl each user's pages on a full database.

    FINPORTAL_DATABASE_URL=... .venv/bin/python scripts/crawl_pages.py \
        scale-sme-00001 scale-advisor-01 scale-bank-01-1 demo-admin --rows 100 --kb 120

Signs in as each USER (``-`` for anonymous; the password of ``flask scale-data``), starts at the
role's home page and follows the same-site links of each page it opens (GET only, one URL per
endpoint, ``--pages`` per user). For every page it records the statements, the most rows one
statement returned and the size of the answer, and prints the pages over ``--rows`` or
``--kb`` — on a database as large as the issue's, a page that reads a firm's or a bank's whole
history, or lists every batch, shows up here although its statement count stays fixed.
"""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import event

from finportal import create_app
from finportal.crawl import crawl, signed_in
from finportal.extensions import db


def crawl_user(app: Any, user: str, pages: int, log: list[int]) -> list[tuple[str, int, int, int]]:
    """Open up to ``pages`` pages of ``user``; return (url, statements, most rows, bytes)."""
    client, start = signed_in(app, user)
    return [
        (url, len(log), max(log, default=0), len(answer.data))
        for url, answer in crawl(app, client, start, pages=pages, before=lambda _url: log.clear())
    ]


def main() -> None:
    """Crawl and print the pages over the limits."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("users", nargs="+", help="usernames, or - for anonymous")
    parser.add_argument("--pages", type=int, default=80, help="pages per user")
    parser.add_argument("--rows", type=int, default=100, help="flag a statement with more rows")
    parser.add_argument("--kb", type=int, default=120, help="flag an answer larger than this")
    parser.add_argument("--all", action="store_true", help="print every page, not only flagged")
    args = parser.parse_args()
    app = create_app({"WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    rows: list[int] = []

    def after(_conn: Any, cursor: Any, *_: Any) -> None:
        rows.append(max(cursor.rowcount, 0))

    with app.app_context():
        event.listen(db.engine, "after_cursor_execute", after)
    for user in args.users:
        found = crawl_user(app, user, args.pages, rows)
        flagged = [f for f in found if f[2] > args.rows or f[3] > args.kb * 1024]
        print(f"{user}: {len(found)} pages, {len(flagged)} over {args.rows} rows or {args.kb} KB")
        for url, statements, most, size in found if args.all else flagged:
            print(f"  {most:6} rows  {statements:3} statements  {size / 1024:7.1f} KB  {url}")


if __name__ == "__main__":
    main()
