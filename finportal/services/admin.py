"""Administration: users, banks, parks, chambers, reference rates, holidays and products.

Every change commits with an audit event. Callers pass the acting admin as ``actor_id``.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from finportal import jobs, limits
from finportal.models import (
    ROLES,
    AuditEvent,
    Bank,
    Base,
    Chamber,
    Enterprise,
    Holiday,
    Job,
    ModelVersion,
    Park,
    Product,
    ProductVersion,
    ReferenceRate,
    User,
)
from finportal.services import accounts, credit
from finportal.services import catalog as catalog_service
from finportal.services.audit import record_event
from finportal.services.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from finportal.services.workdays import SHANGHAI

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,39}$")
FIX_FIELDS = ("请修改标出的内容。", "Please correct the marked fields.")
#: Field messages are worded in the user's language (Chinese outside a request).
t = limits.in_user_language

# ---------------------------------------------------------------- users


def list_users(session: Session, *, role: str | None = None, q: str = "") -> list[User]:
    """Return users, optionally of one role and matching a name fragment."""
    stmt = select(User).order_by(User.role, User.username)
    if role:
        stmt = stmt.where(User.role == role)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(User.username.ilike(like) | User.display_name.ilike(like))
    return list(session.scalars(stmt))


def get_user(session: Session, user_id: int) -> User:
    """Return one user."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在。", "No such user.")
    return user


_user = get_user


def _role_links(
    session: Session,
    role: str,
    *,
    enterprise_uscc: str | None,
    bank_id: int | None,
    park_id: int | None,
    chamber_id: int | None,
    errors: dict[str, str],
) -> dict[str, int | None]:
    """Check that a user of ``role`` is linked to what the role needs; drop other links."""
    links: dict[str, int | None] = {
        "enterprise_id": None,
        "bank_id": None,
        "park_id": None,
        "chamber_id": None,
    }
    if role == "sme":
        code = limits.collect_text(errors, "enterprise_uscc", enterprise_uscc, "code").upper()
        if not code and "enterprise_uscc" not in errors:
            errors["enterprise_uscc"] = t(
                "企业用户须关联企业：请填写企业的统一社会信用代码",
                "An enterprise user needs an enterprise: enter its unified social credit code",
            )
        elif code:
            enterprise_id = session.scalar(select(Enterprise.id).where(Enterprise.uscc == code))
            if enterprise_id is None:
                errors["enterprise_uscc"] = t(
                    "没有该统一社会信用代码的企业",
                    "No enterprise has this unified social credit code",
                )
            links["enterprise_id"] = enterprise_id
    elif role == "bank":
        if not limits.check_id(bank_id) or session.get(Bank, bank_id) is None:
            errors["bank_id"] = t("银行用户须关联一家合作银行", "A bank user needs a partner bank")
        links["bank_id"] = bank_id
    elif role == "recommender":
        if bool(park_id) == bool(chamber_id):
            errors["park_id"] = t(
                "园区/商会用户须关联一个园区或一个商会（只选其一）",
                "A park or chamber user needs one park or one chamber (not both)",
            )
        elif park_id and (not limits.check_id(park_id) or session.get(Park, park_id) is None):
            errors["park_id"] = t("园区不存在", "No such park")
        elif chamber_id and (
            not limits.check_id(chamber_id) or session.get(Chamber, chamber_id) is None
        ):
            errors["chamber_id"] = t("商会不存在", "No such chamber")
        links["park_id"], links["chamber_id"] = park_id or None, chamber_id or None
    return links


def create_user(
    session: Session,
    *,
    actor_id: int | None,
    username: str,
    password: str,
    role: str,
    display_name: str = "",
    enterprise_uscc: str | None = None,
    bank_id: int | None = None,
    park_id: int | None = None,
    chamber_id: int | None = None,
) -> User:
    """Create a user of a role with the link that role needs (commits)."""
    errors: dict[str, str] = {}
    username = (username or "").strip()
    if not accounts.USERNAME_RE.match(username):
        errors["username"] = t(
            "用户名为3-80位字母、数字或 _ . @ -",
            "A username is 3-80 letters, digits or _ . @ -",
        )
    problem = accounts.password_problem(password, username=username)
    if problem:
        errors["password"] = problem
    if role not in ROLES:
        errors["role"] = t("请选择角色", "Choose a role")
    display_name = limits.collect_text(errors, "display_name", display_name, "label")
    links = _role_links(
        session,
        role,
        enterprise_uscc=enterprise_uscc,
        bank_id=bank_id,
        park_id=park_id,
        chamber_id=chamber_id,
        errors=errors,
    )
    if errors:
        raise ValidationFailed(*FIX_FIELDS, fields=errors)
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(
            "该用户名已被使用。",
            "This username is taken.",
            fields={"username": t("已被使用", "Already taken")},
        )
    user = accounts.create_user(
        session,
        username=username,
        password=password,
        role=role,
        display_name=display_name,
        **links,
    )
    session.flush()
    record_event(
        session,
        actor_id=actor_id,
        action="user.created",
        object_type="user",
        object_id=user.id,
        to_state="active",
        data={"username": username, "role": role, **{k: v for k, v in links.items() if v}},
    )
    session.commit()
    return user


