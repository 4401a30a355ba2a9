"""The escalation ladder (预警): overdue work goes to the supervisors, then to the centre's head.

An item is overdue when the deadline it now runs against has passed: an application
waiting for the advisor's first response (``first_response_due_at``), a complaint waiting
for acknowledgement (``ack_due_at``) or an answer (``answer_due_at``), a need no bank
claimed waiting for the advisors' follow-up (``handle_due_at``). Each rung of
``domain/clocks.LADDER`` is reached a number of working days after the missed deadline
and is stored once per item and rung (:class:`~finportal.models.Escalation`); the
advisors of the rung's duty get one notification per run listing what reached them.

:func:`escalate_overdue` is a periodic task (``jobs.PERIODIC``) and a command
(``flask --app wsgi escalations run [--now ...]``). It is idempotent: a second run at the
same time changes nothing. When an item meets its deadline (it is acknowledged,
answered, taken up) its open rungs are resolved; when it later misses a new deadline (a
reopened complaint's answer), the rungs are reached again for that deadline and each
time is an audit event.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal.domain import clocks
from finportal.domain.states import APPLICATION, COMPLAINT, NEED
from finportal.models import Application, Complaint, Escalation, Need, User, utcnow
from finportal.services.assignment import need_overdue
from finportal.services.audit import record_event
from finportal.services.complaints import OPEN_STATES, current_deadline, overdue_condition
from finportal.services.notifications import notify
from finportal.services.workdays import add_working_days, holiday_table

#: Items of each kind the ladder watches, as the escalation rows name them.
APPLICATION_TYPE = APPLICATION.name
COMPLAINT_TYPE = COMPLAINT.name
NEED_TYPE = NEED.name
#: Items listed by name in one notification (the rest are counted).
LISTED = 10


@dataclass(frozen=True)
class Overdue:
    """An item past its deadline: what it is, the deadline, who holds it, how it is called."""

    object_type: str
    object_id: int
    due_at: datetime
    assignee_id: int | None
    label_zh: str
    label_en: str
    link: str


def _overdue_items(session: Session, now: datetime) -> list[Overdue]:
    """Return every application, complaint and need past its current deadline (three statements)."""
    items = []
    apps = session.execute(
        select(Application.id, Application.first_response_due_at, Application.assigned_advisor_id)
        .where(
            Application.state.in_(APPLICATION.waiting_on("advisor")),
            Application.first_response_at.is_(None),
            Application.first_response_due_at < now,
        )
        .order_by(Application.first_response_due_at, Application.id)
    )
    for app_id, due, assignee in apps:
        items.append(
            Overdue(
                APPLICATION_TYPE,
                app_id,
                due,
                assignee,
                f"申请 #{app_id}（顾问首次响应）",
                f"Application #{app_id} (first response)",
                f"/advisor/applications/{app_id}",
            )
        )
    complaints = session.scalars(
        select(Complaint)
        .where(Complaint.state.in_(OPEN_STATES), overdue_condition(now))
        .order_by(Complaint.id)
    )
    for complaint in complaints:
        due = current_deadline(complaint)
        assert due is not None
        step = ("受理", "acknowledgement") if complaint.state == "submitted" else ("答复", "answer")
        items.append(
            Overdue(
                COMPLAINT_TYPE,
                complaint.id,
                due,
                complaint.assigned_to_id,
                f"诉求 {complaint.number}（{step[0]}）",
                f"{complaint.number} ({step[1]})",
                f"/advisor/complaints/{complaint.id}",
            )
        )
    late_needs = session.execute(
        select(Need.id, Need.number, Need.handle_due_at, Need.assigned_advisor_id)
        .where(need_overdue(now))
        .order_by(Need.handle_due_at, Need.id)
    )
    for need_id, number, due, assignee in late_needs:
        items.append(
            Overdue(
                NEED_TYPE,
                need_id,
                due,
                assignee,
                f"融资需求 {number}（顾问跟进）",
                f"Need {number} (advisor follow-up)",
                f"/advisor/needs/{need_id}",
            )
        )
    return items


def _same_time(a: datetime, b: datetime) -> bool:
    return abs((a - b).total_seconds()) < 1


def escalate_overdue(session: Session, now: datetime | None = None) -> dict[str, int]:
    """Reach the ladder's rungs for overdue work, tell whom each rung names, resolve the met (commits)."""
    now = now or utcnow()
    table = holiday_table(session)
    items = _overdue_items(session, now)
    recipients = {rung.duty: _with_duty(session, rung.duty) for rung in clocks.LADDER}
    by_key = {(i.object_type, i.object_id): i for i in items}
    # The rows of every item that is overdue now or has an open rung: one statement.
    open_rows = list(
        session.scalars(
            select(Escalation).where(Escalation.resolved_at.is_(None)).order_by(Escalation.id)
        )
    )
    keys = {(i.object_type, i.object_id) for i in items}
    rows: dict[tuple[str, int, int], Escalation] = {}
    if keys:
        for kind in {k[0] for k in keys}:
            ids = [k[1] for k in keys if k[0] == kind]
            for start in range(0, len(ids), 500):
                for row in session.scalars(
                    select(Escalation).where(
                        Escalation.object_type == kind,
                        Escalation.object_id.in_(ids[start : start + 500]),
                    )
                ):
                    rows[(row.object_type, row.object_id, row.level)] = row
    resolved = 0
    for row in open_rows:
        item = by_key.get((row.object_type, row.object_id))
        if item is None or not _same_time(item.due_at, row.due_at):
            # The deadline was met (or replaced by a new one): this rung is done.
            row.resolved_at = now
            resolved += 1
    told: dict[int, list[Overdue]] = defaultdict(list)
    reached = 0
    for item in items:
        for rung in clocks.LADDER:
            if now < add_working_days(item.due_at, rung.after_working_days, table):
                continue
            row = rows.get((item.object_type, item.object_id, rung.level))
            if row is not None and _same_time(row.due_at, item.due_at):
                continue  # reached before for this deadline
            if row is None:
                row = Escalation(
                    object_type=item.object_type, object_id=item.object_id, level=rung.level
                )
                session.add(row)
                rows[(item.object_type, item.object_id, rung.level)] = row
            row.due_at = item.due_at
            row.at = now
            row.assignee_id = item.assignee_id
            row.resolved_at = None
            reached += 1
            record_event(
                session,
                actor_id=None,
                action=f"{item.object_type}.escalated",
                object_type=item.object_type,
                object_id=item.object_id,
                reason=rung.title_zh,
                data={"level": rung.level, "duty": rung.duty, "due_at": item.due_at.isoformat()},
            )
            for user_id in recipients[rung.duty]:
                told[user_id].append(item)
    for user_id, reached_items in told.items():
        _tell(session, user_id, reached_items)
    session.commit()
    return {"overdue": len(items), "escalated": reached, "resolved": resolved}


