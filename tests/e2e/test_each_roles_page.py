"""Each role's page as its user would want it (issue 16), in a real browser.

- SME: what a bank asked it to supply shows on every page with a link and a count in the
  menu; a failed Excel import opens at its errors; the catalogue is in the menu and a
  signed-in firm is not told to register.
- Advisor: the actions are at the top; 不予推荐 asks first (and 返回修改 keeps the text); a
  batch packet being rendered updates its box without a reload.
- Bank: the decision form starts with no decision and shows only the chosen decision's
  fields; the hash is explained beside its file; an opened referral says where it went.
"""

from __future__ import annotations

import time
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.helpers import make_uscc

pytestmark = pytest.mark.e2e

PASSWORD = "roles-pass-123"  # noqa: S105 - a test password


def _enterprise(seed: int, name: str) -> Any:
    from finportal.models import Enterprise

    return Enterprise(
        uscc=make_uscc(seed),
        name=name,
        registered_on=date(2016, 3, 1),
        district_code="310112",
        industry_code="65",
        employees=60,
        social_insured_employees=55,
        revenue_last_year=Decimal("30000000"),
        revenue_prev_year=Decimal("26000000"),
        total_assets=Decimal("20000000"),
        total_liabilities=Decimal("7000000"),
        net_profit_last_year=Decimal("2500000"),
        tax_paid_last_year=Decimal("900000"),
        tax_credit_grade="A",
        invention_patents=3,
        utility_patents=4,
        trademarks=1,
        certifications=["tech_sme"],
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


def _seed(app: Any) -> dict[str, Any]:
    """Two screened applications: one referred to a bank that asks for information, one
    claimed by the advisor; and a submitted batch whose packet is being rendered."""
    from finportal.extensions import db
    from finportal.models import Application, Bank, Consent, Job, Match, Park, utcnow
    from finportal.services import bank_actions, batch_packets, batches, review_actions
    from finportal.services.accounts import create_user
    from finportal.services.screening import screen_application

    with app.app_context():
        session = db.session
        bank = session.scalar(select(Bank).where(Bank.code == "demo_bank_a"))
        advisor = create_user(
            session,
            username="e16-advisor",
            password=PASSWORD,
            role="advisor",
            display_name="页面顾问",
        )
        bank_user = create_user(
            session,
            username="e16-bank",
            password=PASSWORD,
            role="bank",
            bank_id=bank.id,
            display_name="页面客户经理",
        )
        enterprise = _enterprise(880161, "上海角色页面测试科技有限公司")
        session.add(enterprise)
        session.flush()
        sme = create_user(
            session, username="e16-sme", password=PASSWORD, role="sme", enterprise_id=enterprise.id
        )
        ids: dict[str, Any] = {"bank": bank.id, "bank_name": bank.name_zh}
        for key, amount in (("asked", "1200000"), ("review", "800000")):
            application = Application(
                enterprise_id=enterprise.id,
                created_by_id=sme.id,
                amount=Decimal(amount),
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
            review_actions.claim(session, application.id, actor_id=advisor.id)
            ids[key] = application.id
        version = session.scalar(
            select(Match.product_version_id)
            .where(Match.application_id == ids["asked"], Match.eligible.is_(True))
            .order_by(Match.rank)
            .limit(1)
        )
        (referral,) = review_actions.refer_to_banks(
            session,
            ids["asked"],
            actor_id=advisor.id,
            referrals=[(bank.id, version)],
            opinion="经营稳定，建议支持。",
            render=False,
        )
        bank_actions.record_decision(
            session,
            referral.id,
            bank_id=bank.id,
            actor_id=bank_user.id,
            decision="info_requested",
            reason_text="请提供近6个月银行流水",
            lock_version=referral.lock_version,
        )
        ids["referral"] = referral.id
        # A second referral for the bank's own page: sent, its packet rendered.
        (sent,) = review_actions.refer_to_banks(
            session,
            ids["review"],
            actor_id=advisor.id,
            referrals=[(bank.id, version)],
            opinion="经营稳定，建议支持。",
        )
        ids["sent"] = sent.id
        ids["sent_number"] = sent.packet_number
        ids["review"] = None
        other = Application(
            enterprise_id=enterprise.id,
            created_by_id=sme.id,
            amount=Decimal("500000"),
            term_months=12,
            purpose="补充流动资金",
            state="submitted",
            submitted_at=utcnow(),
        )
        session.add(other)
        session.commit()
        screen_application(session, application_id=other.id)
        review_actions.claim(session, other.id, actor_id=advisor.id)
        ids["review"] = other.id

        park = session.scalar(select(Park).order_by(Park.id).limit(1))
        batch = batches.create_batch(
            session,
            actor_id=advisor.id,
            name="页面测试批次",
            bank_id=bank.id,
            quota_total=Decimal("5000000"),
            park_id=park.id,
        )
        # Seeded past its members (not what this test is about): the packet box shows.
        batch.state = "submitted"
        session.add(
            Job(
                id="e16-batch-packet",
                kind=batch_packets.BATCH_PACKET_JOB,
                state="running",
                args={"batch_id": batch.id, "bank_id": None},
                object_type="batch",
                object_id=batch.id,
                started_at=utcnow(),
            )
        )
        session.commit()
        ids["batch"] = batch.id
        db.session.remove()
        return ids


@pytest.fixture(scope="module")
def seeded(live_server: dict[str, Any]) -> dict[str, Any]:
    return _seed(live_server["app"])


def _login(page: Any, username: str) -> None:
    page.goto("/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_the_sme_sees_what_to_supply_and_the_catalogue(page, seeded):
    _login(page, "e16-sme")
    for path in ("/sme/", "/sme/profile"):
        page.goto(path)
        banner = page.locator("#asks-banner")
        expect(banner).to_contain_text("待您补充（1 项）")
        expect(banner).to_contain_text("请提供近6个月银行流水")
        expect(page.locator("nav.nav a[href='/sme/applications'] .menu-count")).to_have_text(
            "1（1 项待处理）"
        )
    page.locator("#asks-banner a").first.click()
    page.wait_for_url(f"**/sme/applications/{seeded['asked']}#supply-{seeded['referral']}")
    expect(page.locator(f"#supply-{seeded['referral']}")).to_be_visible()

    # The catalogue is in the menu; its pages do not ask a signed-in firm to register.
    page.click("nav.nav a[href='/products/']")
    page.wait_for_url("**/products/")
    page.locator("main h2 a").first.click()
    expect(page.locator("#apply-link")).to_contain_text("申请此产品")
    assert page.locator("main a[href='/auth/register']").count() == 0

    # A failed import opens at its errors, in view.
    page.goto("/sme/profile")
    page.set_input_files(
        "#excel-import input[type=file]",
        files=[{"name": "profile.xlsx", "mimeType": "application/vnd.ms-excel", "buffer": b"no"}],
    )
    page.locator("#excel-import button[type=submit]").click()
    page.wait_for_url("**/sme/profile/import#import-errors")
    expect(page.locator("#import-errors")).to_be_in_viewport()


def test_the_advisor_acts_from_the_top_and_confirms_a_rejection(page, seeded):
    page.set_viewport_size({"width": 390, "height": 844})
    _login(page, "e16-advisor")
    page.goto(f"/advisor/applications/{seeded['review']}")
    expect(page.locator("#review-actions")).to_be_in_viewport()
    page.click("#go-reject")
    expect(page.locator("#reject-form")).to_be_in_viewport()
    page.select_option("#f-reason_code", index=1)
    page.fill("#f-reason_text", "经营期限不足，暂不推荐")
    page.click("#reject")
    expect(page.locator("#reject-confirm")).to_contain_text("经营期限不足，暂不推荐")
    page.click("#reject-back")
    expect(page.locator("#f-reason_text")).to_have_value("经营期限不足，暂不推荐")
    expect(page.locator("#application-state")).to_have_text("审核中")
    page.click("#reject")
    page.click("#confirm-reject")
    expect(page.locator("#application-state")).to_have_text("未通过")


def test_a_batch_packet_box_follows_its_job_without_a_reload(page, seeded, live_server):
    from finportal.extensions import db
    from finportal.models import Job, utcnow

    _login(page, "e16-advisor")
    page.goto(f"/advisor/batches/{seeded['batch']}")
    box = page.locator("#packet-box")
    expect(box).to_contain_text("正在生成")
    page.evaluate("window.__notReloaded = true")
    app = live_server["app"]
    with app.app_context():
        job = db.session.get(Job, "e16-batch-packet")
        job.state = "failed"
        job.message = "测试：渲染中断"
        job.finished_at = utcnow()
        db.session.commit()
        db.session.remove()
    deadline = time.monotonic() + 20
    while "生成失败" not in page.inner_text("#packet-box"):
        assert time.monotonic() < deadline, "the box did not follow the job"
        time.sleep(0.3)
    expect(page.locator("#packet-box")).to_contain_text("测试：渲染中断")
    assert page.evaluate("window.__notReloaded") is True


def test_the_bank_chooses_a_decision_and_sees_its_fields(page, seeded):
    _login(page, "e16-bank")
    page.goto("/bank/?tab=new")
    expect(page.locator("#new-tab-note")).to_be_visible()
    page.goto(f"/bank/referrals/{seeded['sent']}")
    expect(page.locator("#back-to-inbox")).to_have_attribute("href", "/bank/?tab=viewed")
    expect(page.locator("#inbox-note")).to_be_visible()
    deadline = time.monotonic() + 60
    while page.locator("#download").count() == 0:
        assert time.monotonic() < deadline, "the packet was not rendered within a minute"
        time.sleep(0.5)
        page.reload()
    expect(page.locator("#hash-explained")).to_be_visible()
    expect(page.locator("#hash-explained")).to_contain_text(f"{seeded['sent_number']}.pdf")

    expect(page.locator("#f-decision")).to_have_value("")
    for field in ("#f-approved_amount_wan", "#f-reason_code", "#f-reason_text"):
        expect(page.locator(field)).to_be_hidden()
    page.select_option("#f-decision", "declined")
    expect(page.locator("#f-reason_code")).to_be_visible()
    expect(page.locator("#f-reason_text")).to_be_visible()
    expect(page.locator("#f-approved_amount_wan")).to_be_hidden()
    page.select_option("#f-decision", "info_requested")
    expect(page.locator("#f-reason_code")).to_be_hidden()
    expect(page.locator("#f-reason_text")).to_be_visible()
    page.select_option("#f-decision", "approved")
    expect(page.locator("#f-approved_amount_wan")).to_be_visible()
    expect(page.locator("#f-reason_text")).to_be_hidden()
    page.fill("#f-approved_amount_wan", "80")
    page.fill("#f-annual_rate_pct", "3.45")
    page.fill("#f-term_months", "12")
    page.click("#submit-decision")
    expect(page.locator("#referral-state")).to_have_text("银行同意")