def update_user(
    session: Session,
    user_id: int,
    *,
    actor_id: int | None,
    role: str,
    display_name: str = "",
    enterprise_uscc: str | None = None,
    bank_id: int | None = None,
    park_id: int | None = None,
    chamber_id: int | None = None,
) -> User:
    """Change a user's name, role or link (commits); an admin cannot change their own role."""
    user = _user(session, user_id)
    errors: dict[str, str] = {}
    if role not in ROLES:
        errors["role"] = t("请选择角色", "Choose a role")
    elif user.id == actor_id and role != user.role:
        errors["role"] = t("不能修改自己的角色", "You cannot change your own role")
    display_name = limits.collect_text(errors, "display_name", display_name, "label")
    links = _role_links(
        session,
        role,
        enterprise_uscc=enterprise_uscc,
        bank_id=bank_id,
        park_id=park_id,
        chamber_id=chamber_id,
        errors=errors,
    )
    if errors:
        raise ValidationFailed(*FIX_FIELDS, fields=errors)
    before = {
        "role": user.role,
        "display_name": user.display_name,
        "enterprise_id": user.enterprise_id,
        "bank_id": user.bank_id,
        "park_id": user.park_id,
        "chamber_id": user.chamber_id,
    }
    user.role = role
    user.display_name = display_name or user.username
    for key, value in links.items():
        setattr(user, key, value)
    after = {key: getattr(user, key) for key in before}
    changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if changed:
        record_event(
            session,
            actor_id=actor_id,
            action="user.updated",
            object_type="user",
            object_id=user.id,
            from_state=before["role"],
            to_state=role,
            data=changed,
        )
    session.commit()
    return user


def set_user_active(session: Session, user_id: int, active: bool, *, actor_id: int | None) -> User:
    """Deactivate (no more sign-in) or reactivate a user (commits)."""
    user = _user(session, user_id)
    if not active and user.id == actor_id:
        raise InvalidTransition("不能停用自己的账户。", "You cannot deactivate your own account.")
    if user.active == active:
        return user
    user.active = active
    if not active:
        accounts.end_sessions(user)
    record_event(
        session,
        actor_id=actor_id,
        action="user.reactivated" if active else "user.deactivated",
        object_type="user",
        object_id=user.id,
        from_state="inactive" if active else "active",
        to_state="active" if active else "inactive",
    )
    session.commit()
    return user


def reset_password(
    session: Session, user_id: int, *, actor_id: int | None, new_password: str = ""
) -> tuple[User, str]:
    """Set a new password (a random one when none is given); return it to show once (commits)."""
    user = _user(session, user_id)
    password = new_password or secrets.token_urlsafe(9)
    try:
        accounts.set_password(user, password, field="new_password")
    except ValidationFailed as exc:
        raise ValidationFailed(*FIX_FIELDS, fields=exc.fields) from None
    # Whoever held the old password (or a session made with it) is signed out.
    accounts.end_sessions(user)
    record_event(
        session,
        actor_id=actor_id,
        action="user.password_reset",
        object_type="user",
        object_id=user.id,
    )
    session.commit()
    return user, password


# ---------------------------------------------------------------- banks, parks, chambers

ORGANISATION_KINDS: dict[str, type[Bank] | type[Park] | type[Chamber]] = {
    "bank": Bank,
    "park": Park,
    "chamber": Chamber,
}
ORGANISATION_LABELS = {"bank": "合作银行", "park": "园区", "chamber": "商会"}
ORGANISATION_LABELS_EN = {"bank": "partner bank", "park": "park", "chamber": "chamber"}


