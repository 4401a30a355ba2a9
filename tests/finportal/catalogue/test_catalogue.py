"""The public catalogue: every published product in Chinese, with sources, demo badges, a quote."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

import pytest

import products
from finportal.models import ReferenceRate
from finportal.services import catalog
from finportal.services.errors import ValidationFailed
from finportal.web.catalogue import yuan

DEMO_BADGE = "演示数据（待确认）"


def test_index_lists_every_published_product_in_chinese(client, published_catalog):
    response = client.get("/products/")
    assert response.status_code == 200
    for product in products.load_catalog():
        assert product.name_zh in response.text
        assert f'href="/products/{product.code}"' in response.text
    assert DEMO_BADGE in response.text


def test_product_page_shows_terms_conditions_sources_and_demo_badges(client, published_catalog):
    page = client.get("/products/park_batch").text
    product = products.load_catalog().get("park_batch")
    assert "园区批次贷" in page
    assert "10 万元" in page and "300 万元" in page  # amount range in 万元
    assert "3 个月" in page and "12 个月" in page
    assert "1年期 LPR + 35 个基点" in page
    assert "担保费率" in page and "1%/年" in page
    assert "担保费补贴" in page and "每年上限" in page and "1.5 万元" in page
    for condition in product.conditions:
        assert condition.message_zh in page
    assert "工信部联企业〔2011〕300号" in page  # a source beside a condition
    # A demo value shows its 演示 badge, not the editors' note (issue 16: no developer text).
    assert "FinPortal demo value" not in page and "DESIGN.md" not in page
    assert page.count(DEMO_BADGE) >= 5


def test_a_confirmed_product_number_has_no_demo_badge(client, db_session, published_catalog):
    _, versions = published_catalog
    content = copy.deepcopy(versions["ip_pledge"].content)

    def confirm(node, source=None):
        if isinstance(node, dict):
            if "demo" in node:
                node["demo"] = False
                if source is not None:
                    node["source"] = source
            for value in node.values():
                confirm(value, source)
        elif isinstance(node, list):
            for value in node:
                confirm(value, source)

    # Confirming a number on FinPortal's word alone is refused: it needs the rule.
    unsourced = copy.deepcopy(content)
    confirm(unsourced)
    with pytest.raises(ValidationFailed, match="demo: false needs a source"):
        catalog.save_version(db_session, unsourced, actor_id=None)
    confirm(content, "闵行区融资服务中心产品确认函（2026年第1号）")
    catalog.save_version(db_session, content, actor_id=None)
    db_session.commit()
    page = client.get("/products/ip_pledge").text
    assert DEMO_BADGE not in page
    assert DEMO_BADGE in client.get("/products/park_batch").text


def test_example_quote_uses_the_current_lpr(client, db_session, published_catalog):
    product = products.load_catalog().get("startup_guarantee")
    amount, term = product.example_amount.value, int(product.example_term.value)
    before = client.get("/products/startup_guarantee").text
    expected = products.quote(product, amount, term, catalog.DEFAULT_LPR)
    assert "测算示例" in before
    assert f"{expected.nominal_rate * 100:.2f}".rstrip("0").rstrip(".") + "%" in before
    db_session.add(
        ReferenceRate(kind="lpr_1y", annual_rate=Decimal("0.0250"), effective_on=date(2025, 1, 20))
    )
    db_session.commit()
    after = client.get("/products/startup_guarantee").text
    assert "当前 1 年期 LPR：2.5%" in after
    quoted = products.quote(product, amount, term, Decimal("0.025"))
    assert quoted.net_cost != expected.net_cost
    assert f"净成本</dt><dd>{yuan(quoted.net_cost)}" in after
    assert f"净成本</dt><dd>{yuan(expected.net_cost)}" in before
    assert "还款计划" in after


def test_unknown_product_is_not_found(client, published_catalog):
    assert client.get("/products/no_such_product").status_code == 404


def test_catalogue_is_public(client, published_catalog):
    assert client.get("/products/").status_code == 200
    assert client.get("/products/first_loan").status_code == 200


def test_index_shows_each_products_example_net_cost(client, published_catalog):
    page = client.get("/products/").text
    product = products.load_catalog().get("park_batch")
    quote = products.quote(
        product,
        product.example_amount.value,
        int(product.example_term.value),
        catalog.DEFAULT_LPR,
    )
    rate = f"{quote.net_annual_cost_rate * 100:.4f}".rstrip("0").rstrip(".")
    assert f"企业实际年化成本 <strong>{rate}%</strong>" in page
    assert page.count("企业实际年化成本") >= 10


def _badge_after(page: str, text: str) -> bool:
    """Tell whether the demo badge follows ``text`` directly (the mark of that value)."""
    at = page.index(text) + len(text)
    return page[at : at + 80].lstrip().startswith('<span class="badge demo-badge"')


def test_demo_marks_follow_the_source_check(client, published_catalog):
    park = client.get("/products/park_batch").text
    # The 1 %/year guarantee fee is DESIGN.md's alone: demo. The 80 % coverage is the fund's.
    assert _badge_after(park, "<tr><th>担保费率</th><td>1%/年")
    assert not _badge_after(park, "担保代偿比例</th><td>不超过 80%")
    assert "代偿比例不超过80%" in park
    tech = client.get("/products/tech_performance").text
    assert not _badge_after(tech, "补贴担保费的 50%")  # 沪科〔2025〕212号
    assert _badge_after(tech, "<tr><th>担保费率</th><td>1.2%/年")  # the premium rate is demo
    for product in products.load_catalog():
        page = client.get(f"/products/{product.code}").text
        for condition in product.conditions:
            shown = condition.message_zh
            if not condition.required:
                shown += ' <small class="muted">（提出申请后按申请金额、期限核对）</small>'
            assert _badge_after(page, shown) is condition.demo, (
                product.code,
                condition.id,
            )


def test_tech_performance_says_the_subsidy_is_paid_afterwards(client, published_catalog):
    page = client.get("/products/tech_performance").text
    assert "事后拨付" in page and "3 个工作日" in page and "严重失信" in page
    assert 'id="subsidy-payment-note"' in page
    assert "事后拨付，不在每期还款中扣减" in page
    assert "免申即享，直接在报价中扣减" not in page
    # Products whose subsidy lowers each payment keep saying so.
    assert "免申即享，直接在报价中扣减" in client.get("/products/park_batch").text


def test_the_founders_loan_is_shown_as_information_with_its_sources(client, published_catalog):
    page = client.get("/products/startup_guarantee").text
    section = page[page.index('id="variant-individual_founder"') :]
    assert "个人创业担保贷款" in section
    assert "仅作介绍" in section and "不按企业信息匹配" in section
    assert "20 万元" in section and "36 个月" in section
    assert "财金〔2020〕21号" in section and "财金〔2016〕85号" in section
    assert "当年新招用符合创业担保贷款申请条件的人员" in page  # the firm's own test
    assert "成立未满" not in page


def test_each_product_names_its_basis_and_specialized_sme_is_an_addition(client, published_catalog):
    page = client.get("/products/specialized_sme").text
    assert "行动方案之外" in page
    # The addition is said in the description; FinPortal's own design notes are not shown.
    assert "政策依据" not in page and "DESIGN.md" not in page
    first = client.get("/products/first_loan").text
    assert "政策依据：闵行区聚焦提升企业满意度持续打造一流营商环境行动方案" in first
    assert "「小微企业首贷续贷」" in first
    assert "须为小型或微型企业" in first


def test_a_version_published_before_the_source_rule_still_loads(db_session, published_catalog):
    """Applications pin old versions: one stored with a FinPortal-only "confirmed" fee loads."""
    from finportal.models import ProductVersion

    _, versions = published_catalog
    stored = versions["park_batch"]
    content = copy.deepcopy(stored.content)
    content["guarantee"]["fee_rate"]["demo"] = False
    old = ProductVersion(
        product_id=stored.product_id,
        number=stored.number + 1,
        content=content,
        content_hash=products.Product.from_dict(content, "old").version_hash,
    )
    db_session.add(old)
    db_session.commit()
    product = catalog.product_of(old)
    assert product.guarantee_fee_rate is not None and not product.guarantee_fee_rate.demo
    with pytest.raises(ValidationFailed, match="guarantee.fee_rate.demo"):
        catalog.save_version(db_session, content, actor_id=None)
