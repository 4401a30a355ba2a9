"""Referrals on the bank side: the rules, the inbox, a referral and its history (reading).

What a bank does (views, decisions, loan outcomes, downloads) is in
:mod:`finportal.services.bank_actions`; the end of open referrals when the SME withdraws
an application is here.

Every function takes the bank of the acting user (``bank_id``) and only ever finds that
bank's referrals: another bank's referral id answers :class:`NotFound`, so ids are not
even confirmed to exist. The bank API (issue 7) calls the same functions.

Referral states (DESIGN.md)::

    sent -> viewed -> approved -> disbursed -> repaid | overdue_90 | defaulted
                   -> declined (reason code)  -> the advisor may re-match
                   -> info_requested          -> approved | declined | info_requested
    any state before disbursed -> withdrawn (the SME withdrew the application)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from finportal import limits, rows
from finportal.domain import permissions
from finportal.domain.states import REFERRAL, current_locale
from finportal.domain.states import ReferralState as R
from finportal.models import (
    Application,
    AuditEvent,
    BankDecision,
    Enterprise,
    LoanOutcome,
    Referral,
    utcnow,
)
from finportal.paging import Page, paginate
from finportal.services import audit, consents, workflow
from finportal.services.catalog import eager_version
from finportal.services.errors import (
    NotFound,
    ValidationFailed,
)

BANK_RESPONSE_WORKING_DAYS = 2  # DESIGN.md: bank's response within 2 working days

#: What a bank may answer a referral with: the steps it may take from "viewed".
DECISIONS = tuple(sorted(REFERRAL.targets(R.VIEWED, "bank"), key=list(R).index))
#: Why a bank declines; the code is what the model and the dashboard read.
DECLINE_REASONS = {
    "credit_risk": ("信用风险较高", "Credit risk too high"),
    "insufficient_cashflow": ("经营现金流不足", "Not enough operating cash flow"),
    "high_leverage": ("负债率过高", "Debt ratio too high"),
    "incomplete_information": ("材料不完整或无法核实", "Information incomplete or unverifiable"),
    "outside_policy": ("不符合本行授信政策", "Outside the bank's lending policy"),
    "quota_exhausted": ("额度已用完", "Quota used up"),
    "customer_declined": ("企业放弃申请", "The enterprise gave up"),
    "other": ("其他原因", "Other reason"),
}

#: Loan events a bank reports: the states that mean money went out.
OUTCOME_EVENTS = tuple(sorted(REFERRAL.tagged("lent"), key=list(R).index))
# --- issue 13: repayments carry what was paid, for the subsidies (services/entitlements) ---
#: A repayment (还款) reported while the loan runs: it moves no state, it says what was paid.
REPAYMENT = "repayment"
REPAYMENT_TITLE = ("还款", "Repayment")
#: Every loan event a bank may report: the outcomes above, then a repayment.
LOAN_EVENTS = (*OUTCOME_EVENTS, REPAYMENT)
#: Events that may carry principal, interest and fee paid (the last instalment with "repaid").
PAYING_EVENTS = (REPAYMENT, R.REPAID.value)
#: States in which the loan runs, so a repayment may be reported: those it can be repaid from.
REPAYING_STATES = REFERRAL.sources(R.REPAID, "bank")


def loan_events_open(state: str) -> list[str]:
    """Return the loan events a bank may report on a referral in ``state``, in order."""
    events = [e for e in OUTCOME_EVENTS if REFERRAL.can(state, e, "bank")]
    if state in REPAYING_STATES:
        events.insert(0, REPAYMENT)
    return events


def event_title(event: str, locale: str | None = None) -> str:
    """Return the name of a loan event (放款, 还款, 结清...) in the reader's language."""
    if event == REPAYMENT:
        english = (locale or current_locale()).startswith("en")
        return REPAYMENT_TITLE[1] if english else REPAYMENT_TITLE[0]
    return REFERRAL.verb(None, event, locale)