def _kind(kind: str) -> type[Bank] | type[Park] | type[Chamber]:
    model = ORGANISATION_KINDS.get(kind)
    if model is None:
        raise NotFound("机构类别不存在。", "No such kind of organisation.")
    return model


def list_organisations(session: Session, kind: str) -> list[Any]:
    """Return the banks, parks or chambers, active first."""
    model = _kind(kind)
    return list(session.scalars(select(model).order_by(model.active.desc(), model.code)))


def get_organisation(session: Session, kind: str, org_id: int) -> Any:
    """Return one bank, park or chamber."""
    row = session.get(_kind(kind), org_id)
    if row is None:
        raise NotFound("机构不存在。", "No such organisation.")
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
        raise ValidationFailed(*FIX_FIELDS, fields=errors)
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
}


# ---------------------------------------------------------------- reference rates (LPR)

RATE_KINDS = {"lpr_1y": ("1年期 LPR", "1-year LPR"), "lpr_5y": ("5年期以上 LPR", "5-year-plus LPR")}


def list_rates(session: Session) -> list[ReferenceRate]:
    """Return the reference rates, newest first."""
    return list(
        session.scalars(
            select(ReferenceRate).order_by(ReferenceRate.kind, ReferenceRate.effective_on.desc())
        )
    )


def add_rate(
    session: Session,
    *,
    actor_id: int | None,
    kind: str,
    annual_rate: Decimal,
    effective_on: date,
    source: str = "",
) -> ReferenceRate:
    """Add a reference rate (a decimal fraction per year) effective from a day (commits)."""
    errors: dict[str, str] = {}
    if kind not in RATE_KINDS:
        errors["kind"] = t("请选择利率种类", "Choose the kind of rate")
    # An LPR has never been outside 0-20 % a year; a value like 3.1 is a percent typed
    # where a fraction was meant, so refuse it rather than quote a 310 % loan.
    if not (Decimal("0") < annual_rate < limits.MAX_REFERENCE_RATE_PERCENT / 100):
        errors["annual_rate"] = t(
            f"利率应在 0% 到 {limits.MAX_REFERENCE_RATE_PERCENT:.0f}% 之间",
            f"The rate lies between 0% and {limits.MAX_REFERENCE_RATE_PERCENT:.0f}%",
        )
    source = limits.collect_text(errors, "source", source, "source")
    if errors:
        raise ValidationFailed(*FIX_FIELDS, fields=errors)
    exists = session.scalar(
        select(ReferenceRate.id).where(
            ReferenceRate.kind == kind, ReferenceRate.effective_on == effective_on
        )
    )
    if exists is not None:
        raise Conflict(
            "该日期已有同种利率，请先删除原记录。",
            "A rate of this kind already takes effect on that day.",
            fields={"effective_on": t("该日期已有记录", "That day already has a rate")},
        )
    row = ReferenceRate(
        kind=kind, annual_rate=annual_rate, effective_on=effective_on, source=source
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        actor_id=actor_id,
        action="rate.added",
        object_type="reference_rate",
        object_id=row.id,
        data={"kind": kind, "annual_rate": str(annual_rate), "effective_on": str(effective_on)},
    )
    session.commit()
    return row


def delete_rate(session: Session, rate_id: int, *, actor_id: int | None) -> None:
    """Delete a reference rate entry (commits)."""
    row = session.get(ReferenceRate, rate_id)
    if row is None:
        raise NotFound("利率记录不存在。", "No such rate.")
    record_event(
        session,
        actor_id=actor_id,
        action="rate.deleted",
        object_type="reference_rate",
        object_id=row.id,
        data={
            "kind": row.kind,
            "annual_rate": str(row.annual_rate),
            "effective_on": str(row.effective_on),
        },
    )
    session.delete(row)
    session.commit()


# ---------------------------------------------------------------- holidays


def list_holidays(session: Session, year: int | None = None) -> list[Holiday]:
    """Return the holiday table (optionally one year), in date order."""
    stmt = select(Holiday).order_by(Holiday.day)
    if year:
        stmt = stmt.where(Holiday.day >= date(year, 1, 1), Holiday.day <= date(year, 12, 31))
    return list(session.scalars(stmt))


