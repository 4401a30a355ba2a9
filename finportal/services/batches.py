"""Batch loans (批次贷): recommend members, check them, submit the batch, decide member by member.

A batch belongs to one park or one chamber, one bank and one batch product. Its
per-firm cap comes from the product's catalogue terms; its quota is spent by the
bank's approvals with a guarded atomic UPDATE, so two approvals arriving at once
can never overspend it (the ``quota_not_overspent`` CHECK is the last guard).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import String, cast, select, update
from sqlalchemy.orm import Session

import products
from finportal import jobs
from finportal.models import (
    Application,
    Bank,
    Batch,
    BatchMember,
    Chamber,
    CreditScore,
    Enterprise,
    Job,
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
from finportal.services.audit import download_stamp, record_event
from finportal.services.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from finportal.services.labels import scope_text
from finportal.services.packets import default_base_url, quote_subsidies
from finportal.services.profiles import enterprise_profile
from finportal.services.verification import is_verified
from finportal.services.workdays import SHANGHAI

BATCH_PRODUCTS = {"park": "park_batch", "chamber": "chamber_batch"}

BATCH_STATE_LABELS = {"open": "推荐中", "submitted": "已提交银行", "closed": "已结束"}
MEMBER_STATE_LABELS = {
    "recommended": "已推荐",
    "checked": "已核验",
    "submitted": "待银行审批",
    "approved": "银行同意",
    "declined": "银行拒绝",
    "withdrawn": "已撤回",
}
MEMBER_STATES = tuple(MEMBER_STATE_LABELS)
FILING_LABELS = {"not_filed": "未备案", "filed": "已备案"}
#: A member may leave the batch only before the batch goes to the bank.
WITHDRAWABLE = ("recommended", "checked")
#: Largest amount anyone may type, yuan: Numeric(18, 2) holds far more, this keeps typos out.
MAX_AMOUNT = Decimal("10000000000")  # 100 亿元
#: Ids are positive 32-bit integers in every database the portal runs on.
MAX_ID = 2**31 - 1
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


def parse_amount(value: Any, field: str = "amount") -> Decimal:
    """Read a positive yuan amount with at most two decimals, or raise ``ValidationFailed``."""
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        amount = Decimal("NaN")
    if not amount.is_finite() or amount <= 0 or amount > MAX_AMOUNT:
        raise ValidationFailed(
            "金额须为大于 0 且不超过 100 亿元的数字。",
            "The amount must be a number above 0 and at most 10 billion yuan.",
            fields={field: "金额须为大于 0 且不超过 100 亿元的数字"},
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed(
            "金额最多保留两位小数（分）。",
            "The amount has at most two decimals.",
            fields={field: "金额最多保留两位小数"},
        )
    return amount


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
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationFailed(
            "请填写批次名称（不超过 200 字）。",
            "Give the batch a name (at most 200 characters).",
            fields={"name": "请填写批次名称"},
        )
    quota = parse_amount(quota_total, "quota_total")
    bank = session.get(Bank, bank_id)
    if bank is None or not bank.active:
        raise ValidationFailed("银行不存在。", "No such bank.", fields={"bank_id": "请选择银行"})
    organiser = "park" if park_id is not None else "chamber"
    org = session.get(Park, park_id) if park_id is not None else session.get(Chamber, chamber_id)
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
    batch = session.get(Batch, batch_id) if 0 < batch_id <= MAX_ID else None
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
BANK_VISIBLE_STATES = ("submitted", "approved", "declined")


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
    member = session.get(BatchMember, member_id) if 0 < member_id <= MAX_ID else None
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
    batch = session.get(Batch, batch_id)
    if batch is None or not _owns(user, batch):
        raise NotFound("批次不存在。", "No such batch.")
    if batch.state != "open":
        raise InvalidTransition(
            "批次已提交银行，不能再推荐企业。", "The batch was submitted; it takes no new members."
        )
    enterprise = session.get(Enterprise, enterprise_id)
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
    note = (note or "").strip()
    if len(note) > 2000:
        raise ValidationFailed(
            "推荐说明不超过 2000 字。", "The note is too long.", fields={"note": "不超过 2000 字"}
        )
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
    member = session.get(BatchMember, member_id)
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
    member.reason_text = (reason or "").strip()[:2000]
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


def _latest_score(session: Session, enterprise_id: int) -> CreditScore | None:
    return session.scalar(
        select(CreditScore)
        .join(Application, Application.id == CreditScore.application_id)
        .where(Application.enterprise_id == enterprise_id)
        .order_by(CreditScore.scored_at.desc(), CreditScore.id.desc())
        .limit(1)
    )


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
    reason_text = (reason_text or "").strip()
    if len(reason_text) > 2000:
        raise ValidationFailed(
            "说明不超过 2000 字。",
            "The reason is too long.",
            fields={"reason_text": "不超过 2000 字"},
        )
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


# --- the batch packet ----------------------------------------------------------------------


def _wan(value: Decimal | None) -> Decimal:
    return (Decimal(value or 0) / Decimal(10000)).quantize(Decimal("0.01"))


def _code(*parts: object) -> str:
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest().upper()
    return f"{digest[:4]}-{digest[4:8]}-{digest[8:12]}"


def _fmt_money_wan(value: Decimal | None) -> str:
    return "—" if value is None else f"{_wan(value):,.2f} 万元"


def _profile_rows(enterprise: Enterprise, organiser: str) -> dict[str, str]:
    def val(v: object, suffix: str = "") -> str:
        return "—" if v is None else f"{v}{suffix}"

    return {
        "成立日期": val(enterprise.registered_on),
        "注册地行政区划": val(enterprise.district_code),
        "行业代码（GB/T 4754）": val(enterprise.industry_code),
        "所属园区/商会": organiser,
        "从业人数": f"{val(enterprise.employees)} 人（社保缴纳 {val(enterprise.social_insured_employees)} 人）",
        "上年营业收入": _fmt_money_wan(enterprise.revenue_last_year),
        "资产总额": _fmt_money_wan(enterprise.total_assets),
        "负债总额": _fmt_money_wan(enterprise.total_liabilities),
        "上年纳税总额": _fmt_money_wan(enterprise.tax_paid_last_year),
        "纳税信用等级": val(enterprise.tax_credit_grade),
        "知识产权": f"发明专利 {val(enterprise.invention_patents)} 件，商标 {val(enterprise.trademarks)} 件",
        "近 24 个月逾期": f"{val(enterprise.overdue_count_24m)} 次",
        "未结诉讼": f"{val(enterprise.pending_lawsuits)} 件",
    }


def member_packet_context(
    session: Session,
    member: BatchMember,
    index: int,
    *,
    today: date,
    advisor_name: str = "",
    verification_code: str = "",
) -> Any:
    """Assemble a member's referral packet as plain data (``finportal.packets.PacketContext``)."""
    from finportal import packets

    batch = member.batch
    version = batch.product_version or batch_product(
        session, "park" if batch.park_id is not None else "chamber"
    )
    product = catalog_service.product_of(version)
    check = member.check_result or {}
    amount = Decimal(member.approved_amount or member.requested_amount or batch.per_firm_cap)
    term = DEFAULT_TERM_MONTHS
    lpr = catalog_service.current_lpr(session, today)
    try:
        q = products.quote(product, amount, term, lpr)
    except products.QuoteError:
        q = None
    if q is not None:
        years = Decimal(term) / Decimal(12)
        subsidies = quote_subsidies(
            product, q, lambda total: (total / years).quantize(Decimal("0.01"))
        )
        quote = packets.Quote(
            interest_rate=float(q.nominal_rate),
            guarantee_fee_rate=float(q.guarantee_fee_rate),
            annual_interest_yuan=(q.total_interest / years).quantize(Decimal("0.01")),
            annual_guarantee_fee_yuan=(q.total_fee / years).quantize(Decimal("0.01")),
            subsidies=subsidies,
            net_annual_cost_yuan=(q.net_cost / years).quantize(Decimal("0.01")),
            net_annual_rate=float(q.net_annual_cost_rate),
            rate_note_zh=f"1年期LPR {float(lpr) * 100:.2f}% 起（以银行审批为准）",
            interest_rate_demo=product.rate_demo,
            guarantee_fee_demo=product.guarantee_fee_demo,
        )
    else:
        quote = packets.Quote(0.0, 0.0, 0, 0, (), 0)
    score = check.get("score") or None
    if score is None:
        stored = _latest_score(session, member.enterprise_id)
        if stored is not None:
            model = session.get(ModelVersion, stored.model_version_id)
            score = {
                "score": stored.score,
                "grade": stored.grade,
                "pd": stored.pd,
                "reasons": stored.reasons,
                "model_version": model.version if model is not None else "",
                "synthetic": bool(model is not None and model.synthetic),
            }
    consent_data = check.get("consent")
    consent = packets.ConsentRecord(
        bank=batch.bank.name_zh,
        scope=scope_text(consent_data["scope"]) if consent_data else "未授权",
        granted_at=datetime.fromisoformat(consent_data["granted_at"])
        if consent_data
        else datetime.combine(today, datetime.min.time()),
        valid_until=date.fromisoformat(consent_data["valid_until"]) if consent_data else None,
    )
    organiser = organiser_name(batch)
    return packets.PacketContext(
        packet_number=f"{batch.code}-{index:03d}",
        verification_code=verification_code or _code(batch.code, member.id, member.enterprise.uscc),
        verify_url=f"{default_base_url()}/verify/{verification_code}" if verification_code else "",
        bank_name=batch.bank.name_zh,
        product_name=product.name_zh,
        product_code=product.code,
        date=today,
        enterprise_name=member.enterprise.name,
        enterprise_uscc=member.enterprise.uscc,
        enterprise_profile=_profile_rows(member.enterprise, organiser),
        request=packets.LoanRequest(
            amount_wan=_wan(amount),
            term_months=term,
            purpose=f"{organiser}批次推荐" + (f"：{member.note}" if member.note else ""),
        ),
        conditions=[
            packets.EligibilityCondition(
                c.get("field", ""),
                c.get("result", "unknown"),
                c.get("message_zh", ""),
                demo=bool(c.get("demo", False)),
            )
            for c in check.get("conditions", [])
        ],
        score=score["score"] if score else 0,
        grade=score["grade"] if score else "—",
        pd=float(score["pd"]) if score else 0.0,
        reasons=[
            packets.Reason(
                r.get("feature", ""), float(r.get("contribution", 0)), r.get("text_zh", "")
            )
            for r in (score["reasons"] if score else [])
        ],
        quote=quote,
        advisor_opinion=member.note or "经园区/商会推荐，已核验批次贷准入条件及企业授权。",
        advisor_name=advisor_name or "—",
        consent=consent,
        model_version=score.get("model_version", "") if score else "",
        model_trained_on_synthetic=bool(score.get("synthetic")) if score else False,
    )


