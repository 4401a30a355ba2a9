"""Demo data: batches — one park batch taken from recommendation to bank decisions, one still open.

Idempotent: each batch is found by its code and left alone once it exists.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from finportal.models import (
    Bank,
    Batch,
    BatchMember,
    Enterprise,
    Membership,
    Park,
)
from finportal.services import (
    batch_checks,
    batch_decisions,
    batch_recommendations,
    batches,
    consents,
)

DECIDED_CODE = "BT-DEMO-XZ-2026-01"
OPEN_CODE = "BT-DEMO-XZ-2026-02"


def _eligible_members(session: Session, park: Park, count: int, skip: set[int]) -> list[Enterprise]:
    version = batches.batch_product(session, "park")
    found = []
    stmt = (
        select(Enterprise)
        .join(Membership, Membership.enterprise_id == Enterprise.id)
        .where(Membership.park_id == park.id, Enterprise.demo.is_(True))
        .order_by(Enterprise.id)
    )
    for enterprise in session.scalars(stmt):
        if enterprise.id in skip:
            continue
        if batch_recommendations.evaluate_member(enterprise, version, Decimal("2000000")).eligible:
            found.append(enterprise)
        if len(found) == count:
            break
    return found


def _consent(session: Session, batch: Batch, enterprise: Enterprise) -> None:
    """Give the member's consent for the batch unless one stands (audited: consent.granted)."""
    if consents.for_batch_member(session, batch, enterprise.id) is None:
        consents.grant_for_batch(
            session, actor_id=None, enterprise_id=enterprise.id, batch_id=batch.id
        )


def seed(session: Session, context: dict[str, object]) -> None:
    """Create or refresh the batches demo records (idempotent)."""
    users: Any = context.get("users") or {}
    advisor, recommender, bank_user = (
        users.get("demo-advisor"),
        users.get("demo-recommender"),
        users.get("demo-bank"),
    )
    park = session.scalar(select(Park).where(Park.code == "xinzhuang"))
    bank = session.scalar(select(Bank).where(Bank.code == "demo_bank_a"))
    if park is None or bank is None or advisor is None or recommender is None:
        return
    if session.scalar(select(Batch.id).where(Batch.code == DECIDED_CODE)) is None:
        members = _eligible_members(session, park, 4, set())
        batch = batches.create_batch(
            session,
            actor_id=advisor.id,
            name="莘庄工业区 2026 年第一批园区批次贷（演示）",
            bank_id=bank.id,
            quota_total=Decimal("10000000"),
            park_id=park.id,
            code=DECIDED_CODE,
        )
        session.commit()
        amounts = ["3000000", "2500000", "2000000", "1500000"]
        notes = ["订单增长，扩产需要流动资金", "园区重点培育企业", "纳税信用良好", "新入园企业"]
        for enterprise, amount, note in zip(members, amounts, notes, strict=False):
            batch_recommendations.recommend_member(
                session,
                batch_id=batch.id,
                enterprise_id=enterprise.id,
                actor_id=recommender.id,
                note=note,
                requested_amount=amount,
            )
        # Three members consent to the batch's bank; the fourth does not and is taken out.
        for enterprise in members[:3]:
            _consent(session, batch, enterprise)
        batch_checks.check_all_members(session, batch.id, actor_id=advisor.id)
        for member in batch.members:
            if member.state == "recommended":
                batch_recommendations.withdraw_member(
                    session, member.id, actor_id=advisor.id, reason="未通过资格或授权核验"
                )
        batch_checks.submit_batch(session, batch.id, actor_id=advisor.id)
        submitted = [m for m in batch.members if m.state == "submitted"]
        bank_actor = bank_user.id if bank_user is not None else None
        for index, member in enumerate(submitted):
            if index < 2:
                batch_decisions.decide_member(
                    session,
                    batch.id,
                    member.id,
                    bank_id=bank.id,
                    actor_id=bank_actor,
                    decision="approved",
                    approved_amount=member.requested_amount,
                )
            else:
                batch_decisions.decide_member(
                    session,
                    batch.id,
                    member.id,
                    bank_id=bank.id,
                    actor_id=bank_actor,
                    decision="declined",
                    reason_text="经营现金流偏紧，建议下一批次再申请",
                )
        batch_decisions.record_filing(session, batch.id, bank_id=bank.id, actor_id=bank_actor)
    if session.scalar(select(Batch.id).where(Batch.code == OPEN_CODE)) is None:
        batch = batches.create_batch(
            session,
            actor_id=advisor.id,
            name="莘庄工业区 2026 年第二批园区批次贷（演示，推荐中）",
            bank_id=bank.id,
            quota_total=Decimal("8000000"),
            park_id=park.id,
            code=OPEN_CODE,
        )
        # Members of the first batch are left out, so the two batches show different firms.
        used = set(session.scalars(select(BatchMember.enterprise_id)))
        for enterprise in _eligible_members(session, park, 2, used):
            batch_recommendations.recommend_member(
                session,
                batch_id=batch.id,
                enterprise_id=enterprise.id,
                actor_id=recommender.id,
                note="园区推荐（演示）",
                requested_amount="1000000",
            )
    # The open batch's members consent to its bank, so the batch can be checked, submitted
    # and decided from the pages (also repairs a demo seeded before these consents).
    still_open = session.scalar(select(Batch).where(Batch.code == OPEN_CODE))
    if still_open is not None:
        for member in still_open.members:
            if member.state != "withdrawn":
                _consent(session, still_open, member.enterprise)
    session.commit()
