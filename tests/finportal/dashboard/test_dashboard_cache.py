"""The dashboard's summary table: the page reads what the periodic job computed, in its language."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from finportal.models import DashboardSnapshot
from tests.finportal.dashboard.test_dashboard import NOW, hand_counted  # noqa: F401 - fixture
from tests.helpers import snapshots_kept, without_snapshots


@pytest.fixture
def no_snapshots(db_session):
    yield from without_snapshots(db_session, DashboardSnapshot)


@pytest.fixture
def cached_page(app, no_snapshots):
    """The page as in production: it reads snapshots up to five minutes old."""
    yield from snapshots_kept(app, "DASHBOARD_MAX_AGE_SECONDS", 300)


def _submitted_card(text: str) -> int:
    match = re.search(r"<strong>(\d+)</strong><div class=\"muted\">(已提交申请|Submitted)", text)
    assert match, "the headline card of submitted applications"
    return int(match.group(1))


@pytest.mark.usefixtures("hand_counted", "no_snapshots")
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_a_snapshot_reads_back_as_the_dashboard_it_stored(db_session, locale):
    from finportal.domain.states import language
    from finportal.services import dashboard_cache
    from finportal.services.dashboard import build_dashboard

    dashboard_cache.refresh(db_session, now=NOW)
    with language(locale):
        board, as_of = dashboard_cache.current(
            db_session, max_age_seconds=300, now=NOW + timedelta(minutes=4)
        )
        live = build_dashboard(db_session, now=NOW)
    assert as_of == NOW
    # Every table, row and value (Decimals, datetimes, shares) as computed, in that language.
    assert board.tables == live.tables
    assert board.funnel == live.funnel and board.score_bins == live.score_bins
    assert board.headline == live.headline
    assert board.tables["funnel"].title == ("Funnel" if locale == "en" else "办理漏斗")


@pytest.mark.usefixtures("hand_counted", "cached_page")
def test_the_page_shows_the_snapshot_until_the_next_refresh(
    client, db_session, create_user, login, create_enterprise
):
    from finportal.models import Application, utcnow
    from finportal.services import dashboard_cache

    dashboard_cache.refresh(db_session)
    login(create_user("advisor"))
    before = client.get("/advisor/dashboard")
    assert before.status_code == 200 and _submitted_card(before.text) == 4
    assert "数据截至" in before.text and "至少每 5 分钟更新一次" in before.text

    late = Application(
        enterprise_id=create_enterprise().id,
        amount=1000000,
        term_months=12,
        state="submitted",
        submitted_at=utcnow(),
    )
    db_session.add(late)
    db_session.commit()
    # Within five minutes readers see the stored figures (and say as of when) ...
    assert _submitted_card(client.get("/advisor/dashboard").text) == 4
    # ... and the next run of the periodic task brings the new application in.
    dashboard_cache.refresh(db_session)
    assert _submitted_card(client.get("/advisor/dashboard").text) == 5


@pytest.mark.usefixtures("hand_counted", "cached_page")
def test_an_old_snapshot_is_recomputed_by_the_reader_and_kept(
    client, db_session, create_user, login
):
    from finportal.models import DashboardSnapshot
    from finportal.services import dashboard_cache

    dashboard_cache.refresh(db_session, now=NOW)  # long before now: too old to show
    login(create_user("advisor"))
    page = client.get("/advisor/dashboard")
    assert _submitted_card(page.text) == 4
    assert "2026-11-12" not in page.text.split('id="dashboard-as-of"')[1][:80]
    latest = db_session.scalar(
        select(func.max(DashboardSnapshot.as_of)).where(DashboardSnapshot.locale == "zh_CN")
    )
    assert latest is not None and latest > NOW + timedelta(days=1)
    # The English snapshot was not read, so it was not recomputed either.
    english = db_session.scalar(
        select(func.max(DashboardSnapshot.as_of)).where(DashboardSnapshot.locale == "en")
    )
    assert english == NOW


@pytest.mark.usefixtures("hand_counted", "no_snapshots")
def test_the_periodic_task_refreshes_every_language_and_keeps_few(app, db_session):
    from finportal.jobs import PERIODIC
    from finportal.models import DashboardSnapshot

    refresh, interval = PERIODIC["dashboard_refresh"]
    # The task runs more often than the page's default maximum age, so a running scheduler
    # keeps every reader on a snapshot.
    assert interval < 300
    for _ in range(4):
        seconds = refresh(db_session)
        assert set(seconds) == {"zh_CN", "en"}
    counts = dict(
        db_session.execute(
            select(DashboardSnapshot.locale, func.count()).group_by(DashboardSnapshot.locale)
        ).all()
    )
    assert counts == {"zh_CN": 2, "en": 2}


def test_the_cli_tick_runs_the_refresh(app, db_session, no_snapshots):
    from finportal.models import DashboardSnapshot

    result = app.test_cli_runner().invoke(args=["jobs", "tick"])
    assert result.exit_code == 0, result.output
    locales = db_session.scalars(
        select(DashboardSnapshot.locale).order_by(DashboardSnapshot.locale)
    ).all()
    assert locales == ["en", "zh_CN"]


@pytest.mark.usefixtures("hand_counted", "cached_page")
def test_reading_a_snapshot_takes_a_few_statements_whatever_the_tables_hold(
    client, db_session, create_user, login
):
    from finportal.services import dashboard_cache
    from tests.finportal.test_query_counts import statements_of

    login(create_user("advisor"))
    dashboard_cache.refresh(db_session)
    # The signed-in user, the snapshot (and SQLite's connection setup): not the dashboard's
    # 20-odd aggregates over the whole tables, which the periodic task ran.
    assert statements_of(client, "/advisor/dashboard") <= 3
