"""The public catalogue: every published product in Chinese, with sources, demo badges, a quote."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

import products
from finportal.models import ReferenceRate
from finportal.services import catalog
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
    assert "来源：FinPortal demo value" in page
    assert page.count(DEMO_BADGE) >= 5


def test_a_confirmed_product_number_has_no_demo_badge(client, db_session, published_catalog):
    _, versions = published_catalog
    content = copy.deepcopy(versions["ip_pledge"].content)

    def confirm(node):
        if isinstance(node, dict):
            if "demo" in node:
                node["demo"] = False
            for value in node.values():
                confirm(value)
        elif isinstance(node, list):
            for value in node:
                confirm(value)

    confirm(content)
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
