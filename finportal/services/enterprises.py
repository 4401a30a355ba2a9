"""The enterprise profile: validated updates, Excel template and import, completeness, matches.

Money is typed in 万元 on every form and in the Excel template and stored in yuan
(``Decimal``); the schema does the conversion so the form and the import agree.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from marshmallow import (
    EXCLUDE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

import products
from finportal import limits
from finportal.models import (
    CERTIFICATIONS,
    PROFILE_GROUPS,
    TAX_CREDIT_GRADES,
    Chamber,
    Enterprise,
    Membership,
    Park,
    utcnow,
)
from finportal.services import catalog as catalog_service
from finportal.services.audit import record_event
from finportal.services.errors import NotFound, ValidationFailed
from finportal.services.exports import cell_value
from finportal.services.profiles import enterprise_profile
from finportal.services.workdays import SHANGHAI
from products.fields import field_specs

WAN = limits.WAN
FEN = Decimal("0.01")
MAX_COUNT = limits.MAX_COUNT
#: Largest Excel file accepted for an import (as uploaded).
IMPORT_MAX_BYTES = limits.IMPORT_MAX_BYTES
IMPORT_SHEET = "企业信息"

GROUP_LABELS = {
    "basic": "基本信息",
    "operations": "经营与财务",
    "tax": "纳税与社保",
    "ip": "知识产权与资质",
    "memberships": "园区与商会",
    "credit": "融资与信用记录",
}
CERTIFICATION_LABELS = {
    "tech_sme": "科技型中小企业",
    "high_tech": "高新技术企业",
    "specialized": "专精特新企业",
    "little_giant": "专精特新“小巨人”企业",
}
TAX_GRADE_LABELS = {
    "A": "A级（90分及以上）",
    "B": "B级（70-89分）",
    "M": "M级（新设立企业）",
    "C": "C级（40-69分）",
    "D": "D级（40分以下）",
}
SIZE_LABELS = {"micro": "微型企业", "small": "小型企业", "medium": "中型企业", "large": "大型企业"}

MONEY_FIELDS = (
    "revenue_last_year",
    "revenue_prev_year",
    "total_assets",
    "total_liabilities",
    "net_profit_last_year",
    "tax_paid_last_year",
    "existing_loan_balance",
)
COUNT_FIELDS = (
    "employees",
    "qualifying_new_hires",
    "social_insured_employees",
    "invention_patents",
    "utility_patents",
    "trademarks",
    "loan_maturing_within_days",
    "overdue_count_24m",
    "max_overdue_days_24m",
    "pending_lawsuits",
    "enforcement_records",
    "admin_penalties_24m",
)
BOOL_FIELDS = ("has_bank_loan_history", "serious_bad_credit_24m", "credit_repair_completed")
LIST_FIELDS = ("certifications", "park_codes", "chamber_codes")
#: Fields the SME cannot edit: the USCC is the enterprise's identity (the centre changes it);
#: park and chamber membership feeds eligibility, scoring and the recommender's member list,
#: so the park, the chamber or the centre confirms it (:func:`set_memberships`).
MEMBERSHIP_FIELDS = ("park_codes", "chamber_codes")
READ_ONLY_FIELDS = ("uscc", *MEMBERSHIP_FIELDS)
#: What the profile page and the Excel report say of memberships.
MEMBERSHIP_NOTE = "由园区/商会或服务中心确认"
EDITABLE_FIELDS = tuple(
    f for group in PROFILE_GROUPS.values() for f in group if f not in READ_ONLY_FIELDS
)
HINTS = {
    "name": "与营业执照一致",
    "registered_on": "营业执照上的成立日期，格式 2020-01-31",
    "district_code": "注册地行政区划代码（6位），闵行区为 310112",
    "industry_code": "国民经济行业分类（GB/T 4754-2017）大类代码，2位数字，如 39、65",
    "net_profit_last_year": "亏损请填负数",
    "loan_maturing_within_days": "没有贷款将到期请留空",
    "existing_loan_balance": "没有贷款请填 0",
    "qualifying_new_hires": "当年新招用、符合创业担保贷款申请条件并签订1年以上劳动合同的人数；没有请填 0",
}


def field_label(name: str) -> str:
    """Return the Chinese label of a profile field."""
    spec = field_specs().get(name)
    return spec.label_zh if spec else name


def field_unit(name: str) -> str:
    """Return the unit the UI shows beside a field."""
    if name in MONEY_FIELDS:
        return "万元"
    if name in ("loan_maturing_within_days", "max_overdue_days_24m"):
        return "天"
    if name in ("employees", "qualifying_new_hires", "social_insured_employees"):
        return "人"
    if name in COUNT_FIELDS:
        return "个/次"
    return ""


def field_kind(name: str) -> str:
    """Return how a field is entered: money, count, bool, date, choice, list or text."""
    if name in MONEY_FIELDS:
        return "money"
    if name in COUNT_FIELDS:
        return "count"
    if name in BOOL_FIELDS:
        return "bool"
    if name == "registered_on":
        return "date"
    if name == "tax_credit_grade":
        return "choice"
    if name in LIST_FIELDS:
        return "list"
    return "text"


# --- validation -------------------------------------------------------------------------------


class Wan(limits.Amount):
    """A profile figure typed in 万元, loaded as yuan (Decimal, to the fen), may be empty."""

    def __init__(self, *, negative: bool = False, **kwargs: Any) -> None:
        kind = "profile_signed" if negative else "profile"
        super().__init__(kind, unit="wan", allow_none=True, load_default=None, **kwargs)


def wan_to_yuan(value: Any, *, kind: str = "profile") -> Decimal:
    """Read an amount in 万元 (text or number) and return yuan within ``kind`` of
    :data:`finportal.limits.AMOUNTS`; raise ``ValidationError``."""
    try:
        return limits.check_amount(value, kind, unit="wan")
    except limits.LimitError as exc:
        raise ValidationError(exc.message()) from None


def _count(**kwargs: Any) -> fields.Integer:
    return fields.Integer(
        allow_none=True,
        load_default=None,
        strict=False,
        validate=validate.Range(
            min=0, max=MAX_COUNT, error=f"请输入 0 至 {MAX_COUNT:,} 之间的整数。"
        ),
        error_messages={"invalid": "请输入整数。", "too_large": "数值过大。"},
        **kwargs,
    )


def _bool() -> fields.Boolean:
    return fields.Boolean(
        allow_none=True,
        load_default=None,
        truthy={"true", "1", "yes", "是", "有", True},
        falsy={"false", "0", "no", "否", "无", False},
        error_messages={"invalid": "请选择“是”或“否”。"},
    )


class ProfileSchema(Schema):
    """The editable enterprise profile as a form or the Excel import posts it (money in 万元)."""

    class Meta:
        unknown = EXCLUDE

    name = limits.Text(
        "name",
        required=True,
        error_messages={"required": "请填写企业名称。", "null": "请填写企业名称。"},
        validate=validate.Length(min=1, error="请填写企业名称。"),
    )
    registered_on = fields.Date(
        allow_none=True,
        load_default=None,
        error_messages={"invalid": "请按 年-月-日 填写日期，如 2020-01-31。"},
    )
    district_code = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Regexp(r"^\d{6}$", error="应为6位数字（闵行区为 310112）。"),
    )
    industry_code = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Regexp(
            r"^(0[1-9]|[1-8]\d|9[0-7])$", error="应为2位行业大类代码（01-97），如 39。"
        ),
    )
    employees = _count()
    qualifying_new_hires = _count()
    social_insured_employees = _count()
    revenue_last_year = Wan()
    revenue_prev_year = Wan()
    total_assets = Wan()
    total_liabilities = Wan()
    net_profit_last_year = Wan(negative=True)
    tax_paid_last_year = Wan()
    tax_credit_grade = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.OneOf(TAX_CREDIT_GRADES, error="请选择 A、B、M、C 或 D。"),
    )
    invention_patents = _count()
    utility_patents = _count()
    trademarks = _count()
    certifications = fields.List(
        fields.String(validate=validate.OneOf(CERTIFICATIONS, error="未知的资质类型。")),
        load_default=list,
    )
    park_codes = fields.List(fields.String(), load_default=list)
    chamber_codes = fields.List(fields.String(), load_default=list)
    existing_loan_balance = Wan()
    has_bank_loan_history = _bool()
    loan_maturing_within_days = _count()
    overdue_count_24m = _count()
    max_overdue_days_24m = _count()
    pending_lawsuits = _count()
    enforcement_records = _count()
    admin_penalties_24m = _count()
    serious_bad_credit_24m = _bool()
    credit_repair_completed = _bool()

    @pre_load
    def _blank_is_none(self, data: Any, **kwargs: Any) -> Any:
        out = {}
        for key, value in dict(data).items():
            if isinstance(value, str):
                value = value.strip()
                if key in LIST_FIELDS:
                    value = [v for v in re.split(r"[,，;；、\s]+", value) if v]
                elif value == "":
                    value = None
                elif key in ("district_code", "industry_code", "tax_credit_grade"):
                    value = value.upper()
            elif isinstance(value, list):
                value = [str(v).strip() for v in value if str(v).strip()]
            out[key] = value
        return out

    @validates_schema
    def _consistent(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, str] = {}
        staff, insured = data.get("employees"), data.get("social_insured_employees")
        if staff is not None and insured is not None and insured > staff:
            errors["social_insured_employees"] = "参保职工人数不能多于从业人员数。"
        hires = data.get("qualifying_new_hires")
        if staff is not None and hires is not None and hires > staff:
            errors["qualifying_new_hires"] = "新招用人数不能多于从业人员数。"
        registered = data.get("registered_on")
        if registered is not None:
            if registered > datetime.now(SHANGHAI).date():
                errors["registered_on"] = "成立日期不能晚于今天。"
            elif registered < date(1949, 10, 1):
                errors["registered_on"] = "成立日期有误，请核对。"
        count, longest = data.get("overdue_count_24m"), data.get("max_overdue_days_24m")
        if count == 0 and longest:
            errors["max_overdue_days_24m"] = "逾期次数为0时，最长逾期天数应为0。"
        if errors:
            raise ValidationError(errors)


def validate_profile(raw: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Load profile input through the schema; raise ``ValidationFailed`` with messages per field."""
    schema = ProfileSchema(partial=partial)
    try:
        data: dict[str, Any] = schema.load(raw)
    except ValidationError as exc:
        raise ValidationFailed(
            "请修改标出的内容。",
            "Please correct the marked fields.",
            fields=flatten_messages(exc.messages),
        ) from None
    if partial:
        data = {k: v for k, v in data.items() if k in raw}
    # Memberships are confirmed by the park, the chamber or the centre, never self-declared.
    return {k: v for k, v in data.items() if k not in READ_ONLY_FIELDS}


