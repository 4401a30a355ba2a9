"""Assignment of work (交办): supervisors give applications, complaints and needs to advisors.

Who may assign is ``domain/permissions.supervises``; what can be assigned is what waits
on the centre (applications waiting on an advisor, complaints whose clock runs, needs no
bank claimed in time). Each assignment is an audit event (``application.assigned`` /
``complaint.assigned`` / ``need.assigned``) with
the advisor it came from and the one it went to, and the new advisor is told.
The board reads each advisor's load and overdue work with a fixed number of statements.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from finportal import limits
from finportal.domain.permissions import Actor, supervises
from finportal.domain.states import APPLICATION, COMPLAINT, NEED
from finportal.domain.states import NeedState as N
from finportal.limits import in_user_language
from finportal.models import (
    Application,
    Complaint,
    Enterprise,
    Escalation,
    Need,
    User,
    utcnow,
)
from finportal.paging import Page, paginate
from finportal.services import workflow
from finportal.services.audit import record_event
from finportal.services.complaints import OPEN_STATES, overdue_condition
from finportal.services.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from finportal.services.notifications import notify

#: Applications a supervisor can assign: those waiting on an advisor (screened, in review).
ASSIGNABLE_APPLICATIONS = APPLICATION.waiting_on("advisor")
#: Complaints a supervisor can assign: those whose clock runs.
ASSIGNABLE_COMPLAINTS = OPEN_STATES
#: Needs a supervisor can assign: those escalated to the centre (no bank claimed in time).
ASSIGNABLE_NEEDS = frozenset({N.ESCALATED.value})
#: Tabs of the board's work list: name -> (zh, en).
BOARD_TABS = {
    "overdue": ("超时事项", "Overdue"),
    "unassigned": ("未交办申请", "Unassigned applications"),
    "complaints": ("办理中的诉求", "Open complaints"),
    "needs": ("待跟进需求", "Needs to follow up"),
}


@dataclass(frozen=True)
class Load:
    """One advisor's open work and how much of it is overdue."""

    advisor: User
    applications: int
    applications_overdue: int
    complaints: int
    complaints_overdue: int
    needs: int = 0
    needs_overdue: int = 0

    @property
    def total(self) -> int:
        """Return all open items."""
        return self.applications + self.complaints + self.needs

    @property
    def overdue(self) -> int:
        """Return the overdue items."""
        return self.applications_overdue + self.complaints_overdue + self.needs_overdue


def _require_supervisor(actor: Actor) -> None:
    if not supervises(actor):
        raise Forbidden(
            "只有督导顾问或中心负责人可以交办工作。",
            "Only a supervisor or the centre's head assigns work.",
        )


def advisors(session: Session) -> list[User]:
    """Return the active advisors work can be given to, by name."""
    return list(
        session.scalars(
            select(User)
            .where(User.role == "advisor", User.active.is_(True))
            .order_by(User.display_name, User.username, User.id)
        )
    )


