"""The enterprise profile form: fields from their one definition, validation, values, saving.

Money is typed in 万元 on every form and in the Excel template and stored in yuan
(``Decimal``); the schema does the conversion so the form and the import agree. Which fields
exist, how each is typed, who edits it and what it reads as come from
``finportal/domain/fields.py``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
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
from sqlalchemy.orm import Session

import products
from finportal import limits, money
from finportal.domain import fields as profile_fields
from finportal.domain.states import current_locale
from finportal.memo import Memo
from finportal.models import Enterprise
from finportal.services import catalog as catalog_service
from finportal.services.audit import record_event
from finportal.services.enterprises import apply_memberships, get_enterprise
from finportal.services.errors import ValidationFailed
from finportal.services.profiles import enterprise_profile
from finportal.services.workdays import today_local

WAN = limits.WAN
FEN = Decimal("0.01")
MAX_COUNT = limits.MAX_COUNT

MONEY_FIELDS = profile_fields.names(kind="money")
COUNT_FIELDS = profile_fields.names(kind="count")
BOOL_FIELDS = profile_fields.names(kind="bool")
LIST_FIELDS = profile_fields.names(kind="tokens")
#: Fields the SME cannot edit: the USCC is the enterprise's identity (the centre changes it);
#: park and chamber membership feeds eligibility, scoring and the recommender's member list,
#: so the park, the chamber or the centre confirms it (:func:`enterprises.set_memberships`).
READ_ONLY_FIELDS = profile_fields.names(edit="centre")
MEMBERSHIP_FIELDS = tuple(n for n in READ_ONLY_FIELDS if n in LIST_FIELDS)
EDITABLE_FIELDS = profile_fields.names(edit="sme")


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


def _count(largest: int = MAX_COUNT, **kwargs: Any) -> fields.Integer:
    return fields.Integer(
        allow_none=True,
        load_default=None,
        strict=False,
        validate=validate.Range(
            min=0,
            max=largest,
            error=limits.bilingual(
                f"请输入 0 至 {largest:,} 之间的整数。",
                f"Enter a whole number from 0 to {largest:,}.",
            ),
        ),
        error_messages={
            "invalid": limits.bilingual("请输入整数。", "Enter a whole number."),
            "too_large": limits.bilingual("数值过大。", "The number is too large."),
        },
        **kwargs,
    )


def _bool() -> fields.Boolean:
    return fields.Boolean(
        allow_none=True,
        load_default=None,
        truthy={"true", "1", "yes", "是", "有", True},
        falsy={"false", "0", "no", "否", "无", False},
        error_messages={"invalid": limits.bilingual("请选择“是”或“否”。", "Choose yes or no.")},
    )


class _ProfileForm(Schema):
    """Hooks of the profile form: blanks are None, lists split, and cross-field checks."""

    class Meta:
        unknown = EXCLUDE

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
                elif key in _UPPER:
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
            errors["social_insured_employees"] = limits.in_user_language(
                "参保职工人数不能多于从业人员数。",
                "Employees with social insurance cannot outnumber the employees.",
            )
        hires = data.get("qualifying_new_hires")
        if staff is not None and hires is not None and hires > staff:
            errors["qualifying_new_hires"] = limits.in_user_language(
                "新招用人数不能多于从业人员数。", "New hires cannot outnumber the employees."
            )
        registered = data.get("registered_on")
        if registered is not None:
            if registered > today_local():
                errors["registered_on"] = limits.in_user_language(
                    "成立日期不能晚于今天。", "The date of registration cannot be in the future."
                )
            elif registered < date(1949, 10, 1):
                errors["registered_on"] = limits.in_user_language(
                    "成立日期有误，请核对。", "The date of registration looks wrong; check it."
                )
        count, longest = data.get("overdue_count_24m"), data.get("max_overdue_days_24m")
        if count == 0 and longest:
            errors["max_overdue_days_24m"] = limits.in_user_language(
                "逾期次数为0时，最长逾期天数应为0。",
                "With no overdue payments the longest overdue period is 0 days.",
            )
        if errors:
            raise ValidationError(errors)


#: Text fields typed in capitals (codes and grades).
_UPPER = tuple(
    f.name
    for f in profile_fields.fields().values()
    if f.pattern or (f.input == "choice" and all(v.isupper() for v in f.values or ()))
)


def either(values: tuple[str, ...], language: str = "zh") -> str:
    """Write choices as a list: "A、B 或 C" (in English "A, B or C")."""
    if len(values) <= 1:
        return "".join(values)
    if language == "en":
        return ", ".join(values[:-1]) + f" or {values[-1]}"
    return "、".join(values[:-1]) + f" 或 {values[-1]}"


def _form_field(spec: profile_fields.ProfileField) -> fields.Field:
    """Return the marshmallow field that loads one profile field as the form types it."""
    if spec.input == "money":
        return Wan(negative=spec.signed)
    if spec.input == "count":
        return _count(spec.largest)
    if spec.input == "bool":
        return _bool()
    if spec.input == "date":
        return limits.Date(allow_none=True, load_default=None)
    if spec.input == "choice":
        allowed = spec.values or ()
        # A short list is named in the message; a long one (97 industries) is not.
        error = (
            limits.bilingual(f"请选择 {either(allowed)}。", f"Choose {either(allowed, 'en')}.")
            if len(allowed) <= profile_fields.SHORT_LIST
            else limits.MESSAGES["choice"]
        )
        return fields.String(
            allow_none=True, load_default=None, validate=validate.OneOf(allowed, error=error)
        )
    if spec.input == "list":
        item = fields.String(
            validate=validate.OneOf(
                spec.values,
                error=limits.bilingual(f"未知的{spec.label_zh}。", f"Unknown {spec.label_en}."),
            )
            if spec.values
            else None
        )
        return fields.List(item, load_default=list)
    if spec.required:
        missing = limits.bilingual(f"请填写{spec.label_zh}。", f"Enter the {spec.label_en}.")
        return limits.Text(
            "name",
            required=True,
            error_messages={"required": missing, "null": missing},
            validate=validate.Length(min=1, error=missing),
        )
    return fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Regexp(
            spec.pattern,
            error=limits.bilingual(spec.pattern_zh, spec.pattern_en or spec.pattern_zh),
        )
        if spec.pattern
        else None,
    )


#: The editable enterprise profile as a form or the Excel import posts it (money in 万元),
#: one marshmallow field per field of the definition.
ProfileSchema = _ProfileForm.from_dict(
    {name: _form_field(spec) for name, spec in profile_fields.fields().items() if name != "uscc"},
    name="ProfileSchema",
)


def validate_profile(raw: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    """Load profile input through the schema; raise ``ValidationFailed`` with messages per field."""
    schema = ProfileSchema(partial=partial)
    try:
        data: dict[str, Any] = schema.load(raw)
    except ValidationError as exc:
        raise ValidationFailed.marked(
            flatten_messages(exc.messages),
        ) from None
    if partial:
        data = {k: v for k, v in data.items() if k in raw}
    # Memberships are confirmed by the park, the chamber or the centre, never self-declared.
    return {k: v for k, v in data.items() if k not in READ_ONLY_FIELDS}


def flatten_messages(messages: Any) -> dict[str, str]:
    """Turn marshmallow's messages into one message per field (list items joined)."""
    out: dict[str, str] = {}
    for key, value in (messages or {}).items():
        if isinstance(value, dict):
            # a list field: {index: [messages]}
            texts = [t for v in value.values() for t in (v if isinstance(v, list) else [v])]
            out[str(key)] = limits.joined(texts)
        elif isinstance(value, list):
            out[str(key)] = limits.joined(value)
        else:
            out[str(key)] = str(value)
    return out


