"""Every notification reaches its users' e-mail through a real SMTP server, exactly once."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy import select

from finportal.models import NotificationPreference, OutboxMessage, utcnow
from finportal.services import notifications, outbox


def _notify(db_session, user, kind="status", title=None):
    note = notifications.notify(
        db_session,
        enterprise_id=user.enterprise_id,
        kind=kind,
        title=title or ("您的融资申请已提交", "Your application was submitted"),
        body=("顾问将在1个工作日内处理。", "An advisor will answer within 1 working day."),
        link="/sme/applications",
    )
    db_session.commit()
    return note


def _rows(db_session, user):
    return list(
        db_session.scalars(
            select(OutboxMessage).where(OutboxMessage.user_id == user.id).order_by(OutboxMessage.id)
        )
    )


def test_a_notification_arrives_in_chinese_with_a_working_unsubscribe_link(
    db_session, smtp, mail_user, client
):
    user = mail_user(email="zhang.san@example.cn")
    colleague = mail_user(enterprise_id=user.enterprise_id)
    _notify(db_session, user)
    assert [r.channel for r in _rows(db_session, user)] == ["email"]

    counts = outbox.deliver_due(db_session)

    assert counts["sent"] == 2
    received = smtp.wait_for(2)
    mine = next(m for m in received if m.rcpt_tos == ["zhang.san@example.cn"])
    assert {m.rcpt_tos[0] for m in received} == {"zhang.san@example.cn", colleague.email}
    assert mine.message["To"] == "zhang.san@example.cn"
    assert mine.subject == "【闵行区融资服务平台】您的融资申请已提交"
    assert b"=?utf-8?" in mine.raw.split(b"\r\n\r\n")[0]  # the header went out RFC 2047-encoded
    assert "顾问将在1个工作日内处理。" in mine.body
    assert "http://localhost/sme/applications" in mine.body
    header = mine.message["List-Unsubscribe"].strip("<>")
    assert mine.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"退订：{header}" in mine.body

    # The link works without signing in: a page first, then one click.
    path = urlsplit(header).path
    page = client.get(path)
    assert page.status_code == 200 and "确认退订" in page.text
    assert notifications.mode_of(db_session, user.id, "status", "email") == "now"
    done = client.post(path)
    assert done.status_code == 200 and "已退订" in done.text
    assert notifications.mode_of(db_session, user.id, "status", "email") == "off"

    # Status updates no longer go to this user's mailbox; other kinds and colleagues still do.
    _notify(db_session, user)
    _notify(db_session, user, kind="policy_push", title=("新产品发布：科技履约贷", "New product"))
    outbox.deliver_due(db_session)
    received = smtp.wait_for(5)
    assert len(received) == 5
    assert [m.subject for m in received[2:] if m.rcpt_tos == [user.email]] == [
        "【闵行区融资服务平台】新产品发布：科技履约贷"
    ]


def test_one_click_unsubscribe_as_a_mail_client_posts_it(db_session, smtp, mail_user, client):
    user = mail_user()
    _notify(db_session, user, kind="policy_push")
    outbox.deliver_due(db_session)
    (mail,) = smtp.wait_for(1)
    url = mail.message["List-Unsubscribe"].strip("<>")
    response = client.post(
        urlsplit(url).path, data={"List-Unsubscribe": "One-Click"}
    )  # no session, no CSRF token (RFC 8058)
    assert response.status_code == 200
    assert notifications.mode_of(db_session, user.id, "policy_push", "email") == "off"
    assert notifications.mode_of(db_session, user.id, "status", "email") == "now"


def test_a_forged_unsubscribe_link_is_refused(db_session, client, mail_user, app):
    user = mail_user()
    good = notifications.unsubscribe_token(
        app.config["SECRET_KEY"], user_id=user.id, kind="status", channel="email"
    )
    forged = notifications.unsubscribe_token(
        "another-key", user_id=user.id, kind="status", channel="email"
    )
    assert client.post(f"/account/unsubscribe/{forged}").status_code == 404
    assert client.post(f"/account/unsubscribe/{good}x").status_code == 404
    assert notifications.mode_of(db_session, user.id, "status", "email") == "now"


def test_an_english_user_gets_english_mail(db_session, smtp, mail_user):
    user = mail_user(language="en")
    _notify(db_session, user)
    outbox.deliver_due(db_session)
    (mail,) = smtp.wait_for(1)
    assert mail.subject == (
        "[Minhang District Financing Service Platform] Your application was submitted"
    )
    assert "An advisor will answer within 1 working day." in mail.body
    assert "Unsubscribe: http://localhost/account/unsubscribe/" in mail.body
    assert "顾问" not in mail.body


def test_with_the_server_down_the_outbox_keeps_the_message_and_delivers_it_once(
    db_session, smtp, mail_user
):
    user = mail_user()
    smtp.stop()
    _notify(db_session, user)
    _notify(db_session, user, title=("第二条消息", "Second"))
    now = utcnow()

    first = outbox.deliver_due(db_session, now=now)

    # One attempt found the server down; the other message waits without losing an attempt.
    assert first["retry"] == 1 and first["waiting"] == 1 and first["sent"] == 0
    rows = _rows(db_session, user)
    assert [r.state for r in rows] == ["pending", "pending"]
    assert [r.attempts for r in rows] == [1, 0]
    assert "ConnectionRefusedError" in rows[0].last_error
    assert rows[0].next_attempt_at == now + timedelta(seconds=outbox.BACKOFF[0])

    smtp.start()
    second = outbox.deliver_due(db_session, now=now + timedelta(seconds=1))
    assert second["sent"] == 1  # the one that never tried; the first waits for its backoff
    later = now + timedelta(seconds=outbox.BACKOFF[0])
    assert outbox.deliver_due(db_session, now=later)["sent"] == 1
    assert outbox.deliver_due(db_session, now=later + timedelta(hours=1))["sent"] == 0

    received = smtp.wait_for(2)
    assert sorted(m.subject for m in received) == [
        "【闵行区融资服务平台】您的融资申请已提交",
        "【闵行区融资服务平台】第二条消息",
    ]
    db_session.expire_all()
    assert [r.state for r in _rows(db_session, user)] == ["sent", "sent"]


def test_two_workers_never_claim_the_same_message(db_session, mail_user):
    user = mail_user()
    _notify(db_session, user)
    now = utcnow()
    first = outbox._claim(db_session, now, None, 10)
    second = outbox._claim(db_session, now, None, 10)
    assert [r.user_id for r in first] == [user.id]
    assert second == []
    # A claim whose worker died is released after the timeout and sent then.
    later = now + timedelta(seconds=outbox.CLAIM_TIMEOUT + 1)
    assert outbox.deliver_due(db_session, now=later, config={"SECRET_KEY": "k"})["sent"] == 1


def test_after_the_last_attempt_the_admin_sees_it_and_sends_it_again(
    db_session, smtp, mail_user, create_user, login, client
):
    user = mail_user()
    smtp.stop()
    _notify(db_session, user)
    now = utcnow()
    for attempt in range(outbox.MAX_ATTEMPTS):
        outbox.deliver_due(db_session, now=now)
        (row,) = _rows(db_session, user)
        assert row.attempts == attempt + 1
        now = row.next_attempt_at if row.state == "pending" else now
    assert row.state == "failed"

    login(create_user("admin"))
    page = client.get("/admin/outbox")
    assert page.status_code == 200
    assert f'data-outbox-id="{row.id}"' in page.text and "ConnectionRefusedError" in page.text

    smtp.start()
    response = client.post(f"/admin/outbox/{row.id}/retry")
    assert response.status_code == 302
    (mail,) = smtp.wait_for(1)
    assert mail.rcpt_tos == [user.email]
    db_session.expire_all()
    assert _rows(db_session, user)[0].state == "sent"
    again = client.post(f"/admin/outbox/{row.id}/retry", follow_redirects=True)
    assert "只有发送失败的消息可以重发" in again.text
    assert len(smtp.received) == 1


def test_no_verified_address_no_mail_and_turned_off_kinds_wait_for_nothing(
    db_session, create_user, mail_user
):
    unverified = create_user("sme")
    unverified.email = "x@example.cn"  # never verified
    db_session.commit()
    _notify(db_session, unverified)
    assert _rows(db_session, unverified) == []
    user = mail_user()
    _notify(db_session, user)
    db_session.add(
        NotificationPreference(user_id=user.id, kind="status", channel="email", mode="off")
    )
    db_session.commit()
    # Turned off after the message was queued: it is not sent.
    counts = outbox.deliver_due(db_session, config={"SECRET_KEY": "k"})
    assert counts["cancelled"] == 1
    assert _rows(db_session, user)[0].state == "cancelled"


def test_sms_and_wechat_go_through_the_configured_gateway(db_session, mail_user, app, monkeypatch):
    sent.clear()
    monkeypatch.setitem(app.config, "SMS_GATEWAY", f"{__name__}:RecordingGateway")
    user = mail_user(phone="13800138000", wechat_openid="o-abc")
    for channel in ("sms", "wechat"):
        db_session.add(
            NotificationPreference(user_id=user.id, kind="status", channel=channel, mode="now")
        )
    db_session.commit()
    _notify(db_session, user)
    counts = outbox.deliver_due(db_session)
    assert counts["sent"] == 3  # e-mail (logged: no SMTP host here), SMS, WeChat (logged)
    assert [(m.channel, m.to, m.subject) for m in sent] == [
        ("sms", "13800138000", "您的融资申请已提交")
    ]


sent: list = []


class RecordingGateway:
    """A gateway configured by its dotted path, as a real SMS provider's adapter would be."""

    def __init__(self, name, config):
        self.name = name

    def send(self, message):
        sent.append(message)


def test_a_notification_rolled_back_sends_nothing(db_session, mail_user, create_user):
    from finportal.models import Notification

    user = mail_user()
    notifications.notify(db_session, user_id=user.id, title=("撤回的消息", "Rolled back"))
    db_session.rollback()
    create_user("advisor")  # a later, unrelated commit
    assert _rows(db_session, user) == []
    assert (
        db_session.scalars(select(Notification).where(Notification.user_id == user.id)).all() == []
    )
