"""Marshmallow schema of one catalogue file (one product)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from marshmallow.fields import Field
from marshmallow.schema import SchemaMeta

from products.fields import ALL_OPERATORS, NUMERIC_KINDS, OPERATORS, field_specs

REPAYMENT_METHODS = ("equal_instalment", "equal_principal", "interest_only_bullet")
RATE_BASES = ("lpr_1y", "fixed")
SUBSIDY_KINDS = ("share", "points", "above_floor")
FEE_BASES = ("amount", "outstanding")
UNITS = ("yuan", "months", "bp", "per_year", "share", "persons", "days", "count")
# When a subsidy reaches the enterprise: deducted from each period's payment, or paid
# afterwards (e.g. after the loan is repaid and a public list is confirmed).
SUBSIDY_PAID = ("with_payments", "after_repayment")
BORROWERS = ("individual",)
NO_VALUE_OPS = frozenset({"true", "false", "present"})
LIST_OPS = frozenset({"in", "not_in"})
#: Largest amount a catalogue number may hold, yuan: far above any loan, within the
#: database's Numeric(18, 2) (and the decimal context, which cannot quantize 1e30 to fen).
MAX_YUAN = Decimal("9999999999999999.99")
#: Every sourced number lies within this range (a bigger one is a typing slip, and the
#: decimal context overflows on it).
_BOUNDED = validate.Range(min=-MAX_YUAN, max=MAX_YUAN)


def _w(zh: str, en: str, unit: str | None = None) -> dict[str, str]:
    """Return a field's words (``metadata``): the admin's product form labels it with them.

    ``unit``: the unit a sourced number in this place must have (checked by
    ``_Strict._units``; the form prints it and fills it in).
    """
    return {"zh": zh, "en": en} if unit is None else {"zh": zh, "en": en, "unit": unit}


class _Strict(Schema):
    class Meta:
        unknown = RAISE

    def _units(self, data: dict[str, Any]) -> None:
        """Check each sourced number's unit against its place (``metadata["unit"]``)."""
        for name, declared in self.fields.items():
            unit = declared.metadata.get("unit")
            if unit is not None:
                _expect(data, name, unit)


class _Cited(_Strict):
    """Anything with a ``source`` and a ``demo`` flag.

    Whether a ``demo: false`` value cites something that can confirm it is checked
    when a product is published (``products.sources.unconfirmed``), not here: stored
    versions published before that rule must still load.
    """

    source = fields.Str(
        required=True, validate=validate.Length(min=3), metadata=_w("依据（来源）", "Source")
    )
    demo = fields.Bool(
        load_default=False, metadata=_w("演示数据（待确认）", "Demo value (to be confirmed)")
    )


class SourcedSchema(_Cited):
    """A policy number with its unit, its source and whether it is a demo value."""

    value = fields.Decimal(
        required=True, allow_nan=False, validate=_BOUNDED, metadata=_w("数值", "Value")
    )
    unit = fields.Str(required=True, validate=validate.OneOf(UNITS), metadata=_w("单位", "Unit"))
    note = fields.Str(load_default=None, allow_none=True, metadata=_w("备注", "Note"))


def _expect(data: dict[str, Any], name: str, unit: str) -> None:
    item = data.get(name)
    if item is not None and item["unit"] != unit:
        raise ValidationError(f"unit must be {unit}, got {item['unit']}", field_name=name)


def _positive(data: dict[str, Any], name: str) -> None:
    item = data.get(name)
    if item is not None and not item["value"] > 0:
        raise ValidationError("must be positive", field_name=name)


def _share(data: dict[str, Any], name: str) -> None:
    item = data.get(name)
    if item is not None and not Decimal(0) <= item["value"] <= Decimal(1):
        raise ValidationError("must be a share between 0 and 1", field_name=name)


def _whole(data: dict[str, Any], name: str) -> None:
    item = data.get(name)
    if item is not None and item["value"] != item["value"].to_integral_value():
        raise ValidationError("must be a whole number", field_name=name)


def _fen(data: dict[str, Any], name: str) -> None:
    item = data.get(name)
    if item is None:
        return
    if item["value"] != item["value"].quantize(Decimal("0.01")):
        raise ValidationError("must be a whole number of fen (2 decimals)", field_name=name)


