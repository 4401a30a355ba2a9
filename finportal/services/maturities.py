"""When each running loan matures: from the bank's disbursement and term, or as the SME typed it.

The one rule (issue 13, 续贷): a loan the portal referred matures on the day the bank
reported it disbursed (``LoanOutcome`` ``disbursed``, ``occurred_on``) plus the term the bank
approved (``BankDecision.term_months`` of its last approval) — :func:`maturity_date`. It runs
while its referral is in a lent state that is not final (disbursed, overdue 90 days); a loan
the bank reported repaid (or defaulted) has ended and has no maturity to remind of.

Where the portal has no bank event, the SME's own figure is read: the profile field
``loan_maturing_within_days`` (现有贷款距到期天数), counted from the day it was typed
(the audit event of the profile edit that set it, else the profile's last change). It is
marked as the firm's own figure wherever it is shown, and it gives way to the bank's
events: a firm with a running bank-reported loan, or with a bank event on or after the
day it typed the figure, has no SME-typed maturity.

Every page, the reminder job and the renewal pre-check read :func:`running_loans`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from finportal.domain.states import REFERRAL
from finportal.domain.states import ReferralState as R
from finportal.models import (
    Application,
    AuditEvent,
    Bank,
    BankDecision,
    Enterprise,
    LoanOutcome,
    Referral,
)
from finportal.paging import Page
from finportal.services.errors import NotFound
from finportal.services.workdays import SHANGHAI

#: Referral states of a loan still running: money went out and the loan has not ended.
RUNNING = REFERRAL.tagged("lent") - REFERRAL.final
#: The profile field where the SME types when its current loan matures (in days from then).
TYPED_FIELD = "loan_maturing_within_days"
#: The audit action of a profile edit (``services/profile_form.save_profile``).
PROFILE_EDIT = "enterprise.profile_updated"

#: Where a maturity comes from, as every page and reminder names it. (zh, en)
SOURCES = {
    "bank": ("银行放款记录", "the bank's disbursement record"),
    "sme": ("企业自行填报", "typed by the enterprise"),
}


def maturity_date(disbursed_on: date, term_months: int) -> date:
    """Return the day a loan matures: the disbursal day plus the approved term in months.

    A month-end day stays in its month (31 January + 1 month is 28 or 29 February), as
    loan contracts count terms.
    """
    return disbursed_on + relativedelta(months=int(term_months))


def typed_maturity(typed_on: date, days: int) -> date:
    """Return the day the SME's loan matures: ``days`` after the day it typed the figure."""
    return date.fromordinal(typed_on.toordinal() + int(days))


@dataclass(frozen=True)
class Loan:
    """A running loan of an enterprise and the day it matures."""

    source: str  # "bank" or "sme" (SOURCES)
    enterprise_id: int
    enterprise_name: str
    maturity: date
    referral_id: int | None = None
    application_id: int | None = None
    bank_id: int | None = None
    bank_name_zh: str = ""
    bank_name_en: str = ""
    product_version_id: int | None = None
    state: str = ""
    disbursed_on: date | None = None
    #: Disbursed amount, yuan (the SME-typed loan: its current loan balance, if typed).
    amount: Decimal | None = None
    term_months: int | None = None
    #: Annual rate as a decimal fraction (0.035 = 3.5 % per year), as the bank approved it.
    annual_rate: Decimal | None = None
    #: The advisor who referred the loan (or took the application); None when unknown.
    advisor_id: int | None = None
    #: The day the SME typed its figure (source "sme").
    typed_on: date | None = None

    @property
    def key(self) -> str:
        """Return the loan's stable key: ``bank-<referral>`` or ``sme-<enterprise>-<maturity>``."""
        if self.source == "bank":
            return f"bank-{self.referral_id}"
        return f"sme-{self.enterprise_id}-{self.maturity:%Y%m%d}"

    def days_left(self, today: date) -> int:
        """Return the days from ``today`` to maturity (negative once it has passed)."""
        return (self.maturity - today).days

    @property
    def source_words(self) -> tuple[str, str]:
        """Return where the maturity comes from (中文, English)."""
        return SOURCES[self.source]


def _latest_approvals(session: Session, referral_ids: Sequence[int]) -> dict[int, BankDecision]:
    found: dict[int, BankDecision] = {}
    if referral_ids:
        for decision in session.scalars(
            select(BankDecision)
            .where(BankDecision.referral_id.in_(referral_ids), BankDecision.decision == R.APPROVED)
            .order_by(BankDecision.decided_at, BankDecision.id)
        ):
            found[decision.referral_id] = decision  # the last approval wins
    return found


