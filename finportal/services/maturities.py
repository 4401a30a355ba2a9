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
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import Boolean, and_, case, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

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
from finportal.models.base import UTCDateTime
from finportal.paging import Page, shown_page
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
    """Return the day the SME's loan matures: ``days`` after the day it typed the figure.

    A figure stored before the field had its maximum may lie past the calendar's last day:
    it matures on that day (never ahead of anything the lists show), not with an error.
    """
    return date.fromordinal(min(typed_on.toordinal() + int(days), date.max.toordinal()))


class reaches(FunctionElement[bool]):  # noqa: N801 - reads as SQL
    """SQL: ``days`` whole days after the timestamp ``start`` is at or after ``instant``.

    Compiled per database; ``instant`` is a UTC timestamp (``UTCDateTime``).
    """

    type = Boolean()
    inherit_cache = True
    name = "reaches"


@compiles(reaches)
def _reaches_default(element: reaches, compiler: Any, **kw: Any) -> str:
    start, days, instant = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"(({start} + make_interval(days => {days})) >= {instant})"


@compiles(reaches, "sqlite")
def _reaches_sqlite(element: reaches, compiler: Any, **kw: Any) -> str:
    start, days, instant = (compiler.process(arg, **kw) for arg in element.clauses)
    # datetime() gives both sides as 'YYYY-MM-DD HH:MM:SS' in UTC (text compares in time
    # order); it drops the fraction of a second, which never crosses a whole-second instant.
    return f"(datetime({start}, '+' || ({days}) || ' days') >= datetime({instant}))"


def _typed_still_ahead(today: date) -> Any:
    """SQL: the firm's typed figure, counted from the profile's last change, matures today or later.

    :func:`typed_maturity` of the change's day in Shanghai is at least ``today`` exactly when
    the change plus that many days is at or after ``today``'s first instant in Shanghai (the
    zone keeps +8 all year). A figure typed earlier than the last change matures earlier
    still, so the firms this leaves out have no typed maturity ahead.
    """
    first_instant = datetime.combine(today, time(), SHANGHAI).astimezone(UTC)
    return reaches(
        Enterprise.updated_at,
        Enterprise.loan_maturing_within_days,
        literal(first_instant, UTCDateTime()),
    )


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


def _last_approval(column: Any) -> Any:
    """SQL: a column of the referral's last approval (the newest approved decision)."""
    return (
        select(column)
        .where(BankDecision.referral_id == Referral.id, BankDecision.decision == R.APPROVED)
        .order_by(BankDecision.decided_at.desc(), BankDecision.id.desc())
        .limit(1)
        .correlate(Referral)
        .scalar_subquery()
    )


def _first_disbursal() -> Any:
    """SQL: the id of the referral's first disbursal, through the referral's index."""
    return (
        select(func.min(LoanOutcome.id))
        .where(LoanOutcome.referral_id == Referral.id, LoanOutcome.event == R.DISBURSED)
        .correlate(Referral)
        .scalar_subquery()
    )


def refresh_maturity(
    session: Session,
    referral: Referral,
    *,
    approved_term: int | None = None,
    disbursed_on: date | None = None,
) -> None:
    """Store the referral's maturity (``Referral.matures_on``) as it stands now.

    The first disbursal plus the last approved term (:func:`maturity_date`), None while
    either is missing. A bank's step passes what it is recording (``approved_term`` of a new
    approval, ``disbursed_on`` of a new disbursal, not flushed yet); the rest is read. The
    maturity list filters, sorts and pages on the stored day.
    """
    if approved_term is None and disbursed_on is None:
        session.flush()  # nothing passed: read everything as it now stands
    with session.no_autoflush:
        first, last_term = session.execute(
            select(
                select(LoanOutcome.occurred_on)
                .where(LoanOutcome.id == _first_disbursal())
                .scalar_subquery(),
                _last_approval(BankDecision.term_months),
            )
            .select_from(Referral)
            .where(Referral.id == referral.id)
        ).one()
    start = first or disbursed_on
    term = approved_term or last_term
    referral.matures_on = maturity_date(start, term) if start and term else None


