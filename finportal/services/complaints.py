"""Complaints and suggestions (反映—受理—交办—办理—评价): raise, acknowledge, answer, rate, reopen.

Any signed-in user raises one about a bank, a product, the centre or the portal. It gets a
number and two deadlines in working days (``domain/clocks.py``): acknowledgement (受理) and
answer. The steps follow the ``COMPLAINT`` machine (``domain/states.py``) through
``workflow.move``, so each is checked and audited; who sees and handles it is
``domain/permissions.py``. Assignment (交办) is ``services/assignment.py``; overdue
complaints climb the escalation ladder in ``services/escalation.py``.

Times: ``acknowledged_at`` is the acknowledgement, ``answered_at`` the latest answer (a
reopened complaint answered again moves it), ``first_answer``/``first_stars`` keep what
the complainant was unhappy with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from finportal import limits
from finportal.domain import clocks
from finportal.domain.permissions import (
    Actor,
    complaints_seen,
    handles_complaint,
    sees_complaint,
    supervises,
)
from finportal.domain.states import COMPLAINT
from finportal.domain.states import ComplaintState as K
from finportal.models import AuditEvent, Bank, Complaint, Product, User, utcnow
from finportal.paging import Page, paginate
from finportal.services import workflow
from finportal.services.audit import record_event
from finportal.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
from finportal.services.notifications import notify
from finportal.services.workdays import SHANGHAI, add_working_days, deadline, holiday_table

#: What is raised (Complaint.kind), with the prefix of its number. (zh, en)
KINDS = {"complaint": ("投诉", "Complaint"), "suggestion": ("建议", "Suggestion")}
NUMBER_PREFIX = {"complaint": "TS", "suggestion": "JY"}
#: What it is about (Complaint.about). (zh, en)
ABOUT = {
    "bank": ("合作银行", "A partner bank"),
    "product": ("金融产品", "A financial product"),
    "centre": ("融资服务中心", "The financing service centre"),
    "portal": ("本平台", "This portal"),
}
#: Themes (Complaint.theme): what the dashboard counts per bank and per product. (zh, en)
THEMES = {
    "response_time": ("办理时效", "Time taken"),
    "attitude": ("服务态度", "Manner of service"),
    "fees": ("利率与收费", "Rates and fees"),
    "documents": ("材料要求", "Documents asked for"),
    "decision": ("审批结果", "The decision"),
    "information": ("信息与政策解读", "Information and policy"),
    "portal_use": ("平台使用", "Using the portal"),
    "other": ("其他", "Other"),
}
#: States in which the centre owes a step (a clock runs): submitted, acknowledged, reopened.
OPEN_STATES = COMPLAINT.tagged("clock")
#: States in which the complainant is asked to rate the answer.
AWAITING_RATING = COMPLAINT.waiting_on("raiser")
#: States in which an advisor answers.
ANSWERABLE = COMPLAINT.sources(K.ANSWERED, "advisor") | COMPLAINT.sources(K.REANSWERED, "advisor")
#: Tabs of the lists: name -> (zh, en).
TABS = {
    "open": ("办理中", "Open"),
    "awaiting_rating": ("待评价", "Awaiting rating"),
    "closed": ("已办结", "Closed"),
}
STARS = range(1, 6)


@dataclass(frozen=True)
class Clock:
    """The deadline a complaint runs against now, if any, and whether it is missed."""

    label: tuple[str, str]
    due_at: datetime | None
    overdue: bool


def number_of(complaint: Complaint) -> str:
    """Return the complaint's number: TS-<date>-<id> for a complaint, JY-… for a suggestion."""
    day = complaint.raised_at.astimezone(SHANGHAI)
    return f"{NUMBER_PREFIX[complaint.kind]}-{day:%Y%m%d}-{complaint.id:06d}"


def current_deadline(complaint: Complaint) -> datetime | None:
    """Return the deadline the centre now works to (acknowledge, then answer), or None."""
    if complaint.state == K.SUBMITTED:
        return complaint.ack_due_at
    if complaint.state in OPEN_STATES:
        return complaint.answer_due_at
    return None


