"""The advisor's queue: applications waiting for the centre, with filters and deadline warnings (预警)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased, joinedload, selectinload

from finportal import limits
from finportal.domain.states import APPLICATION
from finportal.domain.states import ApplicationState as A
from finportal.models import (
    Application,
    CreditScore,
    Enterprise,
    Match,
    Membership,
    Product,
    ProductVersion,
    User,
    utcnow,
)
from finportal.paging import Page, paginate
from finportal.services.catalog import eager_version
from finportal.services.errors import (
    ValidationFailed,
)
from finportal.services.screening import latest_scores

#: States the queue shows by default.
QUEUE_STATES = APPLICATION.waiting_on("advisor")

#: States an advisor may filter the queue by.
QUEUE_FILTER_STATES = tuple(s for s in A if s in QUEUE_STATES or s in (A.RETURNED, A.REFERRED))


#: Tabs of the queue: the work waiting on the centre, then its history (the ended states:
#: rejected, withdrawn, closed), each titled by the machine.
QUEUE_TAB = "queue"
HISTORY_STATES = tuple(s for s in A if s in APPLICATION.tagged("ended"))
QUEUE_TABS = (QUEUE_TAB, *HISTORY_STATES)
#: A search that is an application's number: "123" or "#123".
APPLICATION_NUMBER = re.compile(r"#?(\d{1,10})")

DEADLINE_FILTERS = {
    "overdue": ("已超时（预警）", "Overdue (warning)"),
    "today": ("今日到期", "Due today"),
    "ok": ("未超时", "Not overdue"),
}


@dataclass(frozen=True)
class QueueItem:
    """One row of the advisor's queue."""

    application: Application
    enterprise: Enterprise
    product_name: str
    grade: str | None
    score: int | None
    due_at: datetime | None
    overdue: bool
    assigned_to: str
    #: How many consistency flags the review page shows (services/consistency.py).
    flags: int = 0


def application_overdue(application: Application, now: datetime | None = None) -> bool:
    """Tell whether the advisor's first response is late (预警)."""
    now = now or utcnow()
    return (
        application.first_response_at is None
        and application.first_response_due_at is not None
        and application.first_response_due_at < now
        and application.state in QUEUE_STATES
    )


def tab_title(tab: str) -> str:
    """Return a tab's title: the queue, or an ended state's title."""
    if tab == QUEUE_TAB:
        return limits.in_user_language("待办", "To do")
    return APPLICATION.title(tab)


def search_condition(text: str) -> Any:
    """SQL: applications whose firm's name holds ``text``, whose firm's USCC starts with it,
    or whose number it is ("123" or "#123")."""
    text = text.strip()
    firms = select(Enterprise.id).where(
        or_(
            Enterprise.name.contains(text, autoescape=True),
            Enterprise.uscc.startswith(text.upper(), autoescape=True),
        )
    )
    clauses = [Application.enterprise_id.in_(firms)]
    number = APPLICATION_NUMBER.fullmatch(text)
    if number and int(number.group(1)) <= limits.MAX_ID:
        clauses.append(Application.id == int(number.group(1)))
    return or_(*clauses)


def tab_counts(session: Session, *, search: str | None = None) -> dict[str, int]:
    """Count the applications of each tab (with the search, if any) in one statement."""
    # One count per state, summed here into the tabs: PostgreSQL counts the groups as it
    # reads the state index in order, about half the time of a CASE per tab for every row.
    stmt = (
        select(Application.state, func.count())
        .where(Application.state.in_((*QUEUE_STATES, *HISTORY_STATES)))
        .group_by(Application.state)
    )
    if search:
        stmt = stmt.where(search_condition(search))
    counts = dict.fromkeys(QUEUE_TABS, 0)
    for state, count in session.execute(stmt):
        counts[QUEUE_TAB if state in QUEUE_STATES else state] += int(count)
    return counts


def _common_filters(
    stmt: Select[tuple[Application]],
    product_code: str | None,
    park_id: int | None,
    chamber_id: int | None,
    grade: str | None,
) -> Select[tuple[Application]]:
    """Apply the filters the queue and its history share: product, park, chamber, grade."""
    if product_code:
        chosen = select(Product.id).where(Product.code == product_code).scalar_subquery()
        matched = (
            select(Match.application_id)
            .join(ProductVersion, ProductVersion.id == Match.product_version_id)
            .join(Product, Product.id == ProductVersion.product_id)
            .where(Product.code == product_code, Match.eligible.is_(True))
        )
        stmt = stmt.where(or_(Application.product_id == chosen, Application.id.in_(matched)))
    if park_id:
        stmt = stmt.where(
            Application.enterprise_id.in_(
                select(Membership.enterprise_id).where(Membership.park_id == park_id)
            )
        )
    if chamber_id:
        stmt = stmt.where(
            Application.enterprise_id.in_(
                select(Membership.enterprise_id).where(Membership.chamber_id == chamber_id)
            )
        )
    if grade:
        # The grade of the application's latest score (the one the queue shows).
        newer = aliased(CreditScore)
        latest = (
            select(func.max(newer.id))
            .where(newer.application_id == CreditScore.application_id)
            .scalar_subquery()
        )
        stmt = stmt.where(
            Application.id.in_(
                select(CreditScore.application_id).where(
                    CreditScore.grade == grade, CreditScore.id == latest
                )
            )
        )
    return stmt