def bank_loans(
    session: Session,
    *,
    enterprise_ids: Iterable[int] | None = None,
    since: date | None = None,
    until: date | None = None,
    advisor_id: int | None = None,
    limit: int | None = None,
) -> list[Loan]:
    """Return the running loans the banks reported, by maturity (then firm and referral).

    ``until`` (and ``since``) keep the loans maturing by (and from) those days, ``advisor_id``
    that advisor's, ``limit`` the first so many: all in SQL on the stored maturity, so a
    page of the list never reads the district's every loan. Plain columns, not ORM objects.
    """
    stmt = (
        select(
            Referral.id,
            Referral.state,
            Referral.product_version_id,
            Referral.created_by_id,
            Application.id,
            Application.enterprise_id,
            Application.assigned_advisor_id,
            Enterprise.name,
            Bank.id,
            Bank.name_zh,
            Bank.name_en,
            LoanOutcome.occurred_on,
            LoanOutcome.amount,
            _last_approval(BankDecision.term_months),
            _last_approval(BankDecision.annual_rate),
            Referral.matures_on,
        )
        .join(Application, Application.id == Referral.application_id)
        .join(Enterprise, Enterprise.id == Application.enterprise_id)
        .join(Bank, Bank.id == Referral.bank_id)
        .join(LoanOutcome, LoanOutcome.id == _first_disbursal())
        .where(Referral.state.in_(RUNNING), Referral.matures_on.is_not(None))
        .order_by(Referral.matures_on, Application.enterprise_id, Referral.id)
    )
    if enterprise_ids is not None:
        stmt = stmt.where(Application.enterprise_id.in_(list(enterprise_ids)))
    if since is not None:
        stmt = stmt.where(Referral.matures_on >= since)
    if until is not None:
        stmt = stmt.where(Referral.matures_on <= until)
    if advisor_id is not None:
        stmt = stmt.where(_advised_by(advisor_id))
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = session.execute(stmt).all()
    loans = []
    for (
        referral_id,
        state,
        version_id,
        referred_by,
        application_id,
        enterprise_id,
        advisor_id,
        enterprise_name,
        bank_id,
        bank_zh,
        bank_en,
        disbursed_on,
        amount,
        term,
        rate,
        maturity,
    ) in rows:
        loans.append(
            Loan(
                source="bank",
                enterprise_id=enterprise_id,
                enterprise_name=enterprise_name,
                maturity=maturity,
                referral_id=referral_id,
                application_id=application_id,
                bank_id=bank_id,
                bank_name_zh=bank_zh,
                bank_name_en=bank_en or bank_zh,
                product_version_id=version_id,
                state=state,
                disbursed_on=disbursed_on,
                amount=amount,
                term_months=term,
                annual_rate=rate,
                advisor_id=referred_by or advisor_id,
            )
        )
    return loans


def _advised_by(advisor_id: int) -> Any:
    """SQL: the loan's advisor is this one (who referred it, else the application's advisor)."""
    return or_(
        Referral.created_by_id == advisor_id,
        and_(Referral.created_by_id.is_(None), Application.assigned_advisor_id == advisor_id),
    )


def bank_loans_count(
    session: Session,
    *,
    since: date | None = None,
    until: date | None = None,
    advisor_id: int | None = None,
) -> int:
    """Count the running loans :func:`bank_loans` returns with the same filters."""
    stmt = (
        select(func.count())
        .select_from(Referral)
        .where(Referral.state.in_(RUNNING), Referral.matures_on.is_not(None))
    )
    if since is not None:
        stmt = stmt.where(Referral.matures_on >= since)
    if until is not None:
        stmt = stmt.where(Referral.matures_on <= until)
    if advisor_id is not None:
        stmt = stmt.join(Application, Application.id == Referral.application_id).where(
            _advised_by(advisor_id)
        )
    return int(session.scalar(stmt) or 0)


def _typed_on(session: Session, enterprises: Sequence[Any]) -> dict[int, date]:
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


@dataclass(frozen=True)
class _BankEvents:
    """What the banks reported of one enterprise's loans."""

    #: The day of its latest loan event (any referral, any event).
    last_on: date | None
    #: It has a running loan a bank reported disbursed (whatever its maturity).
    running: bool