def add_holiday(
    session: Session, *, actor_id: int | None, day: date, name: str, is_workday: bool = False
) -> Holiday:
    """Add a day off, or a weekend day that is worked (调休), to the table (commits)."""
    name = limits.valid_text(name, "short_name", "name")
    if not name:
        raise ValidationFailed(
            *FIX_FIELDS,
            fields={"name": t("请填写名称，例如 国庆节", "Enter a name, e.g. National Day")},
        )
    if is_workday and day.weekday() < 5:
        # A weekday is worked anyway; only a weekend day can be a 调休 workday.
        raise ValidationFailed(
            *FIX_FIELDS,
            fields={
                "is_workday": t(
                    f"{day} 是工作日，调休上班只适用于周六、周日",
                    f"{day} is a weekday; only a Saturday or Sunday can be a make-up workday",
                )
            },
        )
    if session.scalar(select(Holiday.id).where(Holiday.day == day)) is not None:
        raise Conflict(
            "该日期已在节假日表中。",
            "This day is already in the table.",
            fields={"day": t("已存在", "Already in the table")},
        )
    row = Holiday(day=day, name=name, is_workday=is_workday)
    session.add(row)
    session.flush()
    record_event(
        session,
        actor_id=actor_id,
        action="holiday.added",
        object_type="holiday",
        object_id=row.id,
        data={"day": str(day), "name": name, "is_workday": is_workday},
    )
    session.commit()
    return row


def delete_holiday(session: Session, holiday_id: int, *, actor_id: int | None) -> None:
    """Remove a day from the holiday table (commits)."""
    row = session.get(Holiday, holiday_id)
    if row is None:
        raise NotFound("节假日记录不存在。", "No such holiday.")
    record_event(
        session,
        actor_id=actor_id,
        action="holiday.deleted",
        object_type="holiday",
        object_id=row.id,
        data={"day": str(row.day), "name": row.name, "is_workday": row.is_workday},
    )
    session.delete(row)
    session.commit()


# ---------------------------------------------------------------- products


def list_products(session: Session) -> list[Product]:
    """Return every product (active or not) in code order."""
    return list(session.scalars(select(Product).order_by(Product.code)))


def get_product(session: Session, code: str) -> Product:
    """Return a product by code."""
    row = session.scalar(select(Product).where(Product.code == code))
    if row is None:
        raise NotFound("产品不存在。", "No such product.")
    return row


def product_versions(session: Session, product_id: int) -> list[ProductVersion]:
    """Return a product's versions, newest first."""
    return list(
        session.scalars(
            select(ProductVersion)
            .where(ProductVersion.product_id == product_id)
            .order_by(ProductVersion.number.desc())
        )
    )


def product_yaml(content: dict[str, Any]) -> str:
    """Return a product's content as the YAML an admin edits."""
    return yaml.safe_dump(content, allow_unicode=True, sort_keys=False, width=100)


def push_job(session: Session, product_version_id: int) -> Job | None:
    """Return the newest 政策找企业 job of a product version."""
    return session.scalar(
        select(Job)
        .where(
            Job.kind == "notify_eligible",
            Job.object_type == "product_version",
            Job.object_id == product_version_id,
        )
        .order_by(Job.created_at.desc())
        .limit(1)
    )


@dataclass
class PublishResult:
    """What publishing an edit did: the current version, whether it is new, the push job."""

    version: ProductVersion
    created: bool
    job: Job | None
    #: True when the content equals an earlier version, which became current again.
    reverted: bool = False


