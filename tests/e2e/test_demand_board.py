"""The demand board in a real browser (issue 15, "Done when"): an SME posts a need, two banks
see it anonymised, one claims, the SME consents and chooses, the claim becomes a referral
with a packet that names the firm.

The firm and the users are created directly in the live server's database; the demo banks
get their products from the demo data (``demo_steps.needs.assign_bank_products``).
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.helpers import add_firm, add_user, reload_until, sign_in
from tests.helpers import pdf_text, squash

pytestmark = pytest.mark.e2e

FIRM = "上海需求发布浏览器测试科技有限公司"


def _seed(app: Any) -> dict[str, Any]:
    from finportal.demo_steps.needs import assign_bank_products
    from finportal.extensions import db
    from finportal.models import Bank

    with app.app_context():
        session = db.session
        assign_bank_products(session)
        enterprise = add_firm(session, 880151, FIRM)
        add_user(session, "board-sme", "sme", enterprise_id=enterprise.id)
        banks = {}
        for code, username in (("demo_bank_a", "board-bank-a"), ("demo_bank_b", "board-bank-b")):
            bank = session.scalar(select(Bank).where(Bank.code == code))
            add_user(
                session, username, "bank", bank_id=bank.id, display_name=f"{bank.name_zh}客户经理"
            )
            banks[code] = bank.name_zh
        session.commit()
        db.session.remove()
        return {"uscc": enterprise.uscc, "banks": banks}


def test_a_need_is_posted_claimed_chosen_and_referred_with_a_packet(page, live_server):
    ids = _seed(live_server["app"])

    # The SME posts a need: amount in 万元, term, purpose, collateral, urgency.
    sign_in(page, "board-sme")
    page.goto("/sme/needs/new")
    page.fill("#f-amount", "150")
    page.fill("#f-term_months", "12")
    page.select_option("#f-purpose", "working_capital")
    page.select_option("#f-collateral", "none")
    page.select_option("#f-urgency", "soon")
    page.fill("#f-purpose_note", "采购服务器")
    page.click("#submit-need")
    page.wait_for_url("**/sme/needs/*")
    expect(page.locator("#need-state")).to_have_text("待银行认领")
    assert "150 万元" in page.inner_text("#need-request")
    need_url = page.url
    number = page.inner_text("h1").split()[-1]
    assert number.startswith("XQ-")

    # Both demo banks see it on their board, without the firm's name or USCC.
    for username in ("board-bank-b", "board-bank-a"):
        sign_in(page, username)
        page.goto("/bank/needs")
        row = page.locator("#needs tr", has_text=number)
        expect(row).to_have_count(1)
        text = row.inner_text()
        assert FIRM not in text and ids["uscc"] not in text
        assert "企业授权后可见" in text
    # Bank A (signed in last) claims it for one of its fitting products.
    page.locator("#needs tr", has_text=number).locator("a").click()
    page.wait_for_url("**/bank/needs/*")
    assert FIRM not in page.inner_text("main")
    if page.locator("#f-product_id option").count() > 1:
        page.select_option("#f-product_id", index=1)
    page.fill("#f-note", "可提供 150 万元一年期信用贷款，年化 3.1% 起。")
    page.click("#claim-need")
    expect(page.locator("#claim-state")).to_have_text("已认领，待企业授权")
    assert FIRM not in page.inner_text("main")

    # The SME consents to bank A, then chooses it.
    sign_in(page, "board-sme")
    page.goto(need_url)
    claim_row = page.locator("#claims tr", has_text=ids["banks"]["demo_bank_a"])
    claim_row.locator("button.consent-claim").click()
    page.wait_for_load_state()
    claim_row = page.locator("#claims tr", has_text=ids["banks"]["demo_bank_a"])
    expect(claim_row.locator(".claim-state")).to_have_text("企业已授权")
    claim_row.locator("button.choose-claim").click()
    page.wait_for_url("**/sme/applications/*")
    assert ids["banks"]["demo_bank_a"] in page.inner_text("main")

    # Bank B still sees no firm; bank A sees it, and the referral with its packet.
    sign_in(page, "board-bank-b")
    page.goto("/bank/needs?tab=open")
    assert FIRM not in page.inner_text("main")
    sign_in(page, "board-bank-a")
    page.goto("/bank/needs?tab=claimed")
    page.locator("#needs tr", has_text=number).locator("a").click()
    expect(page.locator("#firm-name")).to_have_text(FIRM)
    expect(page.locator("#claim-state")).to_have_text("企业已选定")
    page.click("#claim-referral")
    page.wait_for_url("**/bank/referrals/*")
    reload_until(page, lambda: page.locator("#download").count() > 0, "the packet", seconds=90)
    with page.expect_download() as caught:
        page.click("#download")
    pdf = open(caught.value.path(), "rb").read()  # noqa: PTH123, SIM115 - a temporary file
    text = squash(pdf_text(pdf))
    assert squash(FIRM) in text
    assert number in text
