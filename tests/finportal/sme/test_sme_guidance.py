"""The SME's page as it would want it (issue 16): what it must supply, counts, no register prompt."""

from __future__ import annotations

import io
import re

import pytest

from finportal.services import bank_actions, notifications, review_actions

pytestmark = pytest.mark.db


def _banner(html: str) -> str:
    match = re.search(r'<section class="asks-banner".*?</section>', html, re.S)
    return match.group(0) if match else ""


def _menu_count(html: str, path: str) -> str | None:
    match = re.search(
        rf'<a href="{re.escape(path)}"[^>]*>[^<]*<span class="menu-count" data-count="(\d+)"', html
    )
    return match.group(1) if match else None


def test_a_banks_ask_shows_on_every_sme_page_with_a_link(client, login, db_session, make_loop):
    loop = make_loop()
    login(loop.sme_user)
    assert _banner(client.get("/sme/").text) == ""
    bank_actions.record_decision(
        db_session,
        loop.referral.id,
        bank_id=loop.bank.id,
        actor_id=loop.bank_user.id,
        decision="info_requested",
        reason_text="请提供近6个月银行流水",
        lock_version=loop.referral.lock_version,
    )
    for path in ("/sme/", "/sme/profile", "/sme/notifications"):
        banner = _banner(client.get(path).text)
        assert "待您补充（1 项）" in banner, path
        assert loop.bank.name_zh in banner and "请提供近6个月银行流水" in banner
        link = f"/sme/applications/{loop.application.id}#supply-{loop.referral.id}"
        assert link in banner
    page = client.get(f"/sme/applications/{loop.application.id}").text
    assert f'id="supply-{loop.referral.id}"' in page
    assert _menu_count(page, "/sme/applications") == "1"

    # The banner is on every SME page: its asks are two statements, whatever they hold.
    from finportal.services import asks
    from tests.finportal.test_query_counts import counting

    with counting() as statements:
        found = asks.open_asks(db_session, loop.enterprise.id)
    assert [a.message for a in found] == ["请提供近6个月银行流水"]
    assert len([s for s in statements if s.startswith("SELECT")]) == 2


def test_the_centres_return_is_an_ask_too(client, login, db_session, make_loop):
    loop = make_loop(refer=False)
    review_actions.claim(db_session, loop.application.id, actor_id=loop.advisor.id)
    review_actions.return_for_information(
        db_session, loop.application.id, actor_id=loop.advisor.id, message="请补充近三年纳税额"
    )
    login(loop.sme_user)
    # (English here: Flask-Babel keeps a test's first locale for the whole test.)
    client.get("/lang/en")
    banner = _banner(client.get("/sme/").text)
    assert "To supply (1)" in banner
    assert f"The centre returned application #{loop.application.id}" in banner
    assert "请补充近三年纳税额" in banner
    assert f"/sme/applications/{loop.application.id}#return-request" in banner


def test_the_menu_counts_unread_messages(client, login, db_session, create_user):
    sme = create_user("sme")
    login(sme)
    assert _menu_count(client.get("/sme/").text, "/sme/notifications") is None
    for n in range(3):
        notifications.notify(
            db_session,
            title=(f"通知{n}", f"Notice {n}"),
            body=("内容", "Body"),
            link="/sme/",
            enterprise_id=sme.enterprise_id,
            kind="status",
        )
    db_session.commit()
    assert _menu_count(client.get("/sme/profile").text, "/sme/notifications") == "3"


def test_a_failed_import_opens_at_the_errors(client, login, create_user):
    login(create_user("sme"))
    page = client.get("/sme/profile").text
    assert 'action="/sme/profile/import#import-errors"' in page
    answer = client.post(
        "/sme/profile/import",
        data={"file": (io.BytesIO(b"not a workbook"), "profile.xlsx")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 422
    assert 'id="import-errors"' in answer.text


def test_a_signed_in_sme_is_not_told_to_register(client, login, create_user, published_catalog):
    anonymous = client.get("/products/ip_pledge")
    assert "企业注册后申请" in anonymous.text
    assert 'href="/products/"' in client.get("/").text
    login(create_user("sme"))
    page = client.get("/products/ip_pledge").text
    assert "企业注册后申请" not in page and "/auth/register" not in page
    assert "/sme/applications/new?product=ip_pledge" in page
    home = client.get("/sme/").text
    # The catalogue is in the menu (and on the home page).
    assert re.search(r'<nav class="nav">.*href="/products/".*</nav>', home, re.S)
