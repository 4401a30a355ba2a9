"""The audit log as admins read it: filtered pages, user names, choices, the overview counts."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finportal.models import (
    AuditEvent,
    Bank,
    Chamber,
    Enterprise,
    Job,
    Park,
    Product,
    User,
)
from finportal.paging import Page, paginate
from finportal.services.workdays import SHANGHAI


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, SHANGHAI)


def list_audit_events(
    session: Session,
    *,
    actor: str = "",
    action: str = "",
    object_type: str = "",
    object_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Return audit events matching the filters, newest first, one page at a time.

    ``actor`` is a username (or ``system`` for jobs); ``action`` matches from the start,
    so ``product.`` lists every product event; dates are Shanghai calendar days, inclusive.
    """
    stmt = select(AuditEvent)
    if actor:
        if actor.strip().lower() in ("system", "系统"):
            stmt = stmt.where(AuditEvent.actor_id.is_(None))
        else:
            ids = select(User.id).where(User.username == actor.strip())
            stmt = stmt.where(AuditEvent.actor_id.in_(ids))
    if action:
        escaped = action.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(AuditEvent.action.like(f"{escaped}%", escape="\\"))
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type.strip())
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if date_from is not None:
        stmt = stmt.where(AuditEvent.at >= _day_start(date_from))
    if date_to is not None:
        stmt = stmt.where(AuditEvent.at < _day_start(date_to + timedelta(days=1)))
    return paginate(
        session,
        stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()),
        page=page,
        per_page=per_page,
    )


def usernames(session: Session, ids: set[int | None]) -> dict[int, str]:
    """Return {user id: username} for the given ids."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(wanted))).all())


def audit_choices(session: Session) -> dict[str, list[str]]:
    """Return the actions and object types that occur, for the filter's suggestions."""
    return {
        "actions": list(
            session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
        ),
        "object_types": list(
            session.scalars(
                select(AuditEvent.object_type).distinct().order_by(AuditEvent.object_type)
            )
        ),
    }


def overview(session: Session) -> dict[str, int]:
    """Return counts for the admin's home page."""

    def count(model: Any, *where: Any) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    return {
        "products": count(Product, Product.active.is_(True)),
        "users": count(User, User.active.is_(True)),
        "banks": count(Bank, Bank.active.is_(True)),
        "parks": count(Park, Park.active.is_(True)),
        "chambers": count(Chamber, Chamber.active.is_(True)),
        "enterprises": count(Enterprise),
        "jobs_failed": count(Job, Job.state == "failed"),
    }


# ---------------------------------------------------------------- credit models