def batch_packet(
    session: Session,
    batch_id: int,
    *,
    actor_id: int | None,
    bank_id: int | None = None,
    now: datetime | None = None,
) -> bytes:
    """Return the batch packet: a cover table of the members, then each member's packet."""
    return batch_packet_with_codes(session, batch_id, actor_id=actor_id, bank_id=bank_id, now=now)[
        0
    ]


def batch_packet_with_codes(
    session: Session,
    batch_id: int,
    *,
    actor_id: int | None,
    bank_id: int | None = None,
    now: datetime | None = None,
) -> tuple[bytes, dict[str, Any]]:
    """Return the batch packet and the verification codes printed in it.

    Each rendering prints fresh random codes (the cover's and one per member packet);
    the caller stores them (the packet job's result) so ``/verify/<code>`` finds them.
    """
    from finportal import packets
    from finportal.services.packets import new_verification_code

    batch = get_batch(session, batch_id, bank_id=bank_id)
    members = [m for m in batch.members if m.state not in ("withdrawn", "recommended")]
    if not members:
        raise InvalidTransition(
            "批次没有已核验的成员，无法生成材料包。", "The batch has no checked members yet."
        )
    today = _today(now)
    # A bank sees members only while their consent to that bank stands.
    refused = consents.members_without_consent(session, batch, members, today)
    if refused:
        raise Forbidden(
            f"以下企业已撤回或未授权向该银行提供信息：{'、'.join(m.enterprise.name for m in refused[:5])}",
            "Some members have no standing consent to this bank.",
        )
    version = batch.product_version or batch_product(
        session, "park" if batch.park_id is not None else "chamber"
    )
    product = catalog_service.product_of(version)
    actor = session.get(User, actor_id) if actor_id is not None else None
    contexts = [
        member_packet_context(
            session,
            m,
            i,
            today=today,
            advisor_name=actor.display_name if actor else "",
            verification_code=new_verification_code(),
        )
        for i, m in enumerate(members, 1)
    ]
    cover_code = new_verification_code()
    cover = packets.BatchCoverContext(
        batch_number=batch.code,
        batch_name=batch.name,
        bank_name=batch.bank.name_zh,
        product_name=product.name_zh,
        product_code=product.code,
        organiser_name=organiser_name(batch),
        date=today,
        quota_wan=_wan(batch.quota_total),
        per_firm_cap_wan=_wan(batch.per_firm_cap),
        members=[
            packets.BatchMember(
                enterprise_name=m.enterprise.name,
                enterprise_uscc=m.enterprise.uscc,
                amount_wan=_wan(m.requested_amount or batch.per_firm_cap),
                approved_wan=_wan(m.approved_amount) if m.state == "approved" else None,
                grade=ctx.grade,
                packet_number=ctx.packet_number,
                status_zh=MEMBER_STATE_LABELS.get(m.state, m.state),
            )
            for m, ctx in zip(members, contexts, strict=True)
        ],
        verification_code=cover_code,
        notes=(
            f"已用额度 {_wan(batch.quota_used):,.2f} 万元；备案状态：{FILING_LABELS.get(batch.filing_status, batch.filing_status)}",
        ),
    )
    pdf = packets.merge_batch_packet(cover, [packets.render_packet(c) for c in contexts])
    record_event(
        session,
        actor_id=actor_id,
        action="batch.packet_rendered",
        object_type="batch",
        object_id=batch.id,
        data={"bank_id": batch.bank_id, "members": len(members), "sha256": packets.sha256_hex(pdf)},
    )
    session.commit()
    codes = {
        "verification_code": cover_code,
        "members": [
            {
                "member_id": m.id,
                "packet_number": ctx.packet_number,
                "verification_code": ctx.verification_code,
            }
            for m, ctx in zip(members, contexts, strict=True)
        ],
    }
    return pdf, codes


