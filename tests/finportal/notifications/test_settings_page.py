"""Every role's notification settings: channels per kind, quiet hours, language, e-mail check."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from finportal.models import NotificationPreference
from finportal.services import notifications

VERIFY = re.compile(r"http://localhost(/account/email/[A-Za-z0-9_-]+)")


@pytest.mark.parametrize("role", ["sme", "advisor", "recommender", "bank", "admin"])
def test_every_role_has_the_settings_page(client, create_user, login, role):
    login(create_user(role))
    home = client.get("/account/notifications")
    assert home.status_code == 200
    assert "消息设置" in home.text and 'name="mode-status-email"' in home.text


def test_settings_are_saved_and_used(db_session, client, create_user, login):
    user = create_user("sme")
    login(user)
    form = {
        f"mode-{kind}-{name}": "now" if name == "email" else "off"
        for kind in notifications.KINDS
        for name in ("email", "sms", "wechat")
    }
    form.update(
        {
            "mode-policy_push-email": "digest",
            "mode-status-sms": "now",
            "quiet_start": "22:00",
            "quiet_end": "07:00",
            "language": "en",
            "phone": "138 0013 8000",
        }
    )
    response = client.post("/account/notifications", data=form)
    assert response.status_code == 302
    db_session.expire_all()
    assert (user.quiet_start, user.quiet_end, user.language, user.phone) == (
        22 * 60,
        7 * 60,
        "en",
        "13800138000",
    )
    assert notifications.mode_of(db_session, user.id, "policy_push", "email") == "digest"
    assert notifications.mode_of(db_session, user.id, "status", "sms") == "now"
    page = client.get("/account/notifications").text
    assert 'value="22:00"' in page and 'value="07:00"' in page
    assert re.search(r'<option value="digest" selected>', page)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("quiet_start", "25:00", "请填写时间，如 22:00"),
        ("phone", "12345", "请填写11位手机号码"),
        ("mode-status-email", "loud", "请选择一项"),
    ],
)
def test_bad_settings_are_refused_and_kept(
    db_session, client, create_user, login, field, value, message
):
    user = create_user("bank")
    login(user)
    form = {"quiet_start": "22:00", "quiet_end": "07:00", "phone": "13800138000", field: value}
    response = client.post("/account/notifications", data=form)
    assert response.status_code == 422
    assert message in response.text
    if field != "mode-status-email":
        assert f'value="{value}"' in response.text
    rows = db_session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id)
    ).all()
    assert rows == []  # nothing half-saved
    db_session.expire_all()
    assert user.quiet_start is None


def test_quiet_hours_need_both_ends(client, create_user, login):
    login(create_user("advisor"))
    response = client.post("/account/notifications", data={"quiet_start": "22:00"})
    assert response.status_code == 422 and "免打扰时段需要开始和结束时间" in response.text


def test_a_new_address_is_used_once_its_link_is_opened(
    app, db_session, smtp, client, create_user, login
):
    user = create_user("advisor")
    login(user)
    bad = client.post("/account/email", data={"email": "not an address"})
    assert bad.status_code == 422 and "电子邮件地址无效" in bad.text
    assert 'value="not an address"' in bad.text

    response = client.post("/account/email", data={"email": "Wang.Wu@Example.CN"})
    assert response.status_code == 302
    (mail,) = smtp.wait_for(1)
    assert mail.rcpt_tos == ["Wang.Wu@example.cn"]
    assert mail.subject == "【闵行区融资服务平台】请确认您的电子邮件地址"
    assert 'data-email-state="unverified"' in client.get("/account/notifications").text
    db_session.expire_all()
    assert user.email == "Wang.Wu@example.cn" and user.email_verified_at is None

    path = VERIFY.search(mail.body).group(1)
    anonymous = app.test_client()  # the link works in any browser
    opened = anonymous.get(path)
    assert opened.status_code == 200 and "已验证" in opened.text
    db_session.expire_all()
    assert user.email_verified_at is not None
    assert anonymous.get(path).status_code == 404  # once
    assert 'data-email-state="verified"' in client.get("/account/notifications").text


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get("/account/notifications")
    assert response.status_code == 302 and "/auth/login" in response.location


def test_switching_the_interface_language_switches_the_mail_language(
    db_session, client, create_user, login
):
    user = create_user("bank")
    login(user)
    client.get("/lang/en?next=/bank/")
    db_session.expire_all()
    assert user.language == "en"
    assert '<option value="en" selected>' in client.get("/account/notifications").text
    client.get("/lang/zh_CN?next=/bank/")
    db_session.expire_all()
    assert user.language is None
