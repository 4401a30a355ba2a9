"""The outbox: deliver each message once, after quiet hours, with retries; the daily digest.

Rows are written in the transaction of what caused them (``notifications.notify``, a
password reset, an address check), so a message exists exactly when its cause does. A
periodic task (``jobs.PERIODIC["outbox_deliver"]``) and the ``outbox.deliver`` job call
:func:`deliver_due`, which:

- **claims** due rows with one guarded UPDATE (``pending`` -> ``sending``, stamped with a
  random token), so two workers never send one row twice; a claim older than
  :data:`CLAIM_TIMEOUT` (its worker died) goes back to ``pending``;
- **waits out quiet hours** (the user's, Shanghai time): the row's next attempt moves to
  their end, without counting an attempt;
- **sends** through the channel (``services/channels.py``) and commits ``sent`` at once; a
  failure counts an attempt and waits :data:`BACKOFF`; after :data:`MAX_ATTEMPTS` the row is
  ``failed`` and waits for the admin's retry button (``/admin/outbox``). While a channel is
  down (its server unreachable) the rest of its rows wait for the next run untouched.

:func:`build_digests` (``jobs.PERIODIC["notification_digest"]``) turns the rows a user wants
in the daily digest into one message per user and channel after :data:`DIGEST_HOUR`.
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload

from finportal import jobs, limits
from finportal.models import OutboxMessage, User, utcnow
from finportal.services import notifications
from finportal.services.audit import record_event
from finportal.services.channels import CHANNELS, Message, address_of, channel
from finportal.services.errors import InvalidTransition, NotFound
from finportal.services.packet_context import default_base_url
from finportal.services.workdays import SHANGHAI

log = logging.getLogger(__name__)

#: Attempts a message gets before it is ``failed`` (the admin may retry it).
MAX_ATTEMPTS = 6
#: Seconds to wait before the 2nd, 3rd, ... attempt (about five hours in all).
BACKOFF = (60, 300, 900, 3600, 10800)
#: A claim older than this many seconds belongs to a dead worker: the row is due again.
CLAIM_TIMEOUT = 600
#: Rows one run claims.
BATCH = 200
#: The daily digest goes out at this hour, Shanghai time (then waits for quiet hours).
DIGEST_HOUR = 8
#: Account mails (password reset, address check): sent whatever the preferences and quiet hours.
ACCOUNT_KINDS = ("password_reset", "email_verify")
#: The states of a row, with their names. (zh, en)
STATES = {
    "pending": ("待发送", "Waiting"),
    "sending": ("发送中", "Sending"),
    "sent": ("已发送", "Sent"),
    "failed": ("发送失败", "Failed"),
    "digested": ("已并入汇总", "In a digest"),
    "cancelled": ("已取消", "Cancelled"),
}
PORTAL = ("闵行区融资服务平台", "Minhang District Financing Service Platform")
#: Paths of the links messages carry (routes of ``web/account.py``).
UNSUBSCRIBE_PATH = "/account/unsubscribe/"
SETTINGS_PATH = "/account/notifications"


def portal_url(path: str) -> str:
    """Return the public address of a portal path (``FINPORTAL_BASE_URL``)."""
    return default_base_url().rstrip("/") + path


def _config(config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if config is not None:
        return config
    from flask import current_app

    return current_app.config


def english(user: User) -> bool:
    """Tell whether the user reads messages in English."""
    return user.language == "en"


def in_language(user: User, pair: tuple[str, str]) -> str:
    """Return the user's half of a (中文, English) pair."""
    return pair[1] if english(user) and pair[1] else pair[0]


# --- quiet hours ------------------------------------------------------------------------------