def clock(complaint: Complaint, now: datetime | None = None) -> Clock:
    """Return the complaint's running clock (none once answered)."""
    now = now or utcnow()
    due = current_deadline(complaint)
    if complaint.state == K.SUBMITTED:
        label = ("受理时限", "Acknowledge by")
    else:
        label = ("答复时限", "Answer by")
    return Clock(label, due, due is not None and due < now)


def overdue_condition(now: datetime) -> Any:
    """SQL: complaints past the deadline they now run against (twin of :func:`clock`)."""
    return or_(
        (Complaint.state == K.SUBMITTED) & (Complaint.ack_due_at < now),
        Complaint.state.in_(OPEN_STATES - {K.SUBMITTED}) & (Complaint.answer_due_at < now),
    )


# --- raising ------------------------------------------------------------------------------


def raise_complaint(
    session: Session,
    *,
    actor: Actor,
    kind: str,
    about: str,
    theme: str,
    title: str,
    body: str,
    bank_id: int | None = None,
    product_id: int | None = None,
    now: datetime | None = None,
) -> Complaint:
    """Record a complaint or suggestion with its number and deadlines; tell supervisors (commits)."""
    if actor.user_id is None:
        raise Forbidden("请先登录。", "Sign in first.")
    errors: dict[str, str] = {}
    choice = limits.in_user_language("请从列表中选择。", "Choose from the list.")
    if kind not in KINDS:
        errors["kind"] = choice
    if about not in ABOUT:
        errors["about"] = choice
    if theme not in THEMES:
        errors["theme"] = choice
    title = limits.collect_text(errors, "title", title, "title")
    body = limits.collect_text(errors, "body", body, "reason")
    if "title" not in errors and not title:
        errors["title"] = limits.in_user_language("请填写标题。", "Give a title.")
    if "body" not in errors and not body:
        errors["body"] = limits.in_user_language("请写明具体情况。", "Describe what happened.")
    if about == "bank":
        bank = session.get(Bank, bank_id) if bank_id else None
        if bank is None or not bank.active:
            errors["bank_id"] = limits.in_user_language("请选择银行。", "Choose the bank.")
        product_id = None
    elif about == "product":
        if not product_id or session.get(Product, product_id) is None:
            errors["product_id"] = limits.in_user_language("请选择产品。", "Choose the product.")
        bank_id = None
    else:
        bank_id = product_id = None
    if errors:
        raise ValidationFailed.marked(errors)
    now = now or utcnow()
    complaint = Complaint(
        kind=kind,
        about=about,
        theme=theme,
        title=title,
        body=body,
        bank_id=bank_id,
        product_id=product_id,
        raised_by_id=actor.user_id,
        state=str(K.SUBMITTED),
        raised_at=now,
        ack_due_at=deadline(session, now, clocks.COMPLAINT_ACK_WORKING_DAYS),
        answer_due_at=deadline(session, now, clocks.COMPLAINT_ANSWER_WORKING_DAYS),
    )
    session.add(complaint)
    session.flush()
    complaint.number = number_of(complaint)
    record_event(
        session,
        actor_id=actor.user_id,
        action="complaint.raised",
        object_type=COMPLAINT.name,
        object_id=complaint.id,
        to_state=complaint.state,
        data={"number": complaint.number, "kind": kind, "about": about, "theme": theme},
    )
    for user_id in _supervisors(session):
        notify(
            session,
            user_id=user_id,
            title=(
                f"新{KINDS[kind][0]}待受理：{complaint.number}",
                f"New {KINDS[kind][1].lower()} to acknowledge: {complaint.number}",
            ),
            body=(title, ""),
            link=f"/advisor/complaints/{complaint.id}",
        )
    session.commit()
    return complaint


def _supervisors(session: Session, duty: str = "supervisor") -> list[int]:
    return list(
        session.scalars(
            select(User.id)
            .where(User.role == "advisor", User.duty == duty, User.active.is_(True))
            .order_by(User.id)
        )
    )


# --- reading ------------------------------------------------------------------------------


