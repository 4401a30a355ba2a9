"""Subsidy entitlements (免申即享): worked out of the loan events banks report, then listed.

From each repayment a bank reports (the principal, interest and guarantee fee or premium
paid; services/bank_actions.record_outcome) the firm is entitled, without applying, to the
subsidies of the loan's product version (products/subsidy_rules.payment_subsidy reads its
terms). A subsidy the product pays only after repayment (事后拨付, the tech-performance
premium subsidy) arises once, from the final "repaid" event, over every fee the loan paid.

Rounding: the subsidy of one payment is rounded to the fen (half up) once; the caps below
only ever lower that amount, never round it again.

Caps, in this order, each on what counts already (entitlements computed, listed, objected,
confirmed or paid; :data:`COUNTED`): the product's cap per loan (``cap_total``), its cap per
firm and calendar year (``cap_per_year``; the year of the loan event), the cap per firm and
year across all products and the product's budget for the year (both
``products/data/subsidy_rules.yaml``). Exclusions: a loan that went 90 days overdue or
defaulted, and a firm listed as seriously dishonest (严重失信) without a completed credit
repair, get nothing; the row stays, excluded, with its reason.

Every amount keeps its inputs (``SubsidyEntitlement.inputs``): the events, the loan, the
product version and the terms with their sources, each cap with its room.

The public list (公示): the centre publishes the computed entitlements of a period; each firm
confirms or objects within the product's working days (three for tech-performance); when
the time is up, silence confirms (免申即享) or forfeits (tech-performance: 逾期视为放弃), as
the rules say. An objection goes to the advisor of the referral, who resolves it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from finportal import limits
from finportal.domain.states import ENTITLEMENT
from finportal.domain.states import EntitlementState as E
from finportal.models import (
    Application,
    BankDecision,
    Enterprise,
    LoanOutcome,
    ProductVersion,
    Referral,
    SubsidyEntitlement,
    SubsidyPublication,
    utcnow,
)
from finportal.paging import paginate
from finportal.services import notifications, workflow
from finportal.services.audit import record_event
from finportal.services.catalog import current_lpr, eager_version, product_of
from finportal.services.errors import Conflict, NotFound, ValidationFailed
from finportal.services.referrals import PAYING_EVENTS
from finportal.services.workdays import deadline
from products.model import Product, Sourced
from products.pricing import ZERO, money_text
from products.subsidy_rules import (
    KIND_TITLES,
    KINDS,
    caps,
    load_rules,
    paid_after_repayment,
    payment_subsidy,
)

#: States whose amount counts against caps and budgets (owed or paid).
COUNTED = ENTITLEMENT.tagged("due") | ENTITLEMENT.tagged("paid")
#: States still owed (待兑付 on the firm's page), and paid.
OWED = ENTITLEMENT.tagged("due")
PAID = ENTITLEMENT.tagged("paid")
#: Events that end a loan badly: none of its subsidies is paid.
BAD_EVENTS = ("overdue_90", "defaulted")
#: Why an entitlement is excluded: code -> (中文, English).
EXCLUSIONS = {
    "overdue": (
        "贷款逾期90天以上或违约，不予补贴",
        "The loan went 90 days overdue or defaulted: no subsidy",
    ),
    "serious_bad_credit": (
        "企业被列为严重失信主体（未完成信用修复），不予补贴",
        "The firm is listed as seriously dishonest (严重失信, no completed credit repair): no subsidy",
    ),
    "cap_reached": (
        "已达补贴上限或年度预算已用完",
        "A subsidy cap or the year's budget is used up",
    ),
}
#: The caps in the order they apply, with their names.
CAP_TITLES = {
    "loan_total": ("每笔贷款补贴上限", "cap per loan"),
    "product_year": ("本产品每户每年补贴上限", "cap per firm and year, this product"),
    "firm_year": ("每户每年补贴上限（全部产品合计）", "cap per firm and year, all products"),
    "budget": ("本产品年度补贴预算", "the product's budget for the year"),
}
ROUNDING_NOTE = "每笔还款的补贴按四舍五入到分计算一次；上限只会调低金额，不再取整。"


def _words(pair: tuple[str, str]) -> str:
    return limits.in_user_language(*pair)


def exclusion_text(code: str | None) -> str:
    """Return why an entitlement is excluded, in the reader's language ('' for none)."""
    return _words(EXCLUSIONS[code]) if code in EXCLUSIONS else ""


