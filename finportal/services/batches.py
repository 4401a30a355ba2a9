"""Batch loans (批次贷): recommend members, check them, submit the batch, decide member by member.

A batch belongs to one park or one chamber, one bank and one batch product. Its
per-firm cap comes from the product's catalogue terms; its quota is spent by the
bank's approvals with a guarded atomic UPDATE, so two approvals arriving at once
can never overspend it (the ``quota_not_overspent`` CHECK is the last guard).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from finportal import limits
from finportal.domain import permissions
from finportal.domain.states import MEMBER, BatchState, FilingState, MemberState
from finportal.models import (
    Bank,
    Batch,
    BatchMember,
    Chamber,
    Consent,
    Enterprise,
    Park,
    Product,
    ProductVersion,
    utcnow,
)
from finportal.paging import Page, paginate
from finportal.services import catalog as catalog_service
from finportal.services import consents
from finportal.services.audit import record_event
from finportal.services.errors import (
    Conflict,
    NotFound,
    ValidationFailed,
)
from finportal.services.workdays import SHANGHAI
from products.pricing import wan_text

BATCH_PRODUCTS = {"park": "park_batch", "chamber": "chamber_batch"}

#: Packets print Chinese titles whatever the reader's language (domain/states.py).
BATCH_STATE_LABELS = {s.value: s.title_zh for s in BatchState}
MEMBER_STATE_LABELS = {s.value: s.title_zh for s in MemberState}
MEMBER_STATES = tuple(s.value for s in MemberState)
FILING_LABELS = {s.value: s.title_zh for s in FilingState}
#: A member may leave the batch only before the batch goes to the bank.
WITHDRAWABLE = MEMBER.sources(MemberState.WITHDRAWN, "recommender")
#: What a batch row shows besides its own columns: its organiser, bank and product, loaded with it.
BATCH_ROW_OPTIONS = (
    joinedload(Batch.park),
    joinedload(Batch.chamber),
    joinedload(Batch.bank),
    joinedload(Batch.product),
    joinedload(Batch.product_version),
)
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
            f"批次总额度不能低于单户上限 {wan_text(cap)} 万元。",
            f"The quota cannot be below the per-firm cap of {wan_text(cap)} (10k yuan).",
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
    stmt = _batches_stmt(bank_id=bank_id, park_id=park_id, chamber_id=chamber_id, state=state)
    return list(session.scalars(stmt))


def _batches_stmt(
    *,
    bank_id: int | None = None,
    park_id: int | None = None,
    chamber_id: int | None = None,
    state: str | None = None,
) -> Any:
    stmt = select(Batch).order_by(Batch.id.desc())
    if bank_id is not None:
        stmt = stmt.where(Batch.bank_id == bank_id)
    if park_id is not None:
        stmt = stmt.where(Batch.park_id == park_id)
    if chamber_id is not None:
        stmt = stmt.where(Batch.chamber_id == chamber_id)
    if state is not None:
        stmt = stmt.where(Batch.state == state)
    return stmt


@dataclass
class BatchList:
    """One page of batches with each batch's quota use (members counted in the database)."""

    page: Page
    quota: dict[int, QuotaUse]


def batches_page(
    session: Session,
    *,
    page: int = 1,
    per_page: int = limits.PAGE_SIZE,
    bank_id: int | None = None,
    park_id: int | None = None,
    chamber_id: int | None = None,
    state: str | None = None,
) -> BatchList:
    """Return one page of batches, newest first, with their quota use: four statements."""
    found = paginate(
        session,
        _batches_stmt(bank_id=bank_id, park_id=park_id, chamber_id=chamber_id, state=state),
        page=page,
        per_page=per_page,
        options=BATCH_ROW_OPTIONS,
    )
    return BatchList(found, quotas(session, found.items))


def members_by_state(session: Session, batch_ids: list[int]) -> dict[int, dict[str, int]]:
    """Return {batch id: {member state: count}} of many batches: one statement, a row a batch."""
    counts: dict[int, dict[str, int]] = {batch_id: {} for batch_id in batch_ids}
    if not batch_ids:
        return counts
    rows = session.execute(
        select(
            BatchMember.batch_id,
            *(func.count().filter(BatchMember.state == state) for state in MEMBER_STATES),
        )
        .where(BatchMember.batch_id.in_(batch_ids))
        .group_by(BatchMember.batch_id)
    )
    for batch_id, *numbers in rows:
        counts[batch_id] = {state: int(n) for state, n in zip(MEMBER_STATES, numbers, strict=True)}
    return counts


def quotas(session: Session, batches: list[Batch]) -> dict[int, QuotaUse]:
    """Return {batch id: quota use} of many batches, their members counted in one statement."""
    counts = members_by_state(session, [b.id for b in batches])
    return {b.id: quota_use(b, counts[b.id]) for b in batches}