def flatten_messages(messages: Any) -> dict[str, str]:
    """Turn marshmallow's messages into one Chinese message per field (list items joined)."""
    out: dict[str, str] = {}
    for key, value in (messages or {}).items():
        if isinstance(value, dict):
            # a list field: {index: [messages]}
            texts = [t for v in value.values() for t in (v if isinstance(v, list) else [v])]
            out[str(key)] = "；".join(str(t) for t in texts)
        elif isinstance(value, list):
            out[str(key)] = "；".join(str(t) for t in value)
        else:
            out[str(key)] = str(value)
    return out


# --- reading and writing the profile ----------------------------------------------------------


def get_enterprise(session: Session, enterprise_id: int | None) -> Enterprise:
    """Return the actor's enterprise or raise ``NotFound``."""
    enterprise = session.get(Enterprise, enterprise_id) if enterprise_id else None
    if enterprise is None:
        raise NotFound("企业不存在。", "No such enterprise.")
    return enterprise


def organisations(session: Session) -> dict[str, list[Any]]:
    """Return the active parks and chambers an SME can say it belongs to."""
    return {
        "parks": list(session.scalars(select(Park).where(Park.active.is_(True)).order_by(Park.id))),
        "chambers": list(
            session.scalars(select(Chamber).where(Chamber.active.is_(True)).order_by(Chamber.id))
        ),
    }