def kind_title(kind: str) -> str:
    """Return 贴息 / 贴费 in the reader's language."""
    return _words(KIND_TITLES.get(kind, (kind, kind)))


def period_of(day: date) -> str:
    """Return the period (month) of a day: '2026-11'."""
    return f"{day.year:04d}-{day.month:02d}"


def check_period(value: Any) -> str:
    """Return a valid period 'YYYY-MM', or refuse with a clear 422."""
    text = str(value or "").strip()
    try:
        year, month = (int(part) for part in text.split("-"))
        valid = len(text) == 7 and 2000 <= year <= 2100 and 1 <= month <= 12
    except ValueError:
        valid = False
    if not valid:
        raise ValidationFailed(
            "期间须为“年-月”，如 2026-11。",
            "The period is a year and month, e.g. 2026-11.",
            fields={"period": limits.in_user_language("请填写年-月，如 2026-11。", "e.g. 2026-11")},
        )
    return text


# --- computing ------------------------------------------------------------------------------


def _counted_sum(session: Session, *conditions: Any) -> Decimal:
    stmt = select(func.coalesce(func.sum(SubsidyEntitlement.amount), 0)).where(
        SubsidyEntitlement.state.in_(sorted(COUNTED)), *conditions
    )
    return Decimal(session.scalar(stmt) or 0)


def _cap_rows(
    session: Session,
    *,
    product: Product,
    version: ProductVersion,
    kind: str,
    referral: Referral,
    enterprise_id: int,
    year: int,
) -> list[tuple[str, Sourced | None, Decimal | None, Decimal]]:
    """Return (key, sourced limit, limit, used) of each cap that applies, in order."""
    rules = load_rules()
    cap_total, cap_per_year = caps(product, kind)
    same_product = SubsidyEntitlement.product_version_id.in_(
        select(ProductVersion.id).where(ProductVersion.product_id == version.product_id)
    )
    rows: list[tuple[str, Sourced | None, Decimal | None, Decimal]] = []
    if cap_total is not None:
        used = _counted_sum(
            session,
            SubsidyEntitlement.referral_id == referral.id,
            SubsidyEntitlement.kind == kind,
        )
        rows.append(("loan_total", cap_total, cap_total.value, used))
    if cap_per_year is not None:
        used = _counted_sum(
            session,
            SubsidyEntitlement.enterprise_id == enterprise_id,
            SubsidyEntitlement.year == year,
            SubsidyEntitlement.kind == kind,
            same_product,
        )
        rows.append(("product_year", cap_per_year, cap_per_year.value, used))
    firm_cap = rules.firm_cap_per_year
    used = _counted_sum(
        session,
        SubsidyEntitlement.enterprise_id == enterprise_id,
        SubsidyEntitlement.year == year,
    )
    rows.append(("firm_year", firm_cap, firm_cap.value, used))
    budget = rules.budget(product.code, year)
    if budget is not None:
        used = _counted_sum(session, SubsidyEntitlement.year == year, same_product)
        budget_sourced = Sourced(budget, "yuan", rules.budget_source, rules.budget_demo)
        rows.append(("budget", budget_sourced, budget, used))
    return rows


def _subsidy_terms_source(product: Product, kind: str) -> tuple[str, bool]:
    if kind == "fee":
        assert product.fee_subsidy is not None
        return product.fee_subsidy.share.source, product.fee_subsidy.demo
    terms = product.interest_subsidy
    assert terms is not None
    item = terms.share or terms.points or terms.floor_spread_bp
    return (item.source if item is not None else ""), terms.demo


def _event_data(event: LoanOutcome) -> dict[str, Any]:
    def money(value: Decimal | None) -> str | None:
        return None if value is None else money_text(value)

    return {
        "id": event.id,
        "event": event.event,
        "occurred_on": event.occurred_on.isoformat(),
        "principal_paid": money(event.principal_paid),
        "interest_paid": money(event.interest_paid),
        "fee_paid": money(event.fee_paid),
    }


