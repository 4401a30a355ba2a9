"""Bank pages: inbox, referral, packet download, decision and outcome forms; other banks' ids."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from finportal.models import AuditEvent, Referral, utcnow
from finportal.services.workdays import SHANGHAI
from tests.helpers import pdf_text, squash

pytestmark = pytest.mark.db


def _bank_rules(app):
    return [
        r
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/bank/") and "referral_id" in r.arguments
    ]


@pytest.mark.packet
def test_every_bank_route_refuses_another_banks_referral(client, login, db_session, loop, app):
    login(loop.other_bank_user)
    rules = _bank_rules(app)
    assert {r.endpoint for r in rules} >= {
        "bank.referral",
        "bank.packet",
        "bank.decision",
        "bank.outcome",
    }
    for rule in rules:
        url = re.sub(r"<(?:[^:<>]+:)?referral_id>", str(loop.referral.id), rule.rule)
        for method in sorted(m for m in rule.methods if m in ("GET", "POST")):
            data = {
                "lock_version": loop.referral.lock_version,
                "decision": "declined",
                "reason_code": "other",
                "reason_text": "试探",
                "event": "disbursed",
                "occurred_on": "2026-11-27",
                "amount_wan": "1",
            }
            response = client.open(url, method=method, data=data if method == "POST" else None)
            assert response.status_code == 404, (rule.rule, method, response.status_code)
            assert loop.enterprise.name not in response.text
    inbox = client.get("/bank/?tab=new")
    assert loop.enterprise.name not in inbox.text
    db_session.expire_all()
    referral = db_session.get(Referral, loop.referral.id)
    assert referral.state == "sent"
    actions = {
        e.action
        for e in db_session.scalars(select(AuditEvent).where(AuditEvent.object_type == "referral"))
    }
    assert "referral.packet_downloaded" not in actions and "referral.viewed" not in actions


@pytest.mark.packet
def test_inbox_view_download_and_decide(client, login, db_session, loop):
    login(loop.bank_user)
    inbox = client.get("/bank/")
    assert inbox.status_code == 200
    assert loop.enterprise.name in inbox.text and "新推荐（1）" in inbox.text

    page = client.get(f"/bank/referrals/{loop.referral.id}")
    assert page.status_code == 200
    assert "已查看" in page.text and "下载推荐材料包" in page.text

    pdf = client.get(f"/bank/referrals/{loop.referral.id}/packet.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "attachment" in pdf.headers["Content-Disposition"]
    assert "甲行客户经理" in squash(pdf_text(pdf.data))

    # A rejected form comes back with what was typed and a message beside the field.
    bad = client.post(
        f"/bank/referrals/{loop.referral.id}/decision",
        data={
            "lock_version": db_session.get(Referral, loop.referral.id).lock_version,
            "decision": "approved",
            "approved_amount_wan": "80",
            "annual_rate_pct": "99",
            "term_months": "12",
        },
    )
    assert bad.status_code == 422
    assert "年利率须大于 0 且不超过 36%" in bad.text
    assert 'value="80"' in bad.text

    db_session.expire_all()
    good = client.post(
        f"/bank/referrals/{loop.referral.id}/decision",
        data={
            "lock_version": db_session.get(Referral, loop.referral.id).lock_version,
            "decision": "approved",
            "approved_amount_wan": "80",
            "annual_rate_pct": "3.45",
            "term_months": "12",
            # A browser posts the empty decline fields too.
            "reason_code": "",
            "reason_text": "",
        },
    )
    assert good.status_code == 302
    db_session.expire_all()
    referral = db_session.get(Referral, loop.referral.id)
    assert referral.state == "approved"
    page = client.get(f"/bank/referrals/{loop.referral.id}")
    assert "80.00 万元" in page.text and "3.45%" in page.text

    today = utcnow().astimezone(SHANGHAI).date().isoformat()
    done = client.post(
        f"/bank/referrals/{loop.referral.id}/outcome",
        data={
            "lock_version": referral.lock_version,
            "event": "disbursed",
            "occurred_on": today,
            "amount_wan": "80",
        },
    )
    assert done.status_code == 302
    db_session.expire_all()
    assert db_session.get(Referral, loop.referral.id).state == "disbursed"
    page = client.get(f"/bank/referrals/{loop.referral.id}")
    assert "结清" in page.text and "逾期90天以上" in page.text  # the next events are offered


def test_a_stale_decision_form_is_a_conflict(client, login, db_session, loop):
    login(loop.bank_user)
    client.get(f"/bank/referrals/{loop.referral.id}")  # viewed: the version moved on
    response = client.post(
        f"/bank/referrals/{loop.referral.id}/decision",
        data={"lock_version": "1", "decision": "info_requested", "reason_text": "请补充流水"},
    )
    assert response.status_code == 409
    assert "刷新页面" in response.text


def test_withdrawn_consent_refuses_the_download_page(client, login, db_session, loop):
    loop.consent.withdrawn_at = utcnow()
    db_session.commit()
    login(loop.bank_user)
    page = client.get(f"/bank/referrals/{loop.referral.id}")
    assert "企业已撤回或未授权向该银行提供信息" in page.text
    response = client.get(f"/bank/referrals/{loop.referral.id}/packet.pdf")
    assert response.status_code == 403
    assert "撤回" in response.text


@pytest.mark.packet
def test_verify_page_is_public(client, db_session, loop):
    from finportal.services.packets import current_packet

    packet = current_packet(db_session, loop.referral.id)
    response = client.get(f"/verify/{packet.verification_code}")
    assert response.status_code == 200
    assert packet.sha256 in response.text
    assert loop.enterprise.name not in response.text  # masked on a public page
    assert client.get("/verify/NOPE-NOPE-NOPE").status_code == 404
    assert client.get("/verify/?code=abc").status_code == 302
