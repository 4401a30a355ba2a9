"""Marshmallow schema of one catalogue file (one product)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

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


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _Cited(_Strict):
    """Anything with a ``source`` and a ``demo`` flag.

    Whether a ``demo: false`` value cites something that can confirm it is checked
    when a product is published (``products.sources.unconfirmed``), not here: stored
    versions published before that rule must still load.
    """

    source = fields.Str(required=True, validate=validate.Length(min=3))
    demo = fields.Bool(load_default=False)


class SourcedSchema(_Cited):
    """A policy number with its unit, its source and whether it is a demo value."""

    value = fields.Decimal(required=True, allow_nan=False)
    unit = fields.Str(required=True, validate=validate.OneOf(UNITS))
    note = fields.Str(load_default=None, allow_none=True)


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
    if item is not None and item["value"] != item["value"].quantize(Decimal("0.01")):
        raise ValidationError("must be a whole number of fen (2 decimals)", field_name=name)


class RepaymentSchema(_Cited):
    method = fields.Str(required=True, validate=validate.OneOf(REPAYMENT_METHODS))


class TermsSchema(_Strict):
    amount_min = fields.Nested(SourcedSchema, required=True)
    amount_max = fields.Nested(SourcedSchema, required=True)
    term_min = fields.Nested(SourcedSchema, required=True)
    term_max = fields.Nested(SourcedSchema, required=True)
    repayment = fields.Nested(RepaymentSchema, required=True)
    example_amount = fields.Nested(SourcedSchema, required=True)
    example_term = fields.Nested(SourcedSchema, required=True)

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        for name in ("amount_min", "amount_max", "example_amount"):
            _expect(data, name, "yuan")
            _positive(data, name)
            _fen(data, name)
        for name in ("term_min", "term_max", "example_term"):
            _expect(data, name, "months")
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
    base = fields.Str(required=True, validate=validate.OneOf(RATE_BASES))
    spread_bp = fields.Nested(SourcedSchema, load_default=None)
    fixed_rate = fields.Nested(SourcedSchema, load_default=None)

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        _expect(data, "spread_bp", "bp")
        _expect(data, "fixed_rate", "per_year")
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
    fee_rate = fields.Nested(SourcedSchema, required=True)
    fee_basis = fields.Str(load_default="amount", validate=validate.OneOf(FEE_BASES))
    coverage = fields.Nested(SourcedSchema, load_default=None)

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        _expect(data, "fee_rate", "per_year")
        _expect(data, "coverage", "share")
        if not Decimal(0) <= data["fee_rate"]["value"] < Decimal(1):
            raise ValidationError("must be a yearly rate between 0 and 1", "fee_rate")
        _share(data, "coverage")


class SubsidyPaymentSchema(_Cited):
    """How and when a subsidy reaches the enterprise, in words for the terms and the quote."""

    paid = fields.Str(required=True, validate=validate.OneOf(SUBSIDY_PAID))
    note_zh = fields.Str(required=True, validate=validate.Length(min=2))
    note_en = fields.Str(required=True, validate=validate.Length(min=2))


def _check_caps(data: dict[str, Any]) -> None:
    for name in ("cap_total", "cap_per_year"):
        _expect(data, name, "yuan")
        _positive(data, name)
        _fen(data, name)


class InterestSubsidySchema(_Strict):
    kind = fields.Str(required=True, validate=validate.OneOf(SUBSIDY_KINDS))
    share = fields.Nested(SourcedSchema, load_default=None)
    points = fields.Nested(SourcedSchema, load_default=None)
    floor_spread_bp = fields.Nested(SourcedSchema, load_default=None)
    cap_total = fields.Nested(SourcedSchema, load_default=None)
    cap_per_year = fields.Nested(SourcedSchema, load_default=None)
    payment = fields.Nested(SubsidyPaymentSchema, load_default=None)

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        needs = {"share": "share", "points": "points", "above_floor": "floor_spread_bp"}
        needed = needs[data["kind"]]
        if data[needed] is None:
            raise ValidationError(f"required when kind is {data['kind']}", field_name=needed)
        for name in needs.values():
            if name != needed and data[name] is not None:
                raise ValidationError(f"not used when kind is {data['kind']}", name)
        _expect(data, "share", "share")
        _share(data, "share")
        _expect(data, "points", "per_year")
        if data["points"] is not None and not Decimal(0) <= data["points"]["value"] < 1:
            raise ValidationError("must be a yearly rate between 0 and 1", "points")
        _expect(data, "floor_spread_bp", "bp")
        _check_caps(data)


class FeeSubsidySchema(_Strict):
    share = fields.Nested(SourcedSchema, required=True)
    cap_total = fields.Nested(SourcedSchema, load_default=None)
    cap_per_year = fields.Nested(SourcedSchema, load_default=None)
    payment = fields.Nested(SubsidyPaymentSchema, load_default=None)

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        _expect(data, "share", "share")
        _share(data, "share")
        _check_caps(data)


class BatchTermsSchema(_Strict):
    organiser = fields.Str(required=True, validate=validate.OneOf(("park", "chamber")))
    per_firm_cap = fields.Nested(SourcedSchema, required=True)

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        _expect(data, "per_firm_cap", "yuan")
        _positive(data, "per_firm_cap")


class FactSchema(_Cited):
    key = fields.Str(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]*$"))
    label_zh = fields.Str(required=True)
    label_en = fields.Str(required=True)
    value = fields.Decimal(required=True, allow_nan=False)
    unit = fields.Str(required=True, validate=validate.OneOf(UNITS))


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

    key = fields.Str(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]*$"))
    borrower = fields.Str(required=True, validate=validate.OneOf(BORROWERS))
    name_zh = fields.Str(required=True, validate=validate.Length(min=2))
    name_en = fields.Str(required=True, validate=validate.Length(min=2))
    description_zh = fields.Str(required=True, validate=validate.Length(min=2))
    description_en = fields.Str(required=True, validate=validate.Length(min=2))
    facts = fields.List(fields.Nested(FactSchema), load_default=list)

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
    field = fields.Str(required=True)
    op = fields.Str(required=True, validate=validate.OneOf(ALL_OPERATORS))
    value = fields.Raw(load_default=None, allow_none=True)

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        data["value"] = check_leaf(data)


class AnyOfEntrySchema(_Strict):
    """One alternative of an any_of: a field/op/value, or all_of a list of them."""

    field = fields.Str(load_default=None)
    op = fields.Str(load_default=None, validate=validate.OneOf(ALL_OPERATORS))
    value = fields.Raw(load_default=None, allow_none=True)
    all_of = fields.List(fields.Nested(LeafSchema), load_default=None)

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

    id = fields.Str(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]*$"))
    field = fields.Str(load_default=None)
    op = fields.Str(load_default=None, validate=validate.OneOf(ALL_OPERATORS))
    value = fields.Raw(load_default=None, allow_none=True)
    any_of = fields.List(fields.Nested(AnyOfEntrySchema), load_default=None)
    required = fields.Bool(load_default=True)
    message_zh = fields.Str(required=True, validate=validate.Length(min=2))
    message_en = fields.Str(required=True, validate=validate.Length(min=2))
    # What is wrong when the condition fails, e.g. 存在未结重大诉讼 for 无未结重大诉讼
    # (products.eligibility.failed_wording words a condition without them).
    failed_zh = fields.Str(load_default=None, validate=validate.Length(min=2))
    failed_en = fields.Str(load_default=None, validate=validate.Length(min=2))

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

    opens_on = fields.Date(required=True)
    closes_on = fields.Date(required=True)
    remind_days = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=366)),
        required=True,
        validate=validate.Length(min=1, max=5),
    )

    @validates_schema
    def _check(self, data: dict[str, Any], **_: Any) -> None:
        if data["opens_on"] > data["closes_on"]:
            raise ValidationError("must not be after closes_on", "opens_on")
        if len(set(data["remind_days"])) != len(data["remind_days"]):
            raise ValidationError("days must be different", "remind_days")


class ProductSchema(_Strict):
    code = fields.Str(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]*$"))
    name_zh = fields.Str(required=True, validate=validate.Length(min=2))
    name_en = fields.Str(required=True, validate=validate.Length(min=2))
    description_zh = fields.Str(required=True)
    description_en = fields.Str(required=True)
    # Where the product itself comes from (the plan's clause that names it), or that it
    # is an addition beyond the plan.
    source = fields.Str(load_default=None, validate=validate.Length(min=3))
    batch = fields.Bool(load_default=False)
    batch_terms = fields.Nested(BatchTermsSchema, load_default=None)
    terms = fields.Nested(TermsSchema, required=True)
    rate = fields.Nested(RateSchema, required=True)
    guarantee = fields.Nested(GuaranteeSchema, load_default=None)
    interest_subsidy = fields.Nested(InterestSubsidySchema, load_default=None)
    fee_subsidy = fields.Nested(FeeSubsidySchema, load_default=None)
    facts = fields.List(fields.Nested(FactSchema), load_default=list)
    conditions = fields.List(fields.Nested(ConditionSchema), required=True)
    variants = fields.List(fields.Nested(VariantSchema), load_default=list)
    application_window = fields.Nested(ApplicationWindowSchema, load_default=None)

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