def quiet_until(user: User, now: datetime) -> datetime | None:
    """Return when the user's quiet hours end if ``now`` falls in them, else None."""
    start, end = user.quiet_start, user.quiet_end
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(SHANGHAI)
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    ends = local.replace(hour=end // 60, minute=end % 60, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return ends.astimezone(UTC)


# --- account mails ------------------------------------------------------------------------------


def queue_account_mail(
    session: Session,
    *,
    user: User,
    kind: str,
    subject: tuple[str, str],
    body: tuple[str, str],
    address: str,
) -> OutboxMessage:
    """Add an account mail (a reset link, an address check) to the outbox (the caller commits)."""
    row = OutboxMessage(
        user_id=user.id,
        channel="email",
        kind=kind,
        subject=in_language(user, subject),
        body=in_language(user, body),
        address=address,
        next_attempt_at=utcnow(),
    )
    session.add(row)
    return row


def send_soon(session: Session, message_ids: list[int]) -> None:
    """Hand committed rows to the ``outbox.deliver`` job now (the periodic task would anyway)."""
    if message_ids:
        jobs.enqueue(session, "outbox.deliver", message_ids=message_ids)


# --- rendering ----------------------------------------------------------------------------------


def _footer(user: User, unsubscribe_url: str | None, kind_name: str) -> str:
    settings = portal_url(SETTINGS_PATH)
    if english(user):
        lines = ["—", PORTAL[1]]
        if unsubscribe_url:
            lines.append(
                f"You receive this because you chose e-mail for “{kind_name}”. "
                f"Unsubscribe: {unsubscribe_url}"
            )
        lines.append(f"Notification settings: {settings}")
    else:
        lines = ["——", PORTAL[0]]
        if unsubscribe_url:
            lines.append(
                f"您收到此邮件，是因为您选择了以邮件接收“{kind_name}”。退订：{unsubscribe_url}"
            )
        lines.append(f"消息设置：{settings}")
    return "\n".join(lines)


def unsubscribe_url(config: Mapping[str, Any], row: OutboxMessage) -> str | None:
    """Return the row's signed unsubscribe link (none for account mails)."""
    if row.kind in ACCOUNT_KINDS:
        return None
    kind = "*" if row.notification_id is None else row.kind
    token = notifications.unsubscribe_token(
        str(config["SECRET_KEY"]), user_id=row.user_id, kind=kind, channel=row.channel
    )
    return portal_url(UNSUBSCRIBE_PATH + token)


def kind_name(user: User, kind: str) -> str:
    """Return a kind's name in the user's language."""
    if kind == "*":
        return in_language(user, ("全部消息", "all notifications"))
    return in_language(user, notifications.KINDS.get(kind, (kind, kind)))


def render(row: OutboxMessage, user: User, address: str, config: Mapping[str, Any]) -> Message:
    """Return the message of an outbox row in the user's language."""
    unsubscribe = unsubscribe_url(config, row)
    note = row.notification
    if note is not None:
        title = in_language(user, (note.title_zh, note.title_en))
        text = in_language(user, (note.body_zh, note.body_en))
        parts = [title]
        if text:
            parts.append(text)
        if note.link:
            parts.append(in_language(user, ("查看详情：", "Details: ")) + portal_url(note.link))
    else:
        title, parts = row.subject, [row.body]
    name = kind_name(user, "*" if note is None else row.kind)
    if row.channel == "email":
        subject = f"[{PORTAL[1]}] {title}" if english(user) else f"【{PORTAL[0]}】{title}"
        body = "\n\n".join([*parts, _footer(user, unsubscribe, name)])
    else:
        subject = title
        body = "\n".join(parts)
    return Message(
        channel=row.channel,
        to=address,
        subject=subject,
        body=body,
        key=f"outbox-{row.id}",
        unsubscribe_url=unsubscribe,
    )


# --- delivery -----------------------------------------------------------------------------------


def _channel_down(exc: Exception) -> bool:
    """Tell whether a failure means the channel's server is unreachable (not this message)."""
    if isinstance(exc, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused):
        return False
    return isinstance(exc, OSError)


def _release_stale(session: Session, now: datetime) -> int:
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.state == "sending",
            OutboxMessage.claimed_at < now - timedelta(seconds=CLAIM_TIMEOUT),
        )
        .values(state="pending", claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def _claim(
    session: Session, now: datetime, ids: list[int] | None, limit: int
) -> list[OutboxMessage]:
    """Claim due rows for this run (a guarded UPDATE: another worker's rows are skipped)."""
    token = uuid.uuid4().hex
    due = select(OutboxMessage.id).where(
        OutboxMessage.state == "pending",
        OutboxMessage.digest.is_(False),
        OutboxMessage.next_attempt_at <= now,
    )
    if ids is not None:
        due = due.where(OutboxMessage.id.in_(ids))
    chosen = list(
        session.scalars(due.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
    )
    if not chosen:
        session.commit()
        return []
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(chosen), OutboxMessage.state == "pending")
        .values(state="sending", claimed_by=token, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.claimed_by == token, OutboxMessage.state == "sending")
            .options(joinedload(OutboxMessage.user), joinedload(OutboxMessage.notification))
            .execution_options(populate_existing=True)  # the UPDATE above bypassed the session
            .order_by(OutboxMessage.id)
        )
    )