# Rendering takes a fraction of a second per member, so a batch packet is rendered by a
# background job into the packet folder (shared by the web and job processes) and then
# downloaded from there.
PACKET_JOB = "batch_packet"


def _packet_members(batch: Batch) -> list[BatchMember]:
    return [m for m in batch.members if m.state not in ("withdrawn", "recommended")]


@jobs.job(PACKET_JOB)
def render_batch_packet(
    session: Session,
    *,
    batch_id: int,
    out_dir: str,
    requested_by: int | None = None,
    bank_id: int | None = None,
) -> dict[str, Any]:
    """Render the batch packet into ``out_dir`` (the job behind :func:`request_packet`)."""
    from finportal.packets import sha256_hex

    pdf, codes = batch_packet_with_codes(session, batch_id, actor_id=requested_by, bank_id=bank_id)
    digest = sha256_hex(pdf)
    folder = Path(out_dir) / "batches"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"batch-{batch_id}-{digest[:16]}.pdf"
    # Write then rename: a worker killed mid-write leaves no half-written packet behind.
    partial = folder / f".{name}.{os.getpid()}.part"
    partial.write_bytes(pdf)
    os.replace(partial, folder / name)
    # The codes printed in the packet, kept with its SHA-256 for /verify (verify_code).
    return {"file": name, "sha256": digest, "bytes": len(pdf), **codes}


