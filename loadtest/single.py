"""Time one request of each key page, with its SQL statement count (docs/BENCHMARKS.md).

    eval "$(scripts/prod.sh env)"; .venv/bin/python loadtest/single.py API_TOKEN

Uses the scale data's accounts (flask --app wsgi scale-data); runs in-process (test client),
so it measures the application and the database, not gunicorn.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from finportal import create_app
from finportal.extensions import db

PASSWORD = "finportal-demo"  # noqa: S105 - the documented demo password


def main(token: str) -> None:
    """Print one line per page: name, URL, status, milliseconds, SQL statements."""
    app = create_app({"WTF_CSRF_ENABLED": False})
    counter = {"n": 0}

    def count(*_: Any, **__: Any) -> None:
        counter["n"] += 1

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)

    def timed(client: Any, label: str, url: str, headers: dict[str, str] | None = None) -> None:
        counter["n"] = 0
        started = time.perf_counter()
        answer = client.get(url, headers=headers or {})
        ms = (time.perf_counter() - started) * 1000
        print(f"{label:14} {url:36} {answer.status_code} {ms:10.0f} ms {counter['n']:7} queries")

    def first(pattern: str, page: str) -> Callable[[Any], str | None]:
        def find(client: Any) -> str | None:
            match = re.search(pattern, client.get(page).text)
            return match.group(0) if match else None

        return find

    pages: list[tuple[str | None, list[tuple[str, Any]]]] = [
        (None, [("catalogue", "/products/")]),
        (
            "scale-sme-00002",
            [
                ("sme_home", "/sme/"),
                ("matches", "/sme/matches"),
                ("application", first(r"/sme/applications/\d+", "/sme/applications")),
            ],
        ),
        (
            "scale-advisor-01",
            [
                ("advisor_queue", "/advisor/"),
                ("review", first(r"/advisor/applications/\d+", "/advisor/")),
                ("dashboard", "/advisor/dashboard"),
            ],
        ),
        (
            "scale-bank-01-1",
            [("bank_inbox", "/bank/"), ("referral", first(r"/bank/referrals/\d+", "/bank/"))],
        ),
    ]
    for user, urls in pages:
        client = app.test_client()
        if user:
            client.post("/auth/login", data={"username": user, "password": PASSWORD})
        for label, url in urls:
            target = url(client) if callable(url) else url
            if target:
                timed(client, label, target)
    timed(app.test_client(), "api_list", "/api/v1/referrals/", {"Authorization": f"Bearer {token}"})


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "")
