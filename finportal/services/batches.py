"""Batch loans (批次贷): recommend members, check them, submit the batch, decide member by member.

A batch belongs to one park or one chamber, one bank and one batch product. Its
per-firm cap comes from the product's catalogue terms; its quota is spent by the
bank's approvals with a guarded atomic UPDATE, so two approvals arriving at once
can never overspend it (the ``quota_not_overspent`` CHECK is the last guard).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

import products
from finportal import limits
from finportal.domain.states import MEMBER, BatchState, FilingState, MemberState
from finportal.models import (
    Bank,
    Batch,
    BatchMember,
    Chamber,
    Enterprise,
    Membership,
    ModelVersion,
    Park,
    Product,
    ProductVersion,
    User,
    utcnow,
)
from finportal.services import catalog as catalog_service
from finportal.services import consents
from finportal.services.audit import record_event
from finportal.services.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from finportal.services.profiles import enterprise_profile
from finportal.services.verification import is_verified
from finportal.services.workdays import SHANGHAI

BATCH_PRODUCTS = {"park": "park_batch", "chamber": "chamber_batch"}

#: Packets print Chinese titles whatever the reader's language (domain/states.py).
BATCH_STATE_LABELS = {s.value: s.title_zh for s in BatchState}
MEMBER_STATE_LABELS = {s.value: s.title_zh for s in MemberState}
MEMBER_STATES = tuple(s.value for s in MemberState)
FILING_LABELS = {s.value: s.title_zh for s in FilingState}
#: A member may leave the batch only before the batch goes to the bank.
WITHDRAWABLE = MEMBER.sources(MemberState.WITHDRAWN, "recommender")
#: The term used to evaluate, score and quote a member (the batch products lend up to 12 months).
DEFAULT_TERM_MONTHS = 12


@dataclass(frozen=True)
class QuotaUse:
    """How much of a batch's quota is used and left, and its members by state."""

    total: Decimal
    used: Decimal
    left: Decimal
    share_used: float
    members_by_state: dict[str, int]


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def _today(now: datetime | None = None) -> date:
    return _now(now).astimezone(SHANGHAI).date()


def parse_amount(
    value: Any, field: str = "amount", *, kind: str = "loan", unit: str = "yuan"
) -> Decimal:
    """Read a positive amount (yuan, or 万元 with ``unit="wan"``) and return yuan within
    :data:`finportal.limits.AMOUNTS` ``kind``; or raise ``ValidationFailed``."""
    return limits.valid_amount(value, kind, field, unit=unit)


def organiser_name(batch: Batch) -> str:
    """Return the name of the batch's park or chamber."""
    org = batch.park or batch.chamber
    return org.name_zh if org is not None else "—"


def batch_product(session: Session, organiser: str) -> ProductVersion:
    """Return the current version of the batch product of a park or a chamber."""
    code = BATCH_PRODUCTS.get(organiser)
    version = None
    if code is not None:
        version = session.scalar(
            select(ProductVersion)
            .join(Product, Product.current_version_id == ProductVersion.id)
            .where(Product.code == code, Product.active.is_(True))
        )
    if version is None:
        raise NotFound(
            "批次贷产品尚未发布，请管理员先发布产品目录。",
            "The batch loan product is not published yet.",
        )
    return version


# --- creating and reading batches -------------------------------------------------------