def bank_loans(session: Session, *, enterprise_ids: Iterable[int] | None = None) -> list[Loan]:
    """Return the running loans the banks reported, with their maturities, by maturity."""
    first_disbursal = (
        select(
            LoanOutcome.referral_id.label("referral_id"),
            func.min(LoanOutcome.id).label("outcome_id"),
        )
        .where(LoanOutcome.event == R.DISBURSED)
        .group_by(LoanOutcome.referral_id)
        .subquery()
    )
    stmt = (
        select(Referral, Application, Enterprise, Bank, LoanOutcome)
        .join(Application, Application.id == Referral.application_id)
        .join(Enterprise, Enterprise.id == Application.enterprise_id)
        .join(Bank, Bank.id == Referral.bank_id)
        .join(first_disbursal, first_disbursal.c.referral_id == Referral.id)
        .join(LoanOutcome, LoanOutcome.id == first_disbursal.c.outcome_id)
        .where(Referral.state.in_(RUNNING))
        .order_by(Referral.id)
    )
    if enterprise_ids is not None:
        stmt = stmt.where(Application.enterprise_id.in_(list(enterprise_ids)))
    rows = session.execute(stmt).all()
    approvals = _latest_approvals(session, [row[0].id for row in rows])
    loans = []
    for referral, application, enterprise, bank, disbursal in rows:
        approval = approvals.get(referral.id)
        if approval is None or not approval.term_months:
            continue  # no approved term: nothing says when the loan matures
        loans.append(
            Loan(
                source="bank",
                enterprise_id=enterprise.id,
                enterprise_name=enterprise.name,
                maturity=maturity_date(disbursal.occurred_on, approval.term_months),
                referral_id=referral.id,
                application_id=application.id,
                bank_id=bank.id,
                bank_name_zh=bank.name_zh,
                bank_name_en=bank.name_en or bank.name_zh,
                product_version_id=referral.product_version_id,
                state=referral.state,
                disbursed_on=disbursal.occurred_on,
                amount=disbursal.amount,
                term_months=approval.term_months,
                annual_rate=approval.annual_rate,
                advisor_id=referral.created_by_id or application.assigned_advisor_id,
            )
        )
    return sorted(loans, key=lambda loan: (loan.maturity, loan.referral_id or 0))


def _typed_on(session: Session, enterprises: Sequence[Enterprise]) -> dict[int, date]:
    """Return the day each enterprise last typed its loan's days to maturity.

    The latest profile edit whose audited fields include the figure; an enterprise whose
    figure was set without an audited edit (imported, seeded) counts from its last change.
    """
    found: dict[int, date] = {}
    ids = [e.id for e in enterprises]
    if ids:
        for event in session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.object_type == "enterprise",
                AuditEvent.object_id.in_(ids),
                AuditEvent.action == PROFILE_EDIT,
            )
            .order_by(AuditEvent.at, AuditEvent.id)
        ):
            if TYPED_FIELD in ((event.data or {}).get("fields") or []):
                found[int(event.object_id or 0)] = event.at.astimezone(SHANGHAI).date()
    for enterprise in enterprises:
        found.setdefault(enterprise.id, _local_day(enterprise.updated_at))
    return found