def yuan_to_wan(value: Decimal | None) -> str:
    """Write yuan as a 万元 figure without trailing zeros ('' for None)."""
    if value is None:
        return ""
    text = format((Decimal(value) / WAN).normalize(), "f")
    return "0" if text in ("-0", "0") else text


def form_values(enterprise: Enterprise) -> dict[str, Any]:
    """Return the profile as the form shows it (money in 万元, booleans as 'true'/'false')."""
    values: dict[str, Any] = {"uscc": enterprise.uscc}
    for name in (*EDITABLE_FIELDS, *MEMBERSHIP_FIELDS):
        if name == "park_codes":
            values[name] = [m.park.code for m in enterprise.memberships if m.park is not None]
        elif name == "chamber_codes":
            values[name] = [m.chamber.code for m in enterprise.memberships if m.chamber]
        elif name == "certifications":
            values[name] = list(enterprise.certifications or [])
        else:
            value = getattr(enterprise, name)
            if name in MONEY_FIELDS:
                values[name] = yuan_to_wan(value)
            elif name in BOOL_FIELDS:
                values[name] = "" if value is None else ("true" if value else "false")
            elif isinstance(value, date):
                values[name] = value.isoformat()
            else:
                values[name] = "" if value is None else str(value)
    return values


def _set_memberships(
    session: Session, enterprise: Enterprise, park_codes: list[str], chamber_codes: list[str]
) -> dict[str, str]:
    errors: dict[str, str] = {}
    orgs = organisations(session)
    parks = {p.code: p for p in orgs["parks"]}
    chambers = {c.code: c for c in orgs["chambers"]}
    # Names are accepted too (the Excel template lists them).
    parks.update({p.name_zh: p for p in orgs["parks"]})
    chambers.update({c.name_zh: c for c in orgs["chambers"]})
    unknown_parks = [c for c in park_codes if c not in parks]
    unknown_chambers = [c for c in chamber_codes if c not in chambers]
    if unknown_parks:
        errors["park_codes"] = "未知的园区：" + "、".join(unknown_parks)
    if unknown_chambers:
        errors["chamber_codes"] = "未知的商会：" + "、".join(unknown_chambers)
    if errors:
        return errors
    want_parks = {parks[c].id for c in park_codes}
    want_chambers = {chambers[c].id for c in chamber_codes}
    for membership in list(enterprise.memberships):
        unwanted_park = membership.park_id and membership.park_id not in want_parks
        unwanted_chamber = membership.chamber_id and membership.chamber_id not in want_chambers
        if unwanted_park or unwanted_chamber:
            enterprise.memberships.remove(membership)
    have_parks = {m.park_id for m in enterprise.memberships if m.park_id}
    have_chambers = {m.chamber_id for m in enterprise.memberships if m.chamber_id}
    for park_id in sorted(want_parks - have_parks):
        enterprise.memberships.append(Membership(park_id=park_id))
    for chamber_id in sorted(want_chambers - have_chambers):
        enterprise.memberships.append(Membership(chamber_id=chamber_id))
    return {}


