"""The one notification service: the portal's list, and every user's channels beyond it.

:func:`notify` adds a notification to the portal's list (read and unread, as before) and, in
the same transaction, one outbox row per recipient and channel the recipient wants it on
(e-mail, SMS, WeChat; ``services/channels.py``), at once or in the daily digest. The outbox
(``services/outbox.py``) delivers them: quiet hours, retries with backoff, nothing lost.

Preferences are per user, kind and channel (:data:`MODES`); a kind nobody set follows
:data:`DEFAULT_MODES`. An e-mail's unsubscribe link is signed per user, kind and channel
(:func:`unsubscribe_token`) and works without signing in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import event, func, or_, select, update
from sqlalchemy.orm import Session

from finportal import limits
from finportal.models import Notification, NotificationPreference, OutboxMessage, User, utcnow
from finportal.paging import Page, paginate
from finportal.services.audit import record_event
from finportal.services.channels import CHANNELS, address_of
from finportal.services.errors import NotFound, ValidationFailed

#: What each kind of notification is called. (zh, en) A kind not listed here still reaches
#: people (by :data:`DEFAULT_MODES`); listing it lets users choose how they get it.
KINDS = {
    "status": ("状态更新", "Status update"),
    "policy_push": ("政策找企业", "Policy finds the firm"),
    "deadline": ("申报提醒", "Application deadline"),  # wip-13p
    # issue 13: a loan's maturity with the renewal pre-check (services/reminders.py)
    "maturity": ("到期提醒", "Maturity reminder"),
}
#: How a user gets a kind on a channel. (zh, en)
MODES = {
    "now": ("立即发送", "At once"),
    "digest": ("每日汇总", "Daily digest"),
    "off": ("不发送", "Off"),
}
#: The mode of a channel for a kind the user never set: e-mail at once (once the address is
#: verified); SMS and WeChat only when the user turns them on.
DEFAULT_MODES = {"email": "now", "sms": "off", "wechat": "off"}
#: Where the notifications :func:`notify` added wait for their outbox rows (the flush adds them).
_PENDING = "finportal_notifications_pending"


def _mine(enterprise_id: int | None, user_id: int | None) -> object:
    clauses = []
    if enterprise_id is not None:
        clauses.append(Notification.enterprise_id == enterprise_id)
    if user_id is not None:
        clauses.append(Notification.user_id == user_id)
    if not clauses:
        return Notification.id.is_(None)
    return or_(*clauses)


def notifications_page(
    session: Session,
    *,
    enterprise_id: int | None,
    user_id: int | None,
    page: int,
    unread_only: bool = False,
) -> Page:
    """Return one page of the enterprise's and the user's notifications, newest first."""
    stmt = select(Notification).where(_mine(enterprise_id, user_id))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return paginate(
        session,
        stmt.order_by(Notification.created_at.desc(), Notification.id.desc()),
        page=page,
        per_page=limits.PAGE_SIZE,
    )


def unread_count(session: Session, *, enterprise_id: int | None, user_id: int | None) -> int:
    """Count the unread notifications."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(_mine(enterprise_id, user_id), Notification.read_at.is_(None))
        )
        or 0
    )


def mark_read(
    session: Session,
    *,
    enterprise_id: int | None,
    user_id: int | None,
    notification_id: int,
    read: bool = True,
) -> Notification:
    """Mark one notification read (or unread again); ``NotFound`` for someone else's (commits)."""
    note = session.scalar(
        select(Notification).where(
            Notification.id == notification_id, _mine(enterprise_id, user_id)
        )
    )
    if note is None:
        raise NotFound.of("notification")
    note.read_at = (note.read_at or utcnow()) if read else None
    session.commit()
    return note