def _local_day(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def _last_bank_events(session: Session, enterprise_ids: Sequence[int]) -> dict[int, date]:
    """Return the day of each enterprise's latest loan event reported by a bank."""
    if not enterprise_ids:
        return {}
    rows = session.execute(
        select(Application.enterprise_id, func.max(LoanOutcome.occurred_on))
        .join(Referral, Referral.id == LoanOutcome.referral_id)
        .join(Application, Application.id == Referral.application_id)
        .where(Application.enterprise_id.in_(list(enterprise_ids)))
        .group_by(Application.enterprise_id)
    ).all()
    return {int(eid): day for eid, day in rows if day is not None}


def _advisors(session: Session, enterprise_ids: Sequence[int]) -> dict[int, int]:
    """Return each enterprise's advisor: the one assigned to its latest application."""
    found: dict[int, int] = {}
    if enterprise_ids:
        for eid, advisor_id in session.execute(
            select(Application.enterprise_id, Application.assigned_advisor_id)
            .where(
                Application.enterprise_id.in_(list(enterprise_ids)),
                Application.assigned_advisor_id.is_not(None),
            )
            .order_by(Application.created_at, Application.id)
        ):
            found[int(eid)] = int(advisor_id)  # the latest wins
    return found


def typed_loans(
    session: Session,
    *,
    today: date,
    enterprise_ids: Iterable[int] | None = None,
    exclude: Iterable[int] = (),
) -> list[Loan]:
    """Return the SME-typed maturities still ahead, of firms without a bank event since.

    ``exclude`` are enterprises with a running bank-reported loan (their figure gives way).
    """
    stmt = select(Enterprise).where(
        Enterprise.loan_maturing_within_days.is_not(None),
        Enterprise.loan_maturing_within_days >= 0,
    )
    if enterprise_ids is not None:
        stmt = stmt.where(Enterprise.id.in_(list(enterprise_ids)))
    skip = set(exclude)
    # A figure counted from the profile's last change is the latest it can mature: a
    # firm whose figure had run out even then needs no look at its history.
    candidates = [
        e
        for e in session.scalars(stmt.order_by(Enterprise.id))
        if e.id not in skip
        and typed_maturity(_local_day(e.updated_at), e.loan_maturing_within_days or 0) >= today
    ]
    typed = _typed_on(session, candidates)
    events = _last_bank_events(session, [e.id for e in candidates])
    advisors = _advisors(session, [e.id for e in candidates])
    loans = []
    for enterprise in candidates:
        typed_on = typed[enterprise.id]
        maturity = typed_maturity(typed_on, enterprise.loan_maturing_within_days or 0)
        last_event = events.get(enterprise.id)
        if maturity < today or (last_event is not None and last_event >= typed_on):
            continue
        balance = enterprise.existing_loan_balance
        loans.append(
            Loan(
                source="sme",
                enterprise_id=enterprise.id,
                enterprise_name=enterprise.name,
                maturity=maturity,
                amount=balance if balance else None,
                advisor_id=advisors.get(enterprise.id),
                typed_on=typed_on,
            )
        )
    return loans


def running_loans(
    session: Session, *, today: date, enterprise_ids: Iterable[int] | None = None
) -> list[Loan]:
    """Return every running loan (bank-reported, else SME-typed), by maturity."""
    ids = list(enterprise_ids) if enterprise_ids is not None else None
    banked = bank_loans(session, enterprise_ids=ids)
    typed = typed_loans(
        session, today=today, enterprise_ids=ids, exclude={loan.enterprise_id for loan in banked}
    )
    return sorted(
        banked + typed, key=lambda loan: (loan.maturity, loan.enterprise_id, loan.referral_id or 0)
    )


def loans_of(session: Session, enterprise_id: int, *, today: date) -> list[Loan]:
    """Return one enterprise's running loans, by maturity."""
    return running_loans(session, today=today, enterprise_ids=[enterprise_id])


def get_loan(session: Session, enterprise_id: int | None, key: str, *, today: date) -> Loan:
    """Return one of the enterprise's running loans by its key; ``NotFound`` otherwise."""
    if enterprise_id is not None:
        for loan in loans_of(session, enterprise_id, today=today):
            if loan.key == key:
                return loan
    raise NotFound("没有这笔在贷贷款（可能已结清）。", "No such running loan (it may be repaid).")


def loan_of_referral(session: Session, referral_id: int) -> Loan | None:
    """Return the running loan of a referral, or None when it is not (or no longer) running."""
    found = bank_loans_of_referrals(session, [referral_id])
    return found.get(referral_id)


def bank_loans_of_referrals(session: Session, referral_ids: Sequence[int]) -> dict[int, Loan]:
    """Return the running loans of several referrals, by referral id."""
    if not referral_ids:
        return {}
    ids = session.scalars(
        select(Application.enterprise_id)
        .join(Referral, and_(Referral.application_id == Application.id))
        .where(Referral.id.in_(list(referral_ids)))
    ).all()
    wanted = set(referral_ids)
    return {
        loan.referral_id: loan
        for loan in bank_loans(session, enterprise_ids=set(ids))
        if loan.referral_id in wanted and loan.referral_id is not None
    }


def loans_page(
    session: Session,
    *,
    today: date,
    within_days: int | None = None,
    advisor_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Return one page of the district's running loans by maturity (the advisor's list).

    ``within_days`` keeps loans maturing within that many days (matured ones included:
    the bank has not reported them repaid); ``advisor_id`` keeps that advisor's firms.
    """
    loans = running_loans(session, today=today)
    if within_days is not None:
        loans = [loan for loan in loans if loan.days_left(today) <= within_days]
    if advisor_id is not None:
        loans = [loan for loan in loans if loan.advisor_id == advisor_id]
    page = max(1, page)
    start = (page - 1) * per_page
    return Page(loans[start : start + per_page], len(loans), page, per_page)