#: States in which the bank still owes a response (the 2-working-day clock runs).
AWAITING_BANK = REFERRAL.tagged("clock")
DECIDED = REFERRAL.tagged("decided")
#: States after which a new referral to the same bank is allowed.
CLOSED = REFERRAL.tagged("reopens")
#: The referrals still open, which end when the SME withdraws the application.
WITHDRAWABLE_STATES = REFERRAL.sources(R.WITHDRAWN, "system")

#: Inbox tabs of the bank: name -> label.
INBOX_TABS = {
    "new": ("新推荐", "New"),
    "viewed": ("已查看", "Viewed"),
    "decided": ("已反馈", "Decided"),
    "overdue": ("已超时", "Overdue"),
    # The SME withdrew the application: the bank must see that its work can stop.
    "withdrawn": ("已撤回", "Withdrawn"),
}


# Sanity bounds of a decision, not policy (finportal.limits): refuse obvious typing errors.
MAX_RATE = limits.MAX_ANNUAL_RATE
MAX_TERM_MONTHS = limits.MAX_TERM_MONTHS


# --- reading -----------------------------------------------------------------------------


def _bank_referrals(bank_id: int, *columns: Any) -> Any:
    """Select the bank's referrals (or ``columns`` of them)."""
    return select(*(columns or (Referral,))).where(
        permissions.referrals_seen(permissions.Actor.bank(bank_id))
    )


def is_overdue(referral: Referral, now: datetime | None = None) -> bool:
    """Tell whether the bank's response is late (预警): still awaited and past its due time."""
    now = now or utcnow()
    return referral.state in AWAITING_BANK and referral.due_at is not None and referral.due_at < now


def _status_condition(status: str, now: datetime) -> ColumnElement[bool]:
    """Return the SQL condition of a referral state or an inbox tab (see ``list_referrals``)."""
    if status == "new":
        return Referral.state.in_(REFERRAL.tagged("new"))
    if status == "viewed":
        return Referral.state.in_(AWAITING_BANK - REFERRAL.tagged("new") | {R.INFO_REQUESTED})
    if status == "decided":
        return Referral.state.in_(DECIDED)
    if status == "overdue":
        return and_(Referral.state.in_(AWAITING_BANK), Referral.due_at < now)
    if status in {r.value for r in R}:
        return Referral.state == status
    raise ValidationFailed(
        f"未知的推荐状态：{status}",
        f"Unknown referral status: {status}",
        fields={"status": "未知的推荐状态。"},
    )


def inbox_tab_of(referral: Referral) -> str | None:
    """Return the inbox tab a referral sits in (new, viewed, decided, withdrawn), as the
    SQL of :func:`_status_condition` files it; None for a state no tab lists."""
    state = referral.state
    if state in REFERRAL.tagged("new"):
        return "new"
    if state in AWAITING_BANK - REFERRAL.tagged("new") | {R.INFO_REQUESTED}:
        return "viewed"
    if state in DECIDED:
        return "decided"
    if state == "withdrawn":
        return "withdrawn"
    return None


#: What a referral row shows (firm, amount, product): loaded with the rows, not one by one.
ROW_OPTIONS = (
    selectinload(Referral.application).joinedload(Application.enterprise),
    eager_version(Referral.product_version),
)


def _referrals_statement(
    bank_id: int, status: str | None, since: datetime | None, now: datetime
) -> Select[tuple[Referral]]:
    stmt = _bank_referrals(bank_id)
    if status is not None:
        stmt = stmt.where(_status_condition(status, now))
    if since is not None:
        stmt = stmt.where(or_(Referral.updated_at >= since, Referral.sent_at >= since))
    return stmt.order_by(Referral.sent_at.desc(), Referral.id.desc())


def list_referrals(
    session: Session,
    *,
    bank_id: int,
    status: str | None = None,
    since: datetime | None = None,
) -> list[Referral]:
    """Return the bank's referrals, newest first.

    ``status`` is a referral state (``sent``, ``approved``...) or an inbox tab: ``new``
    (sent), ``viewed`` (viewed or info_requested), ``decided`` (a decision or a loan
    event was recorded), ``overdue`` (awaiting the bank past its deadline), ``withdrawn``
    (the SME withdrew the application). ``since``
    keeps referrals changed at or after that time.
    """
    stmt = _referrals_statement(bank_id, status, since, utcnow())
    return list(session.scalars(stmt.options(*ROW_OPTIONS)))


