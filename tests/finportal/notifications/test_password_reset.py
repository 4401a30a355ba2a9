"""Password reset by e-mail: a time-limited, single-use link; every session ends after it."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from sqlalchemy import select, update

from finportal.models import AccountToken, OutboxMessage, utcnow
from tests.helpers import PASSWORD, token_times_left_out

NEW_PASSWORD = "Lotus-bridge-4417"
LINK = re.compile(r"http://localhost(/account/reset/[A-Za-z0-9_-]+)")


def _ask(client, identifier):
    return client.post("/account/forgot", data={"identifier": identifier})


def _link(mail) -> str:
    match = LINK.search(mail.body)
    assert match, mail.body
    return match.group(1)


def test_reset_by_email_end_to_end(app, db_session, smtp, mail_user, client):
    user = mail_user(email="li.si@example.cn")
    other_device = app.test_client()
    other_device.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert other_device.get("/sme/").status_code == 200

    assert 'href="/account/forgot"' in client.get("/auth/login").text
    answer = _ask(client, user.username)
    assert answer.status_code == 200
    assert "如果该账户存在并已验证电子邮件地址" in answer.text

    (mail,) = smtp.wait_for(1)
    assert mail.rcpt_tos == ["li.si@example.cn"]
    assert mail.subject == "【闵行区融资服务平台】重设密码"
    assert "30分钟内" in mail.body and user.username in mail.body
    assert mail.message["List-Unsubscribe"] is None  # an account mail, not a subscription
    path = _link(mail)
    token = path.rsplit("/", 1)[1]
    stored = db_session.scalars(
        select(AccountToken.token_hash).where(AccountToken.user_id == user.id)
    ).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]  # the hash, never the token

    form = client.get(path)
    assert form.status_code == 200 and user.username in form.text
    weak = client.post(
        path, data={"new_password": "password1", "new_password_confirm": "password1"}
    )
    assert weak.status_code == 422 and "最常见的密码" in weak.text
    differ = client.post(
        path, data={"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD + "x"}
    )
    assert differ.status_code == 422 and "两次输入的密码不一致" in differ.text

    done = client.post(
        path, data={"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}
    )
    assert done.status_code == 302 and done.location.endswith("/auth/login")

    # Every session of the account ended; the new password works, the old one does not.
    assert "/auth/login" in other_device.get("/sme/").location
    old = client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert old.status_code == 401
    new = client.post("/auth/login", data={"username": user.username, "password": NEW_PASSWORD})
    assert new.status_code == 302

    # The link works once.
    again = client.get(path)
    assert again.status_code == 404 and "链接已失效" in again.text
    reuse = client.post(
        path,
        data={"new_password": "Another-pass-9981", "new_password_confirm": "Another-pass-9981"},
    )
    assert reuse.status_code == 404


def test_an_expired_link_is_refused(db_session, smtp, mail_user, client):
    user = mail_user()
    _ask(client, user.email)  # by the verified address, too
    path = _link(smtp.wait_for(1)[0])
    db_session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db_session.commit()
    assert client.get(path).status_code == 404
    response = client.post(
        path, data={"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD}
    )
    assert response.status_code == 404 and "链接已失效" in response.text
    assert (
        client.post(
            "/auth/login", data={"username": user.username, "password": PASSWORD}
        ).status_code
        == 302
    )


def test_a_newer_link_voids_the_older_one(db_session, smtp, mail_user, client):
    user = mail_user()
    _ask(client, user.username)
    _ask(client, user.username)
    first, second = (_link(m) for m in smtp.wait_for(2))
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200


def test_the_answer_is_the_same_whether_the_account_exists_or_not(
    db_session, smtp, mail_user, create_user, client
):
    user = mail_user()
    without_address = create_user("bank")
    known = _ask(client, user.username)
    unknown = _ask(client, "nobody-by-this-name")
    no_mail = _ask(client, without_address.username)
    assert known.status_code == unknown.status_code == no_mail.status_code == 200
    same = {token_times_left_out(answer.text) for answer in (known, unknown, no_mail)}
    assert len(same) == 1
    assert len(smtp.wait_for(1)) == 1
    rows = db_session.scalars(select(OutboxMessage.user_id).order_by(OutboxMessage.id)).all()
    assert rows == [user.id]


def test_an_empty_request_is_a_clear_422(client):
    response = _ask(client, "  ")
    assert response.status_code == 422 and "请填写用户名或电子邮件地址" in response.text


def test_one_account_gets_at_most_three_reset_mails_an_hour(db_session, smtp, mail_user, client):
    user = mail_user()
    for _ in range(5):
        assert _ask(client, user.username).status_code == 200
    assert len(smtp.wait_for(3)) == 3
    assert db_session.scalar(
        select(AccountToken.id)
        .where(AccountToken.user_id == user.id)
        .order_by(AccountToken.id.desc())
    )
    count = len(
        db_session.scalars(select(AccountToken.id).where(AccountToken.user_id == user.id)).all()
    )
    assert count == 3 and len(smtp.received) == 3


def test_requests_are_throttled_like_sign_in(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    codes = [_ask(client, "throttle-test-name").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
