"""The admin's pages of issue 16 in a real browser: the product form (rows added and errors
beside the field), retraining followed on its page until the new model card, the readable
audit log and the API documentation on a phone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PASSWORD = "admin-pages-pass-123"  # noqa: S105 - a test password
PHONE = {"width": 390, "height": 844}


def _seed(app: Any) -> None:
    """An admin, and 500 loan outcomes recorded on the platform (retraining needs them)."""
    import scoring
    from finportal.extensions import db
    from finportal.models import (
        Application,
        Bank,
        Enterprise,
        LoanOutcome,
        Product,
        Referral,
        User,
    )
    from finportal.services.accounts import create_user
    from tests.helpers import make_uscc

    with app.app_context():
        session = db.session
        if session.scalar(select(User.id).where(User.username == "ap-admin")):
            return
        create_user(
            session, username="ap-admin", password=PASSWORD, role="admin", display_name="页面管理员"
        )
        firm = Enterprise(name="上海重训数据科技有限公司", uscc=make_uscc(90001))
        session.add(firm)
        session.flush()
        bank = session.scalar(select(Bank).order_by(Bank.id).limit(1))
        version = session.scalar(
            select(Product).where(Product.code == "policy_guarantee")
        ).current_version
        frame = scoring.generate_reference_data(6000, seed=3)
        rows = [
            (r, "repaid")
            for r in frame[frame["bad"] == 0].head(400).drop(columns=["bad"]).to_dict("records")
        ]
        rows += [
            (r, "defaulted")
            for r in frame[frame["bad"] == 1].head(100).drop(columns=["bad"]).to_dict("records")
        ]
        for features, final in rows:
            application = Application(
                enterprise_id=firm.id,
                amount=Decimal("500000"),
                term_months=12,
                state="referred",
                feature_snapshot={k: (None if v != v else v) for k, v in features.items()},
                screened_at=datetime(2025, 6, 1, tzinfo=UTC),
            )
            session.add(application)
            session.flush()
            referral = Referral(
                application_id=application.id,
                bank_id=bank.id,
                product_version_id=version.id,
                state=final,
            )
            session.add(referral)
            session.flush()
            for event in ("disbursed", final):
                session.add(
                    LoanOutcome(referral_id=referral.id, event=event, occurred_on=date(2025, 9, 1))
                )
        session.commit()
        db.session.remove()


def _login(page: Any) -> None:
    page.goto("/auth/login")
    page.fill("input[name=username]", "ap-admin")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _fits(page: Any) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} is {width[0]} px wide on a {width[1]} px screen"


def test_product_form_adds_a_condition_and_shows_errors_beside_fields(page, live_server):
    _seed(live_server["app"])
    page.set_viewport_size(PHONE)
    _login(page)
    page.goto("/admin/products/ip_pledge/form")
    _fits(page)
    rows = page.locator("#f-conditions > fieldset.form-row")
    before = rows.count()
    page.fill("#f-terms-amount_min-value", "2000")  # 万元: above the maximum
    page.get_by_role("button", name="添加一项：准入条件").click()
    expect(rows).to_have_count(before + 1)
    expect(page.locator("#f-terms-amount_min-value")).to_have_value("2000")  # kept
    page.get_by_role("button", name="校验并提交复核").last.click()
    error = page.locator("#f-terms-amount_min .error-text").first
    expect(error).to_contain_text("不能高于最高金额")
    # the new, empty condition is marked where its fields are missing
    expect(page.locator(f"#f-conditions-{before}-id-error")).to_contain_text("必填")
    _fits(page)


def test_retraining_is_followed_on_its_page_until_the_new_card(page, live_server):
    _seed(live_server["app"])
    page.set_viewport_size(PHONE)
    _login(page)
    page.goto("/admin/models")
    page.get_by_role("button", name="用平台放款结果重新训练").click()
    expect(page.locator("#retrain-meter")).to_be_visible()
    expect(page.locator("#retrain-steps li")).to_have_count(5)
    # the page polls its status and reloads itself when the job ends (a thread runs it)
    expect(page.locator("#retrain-result")).to_be_visible(timeout=180_000)
    expect(page.locator("#retrain-percent")).to_have_text("100")
    expect(page.locator("#activate-link")).to_be_visible()
    expect(page.locator("#holdout-comparison")).to_be_visible()
    _fits(page)
    page.locator("#activate-link").click()
    page.wait_for_load_state()
    assert "/compare" in page.url


def test_audit_log_reads_as_words_on_a_phone(page, live_server):
    _seed(live_server["app"])
    page.set_viewport_size(PHONE)
    _login(page)
    page.goto("/admin/audit")
    _fits(page)
    first = page.locator(".audit-event").first
    expect(first).to_be_visible()
    text = page.locator(".audit-events").inner_text()
    # the seeding's first event, in words; no event code on the page
    assert "新增用户" in text or "登记模型版本" in text
    assert "user.created" not in text and "model.registered" not in text


def test_api_documentation_in_the_site_frame_on_a_phone(page, live_server):
    page.set_viewport_size(PHONE)
    page.goto("/api/v1/docs")
    expect(page.locator("header.topbar")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("银行接口文档")
    expect(page.locator("pre.api-example").first).to_be_visible()
    _fits(page)
    page.get_by_role("link", name="English").click()
    expect(page.locator("h1")).to_contain_text("Bank API documentation")
    _fits(page)