def _with_duty(session: Session, duty: str) -> list[int]:
    """Return the active advisors of a duty (supervisor, head)."""
    return list(
        session.scalars(
            select(User.id)
            .where(User.role == "advisor", User.duty == duty, User.active.is_(True))
            .order_by(User.id)
        )
    )


def _tell(session: Session, user_id: int, items: list[Overdue]) -> None:
    """One notification per person and run: what reached them, the first few by name."""
    names_zh = "；".join(i.label_zh for i in items[:LISTED])
    names_en = "; ".join(i.label_en for i in items[:LISTED])
    more = len(items) - LISTED
    if more > 0:
        names_zh += f"；另有 {more} 项"
        names_en += f"; and {more} more"
    notify(
        session,
        user_id=user_id,
        title=(
            f"超时预警：{len(items)} 项工作已升级给您",
            f"Overdue: {len(items)} item(s) escalated to you",
        ),
        body=(names_zh, names_en),
        link=items[0].link if len(items) == 1 else "/advisor/assignment?tab=overdue",
    )


def escalation_task(session: Session) -> Any:
    """Run the ladder now and close complaints left unrated (the periodic task)."""
    from finportal.services.complaints import close_unrated

    result = escalate_overdue(session)
    result.update(close_unrated(session))
    return result


# --- command line ------------------------------------------------------------------------

escalations_cli = AppGroup("escalations", help="Overdue work: the escalation ladder (预警).")


@escalations_cli.command("run")
@click.option(
    "--now",
    "now_text",
    default=None,
    help="Act as if it were this time (ISO 8601 with a zone, e.g. 2026-12-03T10:00+08:00).",
)
@with_appcontext
def run_command(now_text: str | None) -> None:
    """Escalate overdue work and close complaints left unrated (what the hourly task does)."""
    from finportal.extensions import db
    from finportal.services.complaints import close_unrated

    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError as exc:
            raise click.BadParameter(f"not an ISO 8601 time: {now_text}") from exc
        if now.tzinfo is None:
            raise click.BadParameter("give the time zone, e.g. +08:00")
    result = escalate_overdue(db.session, now)
    result.update(close_unrated(db.session, now))
    click.echo(" ".join(f"{k}={v}" for k, v in result.items()))


@escalations_cli.command("duty")
@click.argument("username")
@click.argument("duty", type=click.Choice(["supervisor", "head", "none"]))
@with_appcontext
def duty_command(username: str, duty: str) -> None:
    """Give an advisor the supervisor's or the head's duty (or none): who the ladder tells."""
    from finportal.extensions import db
    from finportal.services.assignment import set_duty
    from finportal.services.errors import ServiceError

    try:
        user = set_duty(db.session, username, None if duty == "none" else duty, actor_id=None)
    except ServiceError as exc:
        raise click.ClickException(exc.message_en) from exc
    click.echo(f"{user.username}: duty={user.duty}")