class RepaymentSchema(_Cited):
    method = fields.Str(
        required=True,
        validate=validate.OneOf(REPAYMENT_METHODS),
        metadata=_w("还款方式", "Repayment method"),
    )


class TermsSchema(_Strict):
    amount_min = fields.Nested(
        SourcedSchema, required=True, metadata=_w("最低金额", "Minimum amount", unit="yuan")
    )
    amount_max = fields.Nested(
        SourcedSchema, required=True, metadata=_w("最高金额", "Maximum amount", unit="yuan")
    )
    term_min = fields.Nested(
        SourcedSchema, required=True, metadata=_w("最短期限", "Shortest term", unit="months")
    )
    term_max = fields.Nested(
        SourcedSchema, required=True, metadata=_w("最长期限", "Longest term", unit="months")
    )
    repayment = fields.Nested(RepaymentSchema, required=True, metadata=_w("还款方式", "Repayment"))
    example_amount = fields.Nested(
        SourcedSchema,
        required=True,
        metadata=_w(
            "示例金额（企业未填时报价用）",
            "Example amount (quotes before a firm asks)",
            unit="yuan",
        ),
    )
    example_term = fields.Nested(
        SourcedSchema,
        required=True,
        metadata=_w(
            "示例期限（企业未填时报价用）",
            "Example term (quotes before a firm asks)",
            unit="months",
        ),
    )

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        self._units(data)
        for name in ("amount_min", "amount_max", "example_amount"):
            _positive(data, name)
            _fen(data, name)
        for name in ("term_min", "term_max", "example_term"):
            _positive(data, name)
            _whole(data, name)
        if data["amount_min"]["value"] > data["amount_max"]["value"]:
            raise ValidationError("must not exceed amount_max", field_name="amount_min")
        if data["term_min"]["value"] > data["term_max"]["value"]:
            raise ValidationError("must not exceed term_max", field_name="term_min")
        amount = data["example_amount"]["value"]
        if not data["amount_min"]["value"] <= amount <= data["amount_max"]["value"]:
            raise ValidationError("must lie within amount_min..amount_max", "example_amount")
        term = data["example_term"]["value"]
        if not data["term_min"]["value"] <= term <= data["term_max"]["value"]:
            raise ValidationError("must lie within term_min..term_max", "example_term")


class RateSchema(_Strict):
    base = fields.Str(
        required=True, validate=validate.OneOf(RATE_BASES), metadata=_w("利率基准", "Rate base")
    )
    spread_bp = fields.Nested(
        SourcedSchema,
        load_default=None,
        metadata=_w("相对 LPR 的加点", "Spread over LPR", unit="bp"),
    )
    fixed_rate = fields.Nested(
        SourcedSchema,
        load_default=None,
        metadata=_w("固定年利率", "Fixed yearly rate", unit="per_year"),
    )

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        self._units(data)
        if data["base"] == "lpr_1y" and data["spread_bp"] is None:
            raise ValidationError("required when base is lpr_1y", field_name="spread_bp")
        if data["base"] == "lpr_1y" and data["fixed_rate"] is not None:
            raise ValidationError("not used when base is lpr_1y", field_name="fixed_rate")
        if data["base"] == "fixed":
            if data["spread_bp"] is not None:
                raise ValidationError("not used when base is fixed", field_name="spread_bp")
            if data["fixed_rate"] is None:
                raise ValidationError("required when base is fixed", field_name="fixed_rate")
            if not Decimal(0) < data["fixed_rate"]["value"] < Decimal(1):
                raise ValidationError("must be a yearly rate between 0 and 1", "fixed_rate")


class GuaranteeSchema(_Strict):
    fee_rate = fields.Nested(
        SourcedSchema,
        required=True,
        metadata=_w("担保费率（年）", "Guarantee fee (yearly)", unit="per_year"),
    )
    fee_basis = fields.Str(
        load_default="amount",
        validate=validate.OneOf(FEE_BASES),
        metadata=_w("担保费计费基数", "Fee charged on"),
    )
    coverage = fields.Nested(
        SourcedSchema,
        load_default=None,
        metadata=_w("担保代偿比例", "Guarantee coverage", unit="share"),
    )

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        self._units(data)
        if not Decimal(0) <= data["fee_rate"]["value"] < Decimal(1):
            raise ValidationError("must be a yearly rate between 0 and 1", "fee_rate")
        _share(data, "coverage")


