"""Demo data: referrals in every state, with rendered packets, mostly for demo-bank's bank.

Each scenario is one application found again by its idempotency key (``demo-ref-...``),
so running the demo twice adds nothing; a packet missing after an interrupted run is
rendered on the next one. The application is created, consented, submitted and screened
with the audit events the SME's form writes, and the advisor and bank actions go through
the same services as the pages, so the audit trail and notifications look as they would
in real use; :func:`finportal.demo_steps.timing.restage` then spreads each history over
realistic delays (the overdue scenario was sent a week ago).
Packets are rendered here, synchronously: the CLI may exit before a background thread
would finish.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal.demo_steps.timing import restage
from finportal.models import (
    Application,
    Bank,
    Enterprise,
    Match,
    Packet,
    Referral,
    User,
    utcnow,
)
from finportal.services import applications as application_service
from finportal.services import bank_actions, review_actions
from finportal.services import referrals as referral_service
from finportal.services.audit import record_event
from finportal.services.lifecycle import transition
from finportal.services.packets import render_referral_packet
from finportal.services.screening import screen_application
from finportal.services.workdays import SHANGHAI

MINHANG = "310112"

#: (key, bank code, the steps after the referral). Steps: viewed, overdue, info, approve,
#: supply (the firm answers the bank), decline, disburse, repay, repaid, overdue_90, defaulted,
#: withdraw.
SCENARIOS: list[tuple[str, str, list[str]]] = [
    ("demo-ref-sent", "demo_bank_a", []),
    ("demo-ref-overdue", "demo_bank_a", ["overdue"]),
    ("demo-ref-viewed", "demo_bank_a", ["viewed"]),
    ("demo-ref-info", "demo_bank_a", ["viewed", "info"]),
    ("demo-ref-supplied", "demo_bank_a", ["viewed", "info", "supply"]),
    ("demo-ref-approved", "demo_bank_a", ["viewed", "approve"]),
    ("demo-ref-declined", "demo_bank_a", ["viewed", "decline"]),
    ("demo-ref-disbursed", "demo_bank_a", ["viewed", "approve", "disburse", "repay"]),
    ("demo-ref-repaid", "demo_bank_a", ["viewed", "approve", "disburse", "repay", "repaid"]),
    ("demo-ref-overdue90", "demo_bank_a", ["viewed", "approve", "disburse", "overdue_90"]),
    ("demo-ref-defaulted", "demo_bank_a", ["viewed", "approve", "disburse", "defaulted"]),
    ("demo-ref-withdrawn", "demo_bank_a", ["viewed", "withdraw"]),
    # Other banks' referrals: demo-bank must never see these.
    ("demo-ref-bank-b", "demo_bank_b", ["viewed"]),
    ("demo-ref-bank-c", "demo_bank_c", ["viewed", "approve"]),
]
#: demo-sme's own application, referred and approved, so the SME sees a bank decision.
SME_SCENARIO = ("demo-ref-sme", "demo_bank_a", ["viewed", "approve"])


def _candidates(session: Session, exclude: set[int]) -> list[Enterprise]:
    """Healthy demo enterprises in the district, most likely to match some product."""
    rows = session.scalars(
        select(Enterprise)
        .where(
            Enterprise.demo.is_(True),
            Enterprise.district_code == MINHANG,
            Enterprise.serious_bad_credit_24m.is_not(True),
            Enterprise.tax_credit_grade.in_(("A", "B")),
        )
        .order_by(Enterprise.id)
    )
    return [e for e in rows if e.id not in exclude and (e.overdue_count_24m or 0) == 0]


def _used_enterprises(session: Session) -> set[int]:
    return set(
        session.scalars(
            select(Application.enterprise_id).where(Application.idempotency_key.is_not(None))
        )
    )


def _best_version(session: Session, application: Application) -> int | None:
    return session.scalar(
        select(Match.product_version_id)
        .where(Match.application_id == application.id, Match.eligible.is_(True))
        .order_by(Match.rank)
        .limit(1)
    )


def _screened(
    session: Session,
    key: str,
    enterprise: Enterprise,
    amount: str,
    term: int,
    bank: Bank,
    user_id: int | None,
) -> Application:
    """Create, consent, submit and screen an application, audited as the SME's form does."""
    application = Application(
        enterprise_id=enterprise.id,
        created_by_id=user_id,
        state="draft",
        amount=Decimal(amount),
        term_months=term,
        purpose="equipment",
        idempotency_key=key,
    )
    session.add(application)
    session.flush()
    record_event(
        session,
        actor_id=user_id,
        action="application.created",
        object_type="application",
        object_id=application.id,
        to_state="draft",
        reason="用途说明：采购生产设备及补充流动资金（演示）",
        data={"amount": amount, "term_months": term, "product": None},
    )
    application_service.grant_consents(
        session, actor_id=user_id, application=application, bank_ids=[bank.id], valid_until=None
    )
    transition(
        session, application, "submitted", by="sme", actor_id=user_id, reason="企业提交申请（演示）"
    )
    application.submitted_at = utcnow()
    session.flush()
    screen_application(session, application_id=application.id)
    session.commit()
    return application


