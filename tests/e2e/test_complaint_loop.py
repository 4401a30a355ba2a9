"""A complaint in a real browser: a bank user raises one, the supervisor acknowledges and
assigns it, the advisor answers, the complainant rates it unsatisfied and reopens it, the
advisor answers again, the complainant rates it and it is closed (issue 15)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.helpers import add_user, sign_in

pytestmark = pytest.mark.e2e


def _seed(app: Any) -> dict[str, Any]:
    from finportal.extensions import db
    from finportal.models import Bank

    with app.app_context():
        session = db.session
        bank = session.scalar(select(Bank).where(Bank.code == "demo_bank_b"))
        add_user(session, "cl-bank", "bank", bank_id=bank.id)
        add_user(session, "cl-advisor", "advisor", display_name="答复顾问")
        supervisor = add_user(session, "cl-supervisor", "advisor", display_name="浏览器督导")
        supervisor.duty = "supervisor"
        session.commit()
        db.session.remove()
    return {}


def test_a_complaint_is_raised_answered_reopened_and_closed(page, live_server):
    _seed(live_server["app"])

    # A bank's user raises a suggestion about the portal; a missing field keeps the form.
    sign_in(page, "cl-bank")
    page.click("text=意见与投诉")
    page.click("#raise-complaint")
    page.select_option("#f-kind", "complaint")
    page.select_option("#f-about", "portal")
    page.select_option("#f-theme", "portal_use")
    page.fill("#f-body", "收件箱翻页后筛选条件丢失。")
    page.click("#submit-complaint")
    expect(page.locator("#form-error")).to_be_visible()
    expect(page.locator("#f-body")).to_have_value("收件箱翻页后筛选条件丢失。")
    page.fill("#f-title", "翻页丢失筛选条件")
    page.click("#submit-complaint")
    expect(page.locator("#state")).to_have_text("待受理")
    number = page.inner_text("h1").split()[0]
    assert number.startswith("TS-")

    # The supervisor acknowledges it and gives it to an advisor.
    sign_in(page, "cl-supervisor")
    page.click("text=诉求办理")
    page.click(f"text={number}")
    page.click("#acknowledge-button")
    expect(page.locator("#state")).to_have_text("办理中")
    page.select_option("#f-advisor_id", label="答复顾问")
    page.click("#assign-button")
    expect(page.locator("#assignee")).to_have_text("答复顾问")

    # The advisor finds it in the list and answers.
    sign_in(page, "cl-advisor")
    page.goto("/advisor/complaints")
    page.click(f"text={number}")
    page.click("#answer-button")  # empty: refused, in place
    expect(page.locator("#action-error")).to_be_visible()
    page.fill("#f-answer", "已修复，将在下周发布。")
    page.click("#answer-button")
    expect(page.locator("#state")).to_have_text("已答复，待评价")

    # The complainant is not satisfied and reopens it, once.
    sign_in(page, "cl-bank")
    page.goto("/complaints/?tab=awaiting_rating")
    page.click(f"text={number}")
    expect(page.locator("#answer")).to_contain_text("已修复，将在下周发布。")
    page.check("input[name=stars][value='2']")
    page.fill("#f-comment", "发布时间太晚。")
    page.click("#rate-reopen")
    expect(page.locator("#state")).to_have_text("不满意，重新办理")

    sign_in(page, "cl-advisor")
    page.goto("/advisor/complaints")
    page.click(f"text={number}")
    page.fill("#f-answer", "已提前到本周五发布。")
    page.click("#answer-button")
    expect(page.locator("#state")).to_have_text("已再次答复，待评价")

    sign_in(page, "cl-bank")
    page.goto("/complaints/?tab=awaiting_rating")
    page.click(f"text={number}")
    expect(page.locator("#rate-reopen")).to_have_count(0)  # reopened once only
    page.check("input[name=stars][value='4']")
    page.click("#rate-close")
    expect(page.locator("#state")).to_have_text("已办结")
    expect(page.locator("#first-answer")).to_contain_text("已修复，将在下周发布。")
    expect(page.locator("#rating")).to_contain_text("4")
