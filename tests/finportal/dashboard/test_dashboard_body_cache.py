"""The dashboard's content is rendered once per snapshot and language, not per page view (issue 12)."""

from __future__ import annotations

import re

import pytest
from flask import template_rendered

from tests.finportal.dashboard.test_dashboard import hand_counted  # noqa: F401 - fixture
from tests.finportal.dashboard.test_dashboard_cache import (  # noqa: F401 - fixtures
    cached_page,
    no_snapshots,
)


def _submitted_card(text: str) -> int:
    match = re.search(r"<strong>(\d+)</strong><div class=\"muted\">(已提交申请|Submitted)", text)
    assert match, "the headline card of submitted applications"
    return int(match.group(1))


def _content(page: str) -> str:
    return page.split("<h1>", 1)[1].split("</main>", 1)[0]


@pytest.fixture
def body_renders(app):
    rendered: list[str] = []

    def record(_sender, template, **_extra):
        rendered.append(template.name)

    template_rendered.connect(record, app)
    yield lambda: rendered.count("advisor/_dashboard_body.html")
    template_rendered.disconnect(record, app)


@pytest.mark.usefixtures("hand_counted", "cached_page")
def test_readers_of_one_snapshot_share_its_rendering(
    client, db_session, create_user, create_enterprise, login, body_renders
):
    from finportal.models import Application, utcnow
    from finportal.services import dashboard_cache

    dashboard_cache.refresh(db_session)
    first, second = create_user("advisor", display_name="顾问甲"), create_user("advisor")
    login(first)
    page = client.get("/advisor/dashboard").text
    assert _submitted_card(page) == 4 and "顾问甲" in page
    assert body_renders() == 1
    login(second)
    again = client.get("/advisor/dashboard").text
    assert body_renders() == 1  # the second reader got the same rendering ...
    assert "顾问甲" not in again  # ... and only their own name in the layout
    assert _content(again) == _content(page)

    # A new snapshot is a new rendering, with the new figures.
    db_session.add(
        Application(
            enterprise_id=create_enterprise().id,
            amount=1000000,
            term_months=12,
            state="submitted",
            submitted_at=utcnow(),
        )
    )
    db_session.commit()
    dashboard_cache.refresh(db_session)
    assert _submitted_card(client.get("/advisor/dashboard").text) == 5
    assert body_renders() == 2
