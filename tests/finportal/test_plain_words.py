"""Issue 16, plain words: no developer text, failed conditions as what is wrong, one step once."""

from __future__ import annotations

import products
from products.eligibility import FAILED, evaluate_condition, failed_wording
from products.model import Condition, Leaf
from products.sources import public_source

DEVELOPER_TEXT = ("FinPortal demo value", "DESIGN.md", "FinPortal example", "FinPortal reading")


def _no_developer_text(page: str) -> None:
    for text in DEVELOPER_TEXT:
        assert text not in page, text
    for product in products.load_catalog():
        assert f"({product.code}" not in page, product.code


def test_public_source_leaves_out_finportal_notes():
    source = (
        "上海市中小微企业政策性融资担保基金 (比例担保，代偿比例不超过80%); "
        "FinPortal DESIGN.md, table 'The products' (ip_pledge: demo)"
    )
    assert (
        public_source(source)
        == "上海市中小微企业政策性融资担保基金 （比例担保，代偿比例不超过80%）"
    )
    assert public_source("FinPortal demo value, to be confirmed by the centre") == ""
    assert public_source("GB/T 4754-2017 (how divisions are coded)") == "GB/T 4754-2017"


def test_catalogue_pages_show_no_developer_text_but_keep_the_demo_badge(client, published_catalog):
    for product in products.load_catalog():
        page = client.get(f"/products/{product.code}").text
        _no_developer_text(page)
        if product.demo:
            assert "演示数据（待确认）" in page and "该数字尚未经服务中心按本区规则确认" in page
    _no_developer_text(client.get("/products/").text)
    _no_developer_text(client.get("/products/ip_pledge?lang=en").text)


def test_every_catalogue_condition_words_its_failure():
    for product in products.load_catalog():
        for condition in product.conditions:
            zh, en = failed_wording(condition)
            assert zh != condition.message_zh and not zh.startswith("未满足："), condition.id
            assert en != condition.message_en and not en.startswith("Not met:"), condition.id


def test_a_condition_without_failed_wording_says_it_is_not_met():
    condition = Condition(
        id="x",
        groups=((Leaf("employees", "gte", 10),),),
        required=True,
        message_zh="从业人数须不少于 10 人",
        message_en="At least 10 employees",
        source="FinPortal demo value",
        demo=True,
    )
    result = evaluate_condition(condition, {"employees": 3})
    assert result.result == FAILED
    assert (result.message_zh, result.message_en) == (
        "未满足：从业人数须不少于 10 人",
        "Not met: At least 10 employees",
    )


def test_failed_conditions_read_as_what_is_wrong_on_every_page(
    client, login, create_enterprise, create_user, screened_application
):
    enterprise = create_enterprise(pending_lawsuits=1)
    application = screened_application(enterprise)
    login(create_user("sme", enterprise_id=enterprise.id))
    for url in ("/sme/matches", f"/sme/applications/{application.id}"):
        page = client.get(url).text
        assert "存在未结重大诉讼" in page, url
        assert "无未结重大诉讼" not in page, url
        _no_developer_text(page)
    client.get("/auth/logout")
    login(create_user("advisor"))
    review = client.get(f"/advisor/applications/{application.id}").text
    assert "存在未结重大诉讼" in review and "不符合 — 无未结重大诉讼" not in review
    _no_developer_text(review)


def test_the_timeline_says_the_bank_opened_the_referral_once(client, login, make_loop):
    loop = make_loop()
    login(loop.bank_user)
    for _ in range(4):
        assert client.get(f"/bank/referrals/{loop.referral.id}").status_code == 200
    client.get("/auth/logout")
    login(loop.sme_user)
    page = client.get(f"/sme/applications/{loop.application.id}").text
    start = page.index('id="timeline"')
    steps = page[start : page.index("</ol>", start)]
    assert steps.count("银行已查看") == 1
    assert "银行再次查看" not in steps
