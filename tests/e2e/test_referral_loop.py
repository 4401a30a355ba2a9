"""The referral loop in a real browser: the advisor refers, the bank downloads and approves,
the SME sees the decision.

The SME's application is created directly in the live server's database (screened by the
real screening job): the SME journey's own pages are tested by their own browser tests.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.helpers import add_referral_cast, open_first_referral, refer, sign_in
from tests.helpers import pdf_text, squash

pytestmark = pytest.mark.e2e


def _seed(app: Any) -> dict[str, Any]:
    from finportal.extensions import db
    from finportal.models import Match

    with app.app_context():
        session = db.session
        cast = add_referral_cast(
            session,
            "loop",
            (880001, "上海㐀联浏览器测试科技有限公司"),
            ("1500000", "采购研发设备"),
            advisor_name="浏览器顾问",
            bank_name="浏览器客户经理",
        )
        assert session.scalar(
            select(Match)
            .where(Match.application_id == cast.application.id, Match.eligible.is_(True))
            .limit(1)
        )
        ids = {
            "application": cast.application.id,
            "enterprise": cast.enterprise.id,
            "bank": cast.bank.id,
            "bank_name": cast.bank.name_zh,
        }
        db.session.remove()
        return ids


def test_advisor_refers_bank_downloads_and_approves_sme_sees_it(page, live_server):
    app = live_server["app"]
    ids = _seed(app)
    application_id = ids["application"]

    # The advisor claims the application from the queue and refers it to the consented bank.
    sign_in(page, "loop-advisor")
    page.goto("/advisor/")
    row = page.locator(f"tr[data-application='{application_id}']")
    assert "上海㐀联浏览器测试科技有限公司" in row.inner_text()
    row.locator("button", has_text="认领").click()
    expect(page.locator("#application-state")).to_have_text("审核中")
    # The packet renders in a background job; the page says so until it is done.
    refer(page, ids["bank"], "企业研发投入大、纳税信用 A 级，建议贵行予以支持。")
    assert "核验" in page.inner_text("#referrals")

    # The bank opens its inbox, waits for the packet job, downloads the stamped packet.
    sign_in(page, "loop-bank")
    open_first_referral(page, "#download")
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

    # The SME sees the bank's decision: on its application page when that page exists,
    # otherwise in its notifications (checked in the database).
    if "sme.application" in app.view_functions or any(
        r.rule == "/sme/applications/<int:application_id>" for r in app.url_map.iter_rules()
    ):
        sign_in(page, "loop-sme")
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