def _run_steps(
    session: Session,
    referral: Referral,
    steps: list[str],
    bank_user_id: int | None,
    sme_user_id: int | None,
) -> None:
    bank_id = referral.bank_id
    today = utcnow().astimezone(SHANGHAI).date()
    amount = referral.application.amount
    for step in steps:
        if step == "overdue":
            continue  # sent a week ago: see _end_at
        if step == "viewed":
            bank_actions.mark_viewed(session, referral.id, bank_id=bank_id, actor_id=bank_user_id)
        elif step == "info":
            bank_actions.record_decision(
                session,
                referral.id,
                bank_id=bank_id,
                actor_id=bank_user_id,
                decision="info_requested",
                reason_text="请补充近六个月银行流水及主要客户合同（演示）。",
            )
        elif step == "supply":
            application_service.supply_information(
                session,
                actor_id=sme_user_id,
                enterprise_id=referral.application.enterprise_id,
                application_id=referral.application_id,
                referral_id=referral.id,
                answer="已补充近六个月银行流水及两份主要客户合同（演示）。",
            )
        elif step == "approve":
            bank_actions.record_decision(
                session,
                referral.id,
                bank_id=bank_id,
                actor_id=bank_user_id,
                decision="approved",
                approved_amount=amount,
                annual_rate=Decimal("0.0345"),
                term_months=referral.application.term_months,
                reason_text="演示数据",
            )
        elif step == "decline":
            bank_actions.record_decision(
                session,
                referral.id,
                bank_id=bank_id,
                actor_id=bank_user_id,
                decision="declined",
                reason_code="high_leverage",
                reason_text="资产负债率高于本行同业准入标准（演示）。",
            )
        elif step == "disburse":
            bank_actions.record_outcome(
                session,
                referral.id,
                bank_id=bank_id,
                actor_id=bank_user_id,
                event="disbursed",
                occurred_on=today,
                amount=amount,
            )
        elif step == "repay" or step == "repaid":
            # issue 13: a month's interest (and guarantee fee) paid, then the principal.
            bank_actions.record_outcome(
                session,
                referral.id,
                bank_id=bank_id,
                actor_id=bank_user_id,
                event="repayment" if step == "repay" else "repaid",
                occurred_on=today,
                principal_paid=amount if step == "repaid" else Decimal(0),
                interest_paid=(amount * Decimal("0.0345") / 12).quantize(Decimal("0.01")),
                fee_paid=(amount * Decimal("0.01") / 12).quantize(Decimal("0.01")),
            )
        elif step in ("overdue_90", "defaulted"):
            bank_actions.record_outcome(
                session,
                referral.id,
                bank_id=bank_id,
                actor_id=bank_user_id,
                event=step,
                occurred_on=today,
            )
        elif step == "withdraw":
            application = referral.application
            transition(
                session,
                application,
                "withdrawn",
                by="sme",
                actor_id=sme_user_id,
                reason="企业已自行解决资金需求（演示）",
            )
            referral_service.withdraw_for_application(session, application, actor_id=sme_user_id)
            session.commit()


