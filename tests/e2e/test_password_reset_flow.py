"""Forgotten password in a real browser: the mail from a real SMTP server, the link, sign-in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.e2e

OLD_PASSWORD = "Old-harbour-5521"
NEW_PASSWORD = "Jade-river-7730"


@pytest.fixture
def smtp_for_server(live_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An aiosmtpd server the live portal sends its mail to; links point at the live portal."""
    server = SmtpServer().start()
    for key, value in server.config().items():
        monkeypatch.setitem(live_server["app"].config, key, value)
    monkeypatch.setenv("FINPORTAL_BASE_URL", live_server["url"])
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def advisor(live_server: dict[str, Any]) -> str:
    from finportal.extensions import db
    from finportal.models import utcnow
    from finportal.services.accounts import create_user

    with live_server["app"].app_context():
        user = create_user(
            db.session, username="reset-browser", password=OLD_PASSWORD, role="advisor"
        )
        user.display_name = "王顾问"
        user.email = "wang.guwen@example.cn"
        user.email_verified_at = utcnow()
        db.session.commit()
        db.session.remove()
    return "reset-browser"


def _sign_in(page: Any, username: str, password: str) -> None:
    page.goto("/auth/login")
    page.fill("#f-username", username)
    page.fill("#f-password", password)
    page.click("main button[type=submit]")


def test_forgotten_password_by_email(page, browser, live_server, smtp_for_server, advisor):
    # Signed in elsewhere before the reset.
    other = browser.new_context(base_url=live_server["url"], locale="zh-CN")
    elsewhere = other.new_page()
    _sign_in(elsewhere, advisor, OLD_PASSWORD)
    elsewhere.wait_for_url("**/advisor/")

    page.goto("/auth/login")
    page.click("text=忘记密码？")
    page.wait_for_url("**/account/forgot")
    page.fill("#f-identifier", advisor)
    page.click("main button[type=submit]")
    assert "我们已向该地址发送重设密码的链接" in page.inner_text("main")

    (mail,) = smtp_for_server.wait_for(1)
    assert mail.rcpt_tos == ["wang.guwen@example.cn"]
    assert mail.subject == "【闵行区融资服务平台】重设密码"
    assert "王顾问，您好" in mail.body
    link = re.search(r"http://127\.0\.0\.1:\d+/account/reset/\S+", mail.body).group(0)

    page.goto(link)
    assert advisor in page.inner_text("main")
    page.fill("#f-new_password", "password")
    page.fill("#f-new_password_confirm", "password")
    page.click("main button[type=submit]")
    assert "最常见的密码" in page.inner_text("main")
    page.fill("#f-new_password", NEW_PASSWORD)
    page.fill("#f-new_password_confirm", NEW_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/auth/login")
    assert "密码已重设" in page.inner_text("main")

    _sign_in(page, advisor, NEW_PASSWORD)
    page.wait_for_url("**/advisor/")

    # The other browser's session ended; the link does not work a second time.
    elsewhere.goto("/advisor/")
    assert "/auth/login" in elsewhere.url
    other.close()
    page.goto(link)
    assert "链接已失效" in page.inner_text("main")