@dataclass
class ComputeResult:
    """What one run of :func:`compute_entitlements` added."""

    created: list[SubsidyEntitlement] = field(default_factory=list)

    @property
    def owed(self) -> list[SubsidyEntitlement]:
        """Return the new entitlements with money due."""
        return [e for e in self.created if e.state != E.EXCLUDED]

    @property
    def excluded(self) -> list[SubsidyEntitlement]:
        """Return the new entitlements excluded (with their reasons)."""
        return [e for e in self.created if e.state == E.EXCLUDED]


def compute_entitlements(
    session: Session, *, actor_id: int | None = None, through: date | None = None
) -> ComputeResult:
    """Work out the entitlements of every repayment not yet computed (up to ``through``); commit.

    Idempotent: each loan event gives at most one entitlement per kind (a unique key), so a
    second run adds nothing. Events are taken in date order, so the caps fill up as the
    money was paid.
    """
    done = exists().where(SubsidyEntitlement.loan_outcome_id == LoanOutcome.id)
    stmt = (
        select(LoanOutcome)
        .where(LoanOutcome.event.in_(PAYING_EVENTS), ~done)
        .order_by(LoanOutcome.occurred_on, LoanOutcome.id)
    )
    if through is not None:
        stmt = stmt.where(LoanOutcome.occurred_on <= through)
    result = ComputeResult()
    try:
        for event in list(session.scalars(stmt)):
            result.created.extend(_compute_event(session, event, actor_id=actor_id))
            session.flush()
        session.commit()
    except IntegrityError as exc:
        # Someone else computed the same events at the same time (the unique key held).
        session.rollback()
        raise Conflict(
            "补贴正在由他人计算，本次未保存，请稍后刷新查看。",
            "Someone else is computing the subsidies right now; nothing was saved.",
            code="computing",
        ) from exc
    return result


def _loan_facts(session: Session, referral: Referral) -> dict[str, Any]:
    """Return the loan's disbursal, the bank's approval and its bad events, as the caps read them."""
    events = list(
        session.scalars(
            select(LoanOutcome)
            .where(LoanOutcome.referral_id == referral.id)
            .order_by(LoanOutcome.occurred_on, LoanOutcome.id)
        )
    )
    approval = session.scalar(
        select(BankDecision)
        .where(BankDecision.referral_id == referral.id, BankDecision.decision == "approved")
        .order_by(BankDecision.decided_at.desc(), BankDecision.id.desc())
        .limit(1)
    )
    disbursal = next((e for e in events if e.event == "disbursed"), None)
    return {
        "events": events,
        "disbursal": disbursal,
        "approval": approval,
        "bad": [e for e in events if e.event in BAD_EVENTS],
    }


