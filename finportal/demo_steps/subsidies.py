"""Demo subsidies (issue 13): the entitlements of the demo loans' repayments, listed (公示)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from finportal.models import User
from finportal.services import entitlements
from finportal.services.errors import Conflict
from finportal.services.workdays import today_local


def seed(session: Session, context: dict[str, object]) -> None:
    """Compute the demo loans' subsidies and publish the list (idempotent)."""
    users = context.get("users") or {}
    assert isinstance(users, dict)
    advisor = users.get("demo-advisor")
    actor_id = advisor.id if isinstance(advisor, User) else None
    entitlements.compute_entitlements(session, actor_id=actor_id)
    try:
        entitlements.publish_list(session, entitlements.period_of(today_local()), actor_id=actor_id)
    except Conflict:
        session.rollback()  # nothing new to list: a second run of the demo