def _scenario(
    session: Session,
    key: str,
    bank: Bank,
    steps: list[str],
    enterprise: Enterprise,
    advisor_id: int,
    bank_user_id: int | None,
    sme_user_id: int | None,
    number: int = 0,
) -> bool:
    """Play one scenario; return False when the enterprise matches no product."""
    application = _screened(session, key, enterprise, "1000000", 12, bank, sme_user_id)
    version = _best_version(session, application)
    if version is None:
        restage(session, application, utcnow() - timedelta(hours=2 + number))
        session.commit()
        return False
    review_actions.claim(session, application.id, actor_id=advisor_id)
    (referral,) = review_actions.refer_to_banks(
        session,
        application.id,
        actor_id=advisor_id,
        referrals=[(bank.id, version)],
        opinion="企业经营稳定，纳税信用良好，建议贵行按产品流程予以支持（演示）。",
        render=False,
    )
    render_referral_packet(session, referral_id=referral.id)
    session.commit()
    session.refresh(referral)
    _run_steps(session, referral, steps, bank_user_id, sme_user_id)
    session.refresh(referral)
    restage(session, application, _end_at(referral, steps, number))
    if "overdue" in steps:
        # Still unanswered a week after it was sent: the inbox shows 预警.
        referral.due_at = min(referral.due_at, utcnow() - timedelta(hours=1))
    session.commit()
    return True


def _end_at(referral: Referral, steps: list[str], number: int) -> datetime:
    """Return when the scenario's last step happened: a week ago, minutes ago or days ago."""
    if "overdue" in steps:
        return utcnow() - timedelta(days=7)
    if referral.state in referral_service.AWAITING_BANK:
        # Still within the bank's 2 working days.
        return utcnow() - timedelta(minutes=20 + 7 * number)
    return utcnow() - timedelta(days=1 + number % 5, hours=number)


def _render_missing(session: Session) -> None:
    missing = session.scalars(
        select(Referral.id)
        .join(Application, Application.id == Referral.application_id)
        .where(
            Application.idempotency_key.like("demo-ref-%"),
            ~select(Packet.id).where(Packet.referral_id == Referral.id).exists(),
        )
    ).all()
    for referral_id in missing:
        render_referral_packet(session, referral_id=referral_id)
        session.commit()


def seed(session: Session, context: dict[str, object]) -> None:
    """Create or refresh the referrals demo records (idempotent)."""
    users = context.get("users") or {}
    assert isinstance(users, dict)
    advisor: User | None = users.get("demo-advisor")
    bank_user: User | None = users.get("demo-bank")
    sme_user: User | None = users.get("demo-sme")
    banks = {b.code: b for b in session.scalars(select(Bank))}
    done = set(
        session.scalars(
            select(Application.idempotency_key).where(
                Application.idempotency_key.like("demo-ref-%")
            )
        )
    )
    pool = _candidates(session, _used_enterprises(session))
    enterprises = context.get("enterprises") or []
    # The firm whose name holds 㐀 goes first: its packet shows the name printed whole.
    first = (
        next((e for e in enterprises if "㐀" in e.name), None)
        if isinstance(enterprises, list)
        else None
    )
    mine = set(
        session.scalars(
            select(Application.enterprise_id).where(Application.idempotency_key.like("demo-ref-%"))
        )
    )
    if first is not None and first.id not in mine:
        pool = [first, *(e for e in pool if e.id != first.id)]
    plays = list(SCENARIOS)
    if sme_user is not None and sme_user.enterprise_id is not None:
        plays.append(SME_SCENARIO)
    for number, (key, bank_code, steps) in enumerate(plays):
        bank = banks.get(bank_code)
        if key in done or bank is None or advisor is None:
            continue
        bank_user_id = (
            bank_user.id if bank_user is not None and bank_user.bank_id == bank.id else None
        )
        if key == SME_SCENARIO[0]:
            enterprise = session.get(Enterprise, sme_user.enterprise_id)  # type: ignore[union-attr]
            candidates = [enterprise] if enterprise is not None else []
        else:
            candidates = pool
        for index, enterprise in enumerate(list(candidates)):
            suffix = "" if index == 0 else f"-{index}"
            played = _scenario(
                session,
                key + suffix if suffix else key,
                bank,
                steps,
                enterprise,
                advisor.id,
                bank_user_id,
                sme_user.id if sme_user is not None and key == SME_SCENARIO[0] else None,
                number,
            )
            if candidates is pool:
                pool.remove(enterprise)
            if played:
                break
    _render_missing(session)
    session.commit()
