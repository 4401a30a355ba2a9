"""The bank's part of a batch: decide member by member (the quota spent atomically) and record the filing."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from finportal import limits
from finportal.models import (
    Batch,
    BatchMember,
)
from finportal.services.audit import record_event
from finportal.services.batches import _now, get_batch, get_member, parse_amount
from finportal.services.errors import (
    Conflict,
    InvalidTransition,
    ValidationFailed,
)
from products.pricing import wan_text


def decide_member(
    session: Session,
    batch_id: int,
    member_id: int,
    *,
    bank_id: int,
    actor_id: int | None,
    decision: str,
    approved_amount: Any = None,
    reason_text: str = "",
    now: datetime | None = None,
    source: str = "",
) -> BatchMember:
    """Record the bank's decision on one member; an approval spends quota atomically.

    The member moves from ``submitted`` with a guarded UPDATE (one decision per member),
    and the approved amount is added to the batch with
    ``quota_used = quota_used + :amt WHERE quota_used + :amt <= quota_total``: when two
    approvals race, the database serialises the two row updates and the second sees
    the first's amount, so the quota is never overspent.
    """
    member = get_member(session, batch_id, member_id, bank_id=bank_id)
    batch = member.batch
    if decision not in ("approved", "declined"):
        raise ValidationFailed(
            "决定须为同意（approved）或拒绝（declined）。",
            "The decision is approved or declined.",
            fields={"decision": "请选择同意或拒绝"},
        )
    reason_text = limits.valid_text(reason_text, "reason", "reason_text")
    amount: Decimal | None = None
    if decision == "approved":
        if approved_amount in (None, ""):
            raise ValidationFailed(
                "同意时须填写批准金额。",
                "An approval needs the approved amount.",
                fields={"approved_amount": "请填写批准金额"},
            )
        amount = parse_amount(approved_amount, "approved_amount")
        if amount > batch.per_firm_cap:
            raise ValidationFailed(
                f"批准金额不能超过单户上限 {wan_text(batch.per_firm_cap)} 万元。",
                f"The amount cannot exceed the per-firm cap of {wan_text(batch.per_firm_cap)} (10k yuan).",
                fields={"approved_amount": "超过单户上限"},
            )
    elif not reason_text:
        raise ValidationFailed(
            "拒绝时须说明原因。", "A decline needs a reason.", fields={"reason_text": "请说明原因"}
        )
    if batch.state != "submitted" or member.state != "submitted":
        raise InvalidTransition(
            "该成员不在待审批状态，不能再作决定。",
            "The member is not awaiting a decision.",
        )
    stamp = _now(now)
    moved = session.execute(
        update(BatchMember)
        .where(BatchMember.id == member.id, BatchMember.state == "submitted")
        .values(
            state=decision,
            approved_amount=amount,
            decided_at=stamp,
            decided_by_id=actor_id,
            reason_text=reason_text,
        )
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        session.rollback()
        raise Conflict("该成员已有决定（可能刚被他人处理）。", "The member was decided meanwhile.")
    if amount is not None:
        spent = session.execute(
            update(Batch)
            .where(Batch.id == batch.id, Batch.quota_used + amount <= Batch.quota_total)
            .values(quota_used=Batch.quota_used + amount)
            .execution_options(synchronize_session=False)
        )
        if spent.rowcount != 1:
            session.rollback()
            session.refresh(batch)
            left = Decimal(batch.quota_total) - Decimal(batch.quota_used)
            raise Conflict(
                f"批次剩余额度不足：剩余 {wan_text(left)} 万元，批准 {wan_text(amount)} 万元。",
                f"Not enough quota left: {wan_text(left)} (10k yuan) left, {wan_text(amount)} asked.",
                code="quota_exceeded",
            )
    record_event(
        session,
        actor_id=actor_id,
        action=f"batch_member.{decision}",
        object_type="batch_member",
        object_id=member.id,
        from_state="submitted",
        to_state=decision,
        reason=reason_text,
        data={
            "batch_id": batch.id,
            "approved_amount": None if amount is None else str(amount),
            "via": source or "web",
        },
    )
    session.commit()
    session.refresh(member)
    session.refresh(batch)
    pending = session.scalar(
        select(BatchMember.id)
        .where(BatchMember.batch_id == batch.id, BatchMember.state == "submitted")
        .limit(1)
    )
    if pending is None:
        closed = session.execute(
            update(Batch)
            .where(Batch.id == batch.id, Batch.state == "submitted")
            .values(state="closed")
            .execution_options(synchronize_session=False)
        )
        if closed.rowcount == 1:
            record_event(
                session,
                actor_id=actor_id,
                action="batch.closed",
                object_type="batch",
                object_id=batch.id,
                from_state="submitted",
                to_state="closed",
                reason="全部成员已有银行决定",
            )
        session.commit()
        session.refresh(batch)
    return member


def record_filing(
    session: Session,
    batch_id: int,
    *,
    bank_id: int,
    actor_id: int | None,
    now: datetime | None = None,
    source: str = "",
) -> Batch:
    """Record that the bank filed (备案) the batch with the guarantee centre."""
    batch = get_batch(session, batch_id, bank_id=bank_id)
    if batch.state == "open":
        raise InvalidTransition("批次尚未提交银行，不能备案。", "The batch was not submitted yet.")
    if batch.filing_status == "filed":
        raise InvalidTransition("批次已备案。", "The batch is already filed.")
    batch.filing_status = "filed"
    batch.filed_at = _now(now)
    record_event(
        session,
        actor_id=actor_id,
        action="batch.filed",
        object_type="batch",
        object_id=batch.id,
        from_state="not_filed",
        to_state="filed",
        data={"via": source or "web"},
    )
    session.commit()
    return batch
