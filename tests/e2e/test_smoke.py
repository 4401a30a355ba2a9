"""The landing page and sign-in work in a real browser."""

from __future__ import annotations

import pytest

from tests.helpers import make_uscc

pytestmark = pytest.mark.e2e


def test_register_with_a_wrong_then_right_uscc(page):
    page.goto("/auth/register")
    good = make_uscc(770001)
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    page.fill("#f-uscc", wrong)
    page.fill("#f-enterprise_name", "上海浏览器测试有限公司")
    page.fill("#f-username", "browser-firm")
    page.fill("#f-password", "browser-pass-1")
    page.fill("#f-password_confirm", "browser-pass-1")
    page.click("button[type=submit]")
    assert "校验位错误" in page.inner_text("main")
    assert page.input_value("#f-enterprise_name") == "上海浏览器测试有限公司"
    page.fill("#f-uscc", good)
    page.fill("#f-password", "browser-pass-1")
    page.fill("#f-password_confirm", "browser-pass-1")
    page.click("button[type=submit]")
    page.wait_for_url("**/sme/verification")
    assert "未认证" in page.inner_text("#verification-state")
    page.goto("/sme/")
    assert "上海浏览器测试有限公司" in page.inner_text("main")
