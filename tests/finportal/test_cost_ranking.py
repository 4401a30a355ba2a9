"""One cost ranking everywhere: the matches page, the application page, the packet and the API.

Two products with different repayment methods: a 3.30 % bullet loan and a 3.40 %
equal-instalment loan. For 200 万元 over 12 months the instalment loan costs less in
total, but more per yuan-year borrowed; the effective annual cost (IRR) ranks the
bullet loan first, and every place says so in the same order.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from finportal.models import Consent, Match, Referral
from finportal.services import catalog, packet_context
from finportal.services.labels import DEFAULT_SCOPE
from tests.helpers import screened, two_repayment_methods

pytestmark = pytest.mark.db

EXPECTED = ["cost_bullet", "cost_instalment"]


@pytest.fixture
def two_products(db_session):
    versions = {}
    for content in two_repayment_methods():
        version, _ = catalog.save_version(db_session, content, actor_id=None)
        versions[content["code"]] = version
    db_session.commit()
    return versions


def test_the_matches_page_ranks_by_effective_cost(client, login, create_user, two_products):
    sme = create_user("sme")
    login(sme)
    html = client.get("/sme/matches?amount=200&term=12").text
    table = html.split('id="compare-table"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'data-code="([a-z_]+)"', table) == EXPECTED
    cards = html.split('id="eligible"', 1)[1].split('id="ineligible"', 1)[0]
    assert re.findall(r'data-code="([a-z_]+)"', cards) == EXPECTED
    # The measure, the method and the total stand side by side, with the demo mark.
    first_row = table.split("<tr", 2)[2]
    assert "3.30%" in first_row and "按月付息、到期还本" in first_row
    assert "3.40%" in table and "等额本息" in table
    assert "demo-mark" in first_row
    assert "内部收益率" in html


def test_the_api_ranks_the_same_way(client, two_products):
    response = client.get("/api/v1/products/compare?amount=2000000&term_months=12")
    assert response.status_code == 200, response.text
    body = response.get_json()
    assert [p["code"] for p in body] == EXPECTED
    assert [p["rank"] for p in body] == [1, 2]
    assert body[0]["effective_annual_cost_rate"] == "0.033"
    assert body[0]["repayment"] == "interest_only_bullet"
    # The instalment loan's total is lower, and still it ranks second.
    assert Decimal(body[1]["net_cost"]) < Decimal(body[0]["net_cost"])
    assert body[0]["demo"]["rate"] is True
    bad = client.get("/api/v1/products/compare?amount=-5&term_months=12")
    assert bad.status_code == 422


def test_stored_matches_the_application_page_and_the_packet_agree(
    db_session, client, login, create_user, create_bank, two_products, champion_model
):
    sme = create_user("sme")
    enterprise = sme.enterprise
    application = screened(db_session, enterprise, amount="2000000", term_months=12)
    ranked = db_session.scalars(
        select(Match)
        .where(Match.application_id == application.id, Match.rank.is_not(None))
        .order_by(Match.rank)
    ).all()
    assert [m.product_version.product.code for m in ranked] == EXPECTED
    assert ranked[0].quote["effective_annual_cost_rate"] == "0.033"
    assert ranked[0].quote["demo"]["rate"] is True

    login(sme)
    html = client.get(f"/sme/applications/{application.id}").text
    rows = html.split('id="matches"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'data-code="([a-z_]+)"', rows) == EXPECTED
    assert "3.30%" in rows and "按月付息、到期还本" in rows

    bank = create_bank()
    consent = Consent(
        enterprise_id=enterprise.id,
        application_id=application.id,
        bank_id=bank.id,
        scope=list(DEFAULT_SCOPE),
        valid_until=date.today() + timedelta(days=30),
    )
    db_session.add(consent)
    db_session.flush()
    referral = Referral(
        application_id=application.id,
        bank_id=bank.id,
        product_version_id=two_products["cost_instalment"].id,
        consent_id=consent.id,
    )
    db_session.add(referral)
    db_session.commit()
    context = packet_context.assemble(packet_context.referral_facts(db_session, referral))
    assert context.quote.cost_rank_zh == "在本申请符合条件的 2 个产品中，按年化综合成本排第 2 位"
    assert context.quote.net_annual_rate == pytest.approx(0.034)
    assert context.quote.repayment_method_zh == "等额本息"