def _compute_event(
    session: Session, event: LoanOutcome, *, actor_id: int | None
) -> list[SubsidyEntitlement]:
    referral = session.scalar(
        select(Referral)
        .options(
            joinedload(Referral.application).joinedload(Application.enterprise),
            eager_version(Referral.product_version),
        )
        .where(Referral.id == event.referral_id)
    )
    assert referral is not None
    version = referral.product_version
    product = product_of(version)
    enterprise: Enterprise = referral.application.enterprise
    loan = _loan_facts(session, referral)
    approval = loan["approval"]
    disbursal = loan["disbursal"]
    annual_rate = approval.annual_rate if approval is not None else None
    lpr = current_lpr(session, on=disbursal.occurred_on) if disbursal is not None else None
    created: list[SubsidyEntitlement] = []
    for kind in KINDS:
        if (product.fee_subsidy if kind == "fee" else product.interest_subsidy) is None:
            continue
        column = "fee_paid" if kind == "fee" else "interest_paid"
        if paid_after_repayment(product, kind):
            # 事后拨付: one entitlement when the loan is repaid, over every payment it made.
            if event.event != "repaid":
                continue
            used_events = [e for e in loan["events"] if e.event in PAYING_EVENTS]
        else:
            used_events = [event]
        base = sum((getattr(e, column) or ZERO for e in used_events), ZERO)
        if base <= 0:
            continue
        try:
            subsidy = payment_subsidy(product, kind, paid=base, annual_rate=annual_rate, lpr=lpr)
        except ValueError:
            subsidy = None  # no approved rate on record: nothing can be worked out
        if subsidy is None:
            continue
        year = event.occurred_on.year
        exclusion = None
        if loan["bad"]:
            exclusion = "overdue"
        elif enterprise.serious_bad_credit_24m and not enterprise.credit_repair_completed:
            exclusion = "serious_bad_credit"
        cap_rows = _cap_rows(
            session,
            product=product,
            version=version,
            kind=kind,
            referral=referral,
            enterprise_id=enterprise.id,
            year=year,
        )
        amount = subsidy.amount
        caps_data = []
        for key, sourced, limit, used in cap_rows:
            room = max(ZERO, (limit or ZERO) - used)
            caps_data.append(
                {
                    "key": key,
                    "limit": money_text(limit or ZERO),
                    "used": money_text(used),
                    "room": money_text(room),
                    "source": sourced.source if sourced else "",
                    "demo": bool(sourced.demo) if sourced else False,
                }
            )
            amount = min(amount, room)
        if exclusion is None and amount <= 0:
            exclusion = "cap_reached"
        if exclusion is not None:
            amount = ZERO
        source, demo = _subsidy_terms_source(product, kind)
        inputs = {
            "product": {
                "code": product.code,
                "name_zh": product.name_zh,
                "name_en": product.name_en,
                "version_id": version.id,
                "version_number": version.number,
                "content_hash": version.content_hash,
            },
            "events": [_event_data(e) for e in used_events],
            "loan": {
                "referral_id": referral.id,
                "disbursed_on": disbursal.occurred_on.isoformat() if disbursal else None,
                "disbursed_amount": money_text(disbursal.amount)
                if disbursal is not None and disbursal.amount is not None
                else None,
                "annual_rate": str(annual_rate) if annual_rate is not None else None,
                "lpr_at_disbursal": str(lpr) if lpr is not None else None,
                "bad_events": [_event_data(e) for e in loan["bad"]],
            },
            "profile": {
                "serious_bad_credit_24m": enterprise.serious_bad_credit_24m,
                "credit_repair_completed": enterprise.credit_repair_completed,
            },
            "rule": {**subsidy.rule, "source": source, "demo": demo},
            "after_repayment": paid_after_repayment(product, kind),
            "base": money_text(base),
            "wanted": money_text(subsidy.amount),
            "caps": caps_data,
            "amount": money_text(amount),
            "rounding": ROUNDING_NOTE,
        }
        row = SubsidyEntitlement(
            enterprise_id=enterprise.id,
            referral_id=referral.id,
            loan_outcome_id=event.id,
            product_version_id=version.id,
            kind=kind,
            period=period_of(event.occurred_on),
            year=year,
            base=base,
            computed=subsidy.amount,
            amount=amount,
            state=E.COMPUTED.value,
            inputs=inputs,
        )
        session.add(row)
        session.flush()
        record_event(
            session,
            actor_id=actor_id,
            action="subsidy_entitlement.computed",
            object_type=ENTITLEMENT.name,
            object_id=row.id,
            to_state=E.COMPUTED.value,
            data={"loan_outcome_id": event.id, "kind": kind, "amount": money_text(amount)},
        )
        if exclusion is not None:
            row.exclusion = exclusion
            workflow.move(
                session,
                ENTITLEMENT,
                row,
                E.EXCLUDED,
                by="system",
                actor_id=actor_id,
                reason=EXCLUSIONS[exclusion][0],
                data={"exclusion": exclusion},
            )
        created.append(row)
    return created


# --- the public list (公示) -------------------------------------------------------------------