class SubsidyPaymentSchema(_Cited):
    """How and when a subsidy reaches the enterprise, in words for the terms and the quote."""

    paid = fields.Str(
        required=True,
        validate=validate.OneOf(SUBSIDY_PAID),
        metadata=_w("补贴到账方式", "When the subsidy is paid"),
    )
    note_zh = fields.Str(
        required=True,
        validate=validate.Length(min=2),
        metadata=_w("说明（中文）", "Note (Chinese)"),
    )
    note_en = fields.Str(
        required=True,
        validate=validate.Length(min=2),
        metadata=_w("说明（英文）", "Note (English)"),
    )


def _check_caps(data: dict[str, Any]) -> None:
    for name in ("cap_total", "cap_per_year"):
        _positive(data, name)
        _fen(data, name)


class _OwnFieldsFirst(SchemaMeta):
    """Order a schema's own fields before those it inherits (marshmallow puts them after).

    A subsidy's kind and share come first in its data and in the admin's product form
    (``finportal/services/product_form.py`` follows the declaration order), its caps last.
    """

    @classmethod
    def get_declared_fields(
        mcs,
        klass: SchemaMeta,
        cls_fields: list[tuple[str, Field[Any]]],
        inherited_fields: list[tuple[str, Field[Any]]],
        dict_cls: type[dict[str, Field[Any]]] = dict,
    ) -> dict[str, Field[Any]]:
        return dict_cls(cls_fields + inherited_fields)


class _Subsidy(_Strict, metaclass=_OwnFieldsFirst):
    """What every subsidy has: its caps (checked by :func:`_check_caps`) and how it is paid."""

    cap_total = fields.Nested(
        SourcedSchema,
        load_default=None,
        metadata=_w("补贴总额上限", "Cap over the loan", unit="yuan"),
    )
    cap_per_year = fields.Nested(
        SourcedSchema, load_default=None, metadata=_w("每年补贴上限", "Cap per year", unit="yuan")
    )
    payment = fields.Nested(
        SubsidyPaymentSchema, load_default=None, metadata=_w("补贴到账", "Payment")
    )


class InterestSubsidySchema(_Subsidy):
    kind = fields.Str(
        required=True,
        validate=validate.OneOf(SUBSIDY_KINDS),
        metadata=_w("贴息方式", "Kind of interest subsidy"),
    )
    share = fields.Nested(
        SourcedSchema, load_default=None, metadata=_w("贴息比例", "Share of interest", unit="share")
    )
    points = fields.Nested(
        SourcedSchema,
        load_default=None,
        metadata=_w("贴息点数（年化）", "Points (yearly)", unit="per_year"),
    )
    floor_spread_bp = fields.Nested(
        SourcedSchema,
        load_default=None,
        metadata=_w("补贴起点（LPR 加点）", "Floor (spread over LPR)", unit="bp"),
    )

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        needs = {"share": "share", "points": "points", "above_floor": "floor_spread_bp"}
        needed = needs[data["kind"]]
        if data[needed] is None:
            raise ValidationError(f"required when kind is {data['kind']}", field_name=needed)
        for name in needs.values():
            if name != needed and data[name] is not None:
                raise ValidationError(f"not used when kind is {data['kind']}", name)
        self._units(data)
        _share(data, "share")
        if data["points"] is not None and not Decimal(0) <= data["points"]["value"] < 1:
            raise ValidationError("must be a yearly rate between 0 and 1", "points")
        _check_caps(data)


class FeeSubsidySchema(_Subsidy):
    share = fields.Nested(
        SourcedSchema,
        required=True,
        metadata=_w("担保费补贴比例", "Share of the fee", unit="share"),
    )

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        self._units(data)
        _share(data, "share")
        _check_caps(data)


class BatchTermsSchema(_Strict):
    organiser = fields.Str(
        required=True,
        validate=validate.OneOf(("park", "chamber")),
        metadata=_w("组织方", "Organiser"),
    )
    per_firm_cap = fields.Nested(
        SourcedSchema, required=True, metadata=_w("单户上限", "Cap per firm", unit="yuan")
    )

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        self._units(data)
        _positive(data, "per_firm_cap")


