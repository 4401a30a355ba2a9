"""Administration of the catalogue: product versions as YAML, activity (publishing: services/publishing.py)."""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from finportal import limits
from finportal.models import (
    Job,
    Product,
    ProductVersion,
)
from finportal.paging import Page, paginate
from finportal.services.audit import record_event
from finportal.services.errors import Conflict, NotFound, ValidationFailed
from products import yaml_text

#: Field messages are worded in the user's language (Chinese outside a request).
t = limits.in_user_language


def list_products(session: Session) -> list[Product]:
    """Return every product (active or not) in code order, with its current version."""
    return list(
        session.scalars(
            select(Product).order_by(Product.code).options(joinedload(Product.current_version))
        )
    )


def get_product(session: Session, code: str) -> Product:
    """Return a product by code."""
    row = session.scalar(select(Product).where(Product.code == code))
    if row is None:
        raise NotFound.of("product")
    return row


def product_versions(
    session: Session, product_id: int, *, page: int = 1, per_page: int = limits.PAGE_SIZE
) -> Page:
    """Return one page of a product's versions, newest first."""
    return paginate(
        session,
        select(ProductVersion)
        .where(ProductVersion.product_id == product_id)
        .order_by(ProductVersion.number.desc(), ProductVersion.id.desc()),
        page=page,
        per_page=per_page,
    )


def product_yaml(content: dict[str, Any]) -> str:
    """Return a product's content as the YAML an admin edits."""
    return yaml.safe_dump(content, allow_unicode=True, sort_keys=False, width=100)


def push_jobs(session: Session, product_version_ids: list[int]) -> dict[int, Job]:
    """Return the newest 政策找企业 job of each of these product versions, in one statement."""
    ids = sorted({i for i in product_version_ids if i})
    if not ids:
        return {}
    newest = (
        select(
            Job.id,
            func.row_number()
            .over(partition_by=Job.object_id, order_by=(Job.created_at.desc(), Job.id.desc()))
            .label("n"),
        )
        .where(
            Job.kind == "notify_eligible",
            Job.object_type == "product_version",
            Job.object_id.in_(ids),
        )
        .subquery()
    )
    rows = session.scalars(
        select(Job).join(newest, newest.c.id == Job.id).where(newest.c.n == 1).order_by(Job.id)
    )
    return {int(job.object_id): job for job in rows if job.object_id is not None}


def parse_product_yaml(session: Session, text: str, *, expected_code: str | None) -> dict[str, Any]:
    """Read product YAML as a mapping; refusals name the line or the field (``fields["content"]``).

    ``expected_code`` is the code of the product being edited (its code cannot change); None
    for a new product, whose code must not exist yet. The catalogue schema is checked by
    ``catalog.validate_content`` (``services/publishing.draft_product``).
    """
    try:
        data = yaml_text.parse(text or "")
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行第 {mark.column + 1} 列：" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ValidationFailed(
            f"YAML 格式错误：{where}{problem}",
            f"Not valid YAML: {exc}",
            fields={"content": t(f"YAML 格式错误：{where}{problem}", f"Not valid YAML: {exc}")},
        ) from exc
    if not isinstance(data, dict):
        raise ValidationFailed(
            "产品数据应为一个 YAML 映射（code: ...、name_zh: ... 等）。",
            "The product must be a YAML mapping.",
            fields={
                "content": t("产品数据应为一个 YAML 映射", "The product must be a YAML mapping")
            },
        )
    try:
        check_code(session, data, expected_code=expected_code)
    except (ValidationFailed, Conflict) as exc:
        raise type(exc)(
            exc.message_zh,
            exc.message_en,
            fields={"content": f"field code: {exc.fields['code']}"},
        ) from exc
    return data


def check_code(session: Session, data: dict[str, Any], *, expected_code: str | None) -> None:
    """Refuse a changed code (editing ``expected_code``), or a new product's taken code."""
    if expected_code is not None and data.get("code") != expected_code:
        raise ValidationFailed(
            f"产品代码不能修改（应为 {expected_code}）；新产品请用“新建产品”。",
            f"The product code cannot change (expected {expected_code}).",
            fields={"code": t(f"应为 {expected_code}", f"must be {expected_code}")},
        )
    if expected_code is None:
        code = data.get("code")
        # A code with control characters (NUL cannot even be compared on PostgreSQL) is no
        # product's: the catalogue's validator refuses it next, by its field.
        if (
            isinstance(code, str)
            and not limits.has_control_characters(code)
            and session.scalar(select(Product.id).where(Product.code == code))
        ):
            raise Conflict(
                f"产品代码 {code} 已存在，请在该产品的编辑页修改。",
                f"Product {code} exists; edit it instead.",
                fields={"code": t(f"{code} 已存在", f"{code} exists")},
            )


def set_product_active(
    session: Session, code: str, active: bool, *, actor_id: int | None
) -> Product:
    """Take a product off the public catalogue and matching, or put it back (commits)."""
    row = get_product(session, code)
    if row.active == active:
        return row
    row.active = active
    record_event(
        session,
        actor_id=actor_id,
        action="product.activated" if active else "product.deactivated",
        object_type="product",
        object_id=row.id,
        from_state="inactive" if active else "active",
        to_state="active" if active else "inactive",
    )
    session.commit()
    return row


# ---------------------------------------------------------------- audit trail