def publish_list(
    session: Session, period: Any, *, actor_id: int | None, now: datetime | None = None
) -> SubsidyPublication:
    """Publish the list (公示) of every computed entitlement up to ``period``; commit.

    Each firm is told and has the product's working days to confirm or object (from the
    holiday table). Refused (409) when nothing waits to be listed.
    """
    period = check_period(period)
    now = now or utcnow()
    rows = list(
        session.scalars(
            select(SubsidyEntitlement)
            .options(eager_version(SubsidyEntitlement.product_version))
            .where(
                SubsidyEntitlement.state == E.COMPUTED.value,
                SubsidyEntitlement.period <= period,
            )
            .order_by(SubsidyEntitlement.enterprise_id, SubsidyEntitlement.id)
        )
    )
    if not rows:
        raise Conflict(
            f"{period} 及以前没有待公示的补贴。",
            f"No computed subsidy up to {period} waits to be listed.",
            code="nothing_to_list",
        )
    publication = SubsidyPublication(period=period, published_at=now, published_by_id=actor_id)
    session.add(publication)
    session.flush()
    rules = load_rules()
    firms: dict[int, Decimal] = defaultdict(Decimal)
    for row in rows:
        code = row.product_version.product.code
        days = int(rules.publication_of(code).confirm_working_days.value)
        row.publication_id = publication.id
        row.due_at = deadline(session, now, days)
        workflow.move(
            session,
            ENTITLEMENT,
            row,
            E.LISTED,
            by="advisor",
            actor_id=actor_id,
            data={"publication_id": publication.id, "due_at": row.due_at.isoformat()},
        )
        firms[row.enterprise_id] += row.amount
    for enterprise_id, total in firms.items():
        notifications.notify(
            session,
            enterprise_id=enterprise_id,
            title=(
                f"补贴公示：请确认您的补贴（{period}）",
                f"Subsidy list published: please confirm yours ({period})",
            ),
            body=(
                f"本期公示补贴合计 {money_text(total)} 元。请在期限内确认或提出异议。",
                f"Subsidies listed for you: {money_text(total)} yuan in total. Confirm or"
                " object before the deadline.",
            ),
            link="/sme/subsidies",
        )
    _commit(session)
    return publication


def _firm_entitlement(
    session: Session, entitlement_id: int, enterprise_id: int
) -> SubsidyEntitlement:
    row = session.get(SubsidyEntitlement, entitlement_id)
    if row is None or row.enterprise_id != enterprise_id:
        raise NotFound.of("subsidy")
    return row


def _open_for_answer(row: SubsidyEntitlement, now: datetime) -> None:
    if row.state != E.LISTED.value:
        raise workflow.refusal(ENTITLEMENT, row.state, E.CONFIRMED)
    if row.due_at is not None and now > row.due_at:
        raise Conflict(
            "公示期已过，不能再确认或提出异议。",
            "The time to confirm or object has passed.",
            code="answer_too_late",
        )


def _commit(session: Session) -> None:
    workflow.commit_or_conflict(
        session,
        "该补贴刚被他人处理，您的操作未保存，请刷新页面后重试。",
        "Someone else acted on this subsidy at the same time; nothing was saved.",
    )


def confirm(
    session: Session,
    entitlement_id: int,
    *,
    enterprise_id: int,
    actor_id: int | None,
    now: datetime | None = None,
) -> SubsidyEntitlement:
    """Let the firm confirm a listed entitlement before its deadline; commit."""
    now = now or utcnow()
    row = _firm_entitlement(session, entitlement_id, enterprise_id)
    _open_for_answer(row, now)
    row.answered_at = now
    workflow.move(session, ENTITLEMENT, row, E.CONFIRMED, by="sme", actor_id=actor_id)
    _commit(session)
    return row


def object_to(
    session: Session,
    entitlement_id: int,
    *,
    enterprise_id: int,
    actor_id: int | None,
    text: Any,
    now: datetime | None = None,
) -> SubsidyEntitlement:
    """Let the firm object to a listed entitlement (with why) before its deadline; commit.

    The objection goes to the advisor of the referral (or of the application).
    """
    now = now or utcnow()
    row = _firm_entitlement(session, entitlement_id, enterprise_id)
    text = limits.valid_text(text, "reason", "objection")
    if not text:
        raise ValidationFailed(
            "请写明异议的理由。",
            "Write why you object.",
            fields={"objection": limits.in_user_language("请写明理由。", "Write why.")},
        )
    _open_for_answer(row, now)
    row.answered_at = now
    row.objection = text
    workflow.move(session, ENTITLEMENT, row, E.OBJECTED, by="sme", actor_id=actor_id, reason=text)
    referral = row.referral
    advisor_id = referral.created_by_id or referral.application.assigned_advisor_id
    if advisor_id is not None:
        notifications.notify(
            session,
            user_id=advisor_id,
            title=(
                f"企业对补贴 #{row.id} 提出异议",
                f"A firm objects to subsidy #{row.id}",
            ),
            body=(text, text),
            link=f"/advisor/subsidies/{row.id}",
        )
    _commit(session)
    return row


