"""The fairness monitor from its summary table (issue 12): a job computes it, the page reads it.

The page used to read every application's latest credit score on each view (138,821 at a
district's scale, about 4 s). Now the periodic task and the admin's "refresh now" job store
the report per language; the page reads the newest snapshot and says how old it is.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from finportal.models import (
    Application,
    BankDecision,
    CreditScore,
    Enterprise,
    Job,
    LoanOutcome,
    MonitorSnapshot,
    Referral,
    utcnow,
)
from tests.helpers import RELOAD, healthy_firm, snapshots_kept, without_snapshots

pytestmark = pytest.mark.db


@pytest.fixture
def no_snapshots(db_session):
    yield from without_snapshots(db_session, MonitorSnapshot)


@pytest.fixture
def cached_page(app, no_snapshots):
    """The page as in production: it reads snapshots up to a day old."""
    yield from snapshots_kept(app, "MONITOR_MAX_AGE_SECONDS", 86400)


@pytest.fixture
def add_scored(db_session, champion_model, published_catalog, create_bank):
    """Add a scored application of a firm (two scores: the latest counts), with its outcome
    and the bank's decision when given."""
    bank = create_bank()
    version = published_catalog[1]["policy_guarantee"]
    made = {"n": 0}

    def add(firm, pd: float, *, outcome: str | None = None, decision: str | None = None):
        made["n"] += 1
        application = Application(
            enterprise_id=firm.id,
            amount=Decimal(500000),
            term_months=12,
            state="referred" if outcome or decision else "screened",
            feature_snapshot={"employees": 10},
        )
        db_session.add(application)
        db_session.flush()
        for score_pd in (0.9, pd):  # an older score, then the one the monitor reads
            db_session.add(
                CreditScore(
                    application_id=application.id,
                    model_version_id=champion_model.id,
                    pd=score_pd,
                    score=600,
                    grade="B",
                    reasons=[],
                    feature_snapshot={},
                )
            )
        if outcome or decision:
            referral = Referral(
                application_id=application.id,
                bank_id=bank.id,
                product_version_id=version.id,
                state=outcome or "approved",
            )
            db_session.add(referral)
            db_session.flush()
            if decision:
                db_session.add(BankDecision(referral_id=referral.id, decision=decision))
            if outcome:
                db_session.add(
                    LoanOutcome(
                        referral_id=referral.id, event=outcome, occurred_on=date(2026, 6, 1)
                    )
                )
        db_session.commit()
        return application

    return add


@pytest.fixture
def firms(db_session):
    """Three firms: one of 莘庄镇, a first-time borrower; one without a street (grouped by its
    district code) that has borrowed; one of 江川路街道 whose loan history is unknown."""
    made = [
        Enterprise(**healthy_firm(81_001, street="莘庄镇", has_bank_loan_history=False)),
        Enterprise(**healthy_firm(81_002, street=None, has_bank_loan_history=True)),
        Enterprise(
            **healthy_firm(81_003, street="江川路街道", has_bank_loan_history=None, employees=5)
        ),
    ]
    db_session.add_all(made)
    db_session.commit()
    return made


@pytest.fixture
def monitored(firms, add_scored):
    """Scored applications with good and bad outcomes and approvals and refusals in each group."""
    xinzhuang, no_street, jiangchuan = firms
    for i in range(6):
        add_scored(xinzhuang, 0.05 + i / 100, outcome="defaulted" if i < 2 else "repaid")
        add_scored(no_street, 0.10, decision="approved" if i % 3 else "declined")
        add_scored(jiangchuan, 0.20 + i / 50, outcome="overdue_90" if i == 0 else None)
    add_scored(jiangchuan, 0.3, decision="approved", outcome="repaid")
    return firms


def _applications_of(page: str, group: str) -> int:
    """The 申请 column of a group's row in the street table."""
    table = page.split('data-by="street"')[1].split("</table>")[0]
    match = re.search(rf"<tr><td>{group}</td><td class=\"num\">(\d+)</td>", table)
    assert match, f"a row for {group}"
    return int(match.group(1))


