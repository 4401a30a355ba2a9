"""Input and output schemas of the bank API (marshmallow 4), documented in the OpenAPI spec."""

from __future__ import annotations

from decimal import Decimal

from marshmallow import Schema, fields, validate

from finportal import limits
from finportal.domain.states import ReferralState
from finportal.services import referrals
from finportal.services.documents import KINDS as DOCUMENT_KINDS


def amount_field(**kwargs: object) -> limits.Amount:
    """Return a loan amount in yuan (a number or numeric string, two decimals), within
    :data:`finportal.limits.AMOUNTS` ``loan``."""
    high = limits.AMOUNTS["loan"].high
    return limits.Amount(
        "loan",
        metadata={
            "type": "number",
            "description": f"yuan, above 0 and at most {high:,.0f}, at most two decimals",
            "example": 1000000,
            "minimum": 0,
            "exclusiveMinimum": True,
            "maximum": int(high),
        },
        **kwargs,  # type: ignore[arg-type]
    )


def paid_field(**kwargs: object) -> limits.Amount:
    """Return an amount a repayment paid in yuan (0 allowed, two decimals), within ``repayment``."""
    high = limits.AMOUNTS["repayment"].high
    return limits.Amount(
        "repayment",
        metadata={
            "type": "number",
            "description": f"yuan, 0 to {high:,.0f}, at most two decimals",
            "example": 5833.33,
            "minimum": 0,
            "maximum": int(high),
        },
        **kwargs,  # type: ignore[arg-type]
    )


class ErrorSchema(Schema):
    """An API error: a stable code, a message (Chinese), the English message, and field errors."""

    code = fields.String(required=True, metadata={"example": "not_found"})
    message = fields.String(required=True)
    message_en = fields.String()
    errors = fields.Dict(keys=fields.String())


class ProductSchema(Schema):
    """A product of the public catalogue."""

    code = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    description_zh = fields.String()
    description_en = fields.String()
    version = fields.Integer()
    batch = fields.Boolean()
    amount_min = fields.Decimal(as_string=True)
    amount_max = fields.Decimal(as_string=True)
    term_min_months = fields.Integer()
    term_max_months = fields.Integer()
    demo = fields.Boolean(metadata={"description": "some number is a demo value to be confirmed"})


class CompareQuerySchema(Schema):
    """The amount (yuan) and term (months) to quote every product at."""

    amount = amount_field(required=True)
    term_months = fields.Integer(
        required=True, strict=False, validate=validate.Range(min=1, max=limits.MAX_TERM_MONTHS)
    )


class DemoMarksSchema(Schema):
    """Which numbers of a quote are demo values the centre must still confirm."""

    any = fields.Boolean()
    rate = fields.Boolean()
    fee = fields.Boolean()
    subsidy = fields.Boolean()


class ComparedQuoteSchema(Schema):
    """One product quoted at the asked amount and term, with its place in the one ranking."""

    rank = fields.Integer(
        allow_none=True, metadata={"description": "1 = lowest effective annual cost"}
    )
    code = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    effective_annual_cost_rate = fields.String(
        metadata={"description": "IRR of the net cash flows x 12, a fraction: 0.032 is 3.2 %"}
    )
    repayment = fields.String()
    amount = fields.String(metadata={"description": "yuan"})
    term_months = fields.Integer()
    nominal_rate = fields.String()
    guarantee_fee_rate = fields.String()
    total_interest = fields.String()
    total_fee = fields.String()
    total_subsidy = fields.String()
    net_cost = fields.String(metadata={"description": "interest + fee - subsidies, yuan"})
    subsidy_paid_later = fields.String()
    demo = fields.Nested(DemoMarksSchema)
    error = fields.String(
        allow_none=True, metadata={"description": "why the product cannot be quoted"}
    )


# --- batches ---------------------------------------------------------------------------


