"""Quiet hours hold messages until they end; the daily digest gathers a day's notifications."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select, update

from finportal.models import NotificationPreference, OutboxMessage, utcnow
from finportal.services import notifications, outbox
from finportal.services.workdays import SHANGHAI


def _at(days: int, hour: int, minute: int = 0) -> datetime:
    """A fixed Shanghai time ``days`` after today (after every row the test writes now)."""
    day = (utcnow().astimezone(SHANGHAI) + timedelta(days=days)).date()
    return datetime.combine(day, time(hour, minute), SHANGHAI)


def _notify(db_session, user, title):
    notifications.notify(db_session, user_id=user.id, title=(title, title), link="/sme")
    db_session.commit()


def test_quiet_hours_hold_a_message_until_they_end(db_session, smtp, mail_user):
    user = mail_user()
    user.quiet_start, user.quiet_end = 22 * 60, 7 * 60 + 30  # 22:00-07:30, over midnight
    db_session.commit()
    _notify(db_session, user, "夜间到达的消息")

    night = outbox.deliver_due(db_session, now=_at(1, 23, 15))
    (row,) = db_session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == user.id))
    assert night["quiet"] == 1 and row.state == "pending" and row.attempts == 0
    assert row.next_attempt_at == _at(2, 7, 30)

    assert outbox.deliver_due(db_session, now=_at(2, 7, 29))["sent"] == 0
    assert smtp.received == []
    assert outbox.deliver_due(db_session, now=_at(2, 7, 30))["sent"] == 1
    (mail,) = smtp.wait_for(1)
    assert mail.subject == "【闵行区融资服务平台】夜间到达的消息"


def test_outside_quiet_hours_a_message_goes_at_once(db_session, smtp, mail_user):
    user = mail_user()
    user.quiet_start, user.quiet_end = 12 * 60, 13 * 60  # a lunch break, same day
    db_session.commit()
    _notify(db_session, user, "下午的消息")
    assert outbox.deliver_due(db_session, now=_at(1, 12, 30))["quiet"] == 1
    assert outbox.deliver_due(db_session, now=_at(1, 13, 0))["sent"] == 1
    assert len(smtp.wait_for(1)) == 1


def test_account_mail_ignores_quiet_hours(db_session, smtp, mail_user):
    from finportal.services import account_links

    user = mail_user()
    user.quiet_start, user.quiet_end = 0, 23 * 60 + 59
    db_session.commit()
    account_links.request_password_reset(db_session, user.username)
    assert outbox.deliver_due(db_session, now=_at(1, 3, 0))["sent"] == 1
    assert smtp.wait_for(1)[0].subject == "【闵行区融资服务平台】重设密码"


def test_the_daily_digest_sends_one_mail_after_eight_and_only_once(db_session, smtp, mail_user):
    user = mail_user()
    other = mail_user()
    db_session.add(
        NotificationPreference(user_id=user.id, kind="status", channel="email", mode="digest")
    )
    db_session.commit()
    _notify(db_session, user, "第一条状态更新")
    _notify(db_session, user, "第二条状态更新")
    _notify(db_session, other, "给另一位用户的消息")
    notifications.notify(
        db_session, user_id=user.id, kind="policy_push", title=("政策推送", "Push")
    )
    db_session.commit()
    # The rows were written today at noon, whatever the clock says: written now, between
    # 00:00 and 08:00 Shanghai (16:00-24:00 UTC) they would be older than today's 08:00
    # and already due in tomorrow's 07:59 digest.
    db_session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.user_id.in_([user.id, other.id]))
        .values(created_at=_at(0, 12), next_attempt_at=_at(0, 12))
        .execution_options(synchronize_session=False)
    )
    db_session.commit()

    # At once: the other user's message and the push (not in the digest); the two wait.
    assert outbox.deliver_due(db_session, now=_at(1, 7, 0))["sent"] == 2
    assert outbox.build_digests(db_session, now=_at(1, 7, 59)) == {
        "digests": 0,
        "notifications": 0,
    }  # before 08:00: the rows are newer than the last digest time

    made = outbox.build_digests(db_session, now=_at(1, 8, 5))
    assert made == {"digests": 1, "notifications": 2}
    assert outbox.build_digests(db_session, now=_at(1, 8, 20)) == {
        "digests": 0,
        "notifications": 0,
    }
    assert outbox.deliver_due(db_session, now=_at(1, 8, 5))["sent"] == 1
    received = smtp.wait_for(3)
    digest = next(m for m in received if "汇总" in m.subject)
    assert digest.rcpt_tos == [user.email]
    assert digest.subject == "【闵行区融资服务平台】每日消息汇总（2条）"
    assert digest.body.index("第一条状态更新") < digest.body.index("第二条状态更新")
    assert "http://localhost/sme" in digest.body
    assert digest.message["List-Unsubscribe"]
    states = db_session.scalars(
        select(OutboxMessage.state)
        .where(OutboxMessage.user_id == user.id, OutboxMessage.kind == "status")
        .order_by(OutboxMessage.id)
    ).all()
    assert states == ["digested", "digested"]
    assert outbox.deliver_due(db_session, now=_at(1, 9, 0))["sent"] == 0
    assert len(smtp.received) == 3


def test_a_kind_turned_off_before_the_digest_is_left_out(db_session, smtp, mail_user):
    user = mail_user()
    for kind in ("status", "policy_push"):
        db_session.add(
            NotificationPreference(user_id=user.id, kind=kind, channel="email", mode="digest")
        )
    db_session.commit()
    _notify(db_session, user, "状态更新一")
    notifications.notify(
        db_session, user_id=user.id, kind="policy_push", title=("政策推送一", "Push")
    )
    db_session.commit()
    pref = db_session.scalar(
        select(NotificationPreference).where(
            NotificationPreference.user_id == user.id, NotificationPreference.kind == "policy_push"
        )
    )
    pref.mode = "off"
    db_session.commit()
    assert outbox.build_digests(db_session, now=_at(1, 8, 0))["digests"] == 1
    outbox.deliver_due(db_session, now=_at(1, 8, 0))
    (mail,) = smtp.wait_for(1)
    assert "状态更新一" in mail.body and "政策推送一" not in mail.body
    assert mail.subject.endswith("每日消息汇总（1条）")
