"""The application lifecycle (DESIGN.md): steps by the table in ``domain/states.py``, audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from finportal.domain.states import APPLICATION
from finportal.domain.states import ApplicationState as A
from finportal.models import Application, Notification, utcnow
from finportal.services.profiles import freeze
from finportal.services.workflow import move


def transition(
    session: Session,
    application: Application,
    to_state: str,
    *,
    by: str,
    actor_id: int | None,
    reason: str = "",
    data: dict[str, Any] | None = None,
    notify: bool = True,
) -> None:
    """Move an application to ``to_state`` if ``by`` may; audit and tell the SME (caller commits)."""
    from_state = move(
        session,
        APPLICATION,
        application,
        to_state,
        by=by,
        actor_id=actor_id,
        reason=reason,
        data=data,
    )
    if to_state == A.SUBMITTED:
        # What the advisor, the score, the packet and the bank read from now on.
        application.profile_snapshot = freeze(application.enterprise)
    if to_state == A.CLOSED:
        application.closed_at = utcnow()
    if notify and from_state != to_state:
        session.add(
            Notification(
                enterprise_id=application.enterprise_id,
                kind="status",
                title_zh=f"融资申请 #{application.id} 状态更新：{APPLICATION.title(to_state, 'zh_CN')}",
                title_en=f"Application #{application.id}: {APPLICATION.title(to_state, 'en')}",
                body_zh=reason,
                link=f"/sme/applications/{application.id}",
            )
        )