def create_batch(
    session: Session,
    *,
    actor_id: int | None,
    name: str,
    bank_id: int,
    quota_total: Any,
    park_id: int | None = None,
    chamber_id: int | None = None,
    code: str | None = None,
) -> Batch:
    """Open a batch for one park or chamber, one bank and the matching batch product."""
    if (park_id is None) == (chamber_id is None):
        raise ValidationFailed(
            "批次须属于一个园区或一个商会（二选一）。",
            "A batch belongs to exactly one park or one chamber.",
            fields={"organiser": "请选择一个园区或一个商会"},
        )
    name = limits.valid_text(name, "name", "name")
    if not name:
        raise ValidationFailed(
            "请填写批次名称。", "Give the batch a name.", fields={"name": "请填写批次名称"}
        )
    quota = parse_amount(quota_total, "quota_total", kind="quota")
    bank = session.get(Bank, bank_id) if limits.check_id(bank_id) else None
    if bank is None or not bank.active:
        raise ValidationFailed("银行不存在。", "No such bank.", fields={"bank_id": "请选择银行"})
    organiser = "park" if park_id is not None else "chamber"
    org_id = limits.check_id(park_id if park_id is not None else chamber_id)
    org = session.get(Park if park_id is not None else Chamber, org_id) if org_id else None
    if org is None or not org.active:
        raise ValidationFailed(
            "园区或商会不存在。", "No such park or chamber.", fields={"organiser": "请选择"}
        )
    version = batch_product(session, organiser)
    product = catalog_service.product_of(version)
    if product.per_firm_cap is None:
        raise ValidationFailed(
            "该产品没有单户上限，不能用于批次。", "The product has no per-firm cap."
        )
    cap = Decimal(product.per_firm_cap.value)
    if quota < cap:
        raise ValidationFailed(
            f"批次总额度不能低于单户上限 {cap:,.2f} 元。",
            f"The quota cannot be below the per-firm cap of {cap:,.2f} yuan.",
            fields={"quota_total": "总额度不能低于单户上限"},
        )
    code = code or f"BT-{_today():%Y%m%d}-{uuid.uuid4().hex[:6].upper()}"
    if session.scalar(select(Batch.id).where(Batch.code == code)) is not None:
        raise Conflict("批次编号已存在。", "A batch with this code exists.")
    batch = Batch(
        code=code,
        name=name,
        park_id=park_id,
        chamber_id=chamber_id,
        bank_id=bank.id,
        product_id=version.product_id,
        product_version_id=version.id,
        quota_total=quota,
        per_firm_cap=cap,
        quota_used=Decimal("0"),
        state="open",
        filing_status="not_filed",
        created_by_id=actor_id,
    )
    session.add(batch)
    session.flush()
    record_event(
        session,
        actor_id=actor_id,
        action="batch.created",
        object_type="batch",
        object_id=batch.id,
        to_state="open",
        data={
            "code": code,
            "bank_id": bank.id,
            "quota_total": str(quota),
            "per_firm_cap": str(cap),
        },
    )
    session.commit()
    return batch


def list_batches(
    session: Session,
    *,
    bank_id: int | None = None,
    park_id: int | None = None,
    chamber_id: int | None = None,
    state: str | None = None,
) -> list[Batch]:
    """Return batches, newest first, optionally of one bank, park, chamber or state."""
    stmt = select(Batch).order_by(Batch.id.desc())
    if bank_id is not None:
        stmt = stmt.where(Batch.bank_id == bank_id)
    if park_id is not None:
        stmt = stmt.where(Batch.park_id == park_id)
    if chamber_id is not None:
        stmt = stmt.where(Batch.chamber_id == chamber_id)
    if state is not None:
        stmt = stmt.where(Batch.state == state)
    return list(session.scalars(stmt))


def get_batch(session: Session, batch_id: int, *, bank_id: int | None = None) -> Batch:
    """Return a batch; with ``bank_id``, only that bank's (others are not found)."""
    batch = session.get(Batch, batch_id) if limits.check_id(batch_id) else None
    if batch is None or (bank_id is not None and batch.bank_id != bank_id):
        raise NotFound("批次不存在。", "No such batch.")
    return batch


def get_sent_batch(session: Session, batch_id: int, *, bank_id: int) -> Batch:
    """Return a batch sent to the bank; one still open is not found."""
    batch = get_batch(session, batch_id, bank_id=bank_id)
    if batch.state == "open":
        # Not sent to the bank yet: the bank does not even learn that it exists.
        raise NotFound("批次不存在。", "No such batch.")
    return batch


def list_sent_batches(session: Session, *, bank_id: int, state: str | None = None) -> list[Batch]:
    """Return the batches sent to the bank, newest first (open ones are not sent yet)."""
    return [b for b in list_batches(session, bank_id=bank_id, state=state) if b.state != "open"]


#: Member states a bank sees: those the advisor sent it.
BANK_VISIBLE_STATES = MEMBER.tagged("sent")


def bank_members(session: Session, batch: Batch) -> list[BatchMember]:
    """Return the members the batch's bank may see: sent to it, with their consent in force."""
    sent = [m for m in batch.members if m.state in BANK_VISIBLE_STATES]
    refused = {m.id for m in consents.members_without_consent(session, batch, sent)}
    return [m for m in sent if m.id not in refused]


def get_member(
    session: Session, batch_id: int, member_id: int, *, bank_id: int | None = None
) -> BatchMember:
    """Return a member of a batch (of the bank, when given: only one the bank may see)."""
    batch = get_batch(session, batch_id, bank_id=bank_id)
    member = session.get(BatchMember, member_id) if limits.check_id(member_id) else None
    if member is None or member.batch_id != batch.id:
        raise NotFound("批次成员不存在。", "No such batch member.")
    if bank_id is not None and member not in bank_members(session, batch):
        raise NotFound("批次成员不存在。", "No such batch member.")
    return member


