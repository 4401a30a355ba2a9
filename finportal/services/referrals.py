"""Referrals on the bank side: inbox, views, decisions, loan outcomes, packet downloads.

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
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from finportal import limits
from finportal.domain import permissions
from finportal.domain.states import REFERRAL
from finportal.domain.states import ReferralState as R
from finportal.models import (
    Application,
    AuditEvent,
    BankDecision,
    LoanOutcome,
    Notification,
    Referral,
    utcnow,
)
from finportal.paging import Page, paginate
from finportal.services import consents, workflow
from finportal.services.audit import record_event
from finportal.services.catalog import eager_version
from finportal.services.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from finportal.services.lifecycle import transition
from finportal.services.workdays import SHANGHAI
from products.pricing import wan_text

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

#: Referrals on one page of the inbox (and of the API's list unless it asks otherwise).
INBOX_PAGE_SIZE = 50

# Sanity bounds of a decision, not policy (finportal.limits): refuse obvious typing errors.
MAX_RATE = limits.MAX_ANNUAL_RATE
MAX_TERM_MONTHS = limits.MAX_TERM_MONTHS


# --- reading -----------------------------------------------------------------------------


def _bank_referrals(bank_id: int) -> Any:
    return select(Referral).where(permissions.referrals_seen(permissions.Actor.bank(bank_id)))


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
    per_page: int = INBOX_PAGE_SIZE,
) -> Page:
    """Return one page of ``list_referrals`` and how many there are in all."""
    stmt = _referrals_statement(bank_id, status, since, utcnow())
    return paginate(session, stmt, page=page, per_page=per_page, options=ROW_OPTIONS)


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


def get_referral(session: Session, referral_id: int, *, bank_id: int) -> Referral:
    """Return one of the bank's referrals; another bank's id is not found."""
    referral = session.scalar(_bank_referrals(bank_id).where(Referral.id == referral_id))
    if referral is None:
        raise NotFound("推荐记录不存在。", "No such referral.")
    return referral


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
    return list(
        session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.object_type == "referral",
                AuditEvent.object_id == referral_id,
                AuditEvent.action == f"referral.{R.INFO_SUPPLIED}",
            )
            .order_by(AuditEvent.at, AuditEvent.id)
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


# --- acting ------------------------------------------------------------------------------


def _check_version(referral: Referral, lock_version: int | None) -> None:
    if lock_version is not None and referral.lock_version != lock_version:
        raise Conflict(
            "该推荐已被他人更新，请刷新页面查看最新状态后再操作。",
            "Someone else updated this referral first; reload the page and try again.",
        )


def _commit(session: Session) -> None:
    """Commit, turning a lost optimistic-locking race into a clear Conflict."""
    try:
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise Conflict(
            "该推荐刚被他人更新，您的操作未保存，请刷新页面后重试。",
            "Someone else updated this referral at the same time; nothing was saved.",
        ) from exc


Words = tuple[str, str]


def _notify_enterprise(
    session: Session, referral: Referral, title: Words, body: Words = ("", "")
) -> None:
    application = referral.application
    session.add(
        Notification(
            enterprise_id=application.enterprise_id,
            kind="status",
            title_zh=limits.clip(title[0], "title"),
            title_en=limits.clip(title[1], "title"),
            body_zh=body[0],
            body_en=body[1],
            link=f"/sme/applications/{application.id}",
        )
    )


def _notify_advisor(
    session: Session, referral: Referral, title: Words, body: Words = ("", "")
) -> None:
    advisor_id = referral.created_by_id or referral.application.assigned_advisor_id
    if advisor_id is None:
        return
    session.add(
        Notification(
            user_id=advisor_id,
            kind="status",
            title_zh=limits.clip(title[0], "title"),
            title_en=limits.clip(title[1], "title"),
            body_zh=body[0],
            body_en=body[1],
            link=f"/advisor/applications/{referral.application_id}",
        )
    )


def _record_first_view(
    session: Session, referral: Referral, *, actor_id: int | None, now: datetime
) -> bool:
    """Move a sent referral to viewed and audit it; return whether it was the first view."""
    if not REFERRAL.can(referral.state, R.VIEWED, "bank"):
        return False
    workflow.move(session, REFERRAL, referral, R.VIEWED, by="bank", actor_id=actor_id)
    referral.viewed_at = now
    return True


def mark_viewed(
    session: Session, referral_id: int, *, bank_id: int, actor_id: int | None
) -> Referral:
    """Record that a bank user opened the referral (sent -> viewed the first time); commits."""
    referral = get_referral(session, referral_id, bank_id=bank_id)
    if not _record_first_view(session, referral, actor_id=actor_id, now=utcnow()):
        record_event(
            session,
            actor_id=actor_id,
            action="referral.opened",
            object_type="referral",
            object_id=referral.id,
            from_state=referral.state,
            to_state=referral.state,
        )
    try:
        _commit(session)
    except Conflict:
        # Two tabs of the same bank opened it at once: the other one recorded the view.
        referral = get_referral(session, referral_id, bank_id=bank_id)
    return referral


def _amount(value: Any, kind: str, field: str, errors: dict[str, str]) -> Decimal | None:
    """Read an amount in yuan within ``kind`` of :data:`finportal.limits.AMOUNTS`, or note why not."""
    try:
        return limits.check_amount(value, kind)
    except limits.LimitError as exc:
        errors[field] = exc.message()
        return None


def _rate(value: Any, errors: dict[str, str]) -> Decimal | None:
    """Read an annual rate (a fraction, at most six decimals), or note why not."""
    try:
        return limits.parse_number(value, places=limits.RATE_PLACES)
    except limits.LimitError as exc:
        errors["annual_rate"] = limits.in_user_language(
            f"年利率：{exc.message_zh}", f"Annual rate: {exc.message_en}"
        )
        return None


def _validate_decision(
    decision: str,
    approved_amount: Any,
    annual_rate: Any,
    term_months: Any,
    reason_code: str | None,
    reason_text: str,
) -> tuple[Decimal | None, Decimal | None, int | None]:
    errors: dict[str, str] = {}
    if decision not in DECISIONS:
        raise ValidationFailed(
            "银行反馈须为同意、拒绝或补充材料。",
            "decision must be approved, declined or info_requested.",
            fields={
                "decision": limits.in_user_language(
                    "请选择同意、拒绝或补充材料。",
                    "Choose approved, declined or information requested.",
                )
            },
        )
    amount = rate = None
    term = None
    if decision == "approved":
        if approved_amount in (None, ""):
            errors["approved_amount"] = limits.in_user_language(
                "请填写批准金额。", "Enter the approved amount."
            )
        else:
            amount = _amount(approved_amount, "loan", "approved_amount", errors)
        if annual_rate in (None, ""):
            errors["annual_rate"] = limits.in_user_language(
                "请填写年利率。", "Enter the annual rate."
            )
        else:
            rate = _rate(annual_rate, errors)
            if rate is not None and (rate <= 0 or rate > MAX_RATE):
                errors["annual_rate"] = limits.in_user_language(
                    f"年利率须大于 0 且不超过 {MAX_RATE * 100:.0f}%。",
                    f"The annual rate must be above 0 and at most {MAX_RATE * 100:.0f}%.",
                )
        if term_months in (None, ""):
            errors["term_months"] = limits.in_user_language("请填写期限。", "Enter the term.")
        else:
            try:
                term = int(term_months)
            except (TypeError, ValueError, OverflowError):
                errors["term_months"] = str(limits.MESSAGES["months"])
            else:
                if not 1 <= term <= MAX_TERM_MONTHS or str(term_months).strip() not in (
                    str(term),
                    f"{term}.0",
                ):
                    errors["term_months"] = limits.in_user_language(
                        f"期限须为 1 至 {MAX_TERM_MONTHS} 个月的整数。",
                        f"The term is a whole number of months from 1 to {MAX_TERM_MONTHS}.",
                    )
    elif decision == "declined":
        if reason_code not in DECLINE_REASONS:
            errors["reason_code"] = limits.in_user_language(
                "请选择拒绝原因。", "Choose why the bank declines."
            )
        if reason_code == "other" and not reason_text:
            errors["reason_text"] = limits.in_user_language(
                "选择“其他原因”时请写明原因。", "With “other reason”, write the reason."
            )
    elif not reason_text.strip():
        errors["reason_text"] = limits.in_user_language(
            "请写明需要补充的材料。", "Write what information is needed."
        )
    if errors:
        raise ValidationFailed(
            "银行反馈有误：" + "；".join(errors.values()),
            "The decision is not valid: " + ", ".join(errors),
            fields=errors,
        )
    return amount, rate, term


def record_decision(
    session: Session,
    referral_id: int,
    *,
    bank_id: int,
    actor_id: int | None,
    decision: str,
    approved_amount: Any = None,
    annual_rate: Any = None,
    term_months: Any = None,
    reason_code: str | None = None,
    reason_text: str = "",
    lock_version: int | None = None,
) -> BankDecision:
    """Record the bank's decision (approved, declined or info_requested) and commit.

    Approved needs an amount (yuan), an annual rate (fraction, 0.035 = 3.5 %) and a term
    (months); declined needs a reason code from :data:`DECLINE_REASONS`; info_requested
    needs the text of what is missing. The SME is told; on a decline the advisor is told
    and may re-match. ``lock_version`` (optional) is the version the user saw.
    """
    referral = get_referral(session, referral_id, bank_id=bank_id)
    _check_version(referral, lock_version)
    reason_text = limits.valid_text(reason_text, "reason", "reason_text")
    amount, rate, term = _validate_decision(
        decision, approved_amount, annual_rate, term_months, reason_code, reason_text
    )
    workflow.require(REFERRAL, referral.state, decision, "bank")
    now = utcnow()
    row = BankDecision(
        referral_id=referral.id,
        decision=decision,
        approved_amount=amount,
        annual_rate=rate,
        term_months=term,
        reason_code=reason_code if decision == "declined" else None,
        reason_text=reason_text,
        decided_by_id=actor_id,
        decided_at=now,
    )
    session.add(row)
    if referral.viewed_at is None:
        referral.viewed_at = now
    if decision != "info_requested":
        referral.decided_at = now
    reason = reason_text
    if decision == "declined":
        reason = f"{DECLINE_REASONS[reason_code or 'other'][0]} {reason_text}".strip()
        reason_en = f"{DECLINE_REASONS[reason_code or 'other'][1]} {reason_text}".strip()
    workflow.move(
        session,
        REFERRAL,
        referral,
        decision,
        by="bank",
        actor_id=actor_id,
        reason=reason,
        data={
            "application_id": referral.application_id,
            "bank_id": referral.bank_id,
            "approved_amount": str(amount) if amount is not None else None,
            "annual_rate": str(rate) if rate is not None else None,
            "term_months": term,
            "reason_code": row.reason_code,
        },
    )
    bank_name = referral.bank.name_zh
    bank_en = referral.bank.name_en or bank_name
    number = referral.application_id
    if decision == "approved":
        _notify_enterprise(
            session,
            referral,
            (
                f"{bank_name}同意了您的融资申请 #{number}",
                f"{bank_en} approved your application #{number}",
            ),
            (
                f"批准金额 {wan_text(amount)} 万元，年利率 {rate * 100:.2f}%，期限 {term} 个月。",
                f"Approved amount {amount:,.2f} yuan, annual rate {rate * 100:.2f}%,"
                f" term {term} months.",
            ),
        )
    elif decision == "declined":
        _notify_enterprise(
            session,
            referral,
            (
                f"{bank_name}未能批准您的融资申请 #{number}",
                f"{bank_en} could not approve your application #{number}",
            ),
            (
                f"原因：{reason}。服务中心顾问将为您重新匹配其他银行或产品。",
                f"Reason: {reason_en}. An advisor of the centre will match you with other"
                " banks or products.",
            ),
        )
        _notify_advisor(
            session,
            referral,
            (
                f"{bank_name}拒绝了推荐 #{referral.id}，可重新匹配",
                f"{bank_en} declined referral #{referral.id}; you may re-match",
            ),
            (f"原因：{reason}", f"Reason: {reason_en}"),
        )
    else:
        _notify_enterprise(
            session,
            referral,
            (
                f"{bank_name}需要您补充材料（融资申请 #{number}）",
                f"{bank_en} needs more information (application #{number})",
            ),
            (reason_text, reason_text),
        )
        _notify_advisor(
            session,
            referral,
            (
                f"{bank_name}要求补充材料（推荐 #{referral.id}）",
                f"{bank_en} asks for more information (referral #{referral.id})",
            ),
            (reason_text, reason_text),
        )
    _commit(session)
    return row


def record_outcome(
    session: Session,
    referral_id: int,
    *,
    bank_id: int,
    actor_id: int | None,
    event: str,
    occurred_on: date,
    amount: Any = None,
    lock_version: int | None = None,
) -> LoanOutcome:
    """Record a loan event: disbursed (with the amount), then repaid, overdue_90 or defaulted.

    A disbursal closes the application (办结, so the SME may rate the service). Commits.
    """
    referral = get_referral(session, referral_id, bank_id=bank_id)
    _check_version(referral, lock_version)
    if event not in OUTCOME_EVENTS:
        raise ValidationFailed(
            "放款及还款情况须为放款、结清、逾期90天以上或违约。",
            "event must be disbursed, repaid, overdue_90 or defaulted.",
            fields={
                "event": limits.in_user_language(
                    "请选择放款、结清、逾期90天以上或违约。",
                    "Choose disbursed, repaid, overdue 90 days or more, or defaulted.",
                )
            },
        )
    errors: dict[str, str] = {}
    if not isinstance(occurred_on, date) or isinstance(occurred_on, datetime):
        errors["occurred_on"] = limits.in_user_language("请填写日期。", "Enter the date.")
    else:
        today = utcnow().astimezone(SHANGHAI).date()
        sent_on = referral.sent_at.astimezone(SHANGHAI).date()
        if occurred_on > today:
            errors["occurred_on"] = limits.in_user_language(
                "日期不能晚于今天。", "The date cannot be in the future."
            )
        elif occurred_on < sent_on:
            errors["occurred_on"] = limits.in_user_language(
                "日期不能早于推荐日期。", "The date cannot be before the referral."
            )
    value = None
    if event == "disbursed":
        if amount in (None, ""):
            errors["amount"] = limits.in_user_language(
                "请填写放款金额。", "Enter the amount disbursed."
            )
        else:
            value = _amount(amount, "loan", "amount", errors)
            approved = next(
                (
                    d.approved_amount
                    for d in reversed(decisions_of(session, referral.id))
                    if d.decision == "approved"
                ),
                None,
            )
            if value is not None and approved is not None and value > approved:
                errors["amount"] = limits.in_user_language(
                    f"放款金额不能超过批准金额 {wan_text(approved)} 万元。",
                    f"The amount disbursed cannot exceed the approved {approved:,.2f} yuan.",
                )
    elif amount not in (None, ""):
        value = _amount(amount, "repayment", "amount", errors)
    if errors:
        raise ValidationFailed(
            "放款及还款情况有误：" + "；".join(errors.values()),
            "The loan event is not valid: " + ", ".join(errors),
            fields=errors,
        )
    workflow.require(REFERRAL, referral.state, event, "bank")
    row = LoanOutcome(
        referral_id=referral.id,
        event=event,
        occurred_on=occurred_on,
        amount=value,
        recorded_by_id=actor_id,
    )
    session.add(row)
    workflow.move(
        session,
        REFERRAL,
        referral,
        event,
        by="bank",
        actor_id=actor_id,
        data={
            "application_id": referral.application_id,
            "occurred_on": occurred_on.isoformat(),
            "amount": str(value) if value is not None else None,
        },
    )
    if event == "disbursed":
        bank_en = referral.bank.name_en or referral.bank.name_zh
        _notify_enterprise(
            session,
            referral,
            (
                f"{referral.bank.name_zh}已放款（融资申请 #{referral.application_id}）",
                f"{bank_en} disbursed the loan (application #{referral.application_id})",
            ),
            (
                f"放款金额 {wan_text(value)} 万元，放款日期 {occurred_on.isoformat()}。",
                f"Amount disbursed {value:,.2f} yuan on {occurred_on.isoformat()}.",
            ),
        )
        application = referral.application
        if application.state == "referred":
            transition(
                session,
                application,
                "closed",
                by="system",
                actor_id=actor_id,
                reason=f"{referral.bank.name_zh}已放款",
                data={"referral_id": referral.id},
            )
    _commit(session)
    return row


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


def download_packet(
    session: Session, referral_id: int, *, bank_id: int, actor_id: int | None
) -> bytes:
    """Return the referral's packet stamped with the bank, the user and the time; audit it.

    Refused (:class:`Forbidden`) once the enterprise has withdrawn its consent to this
    bank; :class:`Conflict` while the packet is still being rendered. Commits.
    """
    from finportal.services import packets

    referral = get_referral(session, referral_id, bank_id=bank_id)
    try:
        consents.require_packet_access(session, referral)
    except Forbidden:
        packets.record_refusal(session, referral, actor_id=actor_id, reason="企业已撤回授权")
        raise
    packet = packets.current_packet(session, referral.id)
    if packet is None:
        raise Conflict(
            "推荐材料包正在生成，请稍后刷新页面再下载。",
            "The packet is still being rendered; try again in a moment.",
            code="packet_not_ready",
        )
    now = utcnow()
    stamped = packets.stamped_download(
        session,
        packet,
        actor_id=actor_id,
        taker=referral.bank.name_zh,
        label=f"材料包 {packet.packet_number}",
        action="referral.packet_downloaded",
        object_type="referral",
        object_id=referral.id,
        data={"bank_id": referral.bank_id},
        state=referral.state,
    )
    _record_first_view(session, referral, actor_id=actor_id, now=now)
    _commit(session)
    return stamped


def packet_filename(referral: Referral) -> str:
    """Return the download file name of a referral's packet."""
    return f"{referral.packet_number or f'referral-{referral.id}'}.pdf"


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
