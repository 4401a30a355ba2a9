"""A firm's long lists come a page at a time: applications, consents, messages.

A firm that has applied for years has hundreds of applications, consents and messages; each
list shows ``limits.PAGE_SIZE`` of them (two here) with 共 N 条 and a link to the next page, and
no statement of a page reads the firm's whole history (the home page reads its five newest
applications, not all of them).
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event

from finportal import limits
from finportal.models import Application, Consent, Notification, utcnow
from finportal.services.workdays import today_local

pytestmark = pytest.mark.db

MANY = 7


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "PAGE_SIZE", 2, raising=False)


def _ids(text: str, pattern: str) -> list[int]:
    return [int(n) for n in re.findall(pattern, text)]


def _pages(client: Any, url: str, pattern: str) -> list[list[int]]:
    """Open ``url`` page after page by its 下一页 link; the ids each page shows."""
    pages, next_url = [], url
    while next_url:
        page = client.get(next_url)
        assert page.status_code == 200
        assert f"共 {MANY} 条" in page.text
        pages.append(_ids(page.text, pattern))
        found = re.search(r'href="([^"]+)" rel="next"', page.text)
        next_url = found.group(1).replace("&amp;", "&") if found else None
    return pages


def _applications(db_session: Any, sme: Any) -> list[int]:
    rows = [
        Application(
            enterprise_id=sme.enterprise_id, amount=Decimal(100000 * (n + 1)), term_months=12
        )
        for n in range(MANY)
    ]
    db_session.add_all(rows)
    db_session.commit()
    return [a.id for a in rows]


def test_applications_come_a_page_at_a_time_newest_first(
    client, login, sme, db_session, small_pages
):
    ids = _applications(db_session, sme)
    login(sme)
    pages = _pages(client, "/sme/applications", r'href="/sme/applications/(\d+)"')
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    assert sum(pages, []) == sorted(ids, reverse=True)


def test_the_home_page_reads_only_the_five_newest_applications(client, login, sme, db_session):
    ids = _applications(db_session, sme)
    login(sme)
    loaded: list[int] = []

    def count(target: Application, _context: Any) -> None:
        loaded.append(target.id)

    client.get("/sme/")  # each request starts with an empty session: every row read is loaded
    event.listen(Application, "load", count)
    try:
        home = client.get("/sme/")
    finally:
        event.remove(Application, "load", count)
    assert _ids(home.text, r'href="/sme/applications/(\d+)"') == sorted(ids, reverse=True)[:5]
    assert sorted(loaded, reverse=True) == sorted(ids, reverse=True)[:5]


def test_consents_come_a_page_at_a_time(client, login, sme, db_session, banks, small_pages):
    application_ids = _applications(db_session, sme)
    today = today_local()
    for n, application_id in enumerate(application_ids):
        db_session.add(
            Consent(
                enterprise_id=sme.enterprise_id,
                application_id=application_id,
                bank_id=banks[n % len(banks)].id,
                scope=["basic"],
                granted_at=utcnow() - timedelta(hours=n),
                valid_until=today + timedelta(days=30),
            )
        )
    db_session.commit()
    login(sme)
    pages = _pages(client, "/sme/consents", r"申请 #(\d+)")
    assert [len(p) for p in pages] == [2, 2, 2, 1]
    # Newest first: the first application's consent was granted last.
    assert sum(pages, []) == application_ids


def test_messages_come_a_page_at_a_time_unread_too(client, login, sme, db_session, small_pages):
    for n in range(MANY):
        db_session.add(
            Notification(
                enterprise_id=sme.enterprise_id,
                kind="status",
                title_zh=f"消息{n}号",
                title_en=f"Message {n}",
                created_at=utcnow() - timedelta(minutes=n),
            )
        )
    db_session.commit()
    login(sme)
    pages = _pages(client, "/sme/notifications", r"消息(\d+)号")
    assert sum(pages, []) == list(range(MANY))
    unread = _pages(client, "/sme/notifications?show=unread", r"消息(\d+)号")
    assert sum(unread, []) == list(range(MANY))
