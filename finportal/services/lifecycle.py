"""The application lifecycle (DESIGN.md): allowed transitions, each one audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from finportal.models import Application, Notification, utcnow
from finportal.services.audit import record_event
from finportal.services.errors import InvalidTransition

STATE_LABELS = {
    "draft": "草稿",
    "submitted": "已提交",
    "screened": "已初筛",
    "in_review": "审核中",
    "returned": "已退回补充",
    "rejected": "未通过",
    "referred": "已推荐银行",
    "withdrawn": "已撤回",
    "closed": "已办结",
}

#: from state -> states it may move to
TRANSITIONS: dict[str, set[str]] = {
    "draft": {"submitted", "withdrawn"},
    "submitted": {"screened", "withdrawn"},
    "screened": {"in_review", "withdrawn"},
    "in_review": {"returned", "rejected", "referred", "withdrawn"},
    "returned": {"submitted", "withdrawn"},
    "referred": {"referred", "closed", "withdrawn", "in_review"},
    "rejected": {"closed"},
    "withdrawn": {"closed"},
    "closed": set(),
}


def transition(
    session: Session,
    application: Application,
    to_state: str,
    *,
    actor_id: int | None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    notify: bool = True,
) -> None:
    """Move an application to ``to_state`` or refuse; record the audit event (caller commits)."""
    from_state = application.state
    if to_state not in TRANSITIONS.get(from_state, set()):
        raise InvalidTransition(
            f"申请当前状态为“{STATE_LABELS.get(from_state, from_state)}”，不能变为“{STATE_LABELS.get(to_state, to_state)}”。",
            f"An application that is {from_state} cannot become {to_state}.",
        )
    application.state = to_state
    if to_state == "closed":
        application.closed_at = utcnow()
    record_event(
        session,
        actor_id=actor_id,
        action=f"application.{to_state}",
        object_type="application",
        object_id=application.id,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        data=data,
    )
    if notify and from_state != to_state:
        session.add(
            Notification(
                enterprise_id=application.enterprise_id,
                kind="status",
                title_zh=f"融资申请 #{application.id} 状态更新：{STATE_LABELS.get(to_state, to_state)}",
                title_en=f"Application #{application.id} is now {to_state}",
                body_zh=reason,
                link=f"/sme/applications/{application.id}",
            )
        )