@pytest.mark.usefixtures("monitored", "no_snapshots")
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_a_snapshot_holds_the_report_fairness_monitor_computes(app, db_session, locale):
    from finportal.domain.states import language
    from finportal.services import credit, monitor_cache

    monitor_cache.refresh(db_session)
    with language(locale):
        page = monitor_cache.monitor_page(db_session, max_age_seconds=3600)
        live = credit.fairness_monitor(db_session)
    assert not page.computed
    # Every group, figure and alert as computed now, in the reader's language.
    assert page.report == live
    assert live["rows"] == 19
    streets = {row["group"]: row for row in live["groups"]["street"]}
    district = "District 310112" if locale == "en" else "区划 310112"
    assert set(streets) == {"莘庄镇", "江川路街道", district}
    assert streets["莘庄镇"]["bad_rate"] == pytest.approx(2 / 6)
    assert streets["莘庄镇"]["mean_pd"] == pytest.approx(sum(0.05 + i / 100 for i in range(6)) / 6)
    assert streets[district]["approval_rate"] == pytest.approx(4 / 6)
    first = {row["group"] for row in live["groups"]["first_borrower"]}
    assert ("First-time borrower" if locale == "en" else "首贷户") in first


@pytest.mark.usefixtures("cached_page")
def test_the_page_shows_the_snapshot_and_its_age_until_the_refresh_job(
    client, db_session, create_user, login, monitored
):
    from finportal.services import monitor_cache

    monitor_cache.refresh(db_session, now=utcnow() - timedelta(hours=3))
    login(create_user("admin"))
    page = client.get("/admin/models/monitor").text
    assert _applications_of(page, "莘庄镇") == 6
    as_of = page.split('id="monitor-as-of"')[1].split("</p>")[0]
    assert "数据截至" in as_of and "3小时前计算" in as_of and "每 60 分钟自动重新计算" in as_of

    # A new scored application: readers keep the stored figures ...
    _add_one(db_session, monitored[0])
    assert _applications_of(client.get("/admin/models/monitor").text, "莘庄镇") == 6
    # ... until the admin asks for a refresh: a job, which brings it in.
    answer = client.post("/admin/models/monitor/refresh", follow_redirects=True)
    assert answer.status_code == 200
    assert "已开始在后台重新计算" in answer.text
    assert _applications_of(answer.text, "莘庄镇") == 7
    job = db_session.scalar(select(Job).where(Job.kind == monitor_cache.REFRESH_JOB))
    assert job is not None and job.state == "done" and set(job.result) == {"zh_CN", "en"}


def _add_one(db_session, firm) -> None:
    """A scored application of ``firm`` added outside the fixture (no outcome yet)."""
    champion = db_session.scalar(
        select(CreditScore.model_version_id).order_by(CreditScore.id.desc()).limit(1)
    )
    application = Application(
        enterprise_id=firm.id, amount=Decimal(500000), term_months=12, state="screened"
    )
    db_session.add(application)
    db_session.flush()
    db_session.add(
        CreditScore(
            application_id=application.id,
            model_version_id=champion,
            pd=0.07,
            score=600,
            grade="B",
            reasons=[],
            feature_snapshot={},
        )
    )
    db_session.commit()


@pytest.mark.usefixtures("cached_page", "monitored")
def test_the_page_reads_the_snapshot_not_the_scores_in_a_few_statements(
    client, db_session, create_user, login, firms
):
    from finportal.extensions import db
    from finportal.services import monitor_cache
    from tests.finportal.test_query_counts import counting

    login(create_user("admin"))
    monitor_cache.refresh(db_session)

    def statements() -> list[str]:
        client.get("/admin/models/monitor")
        db.session.commit()
        db.session.expire_all()
        with counting() as sql:  # a forced reload: rendered even with the page cache on
            assert client.get("/admin/models/monitor", headers=RELOAD).status_code == 200
        return sql

    small = statements()
    for _ in range(25):
        _add_one(db_session, firms[1])
    monitor_cache.refresh(db_session)
    large = statements()
    # The signed-in user, the snapshot, a refresh under way (and SQLite's connection setup):
    # not every application's latest score, which the job read.
    assert len(large) == len(small) <= 4, large
    assert not [s for s in large if "credit_scores" in s]


@pytest.mark.usefixtures("cached_page", "monitored")
def test_with_no_snapshot_the_page_computes_once_and_keeps_it(
    client, db_session, create_user, login
):
    from finportal.extensions import db
    from tests.finportal.test_query_counts import counting

    login(create_user("admin"))
    first = client.get("/admin/models/monitor").text
    assert "还没有近期的计算结果" in first and _applications_of(first, "莘庄镇") == 6
    stored = db_session.scalars(select(MonitorSnapshot.locale)).all()
    assert stored == ["zh_CN"]  # the reader's language only, for the next reader
    db.session.expire_all()
    with counting() as sql:
        again = client.get("/admin/models/monitor", headers=RELOAD).text
    assert "还没有近期的计算结果" not in again and "前计算" in again
    assert not [s for s in sql if "credit_scores" in s]


