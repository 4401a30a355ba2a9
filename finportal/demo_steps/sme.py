"""Demo data of the SME journey: applications of demo-sme and other demo firms in every state.

Each application is found again by its idempotency key, so running the demo twice adds
nothing. Screening is run directly (not through the job queue), so the states are reached
at once: draft, submitted, screened, in review, returned (with the centre's request),
rejected, withdrawn, and closed with a rating. Their audit trails are then spread over
realistic times (:mod:`finportal.demo_steps.timing`), as the real flow would have written them.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal.demo_steps.timing import restage
from finportal.models import Application, Bank, Enterprise, Product, Rating, User, utcnow
from finportal.services import applications as application_service
from finportal.services import credit
from finportal.services.audit import record_event
from finportal.services.lifecycle import transition
from finportal.services.screening import screen_application

#: (key, amount in yuan, term, purpose, product code or None, path after submitting)
DEMO_SME_APPLICATIONS: list[tuple[str, str, int, str, str | None, list[str]]] = [
    ("demo-sme-draft", "500000", 12, "working_capital", None, ["draft"]),
    ("demo-sme-screened", "2000000", 24, "research", None, ["screened"]),
    ("demo-sme-returned", "1000000", 12, "equipment", None, ["in_review", "returned"]),
    ("demo-sme-withdrawn", "800000", 12, "working_capital", None, ["withdrawn"]),
    ("demo-sme-closed", "300000", 12, "working_capital", None, ["in_review", "rejected", "closed"]),
    ("demo-sme-submitted", "600000", 12, "working_capital", None, ["submitted"]),
    ("demo-sme-in-review", "1500000", 36, "equipment", None, ["in_review"]),
    ("demo-sme-rejected", "5000000", 24, "renewal", None, ["in_review", "rejected"]),
]
#: States in which the application waits for someone: its history ends minutes ago.
WAITING = ("submitted", "screened")
DEMO_RETURN_REQUEST = {
    "message": "请补充上年纳税总额和纳税信用等级，并核对从业人员数（演示）。",
    "fields": ["tax_paid_last_year", "tax_credit_grade", "employees"],
}
#: How many other demo enterprises get one screened application each (the advisor's queue).
OTHER_SCREENED = 8


def _bank_ids(session: Session) -> list[int]:
    return list(
        session.scalars(select(Bank.id).where(Bank.active.is_(True)).order_by(Bank.id).limit(2))
    )


def _create(
    session: Session,
    *,
    key: str,
    enterprise: Enterprise,
    user_id: int | None,
    amount: str,
    term: int,
    purpose: str,
    product_id: int | None,
    bank_ids: list[int],
) -> tuple[Application, bool]:
    existing = session.scalar(select(Application).where(Application.idempotency_key == key))
    if existing is not None:
        return existing, False
    application = Application(
        enterprise_id=enterprise.id,
        created_by_id=user_id,
        state="draft",
        amount=Decimal(amount),
        term_months=term,
        purpose=purpose,
        product_id=product_id,
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
        reason="演示数据",
    )
    application_service.grant_consents(
        session, actor_id=user_id, application=application, bank_ids=bank_ids, valid_until=None
    )
    return application, True


def _submit_and_screen(session: Session, application: Application, user_id: int | None) -> bool:
    transition(
        session, application, "submitted", by="sme", actor_id=user_id, reason="企业提交申请（演示）"
    )
    application.submitted_at = utcnow()
    session.flush()
    if credit.champion(session) is None:
        return False
    screen_application(session, application_id=application.id)
    session.flush()
    return application.state == "screened"


def _walk(
    session: Session,
    application: Application,
    path: list[str],
    *,
    sme_id: int | None,
    advisor_id: int | None,
) -> None:
    for step in path:
        if step == "screened":
            continue
        if step == "returned":
            application.return_request = dict(DEMO_RETURN_REQUEST)
        if step == "rejected":
            application.reject_reason_code = "incomplete"
            application.reject_reason_text = "经营数据不足以支持本次申请金额（演示）"
        actor = sme_id if step == "withdrawn" else advisor_id
        by = {"withdrawn": "sme", "closed": "system"}.get(step, "advisor")
        reason = {
            "in_review": "顾问受理（演示）",
            "returned": DEMO_RETURN_REQUEST["message"],
            "rejected": "经营数据不足以支持本次申请金额（演示）",
            "withdrawn": "企业已从其他渠道获得融资（演示）",
            "closed": "办结（演示）",
        }.get(step, "")
        transition(session, application, step, by=by, actor_id=actor, reason=reason)
        if step == "in_review":
            application.assigned_advisor_id = advisor_id
            application.first_response_at = utcnow()
        session.flush()


def seed(session: Session, context: dict[str, object]) -> None:
    """Create or refresh the sme demo records (idempotent)."""
    users = context.get("users") or {}
    assert isinstance(users, dict)
    sme_user = users.get("demo-sme")
    advisor = users.get("demo-advisor")
    if not isinstance(sme_user, User) or sme_user.enterprise_id is None:
        return
    advisor_id = advisor.id if isinstance(advisor, User) else None
    bank_ids = _bank_ids(session)
    enterprise = session.get(Enterprise, sme_user.enterprise_id)
    assert enterprise is not None
    made: dict[str, Application] = {}
    for key, amount, term, purpose, product_code, path in DEMO_SME_APPLICATIONS:
        product_id = None
        if product_code:
            product_id = session.scalar(select(Product.id).where(Product.code == product_code))
        application, new = _create(
            session,
            key=key,
            enterprise=enterprise,
            user_id=sme_user.id,
            amount=amount,
            term=term,
            purpose=purpose,
            product_id=product_id,
            bank_ids=bank_ids,
        )
        made[key] = application
        if not new:
            continue
        number = len(made)
        if path == ["submitted"]:
            # Screening not yet run: the job would pick it up in real use.
            transition(
                session,
                application,
                "submitted",
                by="sme",
                actor_id=sme_user.id,
                reason="企业提交申请（演示）",
            )
            application.submitted_at = utcnow()
        elif path != ["draft"] and _submit_and_screen(session, application, sme_user.id):
            _walk(session, application, path, sme_id=sme_user.id, advisor_id=advisor_id)
        waiting = application.state in WAITING or application.state == "draft"
        restage(
            session,
            application,
            utcnow() - (timedelta(minutes=17 * number) if waiting else timedelta(days=number)),
        )
    closed = made.get("demo-sme-closed")
    rated = closed is not None and session.scalar(
        select(Rating.id).where(Rating.application_id == closed.id)
    )
    if closed is not None and closed.state == "closed" and not rated:
        session.add(
            Rating(
                application_id=closed.id,
                enterprise_id=closed.enterprise_id,
                stars=4,
                comment="顾问答复及时，说明清楚（演示）",
                created_by_id=sme_user.id,
            )
        )
        record_event(
            session,
            actor_id=sme_user.id,
            action="application.rated",
            object_type="application",
            object_id=closed.id,
            reason="4 星（演示）",
            data={"stars": 4},
        )
    enterprises = context.get("enterprises") or []
    assert isinstance(enterprises, list)
    others = [
        e
        for e in enterprises
        if isinstance(e, Enterprise)
        and e.id != enterprise.id
        and e.district_code == "310112"
        and not e.serious_bad_credit_24m
    ][:OTHER_SCREENED]
    for index, other in enumerate(others, start=1):
        key = f"demo-ent-{other.uscc}"
        amount = str(Decimal(100000 * (2 + index % 5)))
        application, new = _create(
            session,
            key=key,
            enterprise=other,
            user_id=None,
            amount=amount,
            term=12 if index % 2 else 24,
            purpose="working_capital",
            product_id=None,
            bank_ids=bank_ids[:1],
        )
        made[key] = application
        if new:
            _submit_and_screen(session, application, None)
            restage(session, application, utcnow() - timedelta(minutes=40 * index))
    session.flush()
    context["sme_applications"] = made
