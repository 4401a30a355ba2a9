"""Helpers of the SME tests (fixtures live in conftest.py)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any


def form_data(banks: list[Any], **overrides: Any) -> dict[str, Any]:
    """A valid loaded application form (amount in yuan), consenting to the first bank."""
    data: dict[str, Any] = {
        "amount": Decimal("1000000.00"),
        "term_months": 12,
        "purpose": "working_capital",
        "purpose_note": "",
        "product_code": "",
        "idempotency_key": uuid.uuid4().hex,
        "consent_bank_ids": [banks[0].id],
        "consent_valid_until": None,
        "action": "submit",
    }
    data.update(overrides)
    return data