def mark_all_read(session: Session, *, enterprise_id: int | None, user_id: int | None) -> int:
    """Mark every unread notification read; return how many (commits)."""
    result = session.execute(
        update(Notification)
        .where(_mine(enterprise_id, user_id), Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return int(result.rowcount or 0)


def notify(
    session: Session,
    *,
    title: tuple[str, str],
    body: tuple[str, str] = ("", ""),
    link: str | None = None,
    enterprise_id: int | None = None,
    user_id: int | None = None,
    kind: str = "status",
    dedupe_key: str | None = None,
) -> Notification:
    """Add a notification for an enterprise or a user (the caller commits).

    ``title`` and ``body`` are (中文, English); titles are clipped to their column. The
    recipients' outbox rows (one per user and channel they want it on) are added when the
    session flushes, in the same transaction: all users of the enterprise, or the one user.
    """
    row = Notification(
        enterprise_id=enterprise_id,
        user_id=user_id,
        kind=kind,
        title_zh=limits.clip(title[0], "title"),
        title_en=limits.clip(title[1], "title"),
        body_zh=body[0] or "",
        body_en=body[1] or "",
        link=link,
        dedupe_key=dedupe_key,
    )
    session.add(row)
    session.info.setdefault(_PENDING, []).append(row)
    return row


# --- the outbox rows of new notifications -----------------------------------------------------


@event.listens_for(Session, "before_flush")
def _add_outbox_rows(session: Session, _context: Any, _instances: Any) -> None:
    """Add the outbox rows of the notifications :func:`notify` added since the last flush."""
    # A notification rolled back before this flush left the session: it gets nothing.
    pending = [n for n in session.info.pop(_PENDING, ()) if n in session]
    if pending:
        with session.no_autoflush:
            queue_deliveries(session, pending)


#: Ids per ``IN (...)`` list: a push to every eligible firm stays within PostgreSQL's
#: 65,535 parameters a statement.
CHUNK = 5000


def _chunks(ids: Iterable[int]) -> Iterable[list[int]]:
    values = sorted(ids)
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def queue_deliveries(session: Session, notes: Iterable[Notification]) -> list[OutboxMessage]:
    """Add an outbox row per recipient and wanted channel of each notification.

    A few statements for any number of notifications: their users, then those users'
    stored preferences (in chunks of :data:`CHUNK` ids).
    """
    notes = list(notes)
    enterprise_ids = {n.enterprise_id for n in notes if n.enterprise_id is not None}
    user_ids = {n.user_id for n in notes if n.user_id is not None}
    users: dict[int, User] = {}
    # Only users with somewhere to send to (most firms' users never gave an address).
    addressed = or_(
        User.email_verified_at.is_not(None),
        User.phone.is_not(None),
        User.wechat_openid.is_not(None),
    )
    for chunk in _chunks(enterprise_ids):
        stmt = select(User).where(
            User.enterprise_id.in_(chunk), User.role == "sme", User.active.is_(True), addressed
        )
        users.update((u.id, u) for u in session.scalars(stmt.order_by(User.id)))
    for chunk in _chunks(user_ids - set(users)):
        stmt = select(User).where(User.id.in_(chunk), User.active.is_(True), addressed)
        users.update((u.id, u) for u in session.scalars(stmt.order_by(User.id)))
    reachable = {
        uid: u for uid, u in sorted(users.items()) if any(address_of(u, c) for c in CHANNELS)
    }
    modes = modes_of(session, list(reachable))
    by_enterprise: dict[int, list[User]] = {}
    for user in reachable.values():
        if user.enterprise_id is not None and user.role == "sme":
            by_enterprise.setdefault(user.enterprise_id, []).append(user)
    rows = []
    now = utcnow()
    for note in notes:
        recipients = list(by_enterprise.get(note.enterprise_id, [])) if note.enterprise_id else []
        single = reachable.get(note.user_id) if note.user_id is not None else None
        if single is not None and single not in recipients:
            recipients.append(single)
        for user in recipients:
            for name in CHANNELS:
                mode = modes.get((user.id, note.kind, name), DEFAULT_MODES[name])
                if mode == "off" or not address_of(user, name):
                    continue
                row = OutboxMessage(
                    notification=note,
                    user_id=user.id,
                    channel=name,
                    kind=note.kind,
                    digest=mode == "digest",
                    next_attempt_at=now,
                )
                session.add(row)
                rows.append(row)
    return rows


def modes_of(session: Session, user_ids: list[int]) -> dict[tuple[int, str, str], str]:
    """Return the stored modes of users: {(user id, kind, channel): mode}."""
    found: dict[tuple[int, str, str], str] = {}
    for chunk in _chunks(user_ids):
        rows = session.execute(
            select(
                NotificationPreference.user_id,
                NotificationPreference.kind,
                NotificationPreference.channel,
                NotificationPreference.mode,
            ).where(NotificationPreference.user_id.in_(chunk))
        )
        found.update(((u, k, c), m) for u, k, c, m in rows)
    return found


# --- preferences ------------------------------------------------------------------------------


def mode_of(session: Session, user_id: int, kind: str, channel: str) -> str:
    """Return how the user wants a kind on a channel (the default when never set)."""
    stored = session.scalar(
        select(NotificationPreference.mode).where(
            NotificationPreference.user_id == user_id,
            NotificationPreference.kind == kind,
            NotificationPreference.channel == channel,
        )
    )
    return stored or DEFAULT_MODES[channel]


def preferences(session: Session, user_id: int) -> dict[tuple[str, str], str]:
    """Return {(kind, channel): mode} for every listed kind and channel."""
    stored = modes_of(session, [user_id])
    return {
        (kind, name): stored.get((user_id, kind, name), DEFAULT_MODES[name])
        for kind in KINDS
        for name in CHANNELS
    }


def _set_mode(session: Session, user_id: int, kind: str, channel: str, mode: str) -> None:
    row = session.scalar(
        select(NotificationPreference).where(
            NotificationPreference.user_id == user_id,
            NotificationPreference.kind == kind,
            NotificationPreference.channel == channel,
        )
    )
    if row is None:
        session.add(NotificationPreference(user_id=user_id, kind=kind, channel=channel, mode=mode))
    else:
        row.mode = mode


def _minutes(value: Any, field: str, errors: dict[str, str]) -> int | None:
    """Read "HH:MM" as minutes after midnight ("" is none)."""
    text = str(value or "").strip()
    if not text:
        return None
    hours, sep, minutes = text.partition(":")
    if sep and hours.isdigit() and minutes.isdigit():
        h, m = int(hours), int(minutes)
        if 0 <= h < 24 and 0 <= m < 60:
            return h * 60 + m
    errors[field] = limits.in_user_language("请填写时间，如 22:00", "Enter a time such as 22:00")
    return None


def save_preferences(
    session: Session,
    user: User,
    *,
    modes: dict[tuple[str, str], str],
    quiet_start: Any = "",
    quiet_end: Any = "",
    language: str | None = None,
    phone: str | None = None,
) -> User:
    """Save a user's modes per kind and channel, quiet hours, language and phone (commits)."""
    errors: dict[str, str] = {}
    for (kind, name), mode in modes.items():
        if kind not in KINDS or name not in CHANNELS or mode not in MODES:
            errors[f"mode-{kind}-{name}"] = limits.in_user_language(
                "请选择一项", "Choose one of the options"
            )
    start = _minutes(quiet_start, "quiet_start", errors)
    end = _minutes(quiet_end, "quiet_end", errors)
    unreadable = "quiet_start" in errors or "quiet_end" in errors
    if (start is None) != (end is None) and not unreadable:
        missing = "quiet_end" if end is None else "quiet_start"
        errors[missing] = limits.in_user_language(
            "免打扰时段需要开始和结束时间", "Quiet hours need a start and an end"
        )
    elif start is not None and start == end:
        errors["quiet_end"] = limits.in_user_language(
            "结束时间不能与开始时间相同", "The end cannot be the start"
        )
    if language not in (None, "zh_CN", "en"):
        errors["language"] = limits.in_user_language("请选择一项", "Choose one of the options")
    number = (phone or "").strip().replace(" ", "").replace("-", "")
    if number.startswith("+86"):
        number = number[3:]
    if number and not (len(number) == 11 and number.isdigit() and number[0] == "1"):
        errors["phone"] = limits.in_user_language(
            "请填写11位手机号码", "Enter an 11-digit mobile number"
        )
    if errors:
        raise ValidationFailed.marked(errors)
    for (kind, name), mode in sorted(modes.items()):
        _set_mode(session, user.id, kind, name, mode)
    user.quiet_start, user.quiet_end = start, end
    if language is not None:
        user.language = None if language == "zh_CN" else language
    if phone is not None:
        user.phone = number or None
    record_event(
        session,
        actor_id=user.id,
        action="user.notification_preferences",
        object_type="user",
        object_id=user.id,
        data={"changed": len(modes), "quiet": [start, end], "language": user.language},
    )
    session.commit()
    return user


def set_language(session: Session, user_id: int, code: str) -> None:
    """Send the user's messages in a language: "zh_CN" or "en" (the UI switch; commits)."""
    user = session.get(User, user_id)
    language = "en" if code == "en" else None
    if user is not None and user.language != language:
        user.language = language
        session.commit()


# --- unsubscribe links --------------------------------------------------------------------------


def _signer(secret_key: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key, salt="finportal.unsubscribe")


def unsubscribe_token(secret_key: str, *, user_id: int, kind: str, channel: str) -> str:
    """Return the signed token of "stop sending this kind on this channel" ("*": all kinds)."""
    return str(_signer(secret_key).dumps([user_id, kind, channel]))


def read_unsubscribe_token(secret_key: str, token: str) -> tuple[int, str, str]:
    """Return (user id, kind, channel) of a token; ``NotFound`` when it is not one of ours."""
    try:
        user_id, kind, channel = _signer(secret_key).loads(token)
    except (BadSignature, ValueError, TypeError):
        raise NotFound("退订链接无效。", "This unsubscribe link is not valid.") from None
    if not isinstance(user_id, int) or channel not in CHANNELS:
        raise NotFound("退订链接无效。", "This unsubscribe link is not valid.")
    return user_id, str(kind), str(channel)


def unsubscribe(session: Session, secret_key: str, token: str) -> tuple[User, str, str]:
    """Turn a kind (or, for "*", every kind) off on a channel for the token's user (commits).

    Messages of that kind still waiting in the outbox are not sent either.
    """
    user_id, kind, channel = read_unsubscribe_token(secret_key, token)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("退订链接无效。", "This unsubscribe link is not valid.")
    kinds = list(KINDS) if kind == "*" else [kind]
    for each in kinds:
        _set_mode(session, user.id, each, channel, "off")
    record_event(
        session,
        actor_id=user.id,
        action="user.unsubscribed",
        object_type="user",
        object_id=user.id,
        data={"kind": kind, "channel": channel},
    )
    session.commit()
    return user, kind, channel