def request_packet(
    session: Session,
    batch_id: int,
    *,
    actor_id: int | None,
    out_dir: str,
    bank_id: int | None = None,
) -> Job:
    """Queue the rendering of a batch packet (for the bank, when ``bank_id`` is given)."""
    batch = get_batch(session, batch_id, bank_id=bank_id)
    if not _packet_members(batch):
        raise InvalidTransition(
            "批次没有已核验的成员，无法生成材料包。", "The batch has no checked members yet."
        )
    record_event(
        session,
        actor_id=actor_id,
        action="batch.packet_requested",
        object_type="batch",
        object_id=batch.id,
        data={"bank_id": bank_id},
    )
    return jobs.enqueue(
        session,
        PACKET_JOB,
        actor_id=actor_id,
        object_type="batch",
        object_id=batch.id,
        batch_id=batch.id,
        out_dir=out_dir,
        requested_by=actor_id,
        bank_id=bank_id,
    )


def latest_packet_job(session: Session, batch_id: int, *, bank_id: int | None = None) -> Job | None:
    """Return the newest packet job of the batch requested by the bank (or by the centre)."""
    candidates = session.scalars(
        select(Job)
        .where(Job.kind == PACKET_JOB, Job.object_type == "batch", Job.object_id == batch_id)
        .order_by(Job.created_at.desc())
    )
    # A bank only ever sees the packets rendered for itself.
    return next((j for j in candidates if (j.args or {}).get("bank_id") == bank_id), None)


