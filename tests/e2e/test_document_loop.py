"""Documents in a real browser (issue 14): the advisor returns an application asking for a
contract; the firm uploads it; the advisor's clock pauses and resumes; the bank downloads the
packet with the contract as one ZIP and checks the contract's hash against the manifest."""

from __future__ import annotations

import hashlib
import io
import json
import time
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from finportal.models import utcnow
from tests.finportal.documents import files
from tests.helpers import make_uscc

pytestmark = pytest.mark.e2e

PASSWORD = "docs-pass-123"  # noqa: S105 - a test password


def _seed(app: Any) -> dict[str, Any]:
    from finportal.extensions import db
    from finportal.models import Application, Bank, Consent, Enterprise, utcnow
    from finportal.services.accounts import create_user
    from finportal.services.screening import screen_application

    with app.app_context():
        session = db.session
        enterprise = Enterprise(
            uscc=make_uscc(880141),
            name="上海㐀联合同材料测试科技有限公司",
            registered_on=date(2016, 3, 1),
            district_code="310112",
            industry_code="65",
            employees=60,
            social_insured_employees=58,
            revenue_last_year=Decimal("30000000"),
            revenue_prev_year=Decimal("26000000"),
            total_assets=Decimal("20000000"),
            total_liabilities=Decimal("7000000"),
            net_profit_last_year=Decimal("2500000"),
            tax_paid_last_year=Decimal("900000"),
            tax_credit_grade="A",
            invention_patents=3,
            utility_patents=5,
            trademarks=1,
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
            session, username="doc-sme", password=PASSWORD, role="sme", enterprise_id=enterprise.id
        )
        create_user(session, username="doc-advisor", password=PASSWORD, role="advisor")
        create_user(
            session,
            username="doc-bank",
            password=PASSWORD,
            role="bank",
            bank_id=bank.id,
            display_name="材料测试客户经理",
        )
        application = Application(
            enterprise_id=enterprise.id,
            created_by_id=sme.id,
            amount=Decimal("1000000"),
            term_months=12,
            purpose="采购原材料",
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
        ids = {"application": application.id, "bank": bank.id}
        db.session.remove()
        return ids


def _clock(app: Any, application_id: int) -> tuple[Any, Any, str]:
    from finportal.extensions import db
    from finportal.models import Application

    with app.app_context():
        row = db.session.get(Application, application_id)
        found = (row.first_response_due_at, row.clock_paused_at, row.state)
        db.session.remove()
        return found


def _login(page: Any, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/auth/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def _wait_for(page: Any, ready: Any, what: str) -> None:
    deadline = time.monotonic() + 60
    while not ready():
        assert time.monotonic() < deadline, f"{what} within a minute"
        time.sleep(0.5)
        page.reload()


def test_a_returned_application_gets_its_contract_to_the_bank(page, live_server):
    app = live_server["app"]
    ids = _seed(app)
    application_id = ids["application"]

    # The advisor claims the application and returns it, asking for a contract.
    _login(page, "doc-advisor")
    page.goto(f"/advisor/applications/{application_id}")
    page.click("#claim")
    expect(page.locator("#application-state")).to_have_text("审核中")
    due_before, paused, _ = _clock(app, application_id)
    assert paused is None
    page.fill("#f-message", "请上传与采购方签订的购销合同。")
    page.check("#return-doc-contract")
    page.locator("#return-form button[type=submit]").click()
    expect(page.locator("#application-state")).to_have_text("已退回补充")
    expect(page.locator("#clock-paused")).to_be_visible()
    _, paused_at, _ = _clock(app, application_id)
    assert paused_at is not None

    # The firm sees what is asked, uploads the contract and resubmits.
    _login(page, "doc-sme")
    page.goto(f"/sme/applications/{application_id}")
    ask = page.locator("#ask-centre")
    expect(ask).to_contain_text("合同")
    expect(ask).to_contain_text("待上传")
    contract = files.pdf(3, "购销合同（浏览器测试）")
    page.set_input_files(
        "#f-doc-file",
        files=[{"name": "购销合同.pdf", "mimeType": "application/pdf", "buffer": contract}],
    )
    expect(page.locator("#f-doc-kind")).to_have_value("contract")
    page.click("#attach-document")
    expect(page.locator("#ask-centre")).to_contain_text("已上传")
    sha = hashlib.sha256(contract).hexdigest()
    expect(page.locator("#application-documents")).to_contain_text(sha)
    page.click("#resubmit")
    page.wait_for_load_state()
    _wait_for(page, lambda: _clock(app, application_id)[2] == "screened", "screened again")
    observed = utcnow()
    due_after, paused_after, _ = _clock(app, application_id)
    # The clock runs again, moved on by at most the pause's length: none of the pause counted,
    # and the advisor did not get a fresh working day either.
    assert paused_after is None
    assert due_before <= due_after <= due_before + (observed - paused_at)

    # The advisor sees the contract, the clock running, and refers to the bank.
    _login(page, "doc-advisor")
    page.goto(f"/advisor/applications/{application_id}")
    expect(page.locator("#clock-paused")).to_have_count(0)
    expect(page.locator("#review-documents")).to_contain_text(sha)
    page.click("#claim")
    expect(page.locator("#application-state")).to_have_text("审核中")
    page.check(f"#bank-{ids['bank']}")
    page.fill("#f-opinion", "合同已补充，经营稳定，建议支持。")
    page.click("#refer")
    expect(page.locator("#application-state")).to_have_text("已推荐银行")
    _wait_for(page, lambda: "生成中" not in page.inner_text("#referrals"), "the packet rendered")

    # The bank downloads the packet with the documents and checks the contract's hash.
    _login(page, "doc-bank")
    page.goto("/bank/")
    page.locator("#inbox a").first.click()
    page.wait_for_url("**/bank/referrals/*")
    _wait_for(page, lambda: page.locator("#download-bundle").count() > 0, "the bundle offered")
    expect(page.locator("#bank-documents")).to_contain_text(sha)
    with page.expect_download() as caught:
        page.click("#download-bundle")
    bundle = zipfile.ZipFile(io.BytesIO(open(caught.value.path(), "rb").read()))  # noqa: PTH123, SIM115
    manifest = json.loads(bundle.read("manifest.json"))
    (row,) = [r for r in manifest["documents"] if r["kind"] == "contract"]
    inside = bundle.read(row["file"])
    assert hashlib.sha256(inside).hexdigest() == row["sha256"] == sha
    assert inside == contract
    packet = bundle.read(manifest["packet"]["file"])
    assert packet.startswith(b"%PDF-")
    assert hashlib.sha256(packet).hexdigest() == manifest["packet"]["sha256"]