def quota_use(batch: Batch) -> QuotaUse:
    """Return the batch's quota used and left (approved amounts) and its members by state."""
    total = Decimal(batch.quota_total)
    used = Decimal(batch.quota_used)
    counts = dict.fromkeys(MEMBER_STATES, 0)
    for member in batch.members:
        counts[member.state] = counts.get(member.state, 0) + 1
    return QuotaUse(
        total=total,
        used=used,
        left=total - used,
        share_used=float(used / total) if total else 0.0,
        members_by_state=counts,
    )


# --- recommenders: the park's or chamber's whitelist -------------------------------------


def _recommender(session: Session, actor_id: int) -> User:
    user = session.get(User, actor_id)
    if (
        user is None
        or user.role != "recommender"
        or (user.park_id is None and user.chamber_id is None)
    ):
        raise Forbidden(
            "只有园区或商会的推荐人员可以推荐企业。",
            "Only a park's or chamber's recommender can recommend enterprises.",
        )
    return user


def _owns(user: User, batch: Batch) -> bool:
    return (batch.park_id is not None and batch.park_id == user.park_id) or (
        batch.chamber_id is not None and batch.chamber_id == user.chamber_id
    )


def organisation_members(session: Session, *, actor_id: int) -> list[Enterprise]:
    """Return the member enterprises of the recommender's own park or chamber, by name."""
    user = _recommender(session, actor_id)
    members = select(Membership.enterprise_id)
    if user.park_id is not None:
        members = members.where(Membership.park_id == user.park_id)
    else:
        members = members.where(Membership.chamber_id == user.chamber_id)
    # IN (subquery), not DISTINCT: PostgreSQL cannot compare the JSON columns of a row.
    stmt = select(Enterprise).where(Enterprise.id.in_(members)).order_by(Enterprise.name)
    return list(session.scalars(stmt))


def recommender_batches(session: Session, *, actor_id: int) -> list[Batch]:
    """Return the batches of the recommender's own park or chamber, newest first."""
    user = _recommender(session, actor_id)
    if user.park_id is not None:
        return list_batches(session, park_id=user.park_id)
    return list_batches(session, chamber_id=user.chamber_id)


def recommender_product(session: Session, *, actor_id: int) -> ProductVersion:
    """Return the batch product of the recommender's organisation (park or chamber)."""
    user = _recommender(session, actor_id)
    return batch_product(session, "park" if user.park_id is not None else "chamber")


def evaluate_member(
    enterprise: Enterprise,
    version: ProductVersion,
    amount: Decimal | None = None,
    today: date | None = None,
) -> products.Evaluation:
    """Evaluate an enterprise against the batch product, as a recommended (whitelisted) member."""
    product = catalog_service.product_of(version)
    request: dict[str, Any] = {
        "batch_recommended": True,
        "term_months": DEFAULT_TERM_MONTHS,
        # Before an amount is asked, judge with the catalogue's example amount.
        "amount": amount if amount is not None else product.example_amount.value,
    }
    return products.evaluate(product, enterprise_profile(enterprise), request, today=today)