def packet_file(
    session: Session,
    batch_id: int,
    *,
    actor_id: int | None,
    out_dir: str,
    bank_id: int | None = None,
) -> tuple[bytes, str]:
    """Return the last rendered batch packet, stamped on every page, and its file name.

    The stamp names the bank (or the centre), the user and the time, like a single
    referral packet's (:func:`finportal.services.referrals.download_packet`); the stored
    file is not changed, so its SHA-256 still matches ``/verify``. The download is audited.
    """
    from finportal.packets import sha256_hex, stamp_pdf

    batch = get_batch(session, batch_id, bank_id=bank_id)
    job = latest_packet_job(session, batch.id, bank_id=bank_id)
    if job is None or job.state != "done" or not job.result:
        raise Conflict(
            "批次材料包尚未生成完成，请稍后刷新页面。",
            "The batch packet is not ready yet.",
            code="packet_not_ready",
        )
    if bank_id is not None and consents.members_without_consent(
        session, batch, _packet_members(batch)
    ):
        raise Forbidden(
            "有成员企业已撤回对该银行的授权，材料包不予提供。",
            "A member withdrew its consent to this bank; the packet is refused.",
        )
    path = Path(out_dir) / "batches" / str(job.result["file"])
    try:
        pdf = path.read_bytes()
    except OSError as exc:
        raise Conflict(
            "批次材料包文件不存在，请重新生成。",
            "The packet file is missing; render it again.",
            code="packet_missing",
        ) from exc
    lines = download_stamp(
        session,
        actor_id=actor_id,
        taker=batch.bank.name_zh if bank_id is not None else "闵行区融资服务中心",
        packet=f"批次材料包 {batch.code}",
        action="batch.packet_downloaded",
        object_type="batch",
        object_id=batch.id,
        at=utcnow(),
    )
    stamped = stamp_pdf(pdf, lines)
    record_event(
        session,
        actor_id=actor_id,
        action="batch.packet_downloaded",
        object_type="batch",
        object_id=batch.id,
        data={
            "bank_id": bank_id,
            "job_id": job.id,
            "sha256": job.result.get("sha256"),
            "stamp": lines,
            "stamped_sha256": sha256_hex(stamped),
        },
    )
    session.commit()
    return stamped, f"batch-{batch.code}.pdf"


def verify_code(session: Session, code: str) -> Any:
    """Return the public facts (``services.packets.VerifiedPacket``) of a batch packet code.

    The codes printed on a batch packet's cover and member packets are kept in the
    result of the job that rendered it, with the stored file's SHA-256.
    """
    from finportal.services.packets import VerifiedPacket, mask_name

    code = (code or "").strip().upper()
    found = None
    if len(code) == 14:
        candidates = session.scalars(
            select(Job)
            .where(
                Job.kind == PACKET_JOB,
                Job.state == "done",
                cast(Job.result, String).contains(code),
            )
            .order_by(Job.created_at.desc())
        )
        for job in candidates:
            result = job.result or {}
            if result.get("verification_code") == code:
                found = (job, None)
                break
            member = next(
                (m for m in result.get("members", []) if m.get("verification_code") == code),
                None,
            )
            if member is not None:
                found = (job, member)
                break
    if found is None:
        raise NotFound(
            "未找到该验证码对应的推荐材料包。", "No referral packet has this verification code."
        )
    job, entry = found
    batch = session.get(Batch, job.object_id)
    if batch is None:
        raise NotFound(
            "未找到该验证码对应的推荐材料包。", "No referral packet has this verification code."
        )
    rendered = job.finished_at or job.created_at
    if entry is None:
        packet_number = batch.code
        enterprise = f"{organiser_name(batch)}批次（{len(job.result.get('members', []))} 户）"
    else:
        packet_number = str(entry.get("packet_number", ""))
        member = session.get(BatchMember, entry.get("member_id"))
        enterprise = mask_name(member.enterprise.name) if member is not None else "—"
    return VerifiedPacket(
        packet_number=packet_number,
        sha256=str(job.result.get("sha256", "")),
        bank_name=batch.bank.name_zh,
        product_name=batch.product.name_zh,
        enterprise_name=enterprise,
        rendered_at=rendered,
        sent_on=(batch.submitted_at or rendered).astimezone(SHANGHAI).date(),
    )
