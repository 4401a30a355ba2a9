"""Referral packets carry the catalogue's demo marks and its words on when a subsidy is paid."""

from __future__ import annotations

import pytest

from finportal.packets import render_packet
from finportal.services import packets as packet_service
from finportal.services import review_actions
from tests.helpers import pdf_text, squash

pytestmark = pytest.mark.db


def _refer(db_session, loop, version_id):
    review_actions.claim(db_session, loop.application.id, actor_id=loop.advisor.id)
    (referral,) = review_actions.refer_to_banks(
        db_session,
        loop.application.id,
        actor_id=loop.advisor.id,
        referrals=[(loop.bank.id, version_id)],
        opinion="建议支持。",
    )
    db_session.refresh(referral)
    return referral


def test_a_tech_performance_packet_marks_demo_values_and_the_later_subsidy(
    db_session, published_catalog, make_loop
):
    catalog, versions = published_catalog
    loop = make_loop(refer=False)
    referral = _refer(db_session, loop, versions["tech_performance"].id)
    ctx = packet_service.build_context(db_session, referral)

    product = catalog.get("tech_performance")
    marks = {c.message_zh: c.demo for c in ctx.conditions}
    for condition in product.conditions:
        if condition.message_zh in marks:
            assert marks[condition.message_zh] is condition.demo, condition.id
    assert marks[next(c.message_zh for c in product.conditions if c.id == "in_district")]
    assert not marks[next(c.message_zh for c in product.conditions if c.id == "sme")]
    assert ctx.quote.guarantee_fee_demo  # the 1.2 % premium is a demo value
    assert ctx.quote.interest_rate_demo
    (subsidy,) = ctx.quote.subsidies
    assert subsidy.name_zh == "担保费补贴"
    assert "事后拨付" in subsidy.note_zh and "3 个工作日" in subsidy.note_zh

    text = squash(pdf_text(render_packet(ctx)))
    assert "〔演示条件，待确认〕" in text
    assert "标“演示”的条件尚待服务中心按本区规则确认" in text
    assert "事后拨付" in text