def apply_profile(session: Session, enterprise: Enterprise, data: dict[str, Any]) -> list[str]:
    """Write loaded profile values (the caller audits and commits); return what changed."""
    before = form_values(enterprise)
    if "park_codes" in data or "chamber_codes" in data:
        current = form_values(enterprise)
        errors = _set_memberships(
            session,
            enterprise,
            data.get("park_codes", current["park_codes"]),
            data.get("chamber_codes", current["chamber_codes"]),
        )
        if errors:
            raise ValidationFailed(
                "请修改标出的内容。", "Please correct the marked fields.", fields=errors
            )
        # Load the new memberships' parks and chambers, so the comparison below sees them.
        session.flush()
        session.expire(enterprise, ["memberships"])
    for name, value in data.items():
        if name in ("park_codes", "chamber_codes"):
            continue
        if name == "name":
            value = value.strip()
        if name == "certifications":
            value = sorted(set(value), key=CERTIFICATIONS.index)
        setattr(enterprise, name, value)
    after = form_values(enterprise)
    return [
        n
        for n in (*EDITABLE_FIELDS, *MEMBERSHIP_FIELDS)
        if (sorted(before[n]) if n in LIST_FIELDS else before[n])
        != (sorted(after[n]) if n in LIST_FIELDS else after[n])
    ]


def update_profile(
    session: Session,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    data: dict[str, Any],
    via: str = "form",
) -> list[str]:
    """Save loaded profile values of the actor's enterprise; audit which fields changed (commits)."""
    enterprise = get_enterprise(session, enterprise_id)
    changed = apply_profile(session, enterprise, data)
    if changed:
        record_event(
            session,
            actor_id=actor_id,
            action="enterprise.profile_updated",
            object_type="enterprise",
            object_id=enterprise.id,
            reason="Excel 导入" if via == "excel" else "企业更新资料",
            data={"fields": changed, "via": via},
        )
    session.commit()
    return changed


# --- size class, completeness and matches -----------------------------------------------------


def size_class_of(enterprise: Enterprise) -> dict[str, Any]:
    """Return the derived size class with its label and the rule that decided it."""
    try:
        result = products.size_class(
            enterprise.industry_code,
            enterprise.employees,
            enterprise.revenue_last_year,
            enterprise.total_assets,
        )
    except products.ProfileError as exc:
        return {"code": None, "label": "无法划型", "rule": str(exc)}
    return {
        "code": result.size_class,
        "label": SIZE_LABELS.get(result.size_class or "", "无法划型"),
        "rule": result.rule_zh,
    }


@dataclass
class Completeness:
    """How much of the profile is filled, and which empty fields keep which products undecided."""

    filled: int
    total: int
    missing: list[str]
    #: field -> names of the products whose required conditions cannot be decided without it
    blocking: dict[str, list[str]] = field(default_factory=dict)

    @property
    def percent(self) -> int:
        """Return the filled share as a whole percentage."""
        return round(100 * self.filled / self.total) if self.total else 100