class FactSchema(_Cited):
    key = fields.Str(
        required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]*$"), metadata=_w("代码", "Key")
    )
    label_zh = fields.Str(required=True, metadata=_w("名称（中文）", "Label (Chinese)"))
    label_en = fields.Str(required=True, metadata=_w("名称（英文）", "Label (English)"))
    value = fields.Decimal(
        required=True, allow_nan=False, validate=_BOUNDED, metadata=_w("数值", "Value")
    )
    unit = fields.Str(required=True, validate=validate.OneOf(UNITS), metadata=_w("单位", "Unit"))


def _unique_keys(items: list[dict[str, Any]], name: str) -> None:
    keys = [item["key"] for item in items]
    if len(keys) != len(set(keys)):
        raise ValidationError(f"{name} keys must be unique", name)


class VariantSchema(_Cited):
    """Another form of the same policy, shown as information and never matched.

    The portal serves enterprises; a variant for another kind of borrower (an
    individual founder) is described with its own sourced numbers, but no firm's
    profile is evaluated against it and it is never quoted.
    """

    key = fields.Str(
        required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]*$"), metadata=_w("代码", "Key")
    )
    borrower = fields.Str(
        required=True, validate=validate.OneOf(BORROWERS), metadata=_w("借款人", "Borrower")
    )
    name_zh = fields.Str(
        required=True,
        validate=validate.Length(min=2),
        metadata=_w("名称（中文）", "Name (Chinese)"),
    )
    name_en = fields.Str(
        required=True,
        validate=validate.Length(min=2),
        metadata=_w("名称（英文）", "Name (English)"),
    )
    description_zh = fields.Str(
        required=True,
        validate=validate.Length(min=2),
        metadata=_w("说明（中文）", "Description (Chinese)"),
    )
    description_en = fields.Str(
        required=True,
        validate=validate.Length(min=2),
        metadata=_w("说明（英文）", "Description (English)"),
    )
    facts = fields.List(fields.Nested(FactSchema), load_default=list, metadata=_w("要点", "Facts"))

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        _unique_keys(data["facts"], "facts")


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValidationError("must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValidationError(f"must be a number, got {value!r}") from exc
    if not number.is_finite():
        raise ValidationError("must be a finite number")
    if number.copy_abs() > MAX_YUAN:  # the decimal context overflows beyond
        raise ValidationError(
            f"Must be greater than or equal to {-MAX_YUAN} and less than or equal to {MAX_YUAN}."
        )
    return number


def check_leaf(data: dict[str, Any]) -> Any:
    """Check one field/op/value triple against the field registry; return the read value."""
    specs = field_specs()
    name = data["field"]
    if name not in specs:
        raise ValidationError(f"unknown field {name!r}", field_name="field")
    spec = specs[name]
    op = data["op"]
    if op not in OPERATORS[spec.kind]:
        allowed = ", ".join(sorted(OPERATORS[spec.kind]))
        raise ValidationError(
            f"operator {op} does not apply to {spec.kind} field {name} (use {allowed})", "op"
        )
    value = data.get("value")
    try:
        if op in NO_VALUE_OPS:
            if value is not None:
                raise ValidationError(f"operator {op} takes no value")
            return None
        if value is None:
            raise ValidationError(f"operator {op} needs a value")
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise ValidationError("between needs a list [low, high]")
            low, high = _number(value[0]), _number(value[1])
            if low > high:
                raise ValidationError("between needs low <= high")
            return [low, high]
        if op in LIST_OPS:
            if not isinstance(value, list) or not value:
                raise ValidationError(f"{op} needs a non-empty list")
            items = [str(v) for v in value]
        elif spec.kind in NUMERIC_KINDS:
            return _number(value)
        else:
            items = [str(value)]
        if spec.values is not None:
            bad = [v for v in items if v not in spec.values]
            if bad:
                raise ValidationError(f"{bad} not among {list(spec.values)}")
        return items if op in LIST_OPS else items[0]
    except ValidationError as exc:
        raise ValidationError(exc.messages, field_name="value") from exc


class LeafSchema(_Strict):
    field = fields.Str(required=True, metadata=_w("字段", "Field"))
    op = fields.Str(
        required=True, validate=validate.OneOf(ALL_OPERATORS), metadata=_w("比较方式", "Comparison")
    )
    value = fields.Raw(load_default=None, allow_none=True, metadata=_w("值", "Value"))

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        data["value"] = check_leaf(data)


class AnyOfEntrySchema(_Strict):
    """One alternative of an any_of: a field/op/value, or all_of a list of them."""

    field = fields.Str(load_default=None, metadata=_w("字段", "Field"))
    op = fields.Str(
        load_default=None,
        validate=validate.OneOf(ALL_OPERATORS),
        metadata=_w("比较方式", "Comparison"),
    )
    value = fields.Raw(load_default=None, allow_none=True, metadata=_w("值", "Value"))
    all_of = fields.List(
        fields.Nested(LeafSchema), load_default=None, metadata=_w("同时满足以下全部", "All of")
    )

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        if data["all_of"] is not None:
            if data["field"] is not None or data["op"] is not None or data["value"] is not None:
                raise ValidationError("use either field/op/value or all_of", "all_of")
            if len(data["all_of"]) < 2:
                raise ValidationError("all_of needs at least two entries", "all_of")
            return
        if data["field"] is None:
            raise ValidationError("field (or all_of) is required", "field")
        if data["op"] is None:
            raise ValidationError("op is required", "op")
        data["value"] = check_leaf(data)


class ConditionSchema(_Cited):
    """A condition: one field/op/value, or any_of a list of them (passes if one passes).

    An entry of any_of may itself be all_of a list of field/op/value tests (passes
    when every one passes), e.g. "15 % of staff, or 8 % above 100 staff".
    """

    id = fields.Str(
        required=True,
        validate=validate.Regexp(r"^[a-z][a-z0-9_]*$"),
        metadata=_w("条件代码", "Condition key"),
    )
    field = fields.Str(load_default=None, metadata=_w("字段", "Field"))
    op = fields.Str(
        load_default=None,
        validate=validate.OneOf(ALL_OPERATORS),
        metadata=_w("比较方式", "Comparison"),
    )
    value = fields.Raw(load_default=None, allow_none=True, metadata=_w("值", "Value"))
    any_of = fields.List(
        fields.Nested(AnyOfEntrySchema),
        load_default=None,
        metadata=_w("或者：满足以下任一", "Or: any of"),
    )
    required = fields.Bool(load_default=True, metadata=_w("必须满足", "Required"))
    message_zh = fields.Str(
        required=True,
        validate=validate.Length(min=2),
        metadata=_w("条件说明（中文）", "Condition (Chinese)"),
    )
    message_en = fields.Str(
        required=True,
        validate=validate.Length(min=2),
        metadata=_w("条件说明（英文）", "Condition (English)"),
    )
    # What is wrong when the condition fails, e.g. 存在未结重大诉讼 for 无未结重大诉讼
    # (products.eligibility.failed_wording words a condition without them).
    failed_zh = fields.Str(
        load_default=None,
        validate=validate.Length(min=2),
        metadata=_w("不符合时的说明（中文）", "When not met (Chinese)"),
    )
    failed_en = fields.Str(
        load_default=None,
        validate=validate.Length(min=2),
        metadata=_w("不符合时的说明（英文）", "When not met (English)"),
    )

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        if (data["failed_zh"] is None) != (data["failed_en"] is None):
            raise ValidationError("give failed_zh and failed_en together", "failed_zh")
        if data["any_of"] is not None:
            if data["field"] is not None or data["op"] is not None or data["value"] is not None:
                raise ValidationError("use either field/op/value or any_of", "any_of")
            if len(data["any_of"]) < 2:
                raise ValidationError("any_of needs at least two entries", "any_of")
            return
        if data["field"] is None:
            raise ValidationError("field (or any_of) is required", "field")
        if data["op"] is None:
            raise ValidationError("op is required", "op")
        data["value"] = check_leaf(data)


class ApplicationWindowSchema(_Cited):
    """When firms may apply (申报期), and how many days before the close to remind them."""

    opens_on = fields.Date(required=True, metadata=_w("申报开始日期", "Opens on"))
    closes_on = fields.Date(required=True, metadata=_w("申报截止日期", "Closes on"))
    remind_days = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=366)),
        required=True,
        validate=validate.Length(min=1, max=5),
        metadata=_w("截止前提醒天数", "Remind days before the close"),
    )

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        if data["opens_on"] > data["closes_on"]:
            raise ValidationError("must not be after closes_on", "opens_on")
        if len(set(data["remind_days"])) != len(data["remind_days"]):
            raise ValidationError("days must be different", "remind_days")