RESOLUTIONS = {
    "uphold": ("维持（可更正金额）", "Stands (the amount may be corrected)"),
    "cancel": ("不予补贴", "Cancel: no subsidy"),
}


def resolve_objection(
    session: Session,
    entitlement_id: int,
    *,
    actor_id: int | None,
    decision: str,
    text: Any,
    amount: Decimal | None = None,
) -> SubsidyEntitlement:
    """Resolve a firm's objection: the entitlement stands (confirmed) or is cancelled; commit.

    A corrected ``amount`` (yuan) may not exceed what the caps left at computation nor the
    amount the subsidy was of; the old amount is kept in ``inputs["corrections"]``.
    """
    row = session.get(SubsidyEntitlement, entitlement_id)
    if row is None:
        raise NotFound.of("subsidy")
    if decision not in RESOLUTIONS:
        raise ValidationFailed(
            "请选择维持或不予补贴。",
            "Choose whether it stands or is cancelled.",
            fields={"decision": limits.in_user_language("请选择。", "Choose one.")},
        )
    text = limits.valid_text(text, "reason", "resolution")
    if not text:
        raise ValidationFailed(
            "请写明处理意见，企业会看到。",
            "Write the answer the firm will read.",
            fields={"resolution": limits.in_user_language("请写明处理意见。", "Write the answer.")},
        )
    target = E.CONFIRMED if decision == "uphold" else E.CANCELLED
    workflow.require(ENTITLEMENT, row.state, target, "advisor")
    data: dict[str, Any] = {"decision": decision}
    if decision == "uphold" and amount is not None and amount != row.amount:
        rooms = [Decimal(c["room"]) for c in row.inputs.get("caps", [])]
        highest = min([row.computed, *rooms])
        if not ZERO < amount <= highest:
            raise ValidationFailed(
                f"更正后的金额须大于 0 且不超过 {money_text(highest)} 元（计算金额及上限余额）。",
                f"The corrected amount must be above 0 and at most {money_text(highest)} yuan.",
                fields={
                    "amount": limits.in_user_language(
                        f"须大于 0 且不超过 {money_text(highest)} 元。",
                        f"Above 0, at most {money_text(highest)} yuan.",
                    )
                },
            )
        inputs = dict(row.inputs)
        inputs["corrections"] = [
            *inputs.get("corrections", []),
            {"from": money_text(row.amount), "to": money_text(amount), "reason": text},
        ]
        row.inputs = inputs
        data["amount"] = {"from": money_text(row.amount), "to": money_text(amount)}
        row.amount = amount
    row.resolution = text
    row.resolved_by_id = actor_id
    workflow.move(
        session, ENTITLEMENT, row, target, by="advisor", actor_id=actor_id, reason=text, data=data
    )
    notifications.notify(
        session,
        enterprise_id=row.enterprise_id,
        title=(
            f"您对补贴 #{row.id} 的异议已处理",
            f"Your objection to subsidy #{row.id} is answered",
        ),
        body=(text, text),
        link="/sme/subsidies",
    )
    _commit(session)
    return row


def close_expired(session: Session, *, now: datetime | None = None) -> int:
    """End the answer time of listed entitlements past their deadline; return how many; commit.

    Silence confirms (免申即享) or forfeits (tech-performance: 逾期视为放弃), per product.
    Safe to run any time: only entitlements still listed and past due move.
    """
    now = now or utcnow()
    rules = load_rules()
    rows = list(
        session.scalars(
            select(SubsidyEntitlement)
            .options(eager_version(SubsidyEntitlement.product_version))
            .where(SubsidyEntitlement.state == E.LISTED.value, SubsidyEntitlement.due_at < now)
            .order_by(SubsidyEntitlement.id)
        )
    )
    for row in rows:
        rule = rules.publication_of(row.product_version.product.code)
        target = E.CONFIRMED if rule.silence == "confirms" else E.LAPSED
        workflow.move(
            session,
            ENTITLEMENT,
            row,
            target,
            by="system",
            actor_id=None,
            reason=rule.silence_source,
        )
    _commit(session)
    return len(rows)