def sent_batches_page(
    session: Session, *, bank_id: int, page: int = 1, per_page: int = limits.PAGE_SIZE
) -> BatchList:
    """Return one page of the batches the bank may see (sent to it), newest first, with quotas."""
    stmt = (
        select(Batch)
        .where(permissions.batches_seen(permissions.Actor.bank(bank_id)))
        .order_by(Batch.id.desc())
    )
    found = paginate(session, stmt, page=page, per_page=per_page, options=BATCH_ROW_OPTIONS)
    return BatchList(found, quotas(session, found.items))


def bank_member_clause(batch: Batch, day: date | None = None) -> ColumnElement[bool]:
    """SQL twin of :func:`bank_members`: sent to the bank, the firm's consent to it in force."""
    consented = (
        select(Consent.id)
        .where(
            Consent.batch_id == batch.id,
            Consent.bank_id == batch.bank_id,
            Consent.enterprise_id == BatchMember.enterprise_id,
            consents.in_force_clause(day),
        )
        .exists()
    )
    return and_(BatchMember.state.in_(permissions.BANK_MEMBER_STATES), consented)


def member_search(text: str) -> Any:
    """SQL: batch members whose firm's name holds ``text`` or whose USCC starts with it."""
    text = text.strip()
    firms = select(Enterprise.id).where(
        or_(
            Enterprise.name.contains(text, autoescape=True),
            Enterprise.uscc.startswith(text.upper(), autoescape=True),
        )
    )
    return BatchMember.enterprise_id.in_(firms)


def members_page(
    session: Session,
    batch: Batch,
    *,
    page: int = 1,
    per_page: int = limits.PAGE_SIZE,
    search: str | None = None,
    state: str | None = None,
    for_bank: bool = False,
) -> Page:
    """Return one page of a batch's members in the order they joined, with their firms.

    ``for_bank``: only those the batch's bank may see (:func:`bank_member_clause`).
    """
    stmt = select(BatchMember).where(BatchMember.batch_id == batch.id).order_by(BatchMember.id)
    if for_bank:
        stmt = stmt.where(bank_member_clause(batch))
    if search:
        stmt = stmt.where(member_search(search))
    if state:
        stmt = stmt.where(BatchMember.state == state)
    # The firm's name and USCC, not its memberships (loaded with every firm otherwise).
    firm = joinedload(BatchMember.enterprise)
    return paginate(
        session,
        stmt,
        page=page,
        per_page=per_page,
        options=(firm, firm.lazyload(Enterprise.memberships)),
    )


def get_batch(session: Session, batch_id: int, *, bank_id: int | None = None) -> Batch:
    """Return a batch; with ``bank_id``, only that bank's (others are not found)."""
    batch = session.get(Batch, batch_id) if limits.check_id(batch_id) else None
    if batch is None or (bank_id is not None and batch.bank_id != bank_id):
        raise NotFound.of("batch")
    return batch


def get_sent_batch(session: Session, batch_id: int, *, bank_id: int) -> Batch:
    """Return a batch the bank may see (sent to it); others, open ones too, are not found."""
    batch = session.get(Batch, batch_id) if limits.check_id(batch_id) else None
    if batch is None or not permissions.sees_batch(permissions.Actor.bank(bank_id), batch):
        # Not sent to the bank yet: the bank does not even learn that it exists.
        raise NotFound.of("batch")
    return batch


def list_sent_batches(session: Session, *, bank_id: int, state: str | None = None) -> list[Batch]:
    """Return the batches the bank may see, newest first (open ones are not sent yet)."""
    stmt = select(Batch).where(permissions.batches_seen(permissions.Actor.bank(bank_id)))
    if state is not None:
        stmt = stmt.where(Batch.state == state)
    return list(session.scalars(stmt.order_by(Batch.id.desc())))


def bank_members(session: Session, batch: Batch) -> list[BatchMember]:
    """Return the members the batch's bank may see: sent to it, with their consent in force."""
    sent = [m for m in batch.members if m.state in permissions.BANK_MEMBER_STATES]
    refused = {m.id for m in consents.members_without_consent(session, batch, sent)}
    return [m for m in sent if m.id not in refused]


def get_member(
    session: Session, batch_id: int, member_id: int, *, bank_id: int | None = None
) -> BatchMember:
    """Return a member of a batch (of the bank, when given: only one the bank may see)."""
    batch = get_batch(session, batch_id, bank_id=bank_id)
    member = session.get(BatchMember, member_id) if limits.check_id(member_id) else None
    if member is None or member.batch_id != batch.id:
        raise NotFound.of("batch_member")
    if bank_id is not None and member not in bank_members(session, batch):
        raise NotFound.of("batch_member")
    return member


def quota_use(batch: Batch, members_by_state: Mapping[str, int] | None = None) -> QuotaUse:
    """Return the batch's quota used and left (approved amounts) and its members by state.

    ``members_by_state`` is the count of the batch's members per state when the caller
    already counted them in the database (a list of batches); otherwise they are read.
    """
    total = Decimal(batch.quota_total)
    used = Decimal(batch.quota_used)
    counts = dict.fromkeys(MEMBER_STATES, 0)
    if members_by_state is not None:
        counts.update(members_by_state)
    else:
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


# --- the advisor: check members and submit -----------------------------------------------


# --- the bank: member decisions and filing -----------------------------------------------
