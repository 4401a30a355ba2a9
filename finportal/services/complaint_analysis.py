"""Analysis of complaints and suggestions (分析) and the public report of banks (评价晾晒).

Figures are SQL aggregates, a fixed number of statements whatever the table's size
(medians per group with window functions, which SQLite and PostgreSQL both have):

- volume: complaints and suggestions raised, and those still open;
- acknowledgement time: hours from raising to acknowledgement (受理);
- answer time: hours from raising to the answer that stands (a reopened complaint's
  second answer), so a reopening counts against the time;
- satisfaction: the complainant's stars on closed complaints (unrated ones are left out,
  never counted as satisfied); "unsatisfied" is ``clocks.UNSATISFIED_STARS`` or fewer;
- top theme: the theme raised most often (ties: the first by code).

The public report freezes one period's per-bank figures when a supervisor prepares it;
it is shown on ``/ratings`` only once the centre's head approved it
(``domain/permissions.approves_publication``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, case, func, literal_column, select
from sqlalchemy.orm import Session

from finportal.domain import clocks
from finportal.domain.permissions import Actor, approves_publication, supervises
from finportal.domain.states import ComplaintState as K
from finportal.models import Bank, Complaint, Product, PublishedReport, utcnow
from finportal.services.audit import record_event
from finportal.services.complaints import OPEN_STATES, THEMES
from finportal.services.dashboard import Table, hours_between, t
from finportal.services.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from finportal.services.workdays import SHANGHAI

REPORT_KIND = "bank_ratings"
#: Published reports the public page lists, newest first.
PUBLIC_REPORTS = 12
#: Longest period one report covers (days): a year and a day for a leap year.
MAX_PERIOD_DAYS = 366


@dataclass(frozen=True)
class GroupFigures:
    """The figures of one bank or product."""

    key: int
    count: int
    complaints: int
    suggestions: int
    open: int
    median_ack_hours: float | None
    median_answer_hours: float | None
    rated: int
    average_stars: float | None
    unsatisfied: int
    reopened: int
    top_theme: str | None


def _grouped_medians(session: Session, group: Any, hours: Any, *where: Any) -> dict[int, float]:
    """SQL: the median of ``hours`` per ``group`` (the middle row, or the mean of the two)."""
    ranked = (
        select(
            group.label("g"),
            hours.label("h"),
            func.row_number().over(partition_by=group, order_by=hours).label("rn"),
            func.count().over(partition_by=group).label("n"),
        )
        .where(*where)
        .subquery()
    )
    middle = (ranked.c.rn == (ranked.c.n + 1) / 2) | (ranked.c.rn == (ranked.c.n + 2) / 2)
    return {
        int(g): round(float(h), 2)
        for g, h in session.execute(
            select(ranked.c.g, func.avg(ranked.c.h)).where(middle).group_by(ranked.c.g)
        )
        if g is not None and h is not None
    }


def _top_themes(session: Session, group: Any, *where: Any) -> dict[int, str]:
    """SQL: the most frequent theme per group (ties broken by the theme's code)."""
    counted = (
        select(group.label("g"), Complaint.theme.label("theme"), func.count().label("c"))
        .where(*where)
        .group_by(group, Complaint.theme)
        .subquery()
    )
    ranked = select(
        counted.c.g,
        counted.c.theme,
        func.row_number()
        .over(partition_by=counted.c.g, order_by=(counted.c.c.desc(), counted.c.theme))
        .label("rn"),
    ).subquery()
    return {
        int(g): theme
        for g, theme in session.execute(select(ranked.c.g, ranked.c.theme).where(ranked.c.rn == 1))
        if g is not None
    }


def group_figures(session: Session, group: Any, *where: Any) -> list[GroupFigures]:
    """Return the figures per value of ``group`` (a column) over complaints matching ``where``."""
    closed_stars = case((Complaint.state == K.CLOSED, Complaint.stars))
    counts: Select[Any] = (
        select(
            group,
            func.count(),
            func.count(case((Complaint.kind == "complaint", 1))),
            func.count(case((Complaint.kind == "suggestion", 1))),
            func.count(case((Complaint.state.in_(OPEN_STATES), 1))),
            func.count(closed_stars),
            func.avg(closed_stars),
            func.count(case((closed_stars <= clocks.UNSATISFIED_STARS, 1))),
            func.count(Complaint.reopened_at),
        )
        .where(group.is_not(None), *where)
        .group_by(group)
    )
    ack = _grouped_medians(
        session,
        group,
        hours_between(Complaint.raised_at, Complaint.acknowledged_at),
        group.is_not(None),
        Complaint.acknowledged_at.is_not(None),
        *where,
    )
    answered = _grouped_medians(
        session,
        group,
        hours_between(Complaint.raised_at, Complaint.answered_at),
        group.is_not(None),
        Complaint.answered_at.is_not(None),
        *where,
    )
    themes = _top_themes(session, group, group.is_not(None), *where)
    out = []
    for (
        key,
        n,
        complaints,
        suggestions,
        still_open,
        rated,
        avg,
        unsatisfied,
        reopened,
    ) in session.execute(counts):
        out.append(
            GroupFigures(
                int(key),
                int(n),
                int(complaints),
                int(suggestions),
                int(still_open),
                ack.get(int(key)),
                answered.get(int(key)),
                int(rated),
                round(float(avg), 2) if avg is not None else None,
                int(unsatisfied),
                int(reopened),
                themes.get(int(key)),
            )
        )
    return out


def _theme(code: str | None) -> str:
    if code is None:
        return "—"
    zh, en = THEMES.get(code, (code, code))
    return t(zh, en)


def _names(session: Session, model: Any) -> dict[int, str]:
    return {
        row_id: t(name_zh, name_en or name_zh)
        for row_id, name_zh, name_en in session.execute(
            select(model.id, model.name_zh, model.name_en)
        )
    }


COLUMNS = (
    ("诉求数", "Raised"),
    ("投诉", "Complaints"),
    ("建议", "Suggestions"),
    ("办理中", "Open"),
    ("受理时长中位数（小时）", "Median hours to acknowledge"),
    ("答复时长中位数（小时）", "Median hours to answer"),
    ("已评价", "Rated"),
    ("平均满意度（星）", "Average stars"),
    ("不满意", "Unsatisfied"),
    ("重新办理", "Reopened"),
    ("最多的主题", "Top theme"),
)


def _rows(figures: list[GroupFigures], names: dict[int, str]) -> list[list[Any]]:
    rows = [
        [
            names.get(f.key, "—"),
            f.count,
            f.complaints,
            f.suggestions,
            f.open,
            f.median_ack_hours,
            f.median_answer_hours,
            f.rated,
            f.average_stars,
            f.unsatisfied,
            f.reopened,
            _theme(f.top_theme),
        ]
        for f in figures
    ]
    return sorted(rows, key=lambda r: (-r[1], r[0]))


def complaint_tables(session: Session) -> dict[str, Table]:
    """Return the dashboard's complaint tables: by subject, by bank and by product."""
    note = t(
        "答复时长计至最终答复（重新办理的计至再次答复）；满意度只计已办结且已评价的诉求，"
        f"{clocks.UNSATISFIED_STARS} 星及以下为不满意。",
        "Answer time runs to the answer that stands (a reopened one's second answer);"
        " satisfaction counts closed, rated complaints only; "
        f"{clocks.UNSATISFIED_STARS} stars or fewer is unsatisfied.",
    )
    columns = [t(zh, en) for zh, en in COLUMNS]
    # The subject (about) as a number so the same grouping serves all three tables.
    subjects = ("bank", "product", "centre", "portal")
    subject_index = case(
        *((Complaint.about == s, literal_column(str(i + 1))) for i, s in enumerate(subjects))
    )
    from finportal.services.complaints import ABOUT

    subject_names = {i + 1: t(*ABOUT[s]) for i, s in enumerate(subjects)}
    return {
        "complaints_by_subject": Table(
            "complaints_by_subject",
            t("诉求：按对象", "Complaints and suggestions by subject"),
            [t("对象", "Subject"), *columns],
            _rows(group_figures(session, subject_index), subject_names),
            note=note,
        ),
        "complaints_by_bank": Table(
            "complaints_by_bank",
            t("诉求：按银行", "Complaints and suggestions by bank"),
            [t("银行", "Bank"), *columns],
            _rows(
                group_figures(session, Complaint.bank_id, Complaint.about == "bank"),
                _names(session, Bank),
            ),
            note=note,
        ),
        "complaints_by_product": Table(
            "complaints_by_product",
            t("诉求：按产品", "Complaints and suggestions by product"),
            [t("产品", "Product"), *columns],
            _rows(
                group_figures(session, Complaint.product_id, Complaint.about == "product"),
                _names(session, Product),
            ),
            note=note,
        ),
    }


# --- the public report (评价晾晒) ----------------------------------------------------------


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Return the period as [start 00:00, the day after end 00:00) in Shanghai."""
    return (
        datetime.combine(start, time.min, SHANGHAI),
        datetime.combine(end + timedelta(days=1), time.min, SHANGHAI),
    )


def bank_figures(session: Session, start: date, end: date) -> list[dict[str, Any]]:
    """Return each bank's figures on complaints about it raised in the period (dates inclusive)."""
    low, high = _bounds(start, end)
    figures = group_figures(
        session,
        Complaint.bank_id,
        Complaint.about == "bank",
        Complaint.raised_at >= low,
        Complaint.raised_at < high,
    )
    banks = {
        b.id: b for b in session.scalars(select(Bank).where(Bank.id.in_([f.key for f in figures])))
    }
    rows = []
    for f in figures:
        bank = banks.get(f.key)
        rows.append(
            {
                "bank_zh": bank.name_zh if bank else "—",
                "bank_en": (bank.name_en or bank.name_zh) if bank else "—",
                "count": f.count,
                "median_ack_hours": f.median_ack_hours,
                "median_answer_hours": f.median_answer_hours,
                "rated": f.rated,
                "average_stars": f.average_stars,
                "unsatisfied": f.unsatisfied,
            }
        )
    return sorted(rows, key=lambda r: (-r["count"], r["bank_zh"]))


def prepare_report(
    session: Session, *, actor: Actor, start: date, end: date, now: datetime | None = None
) -> PublishedReport:
    """Freeze a period's per-bank figures as a draft for the head to approve (commits)."""
    if not supervises(actor):
        raise Forbidden(
            "只有督导顾问或中心负责人可以准备公开报告。",
            "Only a supervisor or the centre's head prepares a public report.",
        )
    if end < start:
        raise ValidationFailed.marked(
            {"end": t("结束日期不能早于开始日期。", "The end cannot be before the start.")}
        )
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise ValidationFailed.marked(
            {"end": t("一份报告最长覆盖一年。", "One report covers a year at most.")}
        )
    report = PublishedReport(
        kind=REPORT_KIND,
        state="draft",
        data={
            "start": start.isoformat(),
            "end": end.isoformat(),
            "rows": bank_figures(session, start, end),
        },
        prepared_by_id=actor.user_id,
        prepared_at=now or utcnow(),
    )
    session.add(report)
    session.flush()
    record_event(
        session,
        actor_id=actor.user_id,
        action="report.prepared",
        object_type="published_report",
        object_id=report.id,
        to_state="draft",
        data={"start": start.isoformat(), "end": end.isoformat()},
    )
    session.commit()
    return report


def _report(session: Session, report_id: int) -> PublishedReport:
    report = session.get(PublishedReport, report_id)
    if report is None or report.kind != REPORT_KIND:
        raise NotFound.of("report")
    return report


def approve_report(
    session: Session, report_id: int, *, actor: Actor, now: datetime | None = None
) -> PublishedReport:
    """Approve a draft for the public page; only the centre's head may (commits)."""
    if not approves_publication(actor):
        raise Forbidden(
            "只有中心负责人可以批准公开。", "Only the centre's head approves publication."
        )
    report = _report(session, report_id)
    if report.state != "draft":
        raise InvalidTransition(
            "只有草稿可以批准公开。", "Only a draft can be approved for publication."
        )
    report.state = "approved"
    report.approved_by_id = actor.user_id
    report.approved_at = now or utcnow()
    record_event(
        session,
        actor_id=actor.user_id,
        action="report.approved",
        object_type="published_report",
        object_id=report.id,
        from_state="draft",
        to_state="approved",
    )
    session.commit()
    return report


def withdraw_report(
    session: Session, report_id: int, *, actor: Actor, now: datetime | None = None
) -> PublishedReport:
    """Take a report off the public page (or drop a draft); only the head may (commits)."""
    if not approves_publication(actor):
        raise Forbidden(
            "只有中心负责人可以撤下报告。", "Only the centre's head withdraws a report."
        )
    report = _report(session, report_id)
    if report.state == "withdrawn":
        raise InvalidTransition("该报告已撤下。", "The report was already withdrawn.")
    before = report.state
    report.state = "withdrawn"
    report.withdrawn_at = now or utcnow()
    record_event(
        session,
        actor_id=actor.user_id,
        action="report.withdrawn",
        object_type="published_report",
        object_id=report.id,
        from_state=before,
        to_state="withdrawn",
    )
    session.commit()
    return report


def reports(
    session: Session, *, approved_only: bool, limit: int = PUBLIC_REPORTS
) -> list[PublishedReport]:
    """Return reports newest first: every one for the centre, approved ones for the public."""
    stmt = select(PublishedReport).where(PublishedReport.kind == REPORT_KIND)
    if approved_only:
        stmt = stmt.where(PublishedReport.state == "approved")
    return list(
        session.scalars(
            stmt.order_by(PublishedReport.prepared_at.desc(), PublishedReport.id.desc()).limit(
                limit
            )
        )
    )


#: Report states as the pages name them. (zh, en)
REPORT_STATES = {
    "draft": ("待批准", "Awaiting approval"),
    "approved": ("已公开", "Published"),
    "withdrawn": ("已撤下", "Withdrawn"),
}