def referrals_page(
    session: Session,
    *,
    bank_id: int,
    status: str | None = None,
    since: datetime | None = None,
    page: int = 1,
    per_page: int = limits.PAGE_SIZE,
    show_last: bool = True,
) -> Page:
    """Return one page of ``list_referrals`` and how many there are in all.

    A page past the last is the last for the inbox, empty for the API (``show_last``:
    :func:`finportal.paging.paginate`).
    """
    stmt = _referrals_statement(bank_id, status, since, utcnow())
    return paginate(
        session, stmt, page=page, per_page=per_page, options=ROW_OPTIONS, show_last=show_last
    )


def inbox_counts(session: Session, *, bank_id: int) -> dict[str, int]:
    """Return how many of the bank's referrals each inbox tab holds, in one statement."""
    now = utcnow()
    row = session.execute(
        select(
            *(func.count(case((_status_condition(tab, now), 1))).label(tab) for tab in INBOX_TABS)
        ).where(permissions.referrals_seen(permissions.Actor.bank(bank_id)))
    ).one()
    return {tab: int(row._mapping[tab] or 0) for tab in INBOX_TABS}


def inbox(session: Session, *, bank_id: int) -> dict[str, list[Referral]]:
    """Return the bank's referrals grouped by inbox tab (an overdue one also shows as new/viewed)."""
    return {tab: list_referrals(session, bank_id=bank_id, status=tab) for tab in INBOX_TABS}


#: What the referral page and the bank's steps read of one referral, loaded in its statement:
#: the application, the firm and the product. The firm's memberships load only if read.
ONE_OPTIONS = (
    joinedload(Referral.application)
    .joinedload(Application.enterprise)
    .lazyload(Enterprise.memberships),
    eager_version(Referral.product_version, joined=True),
)


def get_referral(session: Session, referral_id: int, *, bank_id: int) -> Referral:
    """Return one of the bank's referrals; another bank's id is not found."""
    referral = session.scalar(
        _bank_referrals(bank_id)
        .where(Referral.id == referral_id)
        .options(*ONE_OPTIONS)
        .execution_options(**rows.one_referral(referral_id))
    )
    if referral is None:
        raise NotFound.of("referral")
    return referral


def state_of_referral(session: Session, referral_id: int, *, bank_id: int) -> str:
    """Return the state of one of the bank's referrals, reading nothing else of it; another
    bank's id is not found."""
    state = session.scalar(
        _bank_referrals(bank_id, Referral.state)
        .where(Referral.id == referral_id)
        .execution_options(**rows.one_referral(referral_id))
    )
    if state is None:
        raise NotFound.of("referral")
    return str(state)


#: An application's few referrals, each with its bank and product, in their own statement.
_WITH_BANK_AND_PRODUCT = (
    joinedload(Referral.bank),
    eager_version(Referral.product_version, joined=True),
)


def of_application(session: Session, application_id: int) -> list[Referral]:
    """Return an application's referrals in the order they were made, banks and products loaded."""
    return list(
        session.scalars(
            select(Referral)
            .where(Referral.application_id == application_id)
            .options(*_WITH_BANK_AND_PRODUCT)
            .order_by(Referral.id)
        )
    )


def decisions_of(session: Session, referral_id: int) -> list[BankDecision]:
    """Return the decisions recorded on a referral, oldest first."""
    return decisions_of_many(session, [referral_id]).get(referral_id, [])


def decisions_of_many(
    session: Session, referral_ids: Sequence[int]
) -> dict[int, list[BankDecision]]:
    """Return the decisions of several referrals, oldest first, in one statement."""
    found: dict[int, list[BankDecision]] = {i: [] for i in referral_ids}
    if referral_ids:
        for decision in session.scalars(
            select(BankDecision)
            .where(BankDecision.referral_id.in_(referral_ids))
            .order_by(BankDecision.decided_at, BankDecision.id)
        ):
            found[decision.referral_id].append(decision)
    return found