@pytest.mark.usefixtures("cached_page", "monitored")
def test_the_page_in_english_says_how_old_its_figures_are(client, db_session, create_user, login):
    from finportal.services import monitor_cache

    login(create_user("admin"))
    client.get("/lang/en")
    monitor_cache.refresh(db_session, now=utcnow() - timedelta(minutes=20))
    page = client.get("/admin/models/monitor").text
    as_of = page.split('id="monitor-as-of"')[1].split("</form>")[0]
    assert "Figures as of" in as_of and "computed 20 minutes ago" in as_of
    assert "Recompute now" in as_of
    assert _applications_of(page, "District 310112") == 6


@pytest.mark.usefixtures("cached_page", "monitored")
def test_a_refresh_under_way_is_shown_and_not_queued_twice(client, db_session, create_user, login):
    from finportal.services import monitor_cache

    admin = create_user("admin")
    login(admin)
    waiting = Job(id="monitor-waiting", kind=monitor_cache.REFRESH_JOB, state="queued", args={})
    db_session.add(waiting)
    db_session.commit()
    page = client.get("/admin/models/monitor").text
    assert 'id="monitor-pending"' in page and 'id="monitor-refresh"' not in page
    client.post("/admin/models/monitor/refresh")
    assert monitor_cache.request_refresh(db_session, actor_id=admin.id).id == "monitor-waiting"
    kinds = db_session.scalars(select(Job.id).where(Job.kind == monitor_cache.REFRESH_JOB)).all()
    assert kinds == ["monitor-waiting"]


@pytest.mark.usefixtures("monitored", "no_snapshots")
def test_a_failed_refresh_leaves_the_previous_snapshots(app, db_session, monkeypatch):
    from finportal import jobs
    from finportal.domain.states import current_locale
    from finportal.services import credit, monitor_cache

    monitor_cache.refresh(db_session, now=utcnow() - timedelta(hours=2))
    before = db_session.execute(
        select(MonitorSnapshot.id, MonitorSnapshot.locale).order_by(MonitorSnapshot.id)
    ).all()
    real = credit.fairness_report

    def english_fails(rows):
        if current_locale().startswith("en"):
            raise RuntimeError("the database went away")
        return real(rows)

    monkeypatch.setattr(credit, "fairness_report", english_fails)
    with app.test_request_context():
        job = monitor_cache.request_refresh(db_session, actor_id=None)
    db_session.expire_all()
    assert db_session.get(Job, job.id).state == "failed"  # after its attempts
    after = db_session.execute(
        select(MonitorSnapshot.id, MonitorSnapshot.locale).order_by(MonitorSnapshot.id)
    ).all()
    # Not the Chinese report alone: nothing of the failed run, the old snapshots kept.
    assert after == before
    assert jobs.kind_of(monitor_cache.REFRESH_JOB).attempts >= 1


@pytest.mark.usefixtures("monitored", "no_snapshots")
def test_the_periodic_task_refreshes_when_due_and_keeps_few(app, db_session):
    from finportal.jobs import PERIODIC
    from finportal.services import monitor_cache

    task, interval = PERIODIC["monitor_refresh"]
    # The task runs more often than the page's default maximum age, so a running scheduler
    # keeps every reader on a snapshot.
    assert interval < 86400  # FINPORTAL_MONITOR_MAX_AGE's default (config.py)
    assert set(task(db_session)) == {"zh_CN", "en"}
    # Run again at once (cron's `jobs tick` every minute): not due yet.
    assert "skipped" in task(db_session)

    for hours in (5, 4, 3):
        monitor_cache.refresh(db_session, now=utcnow() - timedelta(hours=hours))
    counts = dict(
        db_session.execute(
            select(MonitorSnapshot.locale, func.count()).group_by(MonitorSnapshot.locale)
        ).all()
    )
    assert counts == {"zh_CN": 2, "en": 2}


def test_the_cli_tick_runs_the_monitor_refresh(app, db_session, no_snapshots):
    result = app.test_cli_runner().invoke(args=["jobs", "tick"])
    assert result.exit_code == 0, result.output
    assert "monitor_refresh: {" in result.output
    locales = db_session.scalars(
        select(MonitorSnapshot.locale).order_by(MonitorSnapshot.locale)
    ).all()
    assert locales == ["en", "zh_CN"]
