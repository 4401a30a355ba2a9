"""Template helpers of the demand board's pages (every role's): labels of a need's codes."""

from __future__ import annotations

from typing import Any

from finportal.domain.states import CLAIM, NEED
from finportal.services import needs
from finportal.services.labels import purpose_label


def helpers() -> dict[str, Any]:
    """Return what the needs templates call: state titles and the words of stored codes."""
    return {
        "need_state": NEED.title,
        "claim_state": CLAIM.title,
        "collateral_label": needs.collateral_label,
        "urgency_label": needs.urgency_label,
        "district_label": needs.district_label,
        "size_label": needs.size_label,
        "industry_label": needs.industry_label,
        "need_purpose": purpose_label,
        "wan_amount": _wan,
    }


def _wan(value: Any) -> str:
    from finportal import money

    return money.wan(value, 6, trim=True)
