"""The application lifecycle (DESIGN.md): steps by the table in ``domain/states.py``, audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from finportal.domain.states import APPLICATION
from finportal.domain.states import ApplicationState as A
from finportal.models import Application, utcnow
from finportal.services import notifications
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
        # 续贷 (issue 13): a renewal reads the renewed loan's maturity from the bank's events.
        from finportal.services.renewals import add_loan_facts
        from finportal.services.workdays import today_local

        add_loan_facts(session, application, today=today_local())
    if to_state == A.CLOSED:
        application.closed_at = utcnow()
    if notify and from_state != to_state:
        notifications.notify(
            session,
            enterprise_id=application.enterprise_id,
            title=(
                f"融资申请 #{application.id} 状态更新：{APPLICATION.title(to_state, 'zh_CN')}",
                f"Application #{application.id}: {APPLICATION.title(to_state, 'en')}",
            ),
            body=(reason or "", ""),
            link=f"/sme/applications/{application.id}",
        )