def get_complaint(session: Session, complaint_id: int, *, actor: Actor) -> Complaint:
    """Return a complaint the actor may see; any other is not found (404, not 403)."""
    complaint = session.scalar(
        select(Complaint)
        .where(Complaint.id == complaint_id)
        .options(selectinload(Complaint.bank), selectinload(Complaint.product))
    )
    if complaint is None or not sees_complaint(actor, complaint):
        raise NotFound.of("complaint")
    return complaint


def _tab_condition(tab: str) -> Any:
    if tab == "open":
        return Complaint.state.in_(OPEN_STATES)
    if tab == "awaiting_rating":
        return Complaint.state.in_(AWAITING_RATING)
    if tab == "closed":
        return Complaint.state.in_(COMPLAINT.tagged("ended"))
    raise ValidationFailed("未知的栏目。", "Unknown tab.", fields={"tab": "未知的栏目。"})


def _list_statement(
    actor: Actor, tab: str, *, raised_by_me: bool, assigned_to: int | None
) -> Select[tuple[Complaint]]:
    stmt = select(Complaint).where(complaints_seen(actor), _tab_condition(tab))
    if raised_by_me:
        stmt = stmt.where(Complaint.raised_by_id == actor.user_id)
    else:
        # The centre's list never shows what the advisor raised themselves.
        stmt = stmt.where(Complaint.raised_by_id != actor.user_id)
    if assigned_to is not None:
        stmt = stmt.where(Complaint.assigned_to_id == assigned_to)
    return stmt.order_by(Complaint.raised_at.desc(), Complaint.id.desc())


ROW_OPTIONS = (selectinload(Complaint.bank), selectinload(Complaint.product))


def complaints_page(
    session: Session,
    *,
    actor: Actor,
    tab: str = "open",
    raised_by_me: bool = False,
    assigned_to: int | None = None,
    page: int = 1,
    per_page: int = limits.PAGE_SIZE,
) -> Page:
    """Return one page of the complaints the actor sees in a tab, newest first.

    ``raised_by_me``: the complainant's own list; otherwise the centre's working list.
    """
    stmt = _list_statement(actor, tab, raised_by_me=raised_by_me, assigned_to=assigned_to)
    return paginate(session, stmt, page=page, per_page=per_page, options=ROW_OPTIONS)


def tab_counts(session: Session, *, actor: Actor, raised_by_me: bool = False) -> dict[str, int]:
    """Count each tab's complaints in one statement."""
    mine = Complaint.raised_by_id == actor.user_id
    row = session.execute(
        select(*(func.count(case((_tab_condition(tab), 1))).label(tab) for tab in TABS)).where(
            complaints_seen(actor), mine if raised_by_me else ~mine
        )
    ).one()
    return {tab: int(row._mapping[tab] or 0) for tab in TABS}


#: What the complainant's history shows: the steps, not the centre's internal work.
RAISER_ACTIONS = frozenset(
    {"complaint.raised", *(f"complaint.{state.value}" for state in K if state != K.SUBMITTED)}
)


def history(session: Session, complaint_id: int, *, centre: bool) -> list[AuditEvent]:
    """Return the complaint's audit events, oldest first (the complainant's steps only,
    unless ``centre``: then also assignments and escalations)."""
    stmt = select(AuditEvent).where(
        AuditEvent.object_type == COMPLAINT.name, AuditEvent.object_id == complaint_id
    )
    if not centre:
        stmt = stmt.where(AuditEvent.action.in_(RAISER_ACTIONS))
    return list(session.scalars(stmt.order_by(AuditEvent.at, AuditEvent.id)))