def recommend_member(
    session: Session,
    *,
    batch_id: int,
    enterprise_id: int,
    actor_id: int,
    note: str = "",
    requested_amount: Any = None,
) -> BatchMember:
    """Put a member enterprise of the recommender's own park or chamber on a batch's whitelist."""
    user = _recommender(session, actor_id)
    batch = session.get(Batch, batch_id) if limits.check_id(batch_id) else None
    if batch is None or not _owns(user, batch):
        raise NotFound("批次不存在。", "No such batch.")
    if batch.state != "open":
        raise InvalidTransition(
            "批次已提交银行，不能再推荐企业。", "The batch was submitted; it takes no new members."
        )
    enterprise = session.get(Enterprise, enterprise_id) if limits.check_id(enterprise_id) else None
    in_org = enterprise is not None and any(
        (batch.park_id is not None and m.park_id == batch.park_id)
        or (batch.chamber_id is not None and m.chamber_id == batch.chamber_id)
        for m in enterprise.memberships
    )
    if enterprise is None or not in_org:
        # Enterprises outside the organisation are not even confirmed to exist.
        raise NotFound("该企业不是本园区/商会的成员企业。", "Not a member of your organisation.")
    amount = None
    if requested_amount not in (None, ""):
        amount = parse_amount(requested_amount, "requested_amount")
        if amount > batch.per_firm_cap:
            raise ValidationFailed(
                f"申请金额不能超过单户上限 {batch.per_firm_cap:,.2f} 元。",
                f"The amount cannot exceed the per-firm cap of {batch.per_firm_cap:,.2f} yuan.",
                fields={"requested_amount": "超过单户上限"},
            )
    # Only an eligible enterprise goes on the whitelist (judged as the advisor's check will).
    version = batch.product_version or batch_product(
        session, "park" if batch.park_id is not None else "chamber"
    )
    evaluation = evaluate_member(
        enterprise, version, amount if amount is not None else Decimal(batch.per_firm_cap)
    )
    if not evaluation.eligible:
        failing = [
            c
            for c in evaluation.conditions
            if c.result == "failed" or (c.result != "passed" and c.required)
        ]
        reasons = "；".join(c.message_zh for c in failing) or "不符合批次产品准入条件"
        raise ValidationFailed(
            f"{enterprise.name}不符合批次产品准入条件，不能推荐：{reasons}",
            f"{enterprise.name} is not eligible for the batch product and cannot be recommended.",
            fields={"enterprise_id": reasons},
        )
    note = limits.valid_text(note, "reason", "note")
    member = session.scalar(
        select(BatchMember).where(
            BatchMember.batch_id == batch.id, BatchMember.enterprise_id == enterprise.id
        )
    )
    from_state = None
    if member is not None:
        if member.state != "withdrawn":
            raise Conflict("该企业已在本批次中。", "The enterprise is already in this batch.")
        from_state = member.state
        member.state = "recommended"
        member.check_result = None
        member.recommended_by_id = user.id
        member.note = note
        member.requested_amount = amount
        member.reason_text = ""
    else:
        member = BatchMember(
            batch_id=batch.id,
            enterprise_id=enterprise.id,
            recommended_by_id=user.id,
            note=note,
            state="recommended",
            requested_amount=amount,
        )
        session.add(member)
    session.flush()
    record_event(
        session,
        actor_id=actor_id,
        action="batch_member.recommended",
        object_type="batch_member",
        object_id=member.id,
        from_state=from_state,
        to_state="recommended",
        reason=note,
        data={"batch_id": batch.id, "enterprise_id": enterprise.id},
    )
    session.commit()
    return member


def withdraw_member(
    session: Session, member_id: int, *, actor_id: int, reason: str = ""
) -> BatchMember:
    """Withdraw a recommendation (the recommender of its organisation, or an advisor)."""
    user = session.get(User, actor_id)
    member = session.get(BatchMember, member_id) if limits.check_id(member_id) else None
    allowed = (
        user is not None
        and member is not None
        and (user.role == "advisor" or (user.role == "recommender" and _owns(user, member.batch)))
    )
    if not allowed or member is None:
        raise NotFound("批次成员不存在。", "No such batch member.")
    if member.state not in WITHDRAWABLE or member.batch.state != "open":
        raise InvalidTransition(
            "批次已提交银行，不能再撤回推荐。",
            "The batch went to the bank; the recommendation can no longer be withdrawn.",
        )
    from_state = member.state
    member.state = "withdrawn"
    member.reason_text = limits.valid_text(reason, "reason", "reason")
    record_event(
        session,
        actor_id=actor_id,
        action="batch_member.withdrawn",
        object_type="batch_member",
        object_id=member.id,
        from_state=from_state,
        to_state="withdrawn",
        reason=member.reason_text,
        data={"batch_id": member.batch_id},
    )
    session.commit()
    return member


# --- the advisor: check members and submit -----------------------------------------------


def _score_member(
    session: Session, enterprise: Enterprise, amount: Decimal, today: date
) -> dict[str, Any] | None:
    """Score the member with the champion model (None when no model is active)."""
    from finportal.services import credit

    row = credit.champion(session)
    if row is None:
        return None
    model = credit.load(row)
    request = {"amount": amount, "term_months": DEFAULT_TERM_MONTHS, "batch_recommended": True}
    features = credit.features_for(enterprise_profile(enterprise), request, today)
    result = model.score_one(features).to_dict()
    return {
        "score": int(result["score"]),
        "grade": str(result["grade"]),
        "pd": float(result["pd"]),
        "reasons": result["reasons"],
        "model_version": row.version,
        "synthetic": bool(row.synthetic),
    }


def scored_with_synthetic_model(session: Session, members: list[BatchMember]) -> bool:
    """Tell whether any member's check score comes from a model trained on synthetic data."""
    versions = set()
    for member in members:
        score = (member.check_result or {}).get("score") or {}
        if score.get("synthetic"):
            return True
        if "synthetic" not in score and score.get("model_version"):
            versions.add(str(score["model_version"]))
    if not versions:
        return False
    return bool(
        session.scalar(
            select(ModelVersion.id)
            .where(ModelVersion.version.in_(versions), ModelVersion.synthetic.is_(True))
            .limit(1)
        )
    )