# --- reading and writing the profile ----------------------------------------------------------


def yuan_to_wan(value: Decimal | None) -> str:
    """Write yuan as a 万元 figure without trailing zeros ('' for None)."""
    return money.wan_input(value)


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


def apply_profile(session: Session, enterprise: Enterprise, data: dict[str, Any]) -> list[str]:
    """Write loaded profile values (the caller audits and commits); return what changed."""
    before = form_values(enterprise)
    if "park_codes" in data or "chamber_codes" in data:
        current = form_values(enterprise)
        errors = apply_memberships(
            session,
            enterprise,
            data.get("park_codes", current["park_codes"]),
            data.get("chamber_codes", current["chamber_codes"]),
        )
        if errors:
            raise ValidationFailed.marked(errors)
        # Load the new memberships' parks and chambers, so the comparison below sees them.
        session.flush()
        session.expire(enterprise, ["memberships"])
    for name, value in data.items():
        if name in ("park_codes", "chamber_codes"):
            continue
        if name == "name":
            value = value.strip()
        if name == "certifications":
            value = sorted(set(value), key=profile_fields.field(name).values.index)
        setattr(enterprise, name, value)
    after = form_values(enterprise)
    return [
        n
        for n in (*EDITABLE_FIELDS, *MEMBERSHIP_FIELDS)
        if (sorted(before[n]) if n in LIST_FIELDS else before[n])
        != (sorted(after[n]) if n in LIST_FIELDS else after[n])
    ]


