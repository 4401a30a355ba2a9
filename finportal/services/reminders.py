"""Maturity reminders (到期提醒) with the renewal pre-check, to the firm and its advisor.

At :data:`REMINDER_DAYS` days before a running loan matures (``services/maturities``), the
firm and its advisor get an in-portal notification with the renewal pre-check
(``services/renewals``). Each reminder is sent once: its notification carries a unique
dedupe key (loan, stage, recipient), so the job may run every hour, twice at once, or after
a missed day — it sends what is due and nothing twice. A job that first sees a loan inside
a later stage (recorded late, or the job did not run) sends that stage only: a firm 20 days
from maturity is not told it has 90 days.

Run it with ``flask --app wsgi reminders run [--today YYYY-MM-DD]``; it is also the periodic
task ``maturity_reminders`` (``finportal.jobs.PERIODIC``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from finportal.models import Notification
from finportal.services import maturities, notifications, renewals
from finportal.services.maturities import Loan
from finportal.services.workdays import today_local

log = logging.getLogger(__name__)

#: Days before maturity at which the firm and its advisor are reminded (issue 13: 90 / 30 / 7),
#: latest first. The first matches the renewal product's window of 90 days.
REMINDER_DAYS = (90, 30, 7)
#: The notification kind of a reminder (``services/notifications.KINDS``).
KIND = "maturity"
#: Where each recipient reads about its loans.
FIRM_LINK = "/sme/loans"
ADVISOR_LINK = "/advisor/maturities"


def stage_of(days_left: int) -> int | None:
    """Return the reminder stage a loan is in: the nearest of REMINDER_DAYS at or above the days
    left (None before the first stage or once the loan has matured)."""
    if days_left < 0:
        return None
    inside = [d for d in REMINDER_DAYS if days_left <= d]
    return min(inside) if inside else None


def dedupe_key(loan: Loan, stage: int, recipient: str) -> str:
    """Return the unique key of one reminder of one loan to one recipient."""
    return f"{KIND}:{loan.key}:{stage}:{recipient}"


@dataclass(frozen=True)
class Due:
    """A reminder due: the loan, its stage and who gets it (``firm`` or ``advisor:<id>``)."""

    loan: Loan
    stage: int
    recipient: str

    @property
    def key(self) -> str:
        """Return the reminder's dedupe key."""
        return dedupe_key(self.loan, self.stage, self.recipient)


def due_reminders(session: Session, *, today: date) -> list[Due]:
    """Return the reminders due today that were not sent yet, by maturity."""
    due = []
    until = today + timedelta(days=max(REMINDER_DAYS))
    for loan in maturities.running_loans(session, today=today, since=today, until=until):
        stage = stage_of(loan.days_left(today))
        if stage is None:
            continue
        due.append(Due(loan, stage, "firm"))
        if loan.advisor_id is not None:
            due.append(Due(loan, stage, f"advisor:{loan.advisor_id}"))
    sent = _sent_keys(session, [d.key for d in due])
    return [d for d in due if d.key not in sent]


def _sent_keys(session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found.update(
            session.scalars(
                select(Notification.dedupe_key).where(Notification.dedupe_key.in_(chunk))
            )
        )
    return found


def _words(due: Due, check: renewals.PreCheck) -> tuple[tuple[str, str], tuple[str, str]]:
    loan = due.loan
    days = loan.days_left(check.as_of)
    when = loan.maturity.isoformat()
    if loan.source == "bank":
        what_zh = f"{loan.enterprise_name}在{loan.bank_name_zh}的贷款（推荐 #{loan.referral_id}）"
        what_en = (
            f"The loan of {loan.enterprise_name} from {loan.bank_name_en}"
            f" (referral #{loan.referral_id})"
        )
        source_zh, source_en = loan.source_words
    else:
        what_zh = f"{loan.enterprise_name}的现有贷款"
        what_en = f"The current loan of {loan.enterprise_name}"
        source_zh = f"{loan.source_words[0]}，{loan.typed_on} 填写"
        source_en = f"{loan.source_words[1]} on {loan.typed_on}"
    title = (
        f"贷款将于 {days} 天后到期（{when}）",
        f"A loan matures in {days} days ({when})",
    )
    summary = check.summary()
    body = (
        f"{what_zh}将于 {when} 到期，还有 {days} 天（到期日依据：{source_zh}）。{summary[0]}",
        f"{what_en} matures on {when}, in {days} days (maturity from {source_en}). {summary[1]}",
    )
    return title, body


def _send(session: Session, due: Due, check: renewals.PreCheck) -> bool:
    """Add one reminder in a savepoint; False when another run sent it first."""
    title, body = _words(due, check)
    firm = due.recipient == "firm"
    try:
        with session.begin_nested():
            notifications.notify(
                session,
                title=title,
                body=body,
                link=FIRM_LINK if firm else ADVISOR_LINK,
                enterprise_id=due.loan.enterprise_id if firm else None,
                user_id=None if firm else int(due.recipient.partition(":")[2]),
                kind=KIND,
                dedupe_key=due.key,
            )
    except IntegrityError:
        return False  # the same reminder went out from a run at the same time
    return True


def run_reminders(session: Session, *, today: date | None = None) -> dict[str, Any]:
    """Send the maturity reminders due on ``today`` (Shanghai's today by default); commits.

    Safe to run at any time and as often as wanted: a reminder already sent is skipped.
    """
    today = today or today_local()
    due = due_reminders(session, today=today)
    checks = renewals.prechecks(session, {d.loan.key: d.loan for d in due}.values(), today=today)
    sent = 0
    for item in due:
        if _send(session, item, checks[item.loan.key]):
            sent += 1
    session.commit()
    result = {
        "today": today.isoformat(),
        "due": len(due),
        "sent": sent,
        "loans": len({d.loan.key for d in due}),
    }
    if sent:
        log.info("maturity reminders: %s", result)
    return result


def periodic(session: Session) -> dict[str, Any]:
    """Run the reminders as a periodic task (``finportal.jobs.PERIODIC``)."""
    return run_reminders(session)


def sent_to_user(session: Session, user_id: int, *, limit: int = 10) -> list[Notification]:
    """Return the latest maturity reminders sent to a user (an advisor), newest first."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id, Notification.kind == KIND)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )
