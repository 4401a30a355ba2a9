"""Audit fixes on the bank, advisor and verify pages and in the packet PDF."""

from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import select

from finportal.models import AuditEvent, Referral
from finportal.services import applications as application_service
from finportal.services.labels import SCOPE_LABELS
from finportal.services.packets import current_packet
from tests.helpers import pdf_text, squash

pytestmark = pytest.mark.db


@pytest.fixture
def loop(monkeypatch, make_loop, request):
    monkeypatch.setenv("FINPORTAL_BASE_URL", "https://fin.example.cn")
    return make_loop(packet=request.node.get_closest_marker("packet") is not None)


@pytest.mark.packet
def test_purpose_scope_and_absolute_verify_url_in_pages_and_packet(client, login, db_session, loop):
    login(loop.bank_user)
    page = client.get(f"/bank/referrals/{loop.referral.id}")
    assert page.status_code == 200
    assert "购置设备" in page.text and ">equipment<" not in page.text
    pdf = client.get(f"/bank/referrals/{loop.referral.id}/packet.pdf")
    text = squash(pdf_text(pdf.data))
    assert "购置设备" in text and "equipment" not in text
    assert squash(SCOPE_LABELS["financials"]) in text
    code = current_packet(db_session, loop.referral.id).verification_code
    assert f"https://fin.example.cn/verify/{code}" in text
    assert "本次融资申请信息" not in text and "application" not in text

    client.post("/auth/logout")
    login(loop.advisor)
    review = client.get(f"/advisor/applications/{loop.application.id}")
    assert "购置设备" in review.text
    assert squash(SCOPE_LABELS["credit_record"]) in squash(review.text)
    queue = client.get("/advisor/?status=referred")
    assert "合成的参考数据" in queue.text


@pytest.mark.packet
def test_sme_timeline_names_every_referral_step(client, login, db_session, loop):
    login(loop.bank_user)
    client.get(f"/bank/referrals/{loop.referral.id}")
    client.get(f"/bank/referrals/{loop.referral.id}/packet.pdf")
    client.post("/auth/logout")
    login(loop.sme_user)
    page = client.get(f"/sme/applications/{loop.application.id}")
    assert page.status_code == 200
    for label in ("发出推荐", "生成推荐材料包", "银行查看", "银行下载材料包", "推荐给银行"):
        assert label in page.text, label
    for code in ("referral.sent", "packet_rendered", "referral.viewed"):
        assert code not in page.text


@pytest.mark.packet
def test_verify_tells_original_download_or_neither(client, login, db_session, loop):
    referral = loop.referral
    packet = current_packet(db_session, referral.id)
    code = packet.verification_code
    login(loop.bank_user)
    stamped = client.get(f"/bank/referrals/{referral.id}/packet.pdf").data
    client.post("/auth/logout")
    event = db_session.scalar(
        select(AuditEvent).where(AuditEvent.action == "referral.packet_downloaded")
    )
    assert event.data["stamped_sha256"] == hashlib.sha256(stamped).hexdigest()

    page = client.get(f"/verify/{code}")
    assert "平台存档的原始材料包" in page.text and "上传" in page.text
    original = client.get(f"/verify/{code}?sha256={packet.sha256}")
    assert 'data-matches="original"' in original.text
    download = client.get(f"/verify/{code}?sha256={hashlib.sha256(stamped).hexdigest()}")
    assert 'data-matches="download"' in download.text
    assert loop.bank.name_zh in download.text and "第 1 次下载" in download.text
    assert "甲行客户经理" not in download.text and loop.bank_user.username not in download.text
    uploaded = client.post(f"/verify/{code}", data={"file": (io.BytesIO(stamped), "p.pdf")})
    assert uploaded.status_code == 200 and 'data-matches="download"' in uploaded.text
    other = client.post(f"/verify/{code}", data={"file": (io.BytesIO(b"%PDF-1.7 x"), "x.pdf")})
    assert 'data-matches="none"' in other.text and "不一致" in other.text
    bad = client.get(f"/verify/{code}?sha256=xyz")
    assert bad.status_code == 422 and "64 位十六进制" in bad.text


def test_withdrawn_referral_shows_in_the_bank_inbox(client, login, db_session, loop):
    application_service.withdraw_application(
        db_session,
        actor_id=loop.sme_user.id,
        enterprise_id=loop.enterprise.id,
        application_id=loop.application.id,
    )
    assert db_session.get(Referral, loop.referral.id).state == "withdrawn"
    login(loop.bank_user)
    inbox = client.get("/bank/")
    assert "已撤回（1）" in inbox.text
    tab = client.get("/bank/?tab=withdrawn")
    assert tab.status_code == 200 and loop.referral.packet_number in tab.text
