"""Administration of partner banks, parks and chambers: save, deactivate, delete unused."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finportal import limits
from finportal.models import (
    Bank,
    Base,
    Chamber,
    Park,
)
from finportal.paging import Page, paginate
from finportal.services.admin_users import CODE_RE
from finportal.services.audit import record_event
from finportal.services.errors import Conflict, NotFound, ValidationFailed

ORGANISATION_KINDS: dict[str, type[Bank] | type[Park] | type[Chamber]] = {
    "bank": Bank,
    "park": Park,
    "chamber": Chamber,
}
ORGANISATION_LABELS = {"bank": "合作银行", "park": "园区", "chamber": "商会"}
ORGANISATION_LABELS_EN = {"bank": "partner bank", "park": "park", "chamber": "chamber"}
#: Field messages are worded in the user's language (Chinese outside a request).
t = limits.in_user_language


def _kind(kind: str) -> type[Bank] | type[Park] | type[Chamber]:
    model = ORGANISATION_KINDS.get(kind)
    if model is None:
        raise NotFound.of("organisation_kind")
    return model


def _ordered(kind: str) -> Any:
    model = _kind(kind)
    return select(model).order_by(model.active.desc(), model.code, model.id)


def list_organisations(session: Session, kind: str) -> list[Any]:
    """Return the banks, parks or chambers, active first (for the forms' choices)."""
    return list(session.scalars(_ordered(kind)))


def organisations_page(
    session: Session, kind: str, *, page: int = 1, per_page: int = limits.PAGE_SIZE
) -> Page:
    """Return one page of the banks, parks or chambers: active first, then by code."""
    return paginate(session, _ordered(kind), page=page, per_page=per_page)


def get_organisation(session: Session, kind: str, org_id: int) -> Any:
    """Return one bank, park or chamber."""
    row = session.get(_kind(kind), org_id)
    if row is None:
        raise NotFound.of("organisation")
    return row


def save_organisation(
    session: Session,
    kind: str,
    *,
    actor_id: int | None,
    org_id: int | None = None,
    code: str,
    name_zh: str,
    name_en: str = "",
    source: str = "",
    active: bool = True,
    demo: bool = False,
) -> Any:
    """Create or update a bank, park or chamber (commits)."""
    model = _kind(kind)
    errors: dict[str, str] = {}
    code = (code or "").strip()
    if not CODE_RE.match(code):
        errors["code"] = t(
            "代码为2-40位小写字母、数字、_ 或 -",
            "A code is 2-40 lower-case letters, digits, _ or -",
        )
    name_zh = limits.collect_text(errors, "name_zh", name_zh, "name")
    if len(name_zh) < 2 and "name_zh" not in errors:
        errors["name_zh"] = t(
            "请填写中文名称（至少2个字）", "Enter the Chinese name (at least 2 characters)"
        )
    name_en = limits.collect_text(errors, "name_en", name_en, "name")
    source = limits.collect_text(errors, "source", source, "source")
    if errors:
        raise ValidationFailed.marked(errors)
    clash = session.scalar(select(model.id).where(model.code == code))
    if clash is not None and clash != org_id:
        raise Conflict(
            "该代码已被使用。",
            "This code is taken.",
            fields={"code": t("已被使用", "Already taken")},
        )
    if org_id is None:
        row: Any = model(code=code, name_zh=name_zh)
        session.add(row)
        before: dict[str, Any] = {}
    else:
        row = get_organisation(session, kind, org_id)
        before = {"code": row.code, "name_zh": row.name_zh, "active": row.active}
    row.code, row.name_zh, row.name_en, row.active = code, name_zh, name_en, active
    if kind == "bank":
        row.demo = demo
    else:
        row.source = source
    session.flush()
    record_event(
        session,
        actor_id=actor_id,
        action=f"{kind}.{'created' if org_id is None else 'updated'}",
        object_type=kind,
        object_id=row.id,
        from_state=None if org_id is None else ("active" if before["active"] else "inactive"),
        to_state="active" if active else "inactive",
        data={"code": code, "name_zh": name_zh, "before": before or None},
    )
    session.commit()
    return row


def _references(session: Session, table: Any, row_id: int) -> dict[str, int]:
    """Count the rows of every table that point at one row through a foreign key."""
    counts: dict[str, int] = {}
    for other in Base.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is table:
                n = session.scalar(
                    select(func.count()).select_from(other).where(fk.parent == row_id)
                )
                if n:
                    counts[other.name] = counts.get(other.name, 0) + int(n)
    return counts


def delete_organisation(session: Session, kind: str, org_id: int, *, actor_id: int | None) -> None:
    """Delete a bank, park or chamber nothing refers to yet; otherwise ask to deactivate it."""
    row = get_organisation(session, kind, org_id)
    used = _references(session, row.__table__, row.id)
    if used:
        where = "、".join(f"{REFERENCE_LABELS.get(t, t)} {n} 条" for t, n in sorted(used.items()))
        raise Conflict(
            f"该{ORGANISATION_LABELS[kind]}已被使用（{where}），不能删除；请改为停用。",
            f"This {kind} is referred to ({', '.join(sorted(used))}); deactivate it instead.",
        )
    record_event(
        session,
        actor_id=actor_id,
        action=f"{kind}.deleted",
        object_type=kind,
        object_id=row.id,
        from_state="active" if row.active else "inactive",
        data={"code": row.code, "name_zh": row.name_zh},
    )
    session.delete(row)
    session.commit()


REFERENCE_LABELS = {
    "users": "用户",
    "referrals": "推荐",
    "consents": "授权",
    "batches": "批次",
    "api_tokens": "API 令牌",
    "memberships": "会员企业",
    "bank_products": "适用产品",
    "need_claims": "需求认领",
}


# ---------------------------------------------------------------- reference rates (LPR)
