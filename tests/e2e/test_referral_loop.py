"""The referral loop in a real browser: the advisor refers, the bank downloads and approves,
the SME sees the decision.

The SME's application is created directly in the live server's database (screened by the
real screening job): the SME journey's own pages are tested by their own browser tests.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.helpers import make_uscc, pdf_text, squash

pytestmark = pytest.mark.e2e

PASSWORD = "loop-pass-123"  # noqa: S105 - a test password


def _seed(app: Any) -> dict[str, Any]:
    from finportal.extensions import db
    from finportal.models import Application, Bank, Consent, Enterprise, Match, utcnow
    from finportal.services.accounts import create_user
    from finportal.services.screening import screen_application

    with app.app_context():
        session = db.session
        enterprise = Enterprise(
            uscc=make_uscc(880001),
            name="上海㐀联浏览器测试科技有限公司",
            registered_on=date(2017, 5, 1),
            district_code="310112",
            industry_code="65",
            employees=80,
            social_insured_employees=75,
            revenue_last_year=Decimal("40000000"),
            revenue_prev_year=Decimal("32000000"),
            total_assets=Decimal("25000000"),
            total_liabilities=Decimal("9000000"),
            net_profit_last_year=Decimal("3000000"),
            tax_paid_last_year=Decimal("1200000"),
            tax_credit_grade="A",
            invention_patents=4,
            utility_patents=6,
            trademarks=2,
            certifications=["tech_sme", "high_tech"],
            existing_loan_balance=Decimal("0"),
            has_bank_loan_history=False,
            overdue_count_24m=0,
            max_overdue_days_24m=0,
            pending_lawsuits=0,
            enforcement_records=0,
            admin_penalties_24m=0,
            serious_bad_credit_24m=False,
            credit_repair_completed=False,
            verification_state="verified",
        )
        session.add(enterprise)
        session.flush()
        bank = session.scalar(select(Bank).where(Bank.code == "demo_bank_a"))
        sme = create_user(
            session, username="loop-sme", password=PASSWORD, role="sme", enterprise_id=enterprise.id
        )
        create_user(
            session,
            username="loop-advisor",
            password=PASSWORD,
            role="advisor",
            display_name="浏览器顾问",
        )
        create_user(
            session,
            username="loop-bank",
            password=PASSWORD,
            role="bank",
            bank_id=bank.id,
            display_name="浏览器客户经理",
        )
        application = Application(
            enterprise_id=enterprise.id,
            created_by_id=sme.id,
            amount=Decimal("1500000"),
            term_months=12,
            purpose="采购研发设备",
            state="submitted",
            submitted_at=utcnow(),
        )
        session.add(application)
        session.commit()
        screen_application(session, application_id=application.id)
        session.add(
            Consent(
                enterprise_id=enterprise.id,
                application_id=application.id,
                bank_id=bank.id,
                scope=["profile", "financials", "credit_record", "score", "application"],
                valid_until=date.today() + timedelta(days=365),
                granted_by_id=sme.id,
            )
        )
        session.commit()
        assert session.scalar(
            select(Match)
            .where(Match.application_id == application.id, Match.eligible.is_(True))
            .limit(1)
        )
        ids = {
            "application": application.id,
            "enterprise": enterprise.id,
            "bank": bank.id,
            "bank_name": bank.name_zh,
        }
        db.session.remove()
        return ids


def _login(page: Any, username: str) -> None:
    page.goto("/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _logout(page: Any) -> None:
    page.context.clear_cookies()


def test_advisor_refers_bank_downloads_and_approves_sme_sees_it(page, live_server):
    app = live_server["app"]
    ids = _seed(app)
    application_id = ids["application"]

    # The advisor claims the application from the queue and refers it to the consented bank.
    _login(page, "loop-advisor")
    page.goto("/advisor/")
    row = page.locator(f"tr[data-application='{application_id}']")
    assert "上海㐀联浏览器测试科技有限公司" in row.inner_text()
    row.locator("button", has_text="认领").click()
    expect(page.locator("#application-state")).to_have_text("审核中")
    page.check(f"#bank-{ids['bank']}")
    page.fill("#f-opinion", "企业研发投入大、纳税信用 A 级，建议贵行予以支持。")
    page.click("#refer")
    expect(page.locator("#application-state")).to_have_text("已推荐银行")
    # The packet renders in a background job; the page says so until it is done. (Waiting
    # here also keeps the test off SQLite's single writer while the job stores the PDF.)
    deadline = time.monotonic() + 60
    while "生成中" in page.inner_text("#referrals"):
        assert time.monotonic() < deadline, "the packet was not rendered within a minute"
        time.sleep(0.5)
        page.reload()
    assert "核验" in page.inner_text("#referrals")
    _logout(page)

    # The bank opens its inbox, waits for the packet job, downloads the stamped packet.
    _login(page, "loop-bank")
    page.goto("/bank/")
    page.locator("#inbox a").first.click()
    page.wait_for_url("**/bank/referrals/*")
    deadline = time.monotonic() + 60
    while page.locator("#download").count() == 0:
        assert time.monotonic() < deadline, "the packet was not rendered within a minute"
        time.sleep(0.5)
        page.reload()
    with page.expect_download() as caught:
        page.click("#download")
    pdf = open(caught.value.path(), "rb").read()  # noqa: PTH123, SIM115 - a temporary file
    text = squash(pdf_text(pdf))
    assert "上海㐀联浏览器测试科技有限公司" in text
    assert "浏览器客户经理" in text  # stamped with the user who downloaded it

    page.select_option("#f-decision", "approved")
    page.fill("#f-approved_amount_wan", "150")
    page.fill("#f-annual_rate_pct", "3.45")
    page.fill("#f-term_months", "12")
    page.click("#submit-decision")
    expect(page.locator("#referral-state")).to_have_text("银行同意")
    _logout(page)

    # The SME sees the bank's decision: on its application page when that page exists,
    # otherwise in its notifications (checked in the database).
    if "sme.application" in app.view_functions or any(
        r.rule == "/sme/applications/<int:application_id>" for r in app.url_map.iter_rules()
    ):
        _login(page, "loop-sme")
        page.goto(f"/sme/applications/{application_id}")
        body = page.inner_text("main")
        assert ids["bank_name"] in body
        assert "同意" in body
    else:
        from finportal.extensions import db
        from finportal.models import Notification

        with app.app_context():
            titles = list(
                db.session.scalars(
                    select(Notification.title_zh).where(
                        Notification.enterprise_id == ids["enterprise"]
                    )
                )
            )
            db.session.remove()
        assert any("同意了您的融资申请" in t for t in titles), titles