def names_of(session: Session, ids: set[int | None]) -> dict[int, str]:
    """Return users' display names (or usernames) by id, in one statement."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {
        u.id: u.display_name or u.username
        for u in session.scalars(select(User).where(User.id.in_(wanted)))
    }


# --- the centre's steps -------------------------------------------------------------------


def _for_centre(
    session: Session, complaint_id: int, actor: Actor, lock_version: int | None
) -> Complaint:
    complaint = get_complaint(session, complaint_id, actor=actor)
    if not handles_complaint(actor, complaint):
        raise Forbidden(
            "只有被交办的顾问、督导顾问或中心负责人可以办理该诉求。",
            "Only the assigned advisor, a supervisor or the head handles this.",
        )
    if lock_version is not None and complaint.lock_version != lock_version:
        raise Conflict(
            "该诉求已被他人处理，请刷新页面后再操作。",
            "Someone else acted on this first; reload the page and try again.",
        )
    return complaint


def _commit(session: Session) -> None:
    workflow.commit_or_conflict(
        session,
        "该诉求刚刚被他人处理，您的操作未保存；请刷新页面。",
        "Someone changed this at the same moment; nothing was saved. Reload the page.",
    )


def acknowledge(
    session: Session,
    complaint_id: int,
    *,
    actor: Actor,
    lock_version: int | None = None,
    now: datetime | None = None,
) -> Complaint:
    """Acknowledge (受理) a submitted complaint and tell the complainant (commits)."""
    complaint = _for_centre(session, complaint_id, actor, lock_version)
    now = now or utcnow()
    workflow.move(
        session,
        COMPLAINT,
        complaint,
        K.ACKNOWLEDGED,
        by="advisor",
        actor_id=actor.user_id,
        data={"overdue": complaint.ack_due_at < now},
    )
    complaint.acknowledged_at = now
    notify(
        session,
        user_id=complaint.raised_by_id,
        title=(f"您的诉求已受理：{complaint.number}", f"Acknowledged: {complaint.number}"),
        body=(
            f"服务中心将在 {complaint.answer_due_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 前答复。",
            f"The centre answers by {complaint.answer_due_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}.",
        ),
        link=f"/complaints/{complaint.id}",
    )
    _commit(session)
    return complaint


def answer(
    session: Session,
    complaint_id: int,
    *,
    actor: Actor,
    text: str,
    lock_version: int | None = None,
    now: datetime | None = None,
) -> Complaint:
    """Answer an acknowledged (or reopened) complaint; ask the complainant to rate it (commits)."""
    text = limits.valid_text(text, "reason", "answer")
    if not text:
        raise ValidationFailed.marked(
            {"answer": limits.in_user_language("请填写答复内容。", "Write the answer.")}
        )
    complaint = _for_centre(session, complaint_id, actor, lock_version)
    now = now or utcnow()
    target = K.REANSWERED if complaint.state == K.REOPENED else K.ANSWERED
    workflow.move(
        session,
        COMPLAINT,
        complaint,
        target,
        by="advisor",
        actor_id=actor.user_id,
        reason=text,
        data={"overdue": complaint.answer_due_at < now},
    )
    if complaint.assigned_to_id is None:
        complaint.assigned_to_id = actor.user_id
    complaint.answer = text
    complaint.answered_at = now
    notify(
        session,
        user_id=complaint.raised_by_id,
        title=(f"您的诉求已答复：{complaint.number}", f"Answered: {complaint.number}"),
        body=("请查看答复并评价。", "Please read the answer and rate it."),
        link=f"/complaints/{complaint.id}",
    )
    _commit(session)
    return complaint


# --- the complainant's steps --------------------------------------------------------------


def rate(
    session: Session,
    complaint_id: int,
    *,
    actor: Actor,
    stars: int,
    comment: str = "",
    reopen: bool = False,
    lock_version: int | None = None,
    now: datetime | None = None,
) -> Complaint:
    """Rate the answer (1–5 stars): close the complaint, or reopen it once if unsatisfied (commits).

    Reopening is for an unsatisfied rating (``clocks.UNSATISFIED_STARS`` or fewer) of a first
    answer; the comment is then the reason, and the centre has a new answer deadline.
    """
    errors: dict[str, str] = {}
    comment = limits.collect_text(errors, "comment", comment, "comment")
    if stars not in STARS:
        errors["stars"] = limits.in_user_language("请选择 1 至 5 星。", "Choose 1 to 5 stars.")
    if errors:
        raise ValidationFailed.marked(errors)
    complaint = get_complaint(session, complaint_id, actor=actor)
    if complaint.raised_by_id != actor.user_id:
        raise Forbidden("只有提出人可以评价。", "Only the person who raised it rates it.")
    if lock_version is not None and complaint.lock_version != lock_version:
        raise Conflict(
            "该诉求已有新的进展，请刷新页面后再评价。",
            "This has moved on; reload the page and rate again.",
        )
    now = now or utcnow()
    if reopen:
        if stars > clocks.UNSATISFIED_STARS:
            raise ValidationFailed.marked(
                {
                    "stars": limits.in_user_language(
                        f"评价为 {clocks.UNSATISFIED_STARS} 星及以下（不满意）时才能要求重新办理。",
                        f"Reopening is for a rating of {clocks.UNSATISFIED_STARS} stars or fewer"
                        " (unsatisfied).",
                    )
                }
            )
        if not comment:
            raise ValidationFailed.marked(
                {
                    "comment": limits.in_user_language(
                        "请写明不满意的原因。", "Say what you are unhappy with."
                    )
                }
            )
        workflow.move(
            session,
            COMPLAINT,
            complaint,
            K.REOPENED,
            by="raiser",
            actor_id=actor.user_id,
            reason=comment,
            data={"stars": stars},
        )
        complaint.first_answer = complaint.answer
        complaint.first_stars = stars
        complaint.reopen_reason = comment
        complaint.reopened_at = now
        complaint.answer_due_at = deadline(session, now, clocks.COMPLAINT_ANSWER_WORKING_DAYS)
        if complaint.assigned_to_id is not None:
            notify(
                session,
                user_id=complaint.assigned_to_id,
                title=(
                    f"诉求被要求重新办理：{complaint.number}",
                    f"Reopened by the complainant: {complaint.number}",
                ),
                body=(comment, ""),
                link=f"/advisor/complaints/{complaint.id}",
            )
    else:
        workflow.move(
            session,
            COMPLAINT,
            complaint,
            K.CLOSED,
            by="raiser",
            actor_id=actor.user_id,
            reason=comment,
            data={"stars": stars},
        )
        complaint.closed_at = now
    complaint.stars = stars
    complaint.rating_comment = comment
    complaint.rated_at = now
    workflow.commit_or_conflict(
        session,
        "该诉求刚刚有新的进展，您的评价未保存；请刷新页面。",
        "This changed at the same moment; your rating was not saved. Reload the page.",
    )
    return complaint


def may_reopen(complaint: Complaint) -> bool:
    """Tell whether the complainant may still reopen it (once, after the first answer)."""
    return COMPLAINT.can(complaint.state, K.REOPENED, "raiser")


def close_unrated(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Close answered complaints left unrated for ``clocks.COMPLAINT_RATING_WORKING_DAYS`` (commits).

    A periodic task: a second run finds nothing left to close. Closed so, a complaint
    counts as not rated, never as satisfied.
    """
    now = now or utcnow()
    # N working days are at least N calendar days: nothing answered since then is due.
    waiting = session.scalars(
        select(Complaint)
        .where(
            Complaint.state.in_(AWAITING_RATING),
            Complaint.answered_at <= now - timedelta(days=clocks.COMPLAINT_RATING_WORKING_DAYS),
        )
        .order_by(Complaint.answered_at, Complaint.id)
    ).all()
    table = holiday_table(session)
    closed = 0
    for complaint in waiting:
        assert complaint.answered_at is not None
        due = add_working_days(complaint.answered_at, clocks.COMPLAINT_RATING_WORKING_DAYS, table)
        if due > now:
            continue
        workflow.move(
            session,
            COMPLAINT,
            complaint,
            K.CLOSED,
            by="system",
            actor_id=None,
            reason="逾期未评价，自动办结",
            data={"rated": False},
        )
        complaint.closed_at = now
        closed += 1
    session.commit()
    return {"closed": closed}


def is_supervising(actor: Actor) -> bool:
    """Tell whether the actor assigns complaints (for the pages)."""
    return supervises(actor)
