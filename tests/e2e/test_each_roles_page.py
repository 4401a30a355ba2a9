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
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.e2e.helpers import add_firm, add_user, reload_until, screened_application, sign_in

pytestmark = pytest.mark.e2e


def _seed(app: Any) -> dict[str, Any]:
    """Two screened applications: one referred to a bank that asks for information, one
    claimed by the advisor; and a submitted batch whose packet is being rendered."""
    from finportal.extensions import db
    from finportal.models import Bank, Job, Match, Park, utcnow
    from finportal.services import bank_actions, batch_packets, batches, review_actions

    with app.app_context():
        session = db.session
        bank = session.scalar(select(Bank).where(Bank.code == "demo_bank_a"))
        advisor = add_user(session, "e16-advisor", "advisor", display_name="页面顾问")
        bank_user = add_user(
            session, "e16-bank", "bank", bank_id=bank.id, display_name="页面客户经理"
        )
        enterprise = add_firm(session, 880161, "上海角色页面测试科技有限公司")
        sme = add_user(session, "e16-sme", "sme", enterprise_id=enterprise.id)
        ids: dict[str, Any] = {"bank": bank.id, "bank_name": bank.name_zh}
        for key, amount in (("asked", "1200000"), ("review", "800000")):
            application = screened_application(
                session, sme, amount, "采购研发设备", consent_to=bank
            )
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
        other = screened_application(session, sme, "500000", "补充流动资金")
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


def test_the_sme_sees_what_to_supply_and_the_catalogue(page, seeded):
    sign_in(page, "e16-sme")
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
    sign_in(page, "e16-advisor")
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

    sign_in(page, "e16-advisor")
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
    sign_in(page, "e16-bank")
    page.goto("/bank/?tab=new")
    expect(page.locator("#new-tab-note")).to_be_visible()
    page.goto(f"/bank/referrals/{seeded['sent']}")
    expect(page.locator("#back-to-inbox")).to_have_attribute("href", "/bank/?tab=viewed")
    expect(page.locator("#inbox-note")).to_be_visible()
    reload_until(page, lambda: page.locator("#download").count() > 0, "the packet rendered")
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
