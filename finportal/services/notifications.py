"""Notifications of an SME: status changes and 政策找企业 pushes, read and unread."""

from __future__ import annotations

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from finportal import limits
from finportal.models import Notification, utcnow
from finportal.services.errors import NotFound

#: What each kind of notification is called. (zh, en)
KINDS = {
    "status": ("状态更新", "Status update"),
    "policy_push": ("政策找企业", "Policy finds the firm"),
    # issue 13: a loan's maturity with the renewal pre-check (services/reminders.py)
    "maturity": ("到期提醒", "Maturity reminder"),
}


def _mine(enterprise_id: int | None, user_id: int | None) -> object:
    clauses = []
    if enterprise_id is not None:
        clauses.append(Notification.enterprise_id == enterprise_id)
    if user_id is not None:
        clauses.append(Notification.user_id == user_id)
    if not clauses:
        return Notification.id.is_(None)
    return or_(*clauses)


def list_notifications(
    session: Session,
    *,
    enterprise_id: int | None,
    user_id: int | None,
    unread_only: bool = False,
    limit: int = 200,
) -> list[Notification]:
    """Return the enterprise's and the user's notifications, newest first."""
    stmt = select(Notification).where(_mine(enterprise_id, user_id))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(
        session.scalars(
            stmt.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
        )
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
        raise NotFound("消息不存在。", "No such notification.")
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

    ``title`` and ``body`` are (中文, English); titles are clipped to their column.
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
    return row
