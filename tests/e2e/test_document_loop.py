"""Documents in a real browser (issue 14): the advisor returns an application asking for a
contract; the firm uploads it; the advisor's clock pauses and resumes; the bank downloads the
packet with the contract as one ZIP and checks the contract's hash against the manifest."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any

import pytest
from playwright.sync_api import expect

from finportal.models import utcnow
from tests.e2e.helpers import (
    add_referral_cast,
    open_first_referral,
    refer,
    reload_until,
    sign_in,
)
from tests.finportal.documents import files

pytestmark = pytest.mark.e2e


def _seed(app: Any) -> dict[str, Any]:
    from finportal.extensions import db

    with app.app_context():
        cast = add_referral_cast(
            db.session,
            "doc",
            (880141, "上海㐀联合同材料测试科技有限公司"),
            ("1000000", "采购原材料"),
            bank_name="材料测试客户经理",
        )
        ids = {"application": cast.application.id, "bank": cast.bank.id}
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


def test_a_returned_application_gets_its_contract_to_the_bank(page, live_server):
    app = live_server["app"]
    ids = _seed(app)
    application_id = ids["application"]

    # The advisor claims the application and returns it, asking for a contract.
    sign_in(page, "doc-advisor")
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
    sign_in(page, "doc-sme")
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
    reload_until(page, lambda: _clock(app, application_id)[2] == "screened", "screened again")
    observed = utcnow()
    due_after, paused_after, _ = _clock(app, application_id)
    # The clock runs again, moved on by at most the pause's length: none of the pause counted,
    # and the advisor did not get a fresh working day either.
    assert paused_after is None
    assert due_before <= due_after <= due_before + (observed - paused_at)

    # The advisor sees the contract, the clock running, and refers to the bank.
    sign_in(page, "doc-advisor")
    page.goto(f"/advisor/applications/{application_id}")
    expect(page.locator("#clock-paused")).to_have_count(0)
    expect(page.locator("#review-documents")).to_contain_text(sha)
    page.click("#claim")
    expect(page.locator("#application-state")).to_have_text("审核中")
    refer(page, ids["bank"], "合同已补充，经营稳定，建议支持。")

    # The bank downloads the packet with the documents and checks the contract's hash.
    sign_in(page, "doc-bank")
    open_first_referral(page, "#download-bundle")
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