class BatchMemberSchema(Schema):
    """A member enterprise of a batch and the bank's decision on it."""

    id = fields.Integer()
    enterprise_name = fields.String(attribute="enterprise.name")
    enterprise_uscc = fields.String(attribute="enterprise.uscc")
    state = fields.String()
    requested_amount = fields.Decimal(as_string=True, allow_none=True)
    approved_amount = fields.Decimal(as_string=True, allow_none=True)
    grade = fields.Method("get_grade", allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    reason_text = fields.String()

    def get_grade(self, obj: object) -> str | None:
        """Return the grade found when the advisor checked the member."""
        check = getattr(obj, "check_result", None) or {}
        score = check.get("score") or {}
        return score.get("grade")


class BatchSchema(Schema):
    """A batch sent to the bank, with its quota and filing status."""

    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    organiser = fields.String()
    product_code = fields.String(attribute="product.code")
    state = fields.String()
    filing_status = fields.String()
    quota_total = fields.Decimal(as_string=True)
    quota_used = fields.Decimal(as_string=True)
    quota_left = fields.Decimal(as_string=True)
    per_firm_cap = fields.Decimal(as_string=True)
    submitted_at = fields.DateTime(allow_none=True)
    filed_at = fields.DateTime(allow_none=True)


class BatchDetailSchema(BatchSchema):
    """A batch with its members."""

    members = fields.List(fields.Nested(BatchMemberSchema))


class BatchQuerySchema(Schema):
    """Filter batches."""

    state = fields.String(validate=validate.OneOf(["submitted", "closed"]))


class MemberDecisionSchema(Schema):
    """The bank's decision on one batch member."""

    decision = fields.String(required=True, validate=validate.OneOf(["approved", "declined"]))
    approved_amount = amount_field(load_default=None, allow_none=True)
    reason_text = limits.Text("reason", load_default="")


# --- referrals ---------------------------------------------------------------------------


class ReferralQuerySchema(Schema):
    """Filter referrals by state and by time sent."""

    status = fields.String(
        validate=validate.OneOf([*(s.value for s in ReferralState), "new", "decided", "overdue"]),
        metadata={"description": "a referral state, or an inbox tab: new, decided, overdue"},
    )
    since = limits.AwareDateTime(
        default_timezone=None,
        metadata={
            "description": "only referrals sent at or after this time (RFC 3339 with offset)"
        },
    )


class DecisionOutSchema(Schema):
    """A recorded bank decision."""

    id = fields.Integer()
    decision = fields.String()
    approved_amount = fields.Decimal(as_string=True, allow_none=True)
    annual_rate = fields.Decimal(as_string=True, allow_none=True)
    term_months = fields.Integer(allow_none=True)
    reason_code = fields.String(allow_none=True)
    reason_text = fields.String()
    document_kinds = fields.List(fields.String(), allow_none=True)
    decided_at = fields.DateTime()


class OutcomeOutSchema(Schema):
    """A recorded loan event."""

    id = fields.Integer()
    event = fields.String()
    occurred_on = fields.Date()
    amount = fields.Decimal(as_string=True, allow_none=True)
    principal_paid = fields.Decimal(as_string=True, allow_none=True)
    interest_paid = fields.Decimal(as_string=True, allow_none=True)
    fee_paid = fields.Decimal(as_string=True, allow_none=True)
    recorded_at = fields.DateTime()


class ReferralSchema(Schema):
    """A referral sent to the bank."""

    id = fields.Integer()
    state = fields.String()
    application_id = fields.Integer()
    enterprise_name = fields.String(attribute="application.enterprise.name")
    enterprise_uscc = fields.String(attribute="application.enterprise.uscc")
    product_code = fields.String(attribute="product_version.product.code")
    product_name = fields.String(attribute="product_version.product.name_zh")
    amount = fields.Decimal(as_string=True, attribute="application.amount")
    term_months = fields.Integer(attribute="application.term_months")
    sent_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    viewed_at = fields.DateTime(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    packet_number = fields.String(allow_none=True)


class ReferralDetailSchema(ReferralSchema):
    """A referral with the bank's decisions and loan events."""

    advisor_opinion = fields.String()
    decisions = fields.List(fields.Nested(DecisionOutSchema))
    outcomes = fields.List(fields.Nested(OutcomeOutSchema))


class DecisionInSchema(Schema):
    """A bank decision on a referral."""

    decision = fields.String(
        required=True, validate=validate.OneOf(["approved", "declined", "info_requested"])
    )
    approved_amount = amount_field(load_default=None, allow_none=True)
    annual_rate = limits.Number(
        places=limits.RATE_PLACES,
        low=Decimal(-1),
        high=Decimal(1),
        load_default=None,
        allow_none=True,
        # The service refuses rates outside (0, MAX_ANNUAL_RATE] with a 422 naming the field.
        metadata={
            "type": "number",
            "description": "annual rate as a fraction: 0.035 is 3.5 % per year",
            "minimum": -1,
            "maximum": 1,
            "example": 0.035,
        },
    )
    term_months = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(min=1, max=limits.MAX_TERM_MONTHS),
        metadata={"example": 12},
    )
    reason_code = limits.Text("code", load_default=None, allow_none=True)
    reason_text = limits.Text("reason", load_default="")
    # issue 14: with info_requested, the document kinds the enterprise must upload.
    documents = limits.choice_list(
        list(DOCUMENT_KINDS),
        load_default=list,
        metadata={"description": "with info_requested: document kinds the enterprise must upload"},
    )


class OutcomeInSchema(Schema):
    """A loan event on a referral."""

    event = fields.String(required=True, validate=validate.OneOf(referrals.LOAN_EVENTS))
    occurred_on = limits.Date(required=True)
    amount = amount_field(load_default=None, allow_none=True)
    # issue 13: a repayment's principal, interest and guarantee fee / premium, yuan.
    principal_paid = paid_field(load_default=None, allow_none=True)
    interest_paid = paid_field(load_default=None, allow_none=True)
    fee_paid = paid_field(load_default=None, allow_none=True)


class ProfileFieldSchema(Schema):
    """One field of the profile as submitted; money in yuan as a decimal string."""

    name = fields.String()
    label_zh = fields.String()
    label_en = fields.String()
    unit = fields.String(allow_none=True)
    value = fields.Raw(allow_none=True)


class SubmittedProfileSchema(Schema):
    """The enterprise profile the application was submitted with (what the packet prints)."""

    referral_id = fields.Integer()
    enterprise_name = fields.String()
    enterprise_uscc = fields.String()
    taken_at = fields.String(allow_none=True)
    parks = fields.List(fields.String())
    chambers = fields.List(fields.String())
    fields_ = fields.List(fields.Nested(ProfileFieldSchema), data_key="fields", attribute="fields")
