"""The pages a signed-in user reaches by following links: for the query-count test and
``scripts/crawl_pages.py``, which check that no page's work grows with the tables."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.exceptions import HTTPException

#: The password of the accounts ``flask scale-data`` and the demo make.
PASSWORD = "finportal-demo"  # noqa: S105 - the documented demo password
#: A same-site link of a page.
LINK = re.compile(r'href="(/[^"#]*)"')
#: Links a crawl does not follow: they sign out, download or export.
SKIP = re.compile(r"/auth/logout|\.xlsx|\.pdf|\.zip|\.csv|/download|/static/|/export")


def signed_in(app: Flask, user: str) -> tuple[Any, str]:
    """Return a test client signed in as ``user`` (``-``: anonymous) and where it lands.

    For the scripts that measure pages on a scale or demo database (CSRF and rate limits off).
    """
    client = app.test_client()
    if user == "-":
        return client, "/"
    answer = client.post("/auth/login", data={"username": user, "password": PASSWORD})
    if answer.status_code != 302:
        raise SystemExit(f"could not sign in as {user}: {answer.status_code}")
    return client, answer.headers["Location"]


def crawl(
    app: Flask,
    client: Any,
    start: str,
    *,
    pages: int,
    before: Callable[[str], None] = lambda _url: None,
) -> Iterator[tuple[str, Any]]:
    """Open ``start`` and the pages its links lead to, breadth first, up to ``pages`` HTML
    pages: one URL per endpoint (and one more with a query string). ``before(url)`` is
    called before each request; each HTML page that answered 200 is yielded with its answer."""
    adapter = app.url_map.bind("localhost")
    seen: set[str] = set()
    queue, found = deque([start]), 0
    while queue and found < pages:
        url = queue.popleft().replace("&amp;", "&")
        try:
            endpoint, _args = adapter.match(urlsplit(url).path, method="GET")
        except HTTPException:  # not a page of this app (404, 405, a redirect)
            continue
        key = endpoint + ("?" if "?" in url else "")
        if key in seen or SKIP.search(url):
            continue
        seen.add(key)
        before(url)
        answer = client.get(url)
        if answer.status_code != 200 or not answer.mimetype.startswith("text/html"):
            continue
        found += 1
        yield url, answer
        queue.extend(LINK.findall(answer.text))
