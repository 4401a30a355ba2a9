"""What a bank does with a referral: views, decisions, loan outcomes and packet downloads.

The rules of the referral (states, decisions, decline reasons, loan events, bounds) are
read from :mod:`finportal.services.referrals`; every function takes the bank of the acting
user (``bank_id``) and only ever finds that bank's referrals. The bank pages, the bank API
and the demo call these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from finportal import limits, rows
from finportal.domain.states import REFERRAL
from finportal.domain.states import ReferralState as R
from finportal.models import (
    Application,
    BankDecision,
    LoanOutcome,
    Referral,
    utcnow,
)
from finportal.services import (
    consents,
    documents,
    maturities,
    notifications,
    profiles,
    workflow,
)
from finportal.services.audit import record_event
from finportal.services.errors import Conflict, Forbidden, ValidationFailed
from finportal.services.lifecycle import transition
from finportal.services.referrals import (
    DECISIONS,
    DECLINE_REASONS,
    LOAN_EVENTS,
    MAX_RATE,
    MAX_TERM_MONTHS,
    PAYING_EVENTS,
    REPAYING_STATES,
    REPAYMENT,
    decisions_of,
    get_referral,
    state_of_referral,
)
from finportal.services.workdays import SHANGHAI
from products.pricing import wan_text

if TYPE_CHECKING:
    from finportal.audit_queue import AuditQueue


def _check_version(referral: Referral, lock_version: int | None) -> None:
    if lock_version is not None and referral.lock_version != lock_version:
        raise Conflict(
            "该推荐已被他人更新，请刷新页面查看最新状态后再操作。",
            "Someone else updated this referral first; reload the page and try again.",
        )


def _commit(session: Session) -> None:
    """Commit, turning a lost optimistic-locking race into a clear Conflict."""
    workflow.commit_or_conflict(
        session,
        "该推荐刚被他人更新，您的操作未保存，请刷新页面后重试。",
        "Someone else updated this referral at the same time; nothing was saved.",
    )


Words = tuple[str, str]


def _notify_enterprise(
    session: Session, referral: Referral, title: Words, body: Words = ("", "")
) -> None:
    application = referral.application
    notifications.notify(
        session,
        enterprise_id=application.enterprise_id,
        title=title,
        body=body,
        link=f"/sme/applications/{application.id}",
    )


def _notify_advisor(
    session: Session, referral: Referral, title: Words, body: Words = ("", "")
) -> None:
    advisor_id = referral.created_by_id or referral.application.assigned_advisor_id
    if advisor_id is None:
        return
    notifications.notify(
        session,
        user_id=advisor_id,
        title=title,
        body=body,
        link=f"/advisor/applications/{referral.application_id}",
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
    session: Session,
    referral_id: int,
    *,
    bank_id: int,
    actor_id: int | None,
    queue: AuditQueue | None = None,
) -> Referral:
    """Record that a bank user opened the referral (sent -> viewed the first time); commits;
    return the referral."""
    viewed = record_view(
        session, referral_id, bank_id=bank_id, actor_id=actor_id, whole=True, queue=queue
    )
    assert viewed is not None  # read whole
    return viewed


def record_view(
    session: Session,
    referral_id: int,
    *,
    bank_id: int,
    actor_id: int | None,
    whole: bool = False,
    queue: AuditQueue | None = None,
) -> Referral | None:
    """Record that a bank user opened the referral (sent -> viewed the first time); commits.

    Return the referral when this view moved it to viewed or ``whole`` asks for it (read in
    the same statement as its state), else None: a view after the first then reads no more
    of it than its state, and is one audit event — pushed on ``queue`` when there is one
    and Redis takes it (:mod:`finportal.audit_queue`: the trail has it seconds later), else
    written now."""
    referral = get_referral(session, referral_id, bank_id=bank_id) if whole else None
    state = (
        referral.state
        if referral is not None
        else state_of_referral(session, referral_id, bank_id=bank_id)
    )
    if not REFERRAL.can(state, R.VIEWED, "bank"):
        if queue is None or not queue_view(queue, referral_id, state, actor_id=actor_id):
            _record_opened(session, referral_id, state, actor_id=actor_id)
        session.commit()
        return referral
    referral = referral or get_referral(session, referral_id, bank_id=bank_id)
    if not _record_first_view(session, referral, actor_id=actor_id, now=utcnow()):
        _record_opened(session, referral.id, referral.state, actor_id=actor_id)
    try:
        _commit(session)
    except Conflict:
        # Two tabs of the same bank opened it at once: the other one moved it to viewed, and
        # this view is recorded as the one after it (nothing of the referral changes).
        referral = get_referral(session, referral_id, bank_id=bank_id)
        _record_opened(session, referral.id, referral.state, actor_id=actor_id)
        session.commit()
    return referral


def queue_view(queue: AuditQueue, referral_id: int, state: str, *, actor_id: int | None) -> bool:
    """Queue the audit event of a view of a referral in ``state`` that changes nothing (one
    after the first); tell whether it was: not for a first view, which moves the referral,
    nor when Redis did not take it (the caller then records the view itself)."""
    if REFERRAL.can(state, R.VIEWED, "bank"):
        return False
    return queue.push(_opened(referral_id, state, actor_id=actor_id))


def _opened(referral_id: int, state: str, *, actor_id: int | None) -> dict[str, Any]:
    """The audit event of a view of a referral already viewed, in ``state``."""
    return {
        "actor_id": actor_id,
        "action": rows.REFERRAL_OPENED,
        "object_type": "referral",
        "object_id": referral_id,
        "from_state": state,
        "to_state": state,
    }


def _record_opened(session: Session, referral_id: int, state: str, *, actor_id: int | None) -> None:
    """Audit a view of a referral already viewed, in ``state`` (the caller commits)."""
    record_event(session, **_opened(referral_id, state, actor_id=actor_id))


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
    document_kinds: Sequence[str] = (),
) -> BankDecision:
    """Record the bank's decision (approved, declined or info_requested) and commit.

    Approved needs an amount (yuan), an annual rate (fraction, 0.035 = 3.5 %) and a term
    (months); declined needs a reason code from :data:`DECLINE_REASONS`; info_requested
    needs the text of what is missing, and may name ``document_kinds`` the firm must upload
    (services/documents.KINDS; the bank's clock stands still until it answers). The SME is told; on a decline the advisor is told
    and may re-match. ``lock_version`` (optional) is the version the user saw.
    """
    referral = get_referral(session, referral_id, bank_id=bank_id)
    _check_version(referral, lock_version)
    reason_text = limits.valid_text(reason_text, "reason", "reason_text")
    amount, rate, term = _validate_decision(
        decision, approved_amount, annual_rate, term_months, reason_code, reason_text
    )
    kinds = documents.valid_kinds(list(document_kinds)) if decision == "info_requested" else []
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
        document_kinds=kinds or None,
        decided_by_id=actor_id,
        decided_at=now,
    )
    session.add(row)
    if referral.viewed_at is None:
        referral.viewed_at = now
    if decision != "info_requested":
        referral.decided_at = now
    if decision == "approved":
        maturities.refresh_maturity(session, referral, approved_term=term)
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
            (
                reason_text
                + (
                    "\n请上传：" + "、".join(documents.kind_title(k, "zh_CN") for k in kinds)
                    if kinds
                    else ""
                ),
                reason_text
                + (
                    "\nPlease upload: " + ", ".join(documents.kind_title(k, "en") for k in kinds)
                    if kinds
                    else ""
                ),
            ),
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


def _paid_amounts(
    event: str, paid: dict[str, Any], errors: dict[str, str]
) -> dict[str, Decimal | None]:
    """Read the principal, interest and fee a repayment paid (yuan, 0 allowed), or note why not."""
    values: dict[str, Decimal | None] = {}
    for name, value in paid.items():
        if value in (None, ""):
            values[name] = None
            continue
        if event not in PAYING_EVENTS:
            errors[name] = limits.in_user_language(
                "只有还款或结清时填写本金、利息和担保费。",
                "Principal, interest and fee are reported with a repayment or the final one.",
            )
            continue
        values[name] = _amount(value, "repayment", name, errors)
    if event == REPAYMENT:
        for name, zh, en in (
            (
                "principal_paid",
                "请填写本期偿还的本金（可为 0）。",
                "Enter the principal repaid (0 allowed).",
            ),
            (
                "interest_paid",
                "请填写本期支付的利息（可为 0）。",
                "Enter the interest paid (0 allowed).",
            ),
        ):
            if values.get(name) is None and name not in errors:
                errors[name] = limits.in_user_language(zh, en)
    return values


def _first_loan(session: Session, referral: Referral) -> bool:
    """Tell whether this disbursal makes the firm a first-loan firm (首贷户).

    It is when the firm had never borrowed from a bank at submission (its frozen profile),
    or the loan is the 首贷 product itself, and the platform saw no earlier disbursal to it.
    """
    application = referral.application
    before = session.scalar(
        select(
            exists()
            .where(LoanOutcome.event == "disbursed")
            .where(LoanOutcome.referral_id == Referral.id)
            .where(Referral.application_id == Application.id)
            .where(Application.enterprise_id == application.enterprise_id)
        )
    )
    if before:
        return False
    never_borrowed = profiles.submitted_profile(application).get("has_bank_loan_history") is False
    return never_borrowed or referral.product_version.product.code == "first_loan"


def record_outcome(
    session: Session,
    referral_id: int,
    *,
    bank_id: int,
    actor_id: int | None,
    event: str,
    occurred_on: date,
    amount: Any = None,
    principal_paid: Any = None,
    interest_paid: Any = None,
    fee_paid: Any = None,
    lock_version: int | None = None,
) -> LoanOutcome:
    """Record a loan event: disbursed (with the amount), repayments, then repaid, overdue_90 or defaulted.

    A repayment (还款) carries the principal and interest paid (and the guarantee fee or
    premium, if any) and moves no state; the final "repaid" may carry them too. The subsidies
    are worked out of them (services/entitlements.py). A disbursal closes the application
    (办结, so the SME may rate the service). Commits.
    """
    referral = get_referral(session, referral_id, bank_id=bank_id)
    _check_version(referral, lock_version)
    if event not in LOAN_EVENTS:
        raise ValidationFailed(
            "放款及还款情况须为放款、还款、结清、逾期90天以上或违约。",
            "event must be disbursed, repayment, repaid, overdue_90 or defaulted.",
            fields={
                "event": limits.in_user_language(
                    "请选择放款、还款、结清、逾期90天以上或违约。",
                    "Choose disbursed, repayment, repaid, overdue 90 days or more, or defaulted.",
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
    paid = _paid_amounts(
        event,
        {"principal_paid": principal_paid, "interest_paid": interest_paid, "fee_paid": fee_paid},
        errors,
    )
    if errors:
        raise ValidationFailed(
            "放款及还款情况有误：" + "；".join(errors.values()),
            "The loan event is not valid: " + ", ".join(errors),
            fields=errors,
        )
    if event == REPAYMENT:
        if referral.state not in REPAYING_STATES:
            raise workflow.refusal(REFERRAL, referral.state, R.REPAID)
    else:
        workflow.require(REFERRAL, referral.state, event, "bank")
    row = LoanOutcome(
        referral_id=referral.id,
        event=event,
        occurred_on=occurred_on,
        amount=value,
        recorded_by_id=actor_id,
        first_loan=_first_loan(session, referral) if event == "disbursed" else None,
        **paid,
    )
    session.add(row)
    if event == "disbursed":
        maturities.refresh_maturity(session, referral, disbursed_on=occurred_on)
    data = {
        "application_id": referral.application_id,
        "occurred_on": occurred_on.isoformat(),
        "amount": str(value) if value is not None else None,
        **{k: str(v) for k, v in paid.items() if v is not None},
    }
    if event == REPAYMENT:
        # A repayment moves no state: it is audited as an event of the referral.
        record_event(
            session,
            actor_id=actor_id,
            action="referral.repayment",
            object_type="referral",
            object_id=referral.id,
            from_state=referral.state,
            to_state=referral.state,
            data=data,
        )
        # Touch the referral so its version moves on: the same form sent twice (a double
        # click) is refused as stale instead of recording the repayment twice.
        referral.updated_at = utcnow()
    else:
        workflow.move(session, REFERRAL, referral, event, by="bank", actor_id=actor_id, data=data)
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
