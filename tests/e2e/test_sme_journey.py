"""The SME journey in a real browser: register, profile, matches, apply with consent, screened
result, answer a return, withdraw."""

from __future__ import annotations

import re

import pytest

from tests.helpers import make_uscc

pytestmark = pytest.mark.e2e

PROFILE = {
    # Typed as people write dates in Chinese; stored as 2019-06-18.
    "registered_on": "2019年6月18日",
    "employees": "48",
    "social_insured_employees": "45",
    "revenue_last_year": "2600",
    "revenue_prev_year": "2100",
    "total_assets": "1800",
    "total_liabilities": "700",
    "net_profit_last_year": "210",
    "tax_paid_last_year": "95",
    "invention_patents": "2",
    "utility_patents": "4",
    "trademarks": "1",
    "existing_loan_balance": "0",
    "overdue_count_24m": "0",
    "max_overdue_days_24m": "0",
    "pending_lawsuits": "0",
    "enforcement_records": "0",
    "admin_penalties_24m": "0",
}
SELECTS = {
    "industry_code": "65",
    "tax_credit_grade": "A",
    "has_bank_loan_history": "false",
    "serious_bad_credit_24m": "false",
    "credit_repair_completed": "false",
}


def _return_application(app, application_id):
    """Play the centre's part: take the application and send it back for the tax figures."""
    from finportal.extensions import db
    from finportal.models import Application
    from finportal.services.lifecycle import transition

    with app.app_context():
        try:
            application = db.session.get(Application, application_id)
            transition(
                db.session, application, "in_review", by="advisor", actor_id=None, reason="顾问受理"
            )
            application.return_request = {
                "message": "请核对上年纳税总额。",
                "fields": ["tax_paid_last_year"],
            }
            transition(
                db.session,
                application,
                "returned",
                by="advisor",
                actor_id=None,
                reason="请核对上年纳税总额",
            )
            db.session.commit()
        finally:
            db.session.remove()


def _advisor(app):
    """Create an advisor account on the live server; return its username."""
    from finportal.extensions import db
    from finportal.services.accounts import create_user

    with app.app_context():
        try:
            create_user(
                db.session, username="journey-advisor", password="advisor-pass-1", role="advisor"
            )
            db.session.commit()
        finally:
            db.session.remove()
    return "journey-advisor"


def _licence_pdf(folder):
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    path = folder / "营业执照.pdf"
    with path.open("wb") as out:
        writer.write(out)
    return str(path)


def test_register_profile_match_apply_return_withdraw(page, live_server, browser, tmp_path):
    # Register with a valid USCC.
    page.goto("/auth/register")
    page.fill("#f-uscc", make_uscc(5_505_001))
    page.fill("#f-enterprise_name", "上海旅程测试软件有限公司")
    page.fill("#f-username", "journey-firm")
    page.fill("#f-password", "journey-pass-1")
    page.fill("#f-password_confirm", "journey-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url("**/sme/verification")

    # Anyone may know the code: the firm uploads its licence and an advisor verifies it.
    page.select_option("#f-kind", "business_licence")
    page.set_input_files("#f-document", _licence_pdf(tmp_path))
    page.click("main button[type=submit]")
    assert "正在审核" in page.inner_text("#verification-pending")
    advisor = browser.new_context(base_url=live_server["url"], locale="zh-CN").new_page()
    advisor.goto("/auth/login")
    advisor.fill("input[name=username]", _advisor(live_server["app"]))
    advisor.fill("input[name=password]", "advisor-pass-1")
    advisor.click("main button[type=submit]")
    advisor.wait_for_url("**/advisor/")
    advisor.click("nav >> text=企业认证")
    row = advisor.locator("#verification-queue tbody tr", has_text="上海旅程测试软件有限公司")
    row.locator("input[value=approve]").check()
    row.locator("button[type=submit]").click()
    assert "企业已认证" in advisor.inner_text("main")
    advisor.context.close()
    page.reload()
    assert "已认证" in page.inner_text("#verification-state")

    # Fill the profile; a typo is refused with everything else kept.
    page.goto("/sme/profile")
    for name, value in PROFILE.items():
        page.fill(f"#f-{name}", value)
    for name, value in SELECTS.items():
        page.select_option(f"#f-{name}", value)
    page.check("input[name=certifications][value=tech_sme]")
    page.fill("#f-employees", "四十八")
    page.click("#profile-form button[type=submit]")
    assert "请输入整数" in page.inner_text("#profile-form")
    assert page.input_value("#f-revenue_last_year") == "2600"
    assert page.is_checked("input[name=certifications][value=tech_sme]")
    page.fill("#f-employees", "48")
    page.click("#profile-form button[type=submit]")
    assert "企业信息已保存" in page.inner_text("main")
    assert "小型企业" in page.inner_text("#size-class")
    assert "软件和信息技术服务业" in page.inner_text("#size-class")

    # See the matches and compare net costs for an amount and a term.
    page.click("nav >> text=匹配产品")
    page.wait_for_url("**/sme/matches")
    assert page.locator("#eligible .product-eligible").count() > 0
    page.fill("#f-amount", "100")
    page.fill("#f-term", "12")
    page.click("#compare button[type=submit]")
    page.wait_for_url("**/sme/matches?amount=100*")
    assert page.locator("#compare-table tbody tr").count() > 0

    # Apply, with consent to one bank, and watch the screening finish.
    page.click("nav >> text=申请融资")
    page.fill("#f-amount", "100")
    page.fill("#f-term_months", "12")
    page.select_option("#f-purpose", "working_capital")
    assert "营业收入" in page.inner_text("#consents")
    page.locator("input[name=consent_bank_ids]").first.check()
    page.click("#submit-application")
    page.wait_for_url(re.compile(r".*/sme/applications/\d+$"))
    application_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    page.wait_for_selector("#state[data-state=screened]", timeout=60_000)
    assert page.inner_text("#score").strip().isdigit()
    assert page.inner_text("#grade").strip() in list("ABCDE")
    assert "合成" in page.inner_text("#synthetic-note")
    assert "自动初筛完成" in page.inner_text("#timeline")

    # The centre returns it; the SME fixes the field and resubmits.
    _return_application(live_server["app"], application_id)
    page.reload()
    assert "请核对上年纳税总额" in page.inner_text("#return-request")
    page.fill("#f-tax_paid_last_year", "九十")
    page.click("#resubmit")
    assert "请输入数字" in page.inner_text("#return-request")
    page.fill("#f-tax_paid_last_year", "90")
    page.click("#resubmit")
    page.wait_for_selector("#state[data-state=screened]", timeout=60_000)
    assert "企业已按要求补充材料并重新提交" in page.inner_text("#timeline")

    # Withdraw.
    page.fill("#f-reason", "已获得其他融资")
    page.click("#withdraw-button")
    page.wait_for_selector("#state[data-state=withdrawn]")
    assert "已获得其他融资" in page.inner_text("#timeline")
    assert page.locator("#withdraw-form").count() == 0