# --- reading ----------------------------------------------------------------------------------


@dataclass
class LoanSubsidies:
    """One loan's subsidies as the firm reads them: 已享受 / 待兑付 / 已兑付 and the rows."""

    referral: Referral
    enjoyed: Decimal = ZERO
    owed: Decimal = ZERO
    paid: Decimal = ZERO
    rows: list[SubsidyEntitlement] = field(default_factory=list)


def firm_subsidies(session: Session, enterprise_id: int) -> list[LoanSubsidies]:
    """Return the firm's subsidies per loan, newest loan first (totals summed in the database).

    已享受 (enjoyed) is every amount owed or paid; 待兑付 (owed) what is computed, listed,
    confirmed or under objection; 已兑付 (paid) what was paid and not clawed back.
    """
    totals = session.execute(
        select(
            SubsidyEntitlement.referral_id,
            SubsidyEntitlement.state,
            func.sum(SubsidyEntitlement.amount),
        )
        .where(SubsidyEntitlement.enterprise_id == enterprise_id)
        .group_by(SubsidyEntitlement.referral_id, SubsidyEntitlement.state)
    ).all()
    rows = list(
        session.scalars(
            select(SubsidyEntitlement)
            .options(
                joinedload(SubsidyEntitlement.loan_outcome),
                joinedload(SubsidyEntitlement.referral).joinedload(Referral.bank),
                eager_version(SubsidyEntitlement.product_version),
            )
            .where(SubsidyEntitlement.enterprise_id == enterprise_id)
            .order_by(SubsidyEntitlement.referral_id.desc(), SubsidyEntitlement.id)
        )
    )
    loans: dict[int, LoanSubsidies] = {}
    for row in rows:
        loans.setdefault(row.referral_id, LoanSubsidies(row.referral)).rows.append(row)
    for referral_id, state, total in totals:
        loan = loans.get(referral_id)
        if loan is None:
            continue
        value = Decimal(total or 0)
        if state in COUNTED:
            loan.enjoyed += value
        if state in OWED:
            loan.owed += value
        if state in PAID:
            loan.paid += value
    return list(loans.values())


def get_entitlement(session: Session, entitlement_id: int) -> SubsidyEntitlement:
    """Return one entitlement with its firm, loan and product version (404 when none)."""
    row = session.scalar(
        select(SubsidyEntitlement)
        .options(
            joinedload(SubsidyEntitlement.enterprise),
            joinedload(SubsidyEntitlement.referral).joinedload(Referral.bank),
            eager_version(SubsidyEntitlement.product_version),
        )
        .where(SubsidyEntitlement.id == entitlement_id)
    )
    if row is None:
        raise NotFound.of("subsidy")
    return row


def state_counts(session: Session) -> dict[str, tuple[int, Decimal]]:
    """Return {state: (count, amount)} over every entitlement, in one statement."""
    return {
        state: (int(n), Decimal(total or 0))
        for state, n, total in session.execute(
            select(
                SubsidyEntitlement.state,
                func.count(),
                func.sum(SubsidyEntitlement.amount),
            ).group_by(SubsidyEntitlement.state)
        )
    }


def objections(session: Session) -> list[SubsidyEntitlement]:
    """Return the entitlements under objection, the oldest answer first."""
    return list(
        session.scalars(
            select(SubsidyEntitlement)
            .options(
                joinedload(SubsidyEntitlement.enterprise),
                eager_version(SubsidyEntitlement.product_version),
            )
            .where(SubsidyEntitlement.state == E.OBJECTED.value)
            .order_by(SubsidyEntitlement.answered_at, SubsidyEntitlement.id)
        )
    )


def entitlements_page(session: Session, *, state: str | None = None, page: int = 1) -> Any:
    """Return one page of entitlements (newest first), optionally of one state."""
    stmt = select(SubsidyEntitlement).order_by(SubsidyEntitlement.id.desc())
    if state:
        stmt = stmt.where(SubsidyEntitlement.state == state)
    return paginate(
        session,
        stmt,
        page=page,
        per_page=limits.PAGE_SIZE,
        options=(
            joinedload(SubsidyEntitlement.enterprise),
            eager_version(SubsidyEntitlement.product_version),
        ),
    )