def _finish(row: OutboxMessage, state: str, *, error: str = "") -> None:
    row.state = state
    row.claimed_by = None
    row.claimed_at = None
    if error:
        row.last_error = error[:2000]


def deliver_due(
    session: Session,
    *,
    now: datetime | None = None,
    ids: list[int] | None = None,
    limit: int = BATCH,
    config: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """Send the due rows (or the due ones of ``ids``); return counts by outcome (commits)."""
    config = _config(config)
    now = now or utcnow()
    counts = {"sent": 0, "retry": 0, "failed": 0, "quiet": 0, "cancelled": 0, "waiting": 0}
    counts["released"] = _release_stale(session, now)
    rows = _claim(session, now, ids, limit)
    gateways: dict[str, Any] = {}
    down: set[str] = set()
    try:
        for row in rows:
            outcome = _deliver_one(session, row, now, config, gateways, down)
            counts[outcome] += 1
            session.commit()
    finally:
        for gateway in gateways.values():
            close = getattr(gateway, "close", None)  # a configured gateway may have none
            if close is not None:
                close()
    if any(v for k, v in counts.items()):
        log.info("outbox: %s", counts)
    return counts


def _deliver_one(
    session: Session,
    row: OutboxMessage,
    now: datetime,
    config: Mapping[str, Any],
    gateways: dict[str, Any],
    down: set[str],
) -> str:
    user = row.user
    account_mail = row.kind in ACCOUNT_KINDS
    if not user.active:
        _finish(row, "cancelled", error="用户已停用 / user deactivated")
        return "cancelled"
    if row.notification_id is not None and (
        notifications.mode_of(session, user.id, row.kind, row.channel) == "off"
    ):
        _finish(row, "cancelled", error="用户已关闭此类消息 / turned off by the user")
        return "cancelled"
    address = row.address or address_of(user, row.channel)
    if not address:
        _finish(row, "cancelled", error="没有可用的地址 / no verified address")
        return "cancelled"
    if not account_mail:
        until = quiet_until(user, now)
        if until is not None:
            _finish(row, "pending")
            row.next_attempt_at = until
            return "quiet"
    if row.channel in down:
        _finish(row, "pending")  # the channel failed earlier in this run: try next run
        return "waiting"
    try:
        gateway = gateways.get(row.channel) or channel(row.channel, config)
        gateways[row.channel] = gateway
        gateway.send(render(row, user, address, config))
    except Exception as exc:  # noqa: BLE001 - every failure is recorded on the row
        if _channel_down(exc):
            down.add(row.channel)
        row.attempts += 1
        error = f"{type(exc).__name__}: {exc}"
        log.warning(
            "outbox %s (%s) attempt %s failed: %s", row.id, row.channel, row.attempts, error
        )
        if row.attempts >= MAX_ATTEMPTS:
            _finish(row, "failed", error=error)
            return "failed"
        _finish(row, "pending", error=error)
        row.next_attempt_at = now + timedelta(seconds=BACKOFF[row.attempts - 1])
        return "retry"
    row.attempts += 1
    row.sent_at = now
    _finish(row, "sent")
    return "sent"


@jobs.job("outbox.deliver", attempts=1)
def deliver_job(session: Session, message_ids: list[int] | None = None) -> dict[str, int]:
    """Deliver the given rows now if due (retries are the rows' own, with their backoff)."""
    return deliver_due(session, ids=message_ids)


# --- the daily digest ---------------------------------------------------------------------------


def digest_cutoff(now: datetime) -> datetime:
    """Return the latest digest time (:data:`DIGEST_HOUR` Shanghai) at or before ``now``."""
    local = now.astimezone(SHANGHAI)
    cutoff = local.replace(hour=DIGEST_HOUR, minute=0, second=0, microsecond=0)
    if cutoff > local:
        cutoff -= timedelta(days=1)
    return cutoff.astimezone(UTC)


def build_digests(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Gather the digest rows made before the latest digest time into one message per user
    and channel (commits); running it again changes nothing."""
    now = now or utcnow()
    cutoff = digest_cutoff(now)
    token = uuid.uuid4().hex
    due = select(OutboxMessage.id).where(
        OutboxMessage.digest.is_(True),
        OutboxMessage.state == "pending",
        OutboxMessage.created_at < cutoff,
    )
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(due.scalar_subquery()), OutboxMessage.state == "pending")
        .values(state="digested", claimed_by=token, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    members = list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.claimed_by == token)
            .options(joinedload(OutboxMessage.user), joinedload(OutboxMessage.notification))
            .execution_options(populate_existing=True)  # the UPDATE above bypassed the session
            .order_by(
                OutboxMessage.user_id,
                OutboxMessage.channel,
                OutboxMessage.created_at,
                OutboxMessage.id,
            )
        )
    )
    made = 0
    # A kind turned off since it was queued is not sent in the digest either.
    modes = notifications.modes_of(session, sorted({m.user_id for m in members}))
    for (_user_id, name), group in groupby(members, key=lambda r: (r.user_id, r.channel)):
        items = list(group)
        user = items[0].user
        lines = []
        for item in items:
            note = item.notification
            if note is None or modes.get((user.id, item.kind, name)) == "off":
                item.state = "cancelled"
                continue
            line = f"· {in_language(user, (note.title_zh, note.title_en))}"
            if note.link:
                line += f"\n  {portal_url(note.link)}"
            lines.append(line)
        for item in items:
            item.claimed_by = None
            item.sent_at = now
        if not lines:
            continue
        count = len(lines)
        session.add(
            OutboxMessage(
                user_id=user.id,
                channel=name,
                kind="digest",
                subject=in_language(
                    user, (f"每日消息汇总（{count}条）", f"Daily digest ({count} notifications)")
                ),
                body="\n".join(lines),
                next_attempt_at=now,
            )
        )
        made += 1
    session.commit()
    return {"digests": made, "notifications": len(members)}


# --- the admin's view ---------------------------------------------------------------------------


def state_counts(session: Session) -> dict[str, int]:
    """Return {state: number of rows}."""
    rows = session.execute(
        select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    ).all()
    return {state: int(count) for state, count in rows}


def list_messages(
    session: Session, *, state: str = "failed", page: int = 1, per_page: int = limits.PAGE_SIZE
) -> Any:
    """Return one page of rows in a state, newest first (``failed`` first of all)."""
    from finportal.paging import paginate

    return paginate(
        session,
        select(OutboxMessage)
        .where(OutboxMessage.state == state)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()),
        page=page,
        per_page=per_page,
        options=[joinedload(OutboxMessage.user), joinedload(OutboxMessage.notification)],
    )


def retry(session: Session, message_id: int, *, actor_id: int | None) -> OutboxMessage:
    """Make a failed message due again with fresh attempts (the admin's button; commits)."""
    row = session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound.of("message")
    if row.state != "failed":
        raise InvalidTransition(
            "只有发送失败的消息可以重发。", "Only a message that failed can be sent again."
        )
    record_event(
        session,
        actor_id=actor_id,
        action="outbox.retried",
        object_type="user",
        object_id=row.user_id,
        reason=f"{row.channel} {row.kind} #{row.id}",
        data={"outbox_id": row.id, "attempts": row.attempts, "error": row.last_error},
    )
    row.state = "pending"
    row.attempts = 0
    row.next_attempt_at = utcnow()
    session.commit()
    return row


__all__ = ["CHANNELS", "deliver_due", "build_digests", "retry"]