def _is_empty(enterprise: Enterprise, name: str) -> bool:
    if name == "park_codes":
        return not any(m.park_id for m in enterprise.memberships)
    if name == "chamber_codes":
        return not any(m.chamber_id for m in enterprise.memberships)
    if name == "certifications":
        return not enterprise.certifications
    return getattr(enterprise, name) in (None, "")


def completeness(session: Session, enterprise: Enterprise) -> Completeness:
    """Measure the profile and list, per empty field, the products it blocks."""
    # Memberships and certifications are legitimately empty for many firms: they count as
    # filled in the meter, but still show up as blocking where a product needs them.
    # "No loan matures" is also a legitimate blank.
    # New hires matter only to 创业担保贷款 (listed there as blocking when empty).
    optional = {
        "park_codes",
        "chamber_codes",
        "certifications",
        "loan_maturing_within_days",
        "qualifying_new_hires",
    }
    names = [n for group in PROFILE_GROUPS.values() for n in group]
    missing = [n for n in names if n not in optional and _is_empty(enterprise, n)]
    profile = enterprise_profile(enterprise)
    catalog, _versions = catalog_service.current_catalog(session)
    today = datetime.now(SHANGHAI).date()
    blocking: dict[str, list[str]] = {}
    for product in catalog:
        try:
            evaluation = products.evaluate(product, profile, None, today)
        except products.ProfileError:
            continue
        for condition in evaluation.conditions:
            if condition.result != "unknown" or not condition.required:
                continue
            for name in condition.missing_fields:
                # Only what the SME can fill in: memberships are confirmed by others.
                if name not in EDITABLE_FIELDS:
                    continue
                if product.name_zh not in blocking.setdefault(name, []):
                    blocking[name].append(product.name_zh)
    return Completeness(
        filled=len(names) - len(missing), total=len(names), missing=missing, blocking=blocking
    )


@dataclass
class ProductMatch:
    """One product for the enterprise: eligibility, reasons and (when eligible) the quote."""

    code: str
    name: str
    eligible: bool
    demo: bool
    quote: products.Quote | None
    quote_error: str
    failed: list[str]
    unknown: list[str]
    passed: list[str]
    #: undecided conditions whose inputs are not on the profile form (a park's or chamber's
    #: recommendation, a membership, the application's amount, term or purpose)
    by_others: list[str] = field(default_factory=list)


#: Inputs of conditions that are not on the SME's profile form, and how they get settled.
NOT_ON_PROFILE = {
    "batch_recommended": "需由所在园区/商会推荐（批次贷）",
    "park_codes": "需由所在园区确认成员身份",
    "chamber_codes": "需由所在商会确认会员身份",
    "amount": "按申请金额判断（可在上方输入金额和期限比较）",
    "term_months": "按申请期限判断（可在上方输入金额和期限比较）",
    "purpose": "按申请时选择的贷款用途判断",
}
#: Any other input the profile form lacks.
SETTLED_BY_CENTRE = "由服务中心受理时确认"


def _by_others(condition: Any) -> str | None:
    """Word an undecided condition whose inputs are not (all) on the profile form.

    The SME is never asked to fill in what its profile form does not have: a batch
    recommendation, a membership, or what the application itself says.
    """
    outside = [n for n in condition.missing_fields if n not in EDITABLE_FIELDS]
    if not outside:
        return None
    parts = list(dict.fromkeys(NOT_ON_PROFILE.get(n, SETTLED_BY_CENTRE) for n in outside))
    inside = [n for n in condition.missing_fields if n in EDITABLE_FIELDS]
    if inside:
        parts.insert(0, "请在企业信息中补充" + "、".join(f"「{field_label(n)}」" for n in inside))
    # The catalogue's own wording of the condition, without "please fill in ... to check".
    base = condition.message_zh.split("以判断：", 1)[-1]
    return f"{'；'.join(parts)}：{base}"