def plain_values(enterprise: Enterprise) -> dict[str, Any]:
    """Return the live profile as plain data (as a frozen submission holds it)."""
    live = enterprise_profile(enterprise)
    return {n: profile_fields.to_plain(n, live.get(n)) for n in profile_fields.fields()}


def before_after(
    before: dict[str, Any], after: dict[str, Any], changed: list[str]
) -> dict[str, dict[str, Any]]:
    """Return the changed fields' plain values before and after an edit (for its audit event).

    The consistency flags (services/consistency.py) show an edit made just before applying
    with these values.
    """
    return {
        "before": {n: before.get(n) for n in changed},
        "after": {n: after.get(n) for n in changed},
    }


def save_profile(
    session: Session,
    enterprise: Enterprise,
    data: dict[str, Any],
    *,
    actor_id: int | None,
    via: str,
    reason: str = "",
    extra: dict[str, Any] | None = None,
) -> list[str]:
    """Write loaded profile values and audit which fields changed (the caller commits)."""
    before = plain_values(enterprise)
    changed = apply_profile(session, enterprise, data)
    if changed:
        record_event(
            session,
            actor_id=actor_id,
            action="enterprise.profile_updated",
            object_type="enterprise",
            object_id=enterprise.id,
            reason=reason or ("Excel 导入" if via == "excel" else "企业更新资料"),
            data={
                "fields": changed,
                "via": via,
                **before_after(before, plain_values(enterprise), changed),
                **(extra or {}),
            },
        )
    return changed


def update_profile(
    session: Session,
    *,
    actor_id: int | None,
    enterprise_id: int | None,
    data: dict[str, Any],
    via: str = "form",
) -> list[str]:
    """Save loaded profile values of the actor's enterprise, audited (commits)."""
    enterprise = get_enterprise(session, enterprise_id)
    changed = save_profile(session, enterprise, data, actor_id=actor_id, via=via)
    session.commit()
    if changed:  # wip-13p: 政策找企业 — match the firm again
        from finportal.services import push

        push.rematch_later(session, enterprise.id, actor_id=actor_id)
    return changed


# --- completeness ----------------------------------------------------------------------------


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


#: Which empty fields keep which products undecided: the same for every firm with the same
#: profile on the same day under the same published versions, in one language; evaluating
#: every product for it was a third of the CPU of the SME's home page, on every view.
_BLOCKING: Memo[dict[str, tuple[str, ...]]] = Memo(4096)


def _blocking(
    catalog: products.Catalog, profile: dict[str, Any], today: date
) -> dict[str, tuple[str, ...]]:
    """Per empty field the SME can fill in, the products whose required conditions it keeps
    undecided."""
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
                shown = limits.in_user_language(product.name_zh, product.name_en or product.name_zh)
                if shown not in blocking.setdefault(name, []):
                    blocking[name].append(shown)
    return {name: tuple(shown) for name, shown in blocking.items()}


def completeness(session: Session, enterprise: Enterprise) -> Completeness:
    """Measure the profile and list, per empty field, the products it blocks."""
    # Fields the definition marks optional (memberships, certifications, "no loan matures",
    # new hires) are legitimately empty for many firms: they count as filled in the meter,
    # but still show up as blocking where a product needs them.
    optional = set(profile_fields.names(optional=True))
    names = list(profile_fields.fields())
    missing = [n for n in names if n not in optional and _is_empty(enterprise, n)]
    profile = enterprise_profile(enterprise)
    catalog, versions = catalog_service.current_catalog(session)
    today = today_local()
    key = (
        tuple(sorted((v.id, v.content_hash) for v in versions.values())),
        today,
        current_locale(),
        json.dumps(profile, sort_keys=True, default=str),
    )
    found = _BLOCKING.get(key, lambda: _blocking(catalog, profile, today))
    blocking = {name: list(shown) for name, shown in found.items()}
    return Completeness(
        filled=len(names) - len(missing), total=len(names), missing=missing, blocking=blocking
    )
