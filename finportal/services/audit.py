"""The audit trail: every state change and every packet view or download."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finportal.models import AuditEvent, User
from finportal.services.workdays import SHANGHAI


def record_event(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: int | None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session (the caller commits with its own change)."""
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        data=data,
    )
    session.add(event)
    return event


def download_stamp(
    session: Session,
    *,
    actor_id: int | None,
    taker: str,
    packet: str,
    action: str,
    object_type: str,
    object_id: int,
    at: datetime,
) -> list[str]:
    """Return the lines stamped on a downloaded packet: who took it, when, which download."""
    user = session.get(User, actor_id) if actor_id is not None else None
    # A serial number makes every download's stamp unique, even two in the same second.
    serial = 1 + (
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == action,
                AuditEvent.object_type == object_type,
                AuditEvent.object_id == object_id,
            )
        )
        or 0
    )
    who = (
        f"{user.display_name or user.username}（{user.username}）"
        if user is not None
        else "银行接口（API 令牌）"
    )
    return [
        f"{taker} 下载",
        f"用户：{who}",
        f"时间：{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S} (UTC+8)",
        f"{packet} · 第 {serial} 次下载",
    ]
