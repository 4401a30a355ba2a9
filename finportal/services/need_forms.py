"""What the demand board's forms post: a need (万元 in, yuan out), a claim, a closing reason."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, pre_load, validate

from finportal import limits
from finportal.services.application_forms import AmountWan, LoanRequestSchema
from finportal.services.needs import COLLATERAL, URGENCY

CHOOSE_COLLATERAL = limits.bilingual("请选择担保方式。", "Choose the collateral.")
CHOOSE_URGENCY = limits.bilingual("请选择紧急程度。", "Choose how urgent it is.")


class NeedSchema(LoanRequestSchema):
    """What the post-a-need form sends (amount in 万元): a loan request, collateral, urgency."""

    amount = AmountWan(
        required=True,
        error_messages={"required": limits.bilingual("请填写需求金额。", "Enter the amount.")},
    )
    collateral = fields.String(
        required=True,
        validate=validate.OneOf(list(COLLATERAL), error=CHOOSE_COLLATERAL),
        error_messages={"required": CHOOSE_COLLATERAL},
    )
    urgency = fields.String(
        required=True,
        validate=validate.OneOf(list(URGENCY), error=CHOOSE_URGENCY),
        error_messages={"required": CHOOSE_URGENCY},
    )

    @pre_load
    def _strip(self, data: Any, **kwargs: Any) -> Any:
        out = {}
        for key, value in dict(data).items():
            if isinstance(value, str):
                value = value.strip()
                if value == "" and key in (
                    "amount",
                    "term_months",
                    "purpose",
                    "collateral",
                    "urgency",
                ):
                    continue  # reported as required
            out[key] = value
        return out