def match_products(
    session: Session,
    enterprise_id: int | None,
    amount: Decimal | None = None,
    term_months: int | None = None,
) -> list[ProductMatch]:
    """Match the enterprise with the published catalogue; quote the amount and term given.

    Eligible products come first, in the catalogue matcher's order (pages re-rank them by
    net cost, :func:`by_net_cost`). Without an amount or a term each product is quoted at
    its own example amount and term.
    """
    enterprise = get_enterprise(session, enterprise_id)
    catalog, _versions = catalog_service.current_catalog(session)
    today = datetime.now(SHANGHAI).date()
    lpr = catalog_service.current_lpr(session, today)
    request: dict[str, Any] = {}
    if amount is not None:
        request["amount"] = amount
    if term_months is not None:
        request["term_months"] = term_months
    try:
        results = products.match_one(
            catalog, enterprise_profile(enterprise), request or None, lpr=lpr, today=today
        )
    except products.ProfileError as exc:
        raise ValidationFailed(
            f"企业信息有误，无法匹配：{exc}", f"The profile cannot be matched: {exc}"
        ) from exc
    out = []
    for result in results:
        conditions = result.evaluation.conditions
        error = ""
        if result.quote_error:
            error = result.quote_error.split(" / ", 1)[-1]
        out.append(
            ProductMatch(
                code=result.product.code,
                name=result.product.name_zh,
                eligible=result.eligible,
                demo=result.product.demo,
                quote=result.quote,
                quote_error=error,
                failed=[c.message_zh for c in conditions if c.result == "failed"],
                unknown=[
                    c.message_zh
                    for c in conditions
                    if c.result == "unknown" and _by_others(c) is None
                ],
                passed=[c.message_zh for c in conditions if c.result == "passed"],
                by_others=[
                    text
                    for c in conditions
                    if c.result == "unknown" and (text := _by_others(c)) is not None
                ],
            )
        )
    return out


def by_net_cost(result: ProductMatch) -> tuple[bool, Decimal, Decimal]:
    """Sort key of the one ranking of eligible products: total net cost, then its annual rate.

    Both the comparison table and the product cards use it; unquoted products go last.
    """
    quote = result.quote
    if quote is None:
        return (True, Decimal(0), Decimal(0))
    return (False, Decimal(quote.net_cost), Decimal(quote.net_annual_cost_rate))


# --- Excel template and import ----------------------------------------------------------------


@dataclass
class ImportProblem:
    """One problem of an uploaded file: where (row, column) and what."""

    row: int | None
    column: str | None
    field: str | None
    message: str


class ImportFailed(ValidationFailed):
    """The uploaded file was refused; ``problems`` lists every row and cell at fault."""

    def __init__(self, problems: list[ImportProblem]) -> None:
        super().__init__(
            f"文件未导入：发现 {len(problems)} 处问题，请修改后重新上传（未保存任何内容）。",
            f"The file was not imported: {len(problems)} problems (nothing was saved).",
        )
        self.problems = problems


HEADER = ("字段代码", "项目", "单位", "填写值", "说明")
VALUE_COLUMN = "D"


def _cell_text(name: str, enterprise: Enterprise, values: dict[str, Any]) -> Any:
    """Return what the template's value cell shows for a field (names, not codes)."""
    value = values.get(name)
    if name == "certifications":
        return "，".join(CERTIFICATION_LABELS[c] for c in value or []) or None
    if name in ("park_codes", "chamber_codes"):
        orgs = [m.park if name == "park_codes" else m.chamber for m in enterprise.memberships]
        return "，".join(o.name_zh for o in orgs if o is not None) or None
    if name in BOOL_FIELDS:
        return {"true": "是", "false": "否"}.get(value or "")
    return value or None