def check_member(
    session: Session, member_id: int, *, actor_id: int | None, now: datetime | None = None
) -> BatchMember:
    """Check a member's eligibility (as recommended) and consent; mark it checked when both pass."""
    member = session.get(BatchMember, member_id)
    if member is None:
        raise NotFound("批次成员不存在。", "No such batch member.")
    batch = member.batch
    if batch.state != "open" or member.state not in WITHDRAWABLE:
        raise InvalidTransition(
            "只能核验推荐中批次里尚未提交的成员。",
            "Only members not yet submitted, in an open batch, can be checked.",
        )
    today = _today(now)
    version = batch.product_version or batch_product(
        session, "park" if batch.park_id is not None else "chamber"
    )
    amount = Decimal(member.requested_amount or batch.per_firm_cap)
    evaluation = evaluate_member(member.enterprise, version, amount, today)
    consent = consents.for_batch_member(session, batch, member.enterprise_id, today)
    verified = is_verified(member.enterprise)
    score = _score_member(session, member.enterprise, amount, today)
    passed = evaluation.eligible and consent is not None and verified
    member.check_result = {
        "passed": passed,
        "eligible": evaluation.eligible,
        "checked_at": _now(now).isoformat(),
        "product_version_id": version.id,
        "conditions": [
            {
                "id": c.id,
                "field": c.field,
                "result": c.result,
                "message_zh": c.message_zh,
                "demo": c.demo,
            }
            for c in evaluation.conditions
        ],
        "verified": verified,
        "consent": None
        if consent is None
        else {
            "id": consent.id,
            "scope": list(consent.scope or []),
            "granted_at": consent.granted_at.isoformat(),
            "valid_until": consent.valid_until.isoformat(),
        },
        "score": score,
    }
    from_state = member.state
    member.state = "checked" if passed else "recommended"
    reasons = [c.message_zh for c in evaluation.failed]
    if not verified:
        reasons.append("企业账户尚未通过服务中心认证")
    if consent is None:
        reasons.append("企业尚未就本批次授权向该银行提供信息")
    record_event(
        session,
        actor_id=actor_id,
        action="batch_member.checked",
        object_type="batch_member",
        object_id=member.id,
        from_state=from_state,
        to_state=member.state,
        reason="；".join(reasons),
        data={"batch_id": batch.id, "passed": passed},
    )
    session.commit()
    return member


def check_all_members(session: Session, batch_id: int, *, actor_id: int | None) -> Batch:
    """Check every member of an open batch that is not yet submitted."""
    batch = get_batch(session, batch_id)
    if batch.state != "open":
        raise InvalidTransition("批次已提交银行。", "The batch was already submitted.")
    for member in list(batch.members):
        if member.state in WITHDRAWABLE:
            check_member(session, member.id, actor_id=actor_id)
    return batch


def submit_batch(
    session: Session, batch_id: int, *, actor_id: int | None, now: datetime | None = None
) -> Batch:
    """Send an open batch to its bank: every remaining member must have passed the check."""
    batch = get_batch(session, batch_id)
    if batch.state != "open":
        raise InvalidTransition("批次已提交银行。", "The batch was already submitted.")
    active = [m for m in batch.members if m.state != "withdrawn"]
    unchecked = [m for m in active if m.state != "checked"]
    if unchecked:
        names = "、".join(m.enterprise.name for m in unchecked[:5])
        raise InvalidTransition(
            f"以下成员尚未通过资格与授权核验，请核验或撤回后再提交：{names}",
            f"{len(unchecked)} member(s) have not passed the check; check or withdraw them first.",
        )
    if not active:
        raise InvalidTransition("批次没有成员，不能提交。", "The batch has no members.")
    stamp = _now(now)
    for member in active:
        member.state = "submitted"
    batch.state = "submitted"
    batch.submitted_at = stamp
    record_event(
        session,
        actor_id=actor_id,
        action="batch.submitted",
        object_type="batch",
        object_id=batch.id,
        from_state="open",
        to_state="submitted",
        data={"members": [m.id for m in active]},
    )
    session.commit()
    return batch


# --- the bank: member decisions and filing -----------------------------------------------


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
                f"批准金额不能超过单户上限 {batch.per_firm_cap:,.2f} 元。",
                f"The amount cannot exceed the per-firm cap of {batch.per_firm_cap:,.2f} yuan.",
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
                f"批次剩余额度不足：剩余 {left:,.2f} 元，批准 {amount:,.2f} 元。",
                f"Not enough quota left: {left:,.2f} yuan left, {amount:,.2f} asked.",
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