def _advisor(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None or user.role != "advisor" or not user.active:
        raise ValidationFailed.marked(
            {"advisor_id": in_user_language("请选择一位在岗的顾问。", "Choose an active advisor.")}
        )
    return user


def _application_overdue(now: datetime) -> Any:
    return (
        Application.first_response_at.is_(None)
        & Application.first_response_due_at.is_not(None)
        & (Application.first_response_due_at < now)
    )


def need_overdue(now: datetime) -> Any:
    """An escalated need is overdue when the advisor's handling deadline has passed."""
    return (
        Need.state.in_(ASSIGNABLE_NEEDS)
        & Need.handle_due_at.is_not(None)
        & (Need.handle_due_at < now)
    )


def _hand_over(
    session: Session,
    record: Any,
    *,
    field: str,
    advisor: User,
    actor: Actor,
    object_type: str,
    reason: str,
    title: tuple[str, str],
    link: str,
    conflict: tuple[str, str],
    touch: bool = False,
) -> None:
    """Give ``record`` to ``advisor`` (its ``field``): audited, the advisor told (commits).

    The one hand-over of applications, complaints and needs; nothing happens when the record
    is already the advisor's. ``touch`` also moves the record's ``updated_at``.
    """
    before = getattr(record, field)
    if before == advisor.id:
        return
    setattr(record, field, advisor.id)
    if touch:
        record.updated_at = utcnow()
    record_event(
        session,
        actor_id=actor.user_id,
        action=f"{object_type}.assigned",
        object_type=object_type,
        object_id=record.id,
        from_state=record.state,
        to_state=record.state,
        reason=reason,
        data={"from": before, "to": advisor.id},
    )
    notify(session, user_id=advisor.id, title=title, body=(reason, ""), link=link)
    workflow.commit_or_conflict(session, *conflict)


def assign_application(
    session: Session,
    application_id: int,
    *,
    actor: Actor,
    advisor_id: int,
    reason: str = "",
    lock_version: int | None = None,
) -> Application:
    """Give an application waiting on the centre to an advisor; audited (commits)."""
    _require_supervisor(actor)
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound.of("application")
    if lock_version is not None and application.lock_version != lock_version:
        raise Conflict(
            "该申请已有新的进展，请刷新页面后再交办。",
            "The application has moved on; reload the page and assign again.",
        )
    if application.state not in ASSIGNABLE_APPLICATIONS:
        raise InvalidTransition(
            f"申请当前状态为“{APPLICATION.title(application.state, 'zh_CN')}”，"
            "只有等待顾问办理的申请可以交办。",
            f"The application is {APPLICATION.title(application.state, 'en').lower()}; only"
            " applications waiting on an advisor can be assigned.",
        )
    advisor = _advisor(session, advisor_id)
    _hand_over(
        session,
        application,
        field="assigned_advisor_id",
        advisor=advisor,
        actor=actor,
        object_type=APPLICATION.name,
        reason=reason,
        title=(
            f"交办给您的申请 #{application.id}",
            f"Application #{application.id} assigned to you",
        ),
        link=f"/advisor/applications/{application.id}",
        conflict=(
            "该申请刚刚被他人处理，交办未保存；请刷新页面。",
            "Someone changed the application at the same moment; nothing was saved.",
        ),
        touch=True,
    )
    return application


def assign_complaint(
    session: Session,
    complaint_id: int,
    *,
    actor: Actor,
    advisor_id: int,
    reason: str = "",
    lock_version: int | None = None,
) -> Complaint:
    """Give an open complaint to an advisor (交办); audited (commits)."""
    _require_supervisor(actor)
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound.of("complaint")
    if lock_version is not None and complaint.lock_version != lock_version:
        raise Conflict(
            "该诉求已有新的进展，请刷新页面后再交办。",
            "It has moved on; reload the page and assign again.",
        )
    if complaint.state not in ASSIGNABLE_COMPLAINTS:
        raise InvalidTransition(
            f"诉求当前状态为“{COMPLAINT.title(complaint.state, 'zh_CN')}”，只有办理中的诉求可以交办。",
            f"It is {COMPLAINT.title(complaint.state, 'en').lower()}; only open complaints can be"
            " assigned.",
        )
    advisor = _advisor(session, advisor_id)
    if advisor.id == complaint.raised_by_id:
        raise ValidationFailed.marked(
            {
                "advisor_id": in_user_language(
                    "不能交办给诉求的提出人。", "It cannot go to the person who raised it."
                )
            }
        )
    _hand_over(
        session,
        complaint,
        field="assigned_to_id",
        advisor=advisor,
        actor=actor,
        object_type=COMPLAINT.name,
        reason=reason,
        title=(f"交办给您的诉求 {complaint.number}", f"Assigned to you: {complaint.number}"),
        link=f"/advisor/complaints/{complaint.id}",
        conflict=(
            "该诉求刚刚被他人处理，交办未保存；请刷新页面。",
            "Someone changed it at the same moment; nothing was saved.",
        ),
    )
    return complaint


def assign_need(
    session: Session,
    need_id: int,
    *,
    actor: Actor,
    advisor_id: int,
    reason: str = "",
    lock_version: int | None = None,
) -> Need:
    """Give an escalated need to an advisor to follow up (交办); audited (commits)."""
    _require_supervisor(actor)
    need = session.get(Need, need_id)
    if need is None:
        raise NotFound.of("need")
    if lock_version is not None and need.lock_version != lock_version:
        raise Conflict(
            "该融资需求已有新的进展，请刷新页面后再交办。",
            "The need has moved on; reload the page and assign again.",
        )
    if need.state not in ASSIGNABLE_NEEDS:
        raise InvalidTransition(
            f"融资需求当前状态为“{NEED.title(need.state, 'zh_CN')}”，"
            "只有转交顾问跟进的需求可以交办。",
            f"The need is {NEED.title(need.state, 'en').lower()}; only needs escalated to the"
            " advisors can be assigned.",
        )
    advisor = _advisor(session, advisor_id)
    _hand_over(
        session,
        need,
        field="assigned_advisor_id",
        advisor=advisor,
        actor=actor,
        object_type=NEED.name,
        reason=reason,
        title=(f"交办给您的融资需求 {need.number}", f"Need {need.number} assigned to you"),
        link=f"/advisor/needs/{need.id}",
        conflict=(
            "该融资需求刚刚被他人处理，交办未保存；请刷新页面。",
            "Someone changed the need at the same moment; nothing was saved.",
        ),
    )
    return need


# --- the board --------------------------------------------------------------------------


def workload(session: Session, *, now: datetime | None = None) -> list[Load]:
    """Return each active advisor's open applications, complaints and needs, and the overdue ones."""
    now = now or utcnow()
    people = advisors(session)
    apps = {
        advisor_id: (int(n), int(late or 0))
        for advisor_id, n, late in session.execute(
            select(
                Application.assigned_advisor_id,
                func.count(),
                func.count(case((_application_overdue(now), 1))),
            )
            .where(
                Application.state.in_(ASSIGNABLE_APPLICATIONS),
                Application.assigned_advisor_id.is_not(None),
            )
            .group_by(Application.assigned_advisor_id)
        )
    }
    complaints = {
        advisor_id: (int(n), int(late or 0))
        for advisor_id, n, late in session.execute(
            select(
                Complaint.assigned_to_id,
                func.count(),
                func.count(case((overdue_condition(now), 1))),
            )
            .where(
                Complaint.state.in_(ASSIGNABLE_COMPLAINTS), Complaint.assigned_to_id.is_not(None)
            )
            .group_by(Complaint.assigned_to_id)
        )
    }
    held_needs = {
        advisor_id: (int(n), int(late or 0))
        for advisor_id, n, late in session.execute(
            select(
                Need.assigned_advisor_id,
                func.count(),
                func.count(case((need_overdue(now), 1))),
            )
            .where(Need.state.in_(ASSIGNABLE_NEEDS), Need.assigned_advisor_id.is_not(None))
            .group_by(Need.assigned_advisor_id)
        )
    }
    return [
        Load(
            u,
            *apps.get(u.id, (0, 0)),
            *complaints.get(u.id, (0, 0)),
            *held_needs.get(u.id, (0, 0)),
        )
        for u in people
    ]


def unassigned_counts(session: Session, *, now: datetime | None = None) -> dict[str, int]:
    """Count the work nobody holds, and all overdue work, in three statements."""
    now = now or utcnow()
    apps = session.execute(
        select(
            func.count(case((Application.assigned_advisor_id.is_(None), 1))),
            func.count(case((_application_overdue(now), 1))),
        ).where(Application.state.in_(ASSIGNABLE_APPLICATIONS))
    ).one()
    complaints = session.execute(
        select(
            func.count(case((Complaint.assigned_to_id.is_(None), 1))),
            func.count(case((overdue_condition(now), 1))),
            func.count(),
        ).where(Complaint.state.in_(ASSIGNABLE_COMPLAINTS))
    ).one()
    held_needs = session.execute(
        select(
            func.count(case((Need.assigned_advisor_id.is_(None), 1))),
            func.count(case((need_overdue(now), 1))),
            func.count(),
        ).where(Need.state.in_(ASSIGNABLE_NEEDS))
    ).one()
    return {
        "unassigned": int(apps[0] or 0),
        "overdue": int(apps[1] or 0) + int(complaints[1] or 0) + int(held_needs[1] or 0),
        "needs": int(held_needs[2] or 0),
        "needs_unassigned": int(held_needs[0] or 0),
        "overdue_applications": int(apps[1] or 0),
        "complaints": int(complaints[2] or 0),
        "complaints_unassigned": int(complaints[0] or 0),
    }


def _levels(session: Session, object_type: str, ids: list[int]) -> dict[int, int]:
    """Return the highest open escalation rung of each item (one statement)."""
    if not ids:
        return {}
    return {
        object_id: int(level)
        for object_id, level in session.execute(
            select(Escalation.object_id, func.max(Escalation.level))
            .where(
                Escalation.object_type == object_type,
                Escalation.object_id.in_(ids),
                Escalation.resolved_at.is_(None),
            )
            .group_by(Escalation.object_id)
        )
    }


def applications_page(
    session: Session, *, tab: str, page: int = 1, now: datetime | None = None
) -> Page:
    """Return a page of overdue (``overdue``) or unassigned (``unassigned``) applications.

    Items are (application, escalation level or 0); the earliest deadline first.
    """
    now = now or utcnow()
    stmt = (
        select(Application)
        .join(Enterprise, Enterprise.id == Application.enterprise_id)
        .where(Application.state.in_(ASSIGNABLE_APPLICATIONS))
    )
    if tab == "overdue":
        stmt = stmt.where(_application_overdue(now))
    else:
        stmt = stmt.where(Application.assigned_advisor_id.is_(None))
    stmt = stmt.order_by(
        Application.first_response_due_at.is_(None),
        Application.first_response_due_at,
        Application.id,
    )
    found = paginate(
        session,
        stmt,
        page=page,
        per_page=limits.PAGE_SIZE,
        options=(contains_eager(Application.enterprise),),
    )
    levels = _levels(session, APPLICATION.name, [a.id for a in found.items])
    found.items = [(a, levels.get(a.id, 0)) for a in found.items]
    return found


def complaints_page(
    session: Session, *, overdue_only: bool = False, page: int = 1, now: datetime | None = None
) -> Page:
    """Return a page of open complaints (or only overdue ones), earliest deadline first.

    Items are (complaint, escalation level or 0).
    """
    now = now or utcnow()
    stmt = select(Complaint).where(Complaint.state.in_(ASSIGNABLE_COMPLAINTS))
    if overdue_only:
        stmt = stmt.where(overdue_condition(now))
    stmt = stmt.order_by(Complaint.answer_due_at, Complaint.id)
    found = paginate(
        session,
        stmt,
        page=page,
        per_page=limits.PAGE_SIZE,
        options=(selectinload(Complaint.bank), selectinload(Complaint.product)),
    )
    levels = _levels(session, COMPLAINT.name, [c.id for c in found.items])
    found.items = [(c, levels.get(c.id, 0)) for c in found.items]
    return found


def needs_page(session: Session, *, page: int = 1, now: datetime | None = None) -> Page:
    """Return a page of escalated needs, earliest handling deadline first.

    Items are (need, escalation level or 0, whether its handling deadline has passed).
    """
    now = now or utcnow()
    stmt = (
        select(Need)
        .join(Enterprise, Enterprise.id == Need.enterprise_id)
        .where(Need.state.in_(ASSIGNABLE_NEEDS))
        .order_by(Need.handle_due_at.is_(None), Need.handle_due_at, Need.id)
    )
    found = paginate(
        session,
        stmt,
        page=page,
        per_page=limits.PAGE_SIZE,
        options=(contains_eager(Need.enterprise),),
    )
    levels = _levels(session, NEED.name, [n.id for n in found.items])
    found.items = [
        (n, levels.get(n.id, 0), n.handle_due_at is not None and n.handle_due_at < now)
        for n in found.items
    ]
    return found


# --- duties -------------------------------------------------------------------------------


def set_duty(session: Session, username: str, duty: str | None, *, actor_id: int | None) -> User:
    """Give an advisor a duty (supervisor, head) or take it away (None); audited (commits)."""
    from finportal.models import DUTIES

    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound.of("user")
    if user.role != "advisor":
        raise ValidationFailed(
            "只有普惠金融顾问可以担任督导或中心负责人。",
            "Only advisors can supervise or head the centre.",
        )
    if duty is not None and duty not in DUTIES:
        raise ValidationFailed("未知的职责。", f"Unknown duty: {duty}.")
    before = user.duty
    user.duty = duty
    record_event(
        session,
        actor_id=actor_id,
        action="user.duty_changed",
        object_type="user",
        object_id=user.id,
        data={"from": before, "to": duty},
    )
    session.commit()
    return user
