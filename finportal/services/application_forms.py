"""What the SME's application forms post: the request (万元 in, yuan out), consents and the rating."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, pre_load, validate

from finportal import limits
from finportal.services.labels import (  # noqa: F401 - PURPOSES and SCOPE_LABELS for views
    DEFAULT_SCOPE,
    PURPOSES,
    SCOPE_LABELS,
    action_label,
)

CHOOSE_PURPOSE = limits.bilingual("请选择贷款用途。", "Choose the purpose of the loan.")
CHOOSE_BANKS = limits.bilingual(
    "请至少选择一家银行并授权。", "Choose at least one bank to consent to."
)
CHOOSE_STARS = limits.bilingual("请选择 1 至 5 星。", "Choose 1 to 5 stars.")


class AmountWan(limits.Amount):
    """A requested amount in 万元 (a loan, :data:`finportal.limits.AMOUNTS`), loaded as yuan."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("loan", unit="wan", **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        try:
            return limits.check_amount(value, "loan", unit="wan")
        except limits.LimitError as exc:
            if exc.reason == "zero":
                raise ValidationError(
                    limits.in_user_language("申请金额须大于 0。", "The amount must be above 0.")
                ) from None
            raise ValidationError(exc.message()) from None


def _consent_bank_ids() -> fields.List:
    """Return the field of the banks ticked for consent."""
    return fields.List(
        limits.Id(message=("银行选择有误。", "Choose banks from the list.")), load_default=list
    )


def _consent_valid_until() -> fields.Date:
    """Return the field of the day consents end (empty: the default period)."""
    return limits.Date(load_default=None, allow_none=True)


class LoanRequestSchema(Schema):
    """The fields every request for a loan posts: amount (万元 in, yuan out), term and purpose.

    The application form and the demand board's need form (``need_forms.NeedSchema``) extend it.
    """

    class Meta:
        unknown = EXCLUDE

    amount = AmountWan(
        required=True,
        error_messages={"required": limits.bilingual("请填写申请金额。", "Enter the amount.")},
    )
    term_months = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(
            min=1,
            max=limits.MAX_TERM_MONTHS,
            error=limits.bilingual(
                f"期限须为 1 至 {limits.MAX_TERM_MONTHS} 个月。",
                f"The term is 1 to {limits.MAX_TERM_MONTHS} months.",
            ),
        ),
        error_messages={
            "required": limits.bilingual("请填写期限。", "Enter the term."),
            "invalid": limits.MESSAGES["months"],
        },
    )
    purpose = fields.String(
        required=True,
        validate=validate.OneOf(list(PURPOSES), error=CHOOSE_PURPOSE),
        error_messages={"required": CHOOSE_PURPOSE},
    )
    purpose_note = limits.Text("purpose_note", load_default="")


class ApplicationSchema(LoanRequestSchema):
    """What the new-application form posts (amount in 万元)."""

    #: "" means "让服务中心匹配" (let the centre match).
    product_code = limits.Text("code", load_default="")
    #: 续贷 (issue 13): the key of the running loan this application renews, or "".
    renews = limits.Text("code", load_default="")
    idempotency_key = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{16,64}$", error=limits.MESSAGES["stale_form"]),
        error_messages={"required": limits.MESSAGES["stale_form"]},
    )
    consent_bank_ids = _consent_bank_ids()
    consent_valid_until = _consent_valid_until()
    action = fields.String(load_default="submit", validate=validate.OneOf(["submit", "draft"]))

    @pre_load
    def _strip(self, data: Any, **kwargs: Any) -> Any:
        out = {}
        for key, value in dict(data).items():
            if isinstance(value, str):
                value = value.strip()
                if value == "" and key in ("amount", "term_months", "purpose"):
                    continue  # reported as required
                if value == "" and key == "consent_valid_until":
                    value = None
            out[key] = value
        return out


class ConsentSchema(Schema):
    """Consents given on a draft's submit form."""

    class Meta:
        unknown = EXCLUDE

    consent_bank_ids = _consent_bank_ids()
    consent_valid_until = _consent_valid_until()

    @pre_load
    def _blank(self, data: Any, **kwargs: Any) -> Any:
        out = dict(data)
        if out.get("consent_valid_until") == "":
            out["consent_valid_until"] = None
        return out


class RatingSchema(Schema):
    """The satisfaction rating form."""

    class Meta:
        unknown = EXCLUDE

    stars = fields.Integer(
        required=True,
        strict=False,
        validate=validate.Range(min=1, max=5, error=CHOOSE_STARS),
        error_messages={"required": CHOOSE_STARS, "invalid": CHOOSE_STARS},
    )
    comment = limits.Text("comment", load_default="")