def _queue_statement(
    *,
    tab: str = QUEUE_TAB,
    search: str | None = None,
    status: str | None,
    product_code: str | None,
    park_id: int | None,
    chamber_id: int | None,
    grade: str | None,
    deadline_filter: str | None,
    now: datetime,
) -> Select[tuple[Application]]:
    """Return the queue's query with its filters and order (earliest deadline first)."""
    # No join: the filters and the order need only the application's columns (the search
    # finds the firms in a subquery), so the page's ids and the counts come from the index
    # on (state, deadline, id) alone; the rows' firms are loaded with the page's rows.
    stmt = select(Application)
    if search:
        stmt = stmt.where(search_condition(search))
    if tab != QUEUE_TAB:
        if tab not in HISTORY_STATES:
            raise ValidationFailed("未知的栏目。", "Unknown tab.", fields={"tab": "未知的栏目。"})
        # History: what ended, the latest first; the queue's own filters do not apply.
        stmt = stmt.where(Application.state == tab)
        stmt = _common_filters(stmt, product_code, park_id, chamber_id, grade)
        return stmt.order_by(Application.updated_at.desc(), Application.id.desc())
    if status:
        if status not in QUEUE_FILTER_STATES:
            raise ValidationFailed(
                "未知的申请状态。", "Unknown status.", fields={"status": "未知的申请状态。"}
            )
        stmt = stmt.where(Application.state == status)
    else:
        stmt = stmt.where(Application.state.in_(QUEUE_STATES))
    if deadline_filter == "overdue":
        stmt = stmt.where(
            Application.first_response_at.is_(None),
            Application.first_response_due_at < now,
        )
    elif deadline_filter == "today":
        stmt = stmt.where(
            Application.first_response_at.is_(None),
            Application.first_response_due_at >= now,
            Application.first_response_due_at <= _end_of_day(now),
        )
    elif deadline_filter == "ok":
        stmt = stmt.where(
            or_(
                Application.first_response_at.is_not(None),
                Application.first_response_due_at >= now,
            )
        )
    stmt = _common_filters(stmt, product_code, park_id, chamber_id, grade)
    return stmt.order_by(
        Application.first_response_due_at.is_(None),
        Application.first_response_due_at,
        Application.id,
    )


#: What a queue row shows besides the application: loaded with it, not row by row.
_ROW_OPTIONS = (
    joinedload(Application.enterprise, innerjoin=True),
    selectinload(Application.product),
    eager_version(Application.product_version),
)


def _items(session: Session, applications: list[Application], now: datetime) -> list[QueueItem]:
    """Build the queue rows: scores and advisor names in one statement each."""
    scores = latest_scores(session, [a.id for a in applications])
    advisors = {
        u.id: u.display_name or u.username
        for u in session.scalars(
            select(User).where(
                User.id.in_({a.assigned_advisor_id for a in applications if a.assigned_advisor_id})
            )
        )
    }
    from finportal.services.consistency import flags_of

    # Three set-based statements for the whole page, whatever its length.
    flags = flags_of(session, applications)
    items = []
    for application in applications:
        score = scores.get(application.id)
        version = application.product_version
        if application.product is not None:
            product = application.product
            product_name = limits.in_user_language(
                product.name_zh, product.name_en or product.name_zh
            )
        elif version is not None:
            product = version.product
            product_name = limits.in_user_language(
                product.name_zh + "（匹配）", f"{product.name_en or product.name_zh} (matched)"
            )
        else:
            product_name = limits.in_user_language("由中心匹配", "To be matched by the centre")
        items.append(
            QueueItem(
                application=application,
                enterprise=application.enterprise,
                product_name=product_name,
                grade=score.grade if score else None,
                score=score.score if score else None,
                due_at=application.first_response_due_at,
                overdue=application_overdue(application, now),
                assigned_to=advisors.get(application.assigned_advisor_id or -1, ""),
                flags=len(flags.get(application.id, [])),
            )
        )
    return items


def queue_page(
    session: Session,
    *,
    tab: str = QUEUE_TAB,
    search: str | None = None,
    status: str | None = None,
    product_code: str | None = None,
    park_id: int | None = None,
    chamber_id: int | None = None,
    grade: str | None = None,
    deadline_filter: str | None = None,
    now: datetime | None = None,
    page: int = 1,
    per_page: int = limits.PAGE_SIZE,
) -> Page:
    """Return one page of the queue (items are :class:`QueueItem`) and the queue's length."""
    now = now or utcnow()
    stmt = _queue_statement(
        tab=tab,
        search=search,
        status=status,
        product_code=product_code,
        park_id=park_id,
        chamber_id=chamber_id,
        grade=grade,
        deadline_filter=deadline_filter,
        now=now,
    )
    found = paginate(
        session, stmt, page=page, per_page=per_page, options=_ROW_OPTIONS, keys_first=True
    )
    found.items = _items(session, found.items, now)
    return found


def list_queue(
    session: Session, *, limit: int = limits.PAGE_SIZE, **filters: Any
) -> list[QueueItem]:
    """Return the first ``limit`` rows of the queue (the filters of :func:`queue_page`):
    screened and in-review applications, earliest deadline first."""
    return list(queue_page(session, per_page=limit, **filters).items)


def _end_of_day(now: datetime) -> datetime:
    from finportal.services.workdays import SHANGHAI

    local = now.astimezone(SHANGHAI)
    return local.replace(hour=23, minute=59, second=59, microsecond=0)