def excel_template(session: Session, enterprise_id: int | None) -> bytes:
    """Return the profile template (.xlsx), filled with what the enterprise has entered so far."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    enterprise = get_enterprise(session, enterprise_id)
    orgs = organisations(session)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = IMPORT_SHEET
    sheet.append([cell_value(v) for v in HEADER])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE7F5")
    notes = dict(HINTS)
    notes["tax_credit_grade"] = "A、B、M、C 或 D"
    notes["certifications"] = "可填多项，用逗号分隔：" + "，".join(CERTIFICATION_LABELS.values())
    notes["park_codes"] = "可填多项，用逗号分隔：" + "，".join(p.name_zh for p in orgs["parks"])
    notes["chamber_codes"] = "可填多项，用逗号分隔：" + "，".join(
        c.name_zh for c in orgs["chambers"]
    )
    bool_rows = []
    current = form_values(enterprise)
    for group, names in PROFILE_GROUPS.items():
        for name in names:
            if name in READ_ONLY_FIELDS:
                continue
            value = _cell_text(name, enterprise, current)
            note = notes.get(name, "")
            if name in BOOL_FIELDS:
                note = "填“是”或“否”"
                bool_rows.append(sheet.max_row + 1)
            row = [
                name,
                f"{GROUP_LABELS[group]}｜{field_label(name)}",
                field_unit(name),
                value,
                note,
            ]
            # What the SME typed goes back into a spreadsheet: never as a formula.
            sheet.append([cell_value(v) for v in row])
            # Codes must stay text ("01" is not 1).
            if name in ("district_code", "industry_code"):
                sheet.cell(row=sheet.max_row, column=4).number_format = "@"
    if bool_rows:
        check = DataValidation(type="list", formula1='"是,否"', allow_blank=True)
        for row in bool_rows:
            check.add(f"D{row}")
        sheet.add_data_validation(check)
    sheet.column_dimensions["A"].hidden = False
    for column, width in zip("ABCDE", (26, 34, 8, 24, 60), strict=True):
        sheet.column_dimensions[column].width = width
    help_sheet = book.create_sheet("填写说明")
    for line in (
        "1. 只在“填写值”一列（D列）填写；不要修改A列字段代码。",
        "2. 金额单位为万元，可保留最多6位小数；亏损的净利润填负数。",
        "3. 留空的项目保持平台上原有内容不变。",
        "4. 整个文件检查无误才会保存；有任何错误时会列出行号和单元格，且不保存任何内容。",
        f"5. 只接受 .xlsx 文件，大小不超过 {IMPORT_MAX_BYTES // 1024} KB。",
    ):
        help_sheet.append([cell_value(line)])
    help_sheet.column_dimensions["A"].width = 90
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _excel_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        # Excel stores numbers as doubles: the shortest repr is what the user typed.
        return repr(value) if not value.is_integer() else str(int(value))
    text = str(value)
    if text.startswith("'") and cell_value(text[1:]) == text:
        # The template wrote it with an apostrophe so that it would not run as a formula.
        return text[1:]
    return text


def _refused(message: str, row: int | None = None) -> ImportFailed:
    return ImportFailed([ImportProblem(row, None, None, message)])


def _check_archive(content: bytes) -> None:
    """Refuse a file that is no zip, or that unpacks beyond the import's limits.

    The sizes are the ones the archive declares; Python's ``zipfile`` never unpacks a
    member beyond its declared size (it stops and fails the CRC check), so a file that
    lies about them is refused when read rather than filling the memory.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        raise _refused("文件不是有效的 Excel（.xlsx）文件。") from None
    unpacked = sum(m.file_size for m in members)
    if len(members) > limits.IMPORT_MAX_ZIP_MEMBERS or unpacked > (
        limits.IMPORT_MAX_UNCOMPRESSED_BYTES
    ):
        raise _refused(
            f"文件解压后过大（上限 {limits.IMPORT_MAX_UNCOMPRESSED_BYTES // (1024 * 1024)} MB），"
            "请使用平台提供的模板。"
        )


def _read_rows(content: bytes, filename: str) -> list[tuple[int, Any, Any]]:
    """Return (row number, field code, value) of the data rows, or raise ``ImportFailed``.

    The workbook is checked before it is opened (size as uploaded and unpacked, see
    :mod:`finportal.limits`), then streamed in openpyxl's read-only mode: rows and cells
    beyond the limits stop the reading.
    """
    if not filename.lower().endswith(".xlsx"):
        raise _refused("只接受 .xlsx 格式的 Excel 文件，请使用平台提供的模板。")
    if len(content) > IMPORT_MAX_BYTES:
        raise _refused(f"文件太大（上限 {IMPORT_MAX_BYTES // 1024} KB）。")
    if not content or not zipfile.is_zipfile(io.BytesIO(content)):
        raise _refused("文件不是有效的 Excel（.xlsx）文件。")
    _check_archive(content)
    from openpyxl import load_workbook

    unreadable = "文件无法作为 Excel（.xlsx）读取，请使用平台提供的模板。"
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - any unreadable workbook is the same answer to the user
        raise _refused(unreadable) from None
    try:
        if IMPORT_SHEET not in book.sheetnames:
            raise _refused(f"找不到工作表“{IMPORT_SHEET}”，请使用平台提供的模板。")
        sheet = book[IMPORT_SHEET]
        too_many = f"表格过大（最多 {limits.IMPORT_MAX_ROWS} 行），请使用平台提供的模板。"
        declared = (sheet.max_row or 0) * (sheet.max_column or 0)
        if (sheet.max_row or 0) > limits.IMPORT_MAX_ROWS or declared > limits.IMPORT_MAX_CELLS:
            raise _refused(too_many)
        rows = []
        try:
            for number, row in enumerate(sheet.iter_rows(values_only=True, max_col=5), start=1):
                if number > limits.IMPORT_MAX_ROWS:
                    raise _refused(too_many)
                cells = list(row) + [None] * (5 - len(row))
                if number == 1:
                    if tuple(str(c or "").strip() for c in cells[:4]) != HEADER[:4]:
                        raise _refused("表头与模板不一致，请使用平台提供的模板。", 1)
                    continue
                if cells[0] is None and cells[3] is None:
                    continue
                rows.append((number, cells[0], cells[3]))
        except ImportFailed:
            raise
        except Exception:  # noqa: BLE001 - a broken sheet (bad XML, a lying zip) is unreadable
            raise _refused(unreadable) from None
        return rows
    finally:
        book.close()