def answers_of(session: Session, referral_id: int) -> list[AuditEvent]:
    """Return the enterprise's answers to the bank's requests for information, oldest first."""
    # The referral's answers alone: its page stays kept while its views are recorded.
    answers, told = audit.events_of(
        {"referral": [referral_id]}, action=f"referral.{R.INFO_SUPPLIED}"
    )
    return list(
        session.scalars(
            select(AuditEvent)
            .where(answers)
            .order_by(AuditEvent.at, AuditEvent.id)
            .execution_options(**told)
        )
    )


def outcomes_of(session: Session, referral_id: int) -> list[LoanOutcome]:
    """Return the loan events recorded on a referral, oldest first."""
    return outcomes_of_many(session, [referral_id]).get(referral_id, [])


def outcomes_of_many(session: Session, referral_ids: Sequence[int]) -> dict[int, list[LoanOutcome]]:
    """Return the loan events of several referrals, oldest first, in one statement."""
    found: dict[int, list[LoanOutcome]] = {i: [] for i in referral_ids}
    if referral_ids:
        for outcome in session.scalars(
            select(LoanOutcome)
            .where(LoanOutcome.referral_id.in_(referral_ids))
            .order_by(LoanOutcome.occurred_on, LoanOutcome.id)
        ):
            found[outcome.referral_id].append(outcome)
    return found


# --- the SME withdrew ---------------------------------------------------------------


def withdraw_for_application(
    session: Session,
    application: Application,
    *,
    actor_id: int | None,
    reason: str = "企业撤回了融资申请",
) -> list[Referral]:
    """Mark the application's open referrals withdrawn (the SME withdrew); the caller commits."""
    changed = []
    for referral in session.scalars(
        select(Referral).where(
            Referral.application_id == application.id,
            Referral.state.in_(WITHDRAWABLE_STATES),
        )
    ):
        workflow.move(
            session,
            REFERRAL,
            referral,
            R.WITHDRAWN,
            by="system",
            actor_id=actor_id,
            reason=reason,
        )
        changed.append(referral)
    return changed


@dataclass(frozen=True)
class Clock:
    """A deadline clock: when something is due and whether it is late (预警)."""

    due_at: datetime | None
    overdue: bool
    running: bool


def bank_clock(referral: Referral, now: datetime | None = None) -> Clock:
    """Return the bank's 2-working-day response clock of a referral."""
    return Clock(
        due_at=referral.due_at,
        overdue=is_overdue(referral, now),
        running=referral.state in AWAITING_BANK,
    )


def submitted_profile(session: Session, referral_id: int, *, bank_id: int) -> dict[str, Any]:
    """Return the firm's profile as submitted, for the referral's bank (the packet's facts).

    Refused like the packet: only while the firm's consent stands and the application
    was not withdrawn.
    """
    from finportal.domain import fields as profile_fields
    from finportal.services.profiles import submitted_memberships, submitted_profile

    referral = get_referral(session, referral_id, bank_id=bank_id)
    consents.require_packet_access(session, referral)
    application = referral.application
    profile = submitted_profile(application)
    names = submitted_memberships(application)
    snapshot = application.profile_snapshot or {}
    return {
        "referral_id": referral.id,
        "enterprise_name": application.enterprise.name,
        "enterprise_uscc": application.enterprise.uscc,
        "taken_at": snapshot.get("taken_at"),
        "parks": names["parks"],
        "chambers": names["chambers"],
        "fields": [
            {
                "name": spec.name,
                "label_zh": spec.label_zh,
                "label_en": spec.label_en,
                "unit": spec.unit,
                "value": profile_fields.to_plain(spec.name, profile.get(spec.name)),
            }
            for spec in profile_fields.fields().values()
            if spec.packet
        ],
    }