class ProductSchema(_Strict):
    code = fields.Str(
        required=True,
        validate=validate.Regexp(r"^[a-z][a-z0-9_]*$"),
        metadata=_w("产品代码", "Product code"),
    )
    name_zh = fields.Str(
        required=True,
        validate=validate.Length(min=2),
        metadata=_w("产品名称（中文）", "Name (Chinese)"),
    )
    name_en = fields.Str(
        required=True,
        validate=validate.Length(min=2),
        metadata=_w("产品名称（英文）", "Name (English)"),
    )
    description_zh = fields.Str(
        required=True, metadata=_w("产品说明（中文）", "Description (Chinese)")
    )
    description_en = fields.Str(
        required=True, metadata=_w("产品说明（英文）", "Description (English)")
    )
    # Where the product itself comes from (the plan's clause that names it), or that it
    # is an addition beyond the plan.
    source = fields.Str(
        load_default=None, validate=validate.Length(min=3), metadata=_w("政策依据", "Policy source")
    )
    batch = fields.Bool(load_default=False, metadata=_w("批次贷产品", "Batch loan product"))
    batch_terms = fields.Nested(
        BatchTermsSchema, load_default=None, metadata=_w("批次贷条款", "Batch terms")
    )
    terms = fields.Nested(TermsSchema, required=True, metadata=_w("金额与期限", "Amount and term"))
    rate = fields.Nested(RateSchema, required=True, metadata=_w("利率", "Rate"))
    guarantee = fields.Nested(GuaranteeSchema, load_default=None, metadata=_w("担保", "Guarantee"))
    interest_subsidy = fields.Nested(
        InterestSubsidySchema, load_default=None, metadata=_w("贴息", "Interest subsidy")
    )
    fee_subsidy = fields.Nested(
        FeeSubsidySchema, load_default=None, metadata=_w("担保费补贴", "Guarantee fee subsidy")
    )
    facts = fields.List(
        fields.Nested(FactSchema), load_default=list, metadata=_w("产品要点", "Facts")
    )
    conditions = fields.List(
        fields.Nested(ConditionSchema),
        required=True,
        metadata=_w("准入条件", "Eligibility conditions"),
    )
    variants = fields.List(
        fields.Nested(VariantSchema),
        load_default=list,
        metadata=_w("其他形式（仅展示）", "Variants (shown only)"),
    )
    application_window = fields.Nested(
        ApplicationWindowSchema, load_default=None, metadata=_w("申报期", "Application window")
    )

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        if data["batch"] and data["batch_terms"] is None:
            raise ValidationError("required when batch is true", "batch_terms")
        if not data["batch"] and data["batch_terms"] is not None:
            raise ValidationError("only for batch products (batch: true)", "batch_terms")
        if data["batch_terms"] is not None:
            cap = data["batch_terms"]["per_firm_cap"]["value"]
            if data["terms"]["amount_max"]["value"] > cap:
                raise ValidationError(
                    {"amount_max": ["must not exceed batch_terms.per_firm_cap"]}, "terms"
                )
        if data["fee_subsidy"] is not None and data["guarantee"] is None:
            raise ValidationError("a fee subsidy needs a guarantee fee", "fee_subsidy")
        seen: set[str] = set()
        for index, condition in enumerate(data["conditions"]):
            if condition["id"] in seen or condition["id"] in {"amount_in_range", "term_in_range"}:
                raise ValidationError(
                    {index: {"id": [f"duplicate or reserved id {condition['id']}"]}},
                    "conditions",
                )
            seen.add(condition["id"])
        _unique_keys(data["facts"], "facts")
        _unique_keys(data["variants"], "variants")