def _label_to_code(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "certifications":
        by_label = {v: k for k, v in CERTIFICATION_LABELS.items()}
        items = [v for v in re.split(r"[,，;；、\s]+", str(value)) if v]
        return [by_label.get(v, v) for v in items]
    if name in ("park_codes", "chamber_codes"):
        return [v for v in re.split(r"[,，;；、]+", str(value)) if v.strip()]
    return value


def import_profile(
    session: Session,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    filename: str,
    content: bytes,
    notes: list[ImportProblem] | None = None,
) -> list[str]:
    """Import the profile from the Excel template; save nothing unless every row is valid.

    Rows that are ignored (memberships) are reported in ``notes`` when given.
    """
    enterprise = get_enterprise(session, enterprise_id)
    rows = _read_rows(content, filename)
    problems: list[ImportProblem] = []
    raw: dict[str, Any] = {}
    where: dict[str, int] = {}
    for number, code, value in rows:
        key = str(code or "").strip()
        if key in MEMBERSHIP_FIELDS:
            # Older templates had these rows: ignore them, and say so when filled.
            text = _excel_value(value)
            if text is not None and str(text).strip() and notes is not None:
                notes.append(
                    ImportProblem(
                        number,
                        VALUE_COLUMN,
                        key,
                        f"{field_label(key)}：已忽略（{MEMBERSHIP_NOTE}，企业不能自行填写）。",
                    )
                )
            continue
        if key not in EDITABLE_FIELDS:
            problems.append(
                ImportProblem(number, "A", None, f"未知的字段代码“{key[:40]}”，请不要修改A列。")
            )
            continue
        if key in where:
            problems.append(
                ImportProblem(number, "A", key, f"字段重复（已在第 {where[key]} 行填写）。")
            )
            continue
        where[key] = number
        text = _excel_value(value)
        if text is None or (isinstance(text, str) and not text.strip()):
            continue
        raw[key] = _label_to_code(key, text)
    if raw:
        # A partial load still checks the name when given; keep the stored one otherwise.
        raw_full = raw if "name" in raw else {"name": enterprise.name, **raw}
        try:
            data = ProfileSchema(partial=True).load(raw_full)
        except ValidationError as exc:
            for key, message in flatten_messages(exc.messages).items():
                problems.append(
                    ImportProblem(
                        where.get(key), VALUE_COLUMN, key, f"{field_label(key)}：{message}"
                    )
                )
            data = {}
        data = {k: v for k, v in data.items() if k in raw}
    else:
        data = {}
        if not problems:
            problems.append(ImportProblem(None, None, None, "文件中没有填写任何内容。"))
    if not problems:
        try:
            changed = apply_profile(session, enterprise, data)
        except ValidationFailed as exc:
            session.rollback()
            problems.extend(
                ImportProblem(where.get(k), VALUE_COLUMN, k, f"{field_label(k)}：{m}")
                for k, m in exc.fields.items()
            )
        else:
            record_event(
                session,
                actor_id=actor_id,
                action="enterprise.profile_imported",
                object_type="enterprise",
                object_id=enterprise.id,
                reason=limits.clip(f"Excel 导入：{filename}", "name"),
                data={"fields": changed, "via": "excel", "at": utcnow().isoformat()},
            )
            session.commit()
            return changed
    problems.sort(key=lambda p: (p.row or 0, p.column or ""))
    raise ImportFailed(problems)


def set_memberships(
    session: Session,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    park_codes: list[str],
    chamber_codes: list[str],
) -> list[str]:
    """Record the parks and chambers an enterprise belongs to, as confirmed by them or the centre.

    Not for the SME (:data:`MEMBERSHIP_NOTE`); codes or Chinese names. Audited; commits.
    """
    enterprise = get_enterprise(session, enterprise_id)
    changed = apply_profile(
        session, enterprise, {"park_codes": park_codes, "chamber_codes": chamber_codes}
    )
    record_event(
        session,
        actor_id=actor_id,
        action="enterprise.memberships_confirmed",
        object_type="enterprise",
        object_id=enterprise.id,
        data={"park_codes": list(park_codes), "chamber_codes": list(chamber_codes)},
    )
    session.commit()
    return changed
