"""The advisor's part of a batch: check each member's eligibility, verification and consent, then submit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from finportal.models import (
    Batch,
    BatchMember,
    Consent,
    ModelVersion,
    ProductVersion,
)
from finportal.services import consents
from finportal.services.audit import record_event
from finportal.services.batch_recommendations import evaluate_member
from finportal.services.batches import (
    DEFAULT_TERM_MONTHS,
    WITHDRAWABLE,
    _now,
    _today,
    batch_product,
    get_batch,
)
from finportal.services.errors import (
    InvalidTransition,
    NotFound,
)
from finportal.services.profiles import enterprise_profiles
from finportal.services.verification import is_verified


def _champion(session: Session) -> tuple[ModelVersion, Any] | None:
    """Return the champion model's row and loaded model (None when no model is active)."""
    from finportal.services import credit

    row = credit.champion(session)
    return None if row is None else (row, credit.load(row))


def _score_member(
    champion: tuple[ModelVersion, Any] | None,
    profile: dict[str, Any],
    amount: Decimal,
    today: date,
) -> dict[str, Any] | None:
    """Score the member's profile with the champion model (None when no model is active)."""
    from finportal.services import credit

    if champion is None:
        return None
    row, model = champion
    request = {"amount": amount, "term_months": DEFAULT_TERM_MONTHS, "batch_recommended": True}
    features = credit.features_for(profile, request, today)
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


@dataclass(frozen=True)
class _Inputs:
    """What checking members of one batch reads once, whatever their number."""

    version: ProductVersion
    profiles: dict[int, dict[str, Any]]
    consents: dict[int, Consent]
    champion: tuple[ModelVersion, Any] | None
    today: date
    now: datetime


def _inputs(
    session: Session, batch: Batch, members: list[BatchMember], now: datetime | None
) -> _Inputs:
    """Read the members' profiles, the batch's consents and the model: a fixed few statements."""
    today = _today(now)
    version = batch.product_version or batch_product(
        session, "park" if batch.park_id is not None else "chamber"
    )
    return _Inputs(
        version=version,
        profiles=enterprise_profiles(session, [m.enterprise for m in members]),
        consents=consents.batch_consents(session, batch, today),
        champion=_champion(session),
        today=today,
        now=_now(now),
    )


def _check(
    session: Session, batch: Batch, member: BatchMember, read: _Inputs, actor_id: int | None
) -> None:
    """Check one member with what :func:`_inputs` read; record the event (no commit)."""
    amount = Decimal(member.requested_amount or batch.per_firm_cap)
    profile = read.profiles[member.enterprise_id]
    evaluation = evaluate_member(member.enterprise, read.version, amount, read.today, profile)
    consent = read.consents.get(member.enterprise_id)
    verified = is_verified(member.enterprise)
    score = _score_member(read.champion, profile, amount, read.today)
    passed = evaluation.eligible and consent is not None and verified
    member.check_result = {
        "passed": passed,
        "eligible": evaluation.eligible,
        "checked_at": read.now.isoformat(),
        "product_version_id": read.version.id,
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


def check_member(
    session: Session, member_id: int, *, actor_id: int | None, now: datetime | None = None
) -> BatchMember:
    """Check a member's eligibility (as recommended) and consent; mark it checked when both pass."""
    member = session.get(BatchMember, member_id)
    if member is None:
        raise NotFound.of("batch_member")
    batch = member.batch
    if batch.state != "open" or member.state not in WITHDRAWABLE:
        raise InvalidTransition(
            "只能核验推荐中批次里尚未提交的成员。",
            "Only members not yet submitted, in an open batch, can be checked.",
        )
    _check(session, batch, member, _inputs(session, batch, [member], now), actor_id)
    session.commit()
    return member


def check_all_members(
    session: Session, batch_id: int, *, actor_id: int | None, now: datetime | None = None
) -> Batch:
    """Check every member of an open batch that is not yet submitted, in one transaction.

    The members' firms, profiles and consents and the model are read once for the batch
    (a fixed number of statements, however many members), then each member is judged.
    """
    batch = get_batch(session, batch_id)
    if batch.state != "open":
        raise InvalidTransition("批次已提交银行。", "The batch was already submitted.")
    members = list(
        session.scalars(
            select(BatchMember)
            .where(BatchMember.batch_id == batch.id, BatchMember.state.in_(WITHDRAWABLE))
            .options(selectinload(BatchMember.enterprise))
            .order_by(BatchMember.id)
        )
    )
    if members:
        read = _inputs(session, batch, members, now)
        for member in members:
            _check(session, batch, member, read, actor_id)
    session.commit()
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