def publish_product_yaml(
    session: Session, text: str, *, actor_id: int | None, expected_code: str | None = None
) -> PublishResult:
    """Validate product YAML with the catalogue schema and publish it if it changed.

    A new version starts the 政策找企业 job (``notify_eligible``); the same content again
    makes no version and no push. Refusals name the line or the field in ``fields["content"]``.
    """
    try:
        data = yaml.safe_load(text or "")
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
    if expected_code is not None and data.get("code") != expected_code:
        raise ValidationFailed(
            f"产品代码不能修改（应为 {expected_code}）；新产品请用“新建产品”。",
            f"The product code cannot change (expected {expected_code}).",
            fields={
                "content": t(
                    f"field code: 应为 {expected_code}", f"field code: must be {expected_code}"
                )
            },
        )
    if expected_code is None:
        code = data.get("code")
        if isinstance(code, str) and session.scalar(select(Product.id).where(Product.code == code)):
            raise Conflict(
                f"产品代码 {code} 已存在，请在该产品的编辑页修改。",
                f"Product {code} exists; edit it instead.",
                fields={"content": t(f"field code: {code} 已存在", f"field code: {code} exists")},
            )
    before = session.scalar(
        select(Product.current_version_id).where(Product.code == data.get("code"))
    )
    try:
        version, created = catalog_service.save_version(session, data, actor_id=actor_id)
    except ValidationFailed as exc:
        raise ValidationFailed(
            exc.message_zh, exc.message_en, fields={"content": t(exc.message_zh, exc.message_en)}
        ) from exc
    reverted = not created and before is not None and before != version.id
    if reverted:
        # The content went back to an earlier version: that version is current again.
        record_event(
            session,
            actor_id=actor_id,
            action="product.reverted",
            object_type="product",
            object_id=version.product_id,
            to_state=f"v{version.number}",
        )
    session.commit()
    job = None
    if created:
        job = jobs.enqueue(
            session,
            "notify_eligible",
            actor_id=actor_id,
            object_type="product_version",
            object_id=version.id,
            product_version_id=version.id,
        )
        session.refresh(version)
    return PublishResult(version, created, job, reverted)


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


@dataclass
class Page:
    """One page of a list with its position."""

    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """Return the number of pages (at least 1)."""
        return max(1, math.ceil(self.total / self.per_page))


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, SHANGHAI)


def list_audit_events(
    session: Session,
    *,
    actor: str = "",
    action: str = "",
    object_type: str = "",
    object_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """Return audit events matching the filters, newest first, one page at a time.

    ``actor`` is a username (or ``system`` for jobs); ``action`` matches from the start,
    so ``product.`` lists every product event; dates are Shanghai calendar days, inclusive.
    """
    stmt = select(AuditEvent)
    if actor:
        if actor.strip().lower() in ("system", "系统"):
            stmt = stmt.where(AuditEvent.actor_id.is_(None))
        else:
            ids = select(User.id).where(User.username == actor.strip())
            stmt = stmt.where(AuditEvent.actor_id.in_(ids))
    if action:
        escaped = action.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(AuditEvent.action.like(f"{escaped}%", escape="\\"))
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type.strip())
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if date_from is not None:
        stmt = stmt.where(AuditEvent.at >= _day_start(date_from))
    if date_to is not None:
        stmt = stmt.where(AuditEvent.at < _day_start(date_to + timedelta(days=1)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = max(1, page)
    items = list(
        session.scalars(
            stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    )
    return Page(items, total, page, per_page)


def usernames(session: Session, ids: set[int | None]) -> dict[int, str]:
    """Return {user id: username} for the given ids."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(wanted))).all())


def audit_choices(session: Session) -> dict[str, list[str]]:
    """Return the actions and object types that occur, for the filter's suggestions."""
    return {
        "actions": list(
            session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
        ),
        "object_types": list(
            session.scalars(
                select(AuditEvent.object_type).distinct().order_by(AuditEvent.object_type)
            )
        ),
    }


def overview(session: Session) -> dict[str, int]:
    """Return counts for the admin's home page."""

    def count(model: Any, *where: Any) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    return {
        "products": count(Product, Product.active.is_(True)),
        "users": count(User, User.active.is_(True)),
        "banks": count(Bank, Bank.active.is_(True)),
        "parks": count(Park, Park.active.is_(True)),
        "chambers": count(Chamber, Chamber.active.is_(True)),
        "enterprises": count(Enterprise),
        "jobs_failed": count(Job, Job.state == "failed"),
    }


# ---------------------------------------------------------------- credit models


def list_models(session: Session) -> list[ModelVersion]:
    """Return the model versions: the champion first, then newest first."""
    rows = list(session.scalars(select(ModelVersion).order_by(ModelVersion.created_at.desc())))
    return sorted(rows, key=lambda r: r.status != "champion")


def get_model(session: Session, model_version_id: int) -> ModelVersion:
    """Return one model version."""
    row = session.get(ModelVersion, model_version_id)
    if row is None:
        raise NotFound("模型版本不存在。", "No such model version.")
    return row


def promote_model(
    session: Session, model_version_id: int, *, actor_id: int | None, reason: str = ""
) -> ModelVersion:
    """Make a model version the champion (commits), then rescore open applications in a job."""
    return credit.promote_with_rescore(session, model_version_id, actor_id=actor_id, reason=reason)
