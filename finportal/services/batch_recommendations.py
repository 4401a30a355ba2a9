"""The recommender's part of a batch: the park's or chamber's members, recommending and withdrawing them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

import products
from finportal import limits
from finportal.domain import permissions
from finportal.models import (
    Batch,
    BatchMember,
    Enterprise,
    Membership,
    ProductVersion,
    User,
)
from finportal.paging import Page, paginate
from finportal.services import catalog as catalog_service
from finportal.services.audit import record_event
from finportal.services.batches import (
    DEFAULT_TERM_MONTHS,
    BatchList,
    batch_product,
    batches_page,
    list_batches,
    parse_amount,
)
from finportal.services.errors import (
    Conflict,
    Forbidden,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from finportal.services.profiles import enterprise_profile, enterprise_profiles
from products.pricing import wan_text


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


def _organisation(user: User) -> dict[str, int | None]:
    """Return the user's organisation as batch columns: {park_id} or {chamber_id}."""
    if user.park_id is not None:
        return {"park_id": user.park_id}
    return {"chamber_id": user.chamber_id}


def _members_stmt(user: User, search: str | None = None) -> Any:
    members = select(Membership.enterprise_id)
    if user.park_id is not None:
        members = members.where(Membership.park_id == user.park_id)
    else:
        members = members.where(Membership.chamber_id == user.chamber_id)
    # IN (subquery), not DISTINCT: PostgreSQL cannot compare the JSON columns of a row.
    stmt = select(Enterprise).where(Enterprise.id.in_(members))
    if search and search.strip():
        text = search.strip()
        stmt = stmt.where(
            Enterprise.name.contains(text, autoescape=True)
            | Enterprise.uscc.startswith(text.upper(), autoescape=True)
        )
    return stmt.order_by(Enterprise.name, Enterprise.id)


def organisation_members(session: Session, *, actor_id: int) -> list[Enterprise]:
    """Return the member enterprises of the recommender's own park or chamber, by name."""
    return list(session.scalars(_members_stmt(_recommender(session, actor_id))))


def members_page(
    session: Session,
    *,
    actor_id: int,
    page: int = 1,
    per_page: int = limits.PAGE_SIZE,
    search: str | None = None,
) -> Page:
    """Return one page of the organisation's members by name (searched by name or USCC)."""
    user = _recommender(session, actor_id)
    return paginate(session, _members_stmt(user, search), page=page, per_page=per_page)


def recommender_batches(session: Session, *, actor_id: int) -> list[Batch]:
    """Return the batches of the recommender's own park or chamber, newest first."""
    user = _recommender(session, actor_id)
    return list_batches(session, **_organisation(user))


def recommender_batches_page(
    session: Session, *, actor_id: int, page: int = 1, per_page: int = limits.PAGE_SIZE
) -> BatchList:
    """Return one page of the organisation's batches, newest first, with their quota use."""
    user = _recommender(session, actor_id)
    return batches_page(session, page=page, per_page=per_page, **_organisation(user))


def open_batches(session: Session, *, actor_id: int, limit: int = limits.PAGE_SIZE) -> BatchList:
    """Return the organisation's open batches (what its members can be recommended into)."""
    user = _recommender(session, actor_id)
    return batches_page(session, per_page=limit, state="open", **_organisation(user))


def placements(
    session: Session, *, actor_id: int, enterprise_ids: list[int]
) -> dict[int, list[BatchMember]]:
    """Return {enterprise id: its memberships not withdrawn in the organisation's batches}.

    One statement for a page of firms, each membership with its batch.
    """
    user = _recommender(session, actor_id)
    found: dict[int, list[BatchMember]] = {}
    if not enterprise_ids:
        return found
    in_org = (
        Batch.park_id == user.park_id
        if user.park_id is not None
        else Batch.chamber_id == user.chamber_id
    )
    stmt = (
        select(BatchMember)
        .join(BatchMember.batch)
        .options(contains_eager(BatchMember.batch))
        .where(
            BatchMember.enterprise_id.in_(enterprise_ids),
            BatchMember.state != "withdrawn",
            in_org,
        )
        .order_by(Batch.id.desc(), BatchMember.id)
    )
    for member in session.scalars(stmt):
        found.setdefault(member.enterprise_id, []).append(member)
    return found


def recommender_product(session: Session, *, actor_id: int) -> ProductVersion:
    """Return the batch product of the recommender's organisation (park or chamber)."""
    user = _recommender(session, actor_id)
    return batch_product(session, "park" if user.park_id is not None else "chamber")


def evaluate_member(
    enterprise: Enterprise,
    version: ProductVersion,
    amount: Decimal | None = None,
    today: date | None = None,
    profile: dict[str, Any] | None = None,
) -> products.Evaluation:
    """Evaluate an enterprise against the batch product, as a recommended (whitelisted) member.

    ``profile`` is the firm's effective profile when the caller read it already
    (:func:`evaluate_members` reads a page of firms' profiles together).
    """
    product = catalog_service.product_of(version)
    request: dict[str, Any] = {
        "batch_recommended": True,
        "term_months": DEFAULT_TERM_MONTHS,
        # Before an amount is asked, judge with the catalogue's example amount.
        "amount": amount if amount is not None else product.example_amount.value,
    }
    if profile is None:
        profile = enterprise_profile(enterprise)
    return products.evaluate(product, profile, request, today=today)


def evaluate_members(
    session: Session, enterprises: list[Enterprise], version: ProductVersion
) -> dict[int, products.Evaluation]:
    """Evaluate many firms against the batch product, their profiles read together."""
    profiles = enterprise_profiles(session, enterprises)
    return {e.id: evaluate_member(e, version, profile=profiles[e.id]) for e in enterprises}


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
    if batch is None or not permissions.organises(permissions.Actor.of(user), batch):
        raise NotFound.of("batch")
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
                f"申请金额不能超过单户上限 {wan_text(batch.per_firm_cap)} 万元。",
                f"The amount cannot exceed the per-firm cap of {wan_text(batch.per_firm_cap)} (10k yuan).",
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
    actor = permissions.Actor.of(user) if user is not None else None
    seen = (
        actor is not None
        and member is not None
        and (actor.role == "advisor" or permissions.organises(actor, member.batch))
    )
    if not seen or member is None or actor is None:
        raise NotFound.of("batch_member")
    if not permissions.may_withdraw_member(actor, member) or member.batch.state != "open":
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