def _bank_events(session: Session, enterprise_ids: Sequence[int]) -> dict[int, _BankEvents]:
    """Return, per enterprise with a loan event, its latest event and whether a loan runs.

    A loan runs while its referral is in a ``RUNNING`` state and the bank reported it
    disbursed. One statement through the enterprises' applications (their index), so it
    costs what these firms' loans cost, not the district's running loans.
    """
    if not enterprise_ids:
        return {}
    running = case(
        (and_(Referral.state.in_(RUNNING), LoanOutcome.event == R.DISBURSED), 1), else_=0
    )
    rows = session.execute(
        select(Application.enterprise_id, func.max(LoanOutcome.occurred_on), func.max(running))
        .join(Referral, Referral.id == LoanOutcome.referral_id)
        .join(Application, Application.id == Referral.application_id)
        .where(Application.enterprise_id.in_(list(enterprise_ids)))
        .group_by(Application.enterprise_id)
    ).all()
    return {int(eid): _BankEvents(day, bool(runs)) for eid, day, runs in rows}


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
) -> list[Loan]:
    """Return the SME-typed maturities still ahead, of firms without a bank event since.

    A firm with a running loan a bank reported is left out (its typed figure gives way).
    """
    stmt = select(
        Enterprise.id,
        Enterprise.name,
        Enterprise.loan_maturing_within_days,
        Enterprise.updated_at,
        Enterprise.existing_loan_balance,
    ).where(
        Enterprise.loan_maturing_within_days.is_not(None),
        Enterprise.loan_maturing_within_days >= 0,
        _typed_still_ahead(today),
    )
    if enterprise_ids is not None:
        stmt = stmt.where(Enterprise.id.in_(list(enterprise_ids)))
    # Only the figures still ahead are read (a few of the district's typed figures); the
    # banks' events of just these firms decide which give way, through their applications'
    # index, instead of an anti-join over every running loan of the district.
    ahead = list(session.execute(stmt.order_by(Enterprise.id)))
    events = _bank_events(session, [e.id for e in ahead])
    candidates = [e for e in ahead if not (e.id in events and events[e.id].running)]
    typed = _typed_on(session, candidates)
    advisors = _advisors(session, [e.id for e in candidates])
    loans = []
    for enterprise in candidates:
        typed_on = typed[enterprise.id]
        maturity = typed_maturity(typed_on, enterprise.loan_maturing_within_days or 0)
        last_event = events[enterprise.id].last_on if enterprise.id in events else None
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
    session: Session,
    *,
    today: date,
    enterprise_ids: Iterable[int] | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[Loan]:
    """Return the running loans (bank-reported, else SME-typed), by maturity.

    ``since`` / ``until`` keep those maturing from / by those days.
    """
    ids = list(enterprise_ids) if enterprise_ids is not None else None
    banked = bank_loans(session, enterprise_ids=ids, since=since, until=until)
    typed = [
        loan
        for loan in typed_loans(session, today=today, enterprise_ids=ids)
        if (until is None or loan.maturity <= until) and (since is None or loan.maturity >= since)
    ]
    return sorted(banked + typed, key=_order)


def _order(loan: Loan) -> tuple[date, int, int]:
    """The lists' order: by maturity, then firm, then referral (as ``bank_loans`` sorts in SQL)."""
    return (loan.maturity, loan.enterprise_id, loan.referral_id or 0)


def loans_of(session: Session, enterprise_id: int, *, today: date) -> list[Loan]:
    """Return one enterprise's running loans, by maturity."""
    return running_loans(session, today=today, enterprise_ids=[enterprise_id])


def get_loan(session: Session, enterprise_id: int | None, key: str, *, today: date) -> Loan:
    """Return one of the enterprise's running loans by its key; ``NotFound`` otherwise."""
    if enterprise_id is not None:
        for loan in loans_of(session, enterprise_id, today=today):
            if loan.key == key:
                return loan
    raise NotFound.of("running_loan")


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
    until = today + timedelta(days=within_days) if within_days is not None else None
    typed = [
        loan
        for loan in typed_loans(session, today=today)
        if (until is None or loan.maturity <= until)
        and (advisor_id is None or loan.advisor_id == advisor_id)
    ]
    total = bank_loans_count(session, until=until, advisor_id=advisor_id) + len(typed)
    page = shown_page(page, total, per_page)
    start = (page - 1) * per_page
    # The bank loans of this page and the pages before it come from SQL in maturity order;
    # the few loans firms typed themselves (no bank reported theirs) are merged in.
    banked = bank_loans(session, until=until, advisor_id=advisor_id, limit=start + per_page)
    loans = sorted(banked + typed, key=_order)
    return Page(loans[start : start + per_page], total, page, per_page)
