"""The maturity reminder job on a fixed clock: 90 / 30 / 7 days before, once each, with the pre-check."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from finportal.models import Notification
from finportal.services import maturities, reminders, renewals
from finportal.services.workdays import today_local
from tests.helpers import bank_reports

pytestmark = pytest.mark.db


def _reminders(session, enterprise_id=None, user_id=None):
    stmt = select(Notification).where(Notification.kind == "maturity")
    if enterprise_id is not None:
        stmt = stmt.where(Notification.enterprise_id == enterprise_id)
    if user_id is not None:
        stmt = stmt.where(Notification.user_id == user_id)
    return list(session.scalars(stmt.order_by(Notification.id)))


def test_stages_are_the_days_defined_once():
    assert reminders.REMINDER_DAYS == (90, 30, 7)
    assert [reminders.stage_of(d) for d in (120, 91, 90, 31, 30, 8, 7, 1, 0, -1)] == [
        None,
        None,
        90,
        90,
        30,
        30,
        7,
        7,
        7,
        None,
    ]


def test_reminded_at_90_30_and_7_days_exactly_once_each(db_session, lent):
    (loan,) = maturities.loans_of(db_session, lent.enterprise.id, today=today_local())
    maturity = loan.maturity
    sent_by_day = {}
    # Every day from 100 days before maturity to 5 days after, twice a day.
    for before in range(100, -6, -1):
        day = maturity - timedelta(days=before)
        first = reminders.run_reminders(db_session, today=day)
        again = reminders.run_reminders(db_session, today=day)
        assert again["sent"] == 0, f"a second run on {day} sent again"
        if first["sent"]:
            sent_by_day[before] = first["sent"]
    # The firm and its advisor, on the 90th, the 30th and the 7th day before, and never else.
    assert sent_by_day == {90: 2, 30: 2, 7: 2}

    firm = _reminders(db_session, enterprise_id=lent.enterprise.id)
    advisor = _reminders(db_session, user_id=lent.advisor.id)
    assert [n.title_zh for n in firm] == [
        f"贷款将于 {d} 天后到期（{maturity.isoformat()}）" for d in (90, 30, 7)
    ]
    assert [n.title_en for n in advisor] == [
        f"A loan matures in {d} days ({maturity.isoformat()})" for d in (90, 30, 7)
    ]
    assert all(n.link == "/sme/loans" for n in firm)
    assert all(n.link == "/advisor/maturities" for n in advisor)
    # The renewal pre-check travels with it: the product fits, with the score and reasons.
    body = firm[0].body_zh
    assert lent.bank.name_zh in body and "银行放款记录" in body
    assert "续贷预检：符合「续贷 / 无还本续贷」的条件" in body
    assert "信用评分" in body and "主要因素" in body
    assert "Renewal pre-check: you meet the conditions of" in firm[0].body_en


def test_a_job_that_first_sees_a_loan_late_sends_only_the_current_stage(db_session, lent):
    (loan,) = maturities.loans_of(db_session, lent.enterprise.id, today=today_local())
    day = loan.maturity - timedelta(days=20)
    assert reminders.run_reminders(db_session, today=day)["sent"] == 2
    titles = [n.title_zh for n in _reminders(db_session, enterprise_id=lent.enterprise.id)]
    assert titles == [f"贷款将于 20 天后到期（{loan.maturity.isoformat()}）"]
    # The 30-day stage is done; the 7-day one still comes.
    assert reminders.run_reminders(db_session, today=day + timedelta(days=5))["sent"] == 0
    assert reminders.run_reminders(db_session, today=loan.maturity - timedelta(days=7))["sent"] == 2


def test_no_reminder_after_repayment(db_session, lent):
    (loan,) = maturities.loans_of(db_session, lent.enterprise.id, today=today_local())
    assert reminders.run_reminders(db_session, today=loan.maturity - timedelta(days=90))["sent"]
    bank_reports(db_session, lent, "repaid")
    before = len(_reminders(db_session))
    for days in (30, 7, 1):
        assert reminders.run_reminders(db_session, today=loan.maturity - timedelta(days=days)) == {
            "today": (loan.maturity - timedelta(days=days)).isoformat(),
            "due": 0,
            "sent": 0,
            "loans": 0,
        }
    assert len(_reminders(db_session)) == before


def test_the_precheck_says_why_a_renewal_does_not_fit(db_session, lent):
    lent.enterprise.overdue_count_24m = 2
    db_session.commit()
    (loan,) = maturities.loans_of(db_session, lent.enterprise.id, today=today_local())
    reminders.run_reminders(db_session, today=loan.maturity - timedelta(days=30))
    (note,) = _reminders(db_session, enterprise_id=lent.enterprise.id)
    assert "续贷预检：暂不符合续贷产品的条件——近 24 个月有逾期还款" in note.body_zh
    assert "There was an overdue payment in the last 24 months" in note.body_en


def test_the_smes_own_figure_is_reminded_and_marked(
    db_session, published_catalog, champion_model, create_enterprise, create_user
):
    enterprise = create_enterprise(
        loan_maturing_within_days=60,
        has_bank_loan_history=True,
        existing_loan_balance=1_500_000,
    )
    create_user("sme", enterprise_id=enterprise.id)
    (loan,) = maturities.loans_of(db_session, enterprise.id, today=today_local())
    result = reminders.run_reminders(db_session, today=loan.maturity - timedelta(days=30))
    assert result["sent"] == 1  # no advisor yet: the firm only
    (note,) = _reminders(db_session, enterprise_id=enterprise.id)
    assert "企业自行填报" in note.body_zh
    assert "续贷预检：符合" in note.body_zh


def test_two_runs_at_once_send_each_reminder_once(db_session, lent):
    """A run that finds a reminder already sent by a run at the same time skips it."""
    (loan,) = maturities.loans_of(db_session, lent.enterprise.id, today=today_local())
    day = loan.maturity - timedelta(days=7)
    due = reminders.due_reminders(db_session, today=day)
    assert len(due) == 2
    reminders.run_reminders(db_session, today=day)
    # The slower run still holds its list of what was due: sending it adds nothing.
    checks = renewals.prechecks(db_session, [due[0].loan], today=day)
    assert [reminders._send(db_session, d, checks[d.loan.key]) for d in due] == [False, False]
    db_session.commit()
    assert len(_reminders(db_session)) == 2


def test_the_command_runs_on_a_fixed_clock(app, db_session, lent):
    (loan,) = maturities.loans_of(db_session, lent.enterprise.id, today=today_local())
    day = (loan.maturity - timedelta(days=90)).isoformat()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reminders", "run", "--today", day, "--json"])
    assert result.exit_code == 0, result.output
    assert '"sent": 2' in result.output
    result = runner.invoke(args=["reminders", "run", "--today", day])
    assert result.exit_code == 0, result.output
    assert f"{day}: 0 reminder(s) sent" in result.output
    bad = runner.invoke(args=["reminders", "run", "--today", "2026-13-01"])
    assert bad.exit_code == 2


def test_the_job_is_a_periodic_task():
    from finportal import jobs

    task, interval = jobs.PERIODIC["maturity_reminders"]
    assert interval <= 3600
