"""Helpers shared by the products tests."""

from __future__ import annotations

from typing import Any

from products import Product


def product_with(*conditions: dict[str, Any]) -> Product:
    """Build a minimal product with the given conditions."""
    number = {"source": "test", "demo": True}
    data = {
        "code": "test_product",
        "name_zh": "测试产品",
        "name_en": "test product",
        "description_zh": "测试",
        "description_en": "test",
        "terms": {
            "amount_min": {"value": 1000, "unit": "yuan", **number},
            "amount_max": {"value": 1000000, "unit": "yuan", **number},
            "term_min": {"value": 1, "unit": "months", **number},
            "term_max": {"value": 36, "unit": "months", **number},
            "repayment": {"method": "equal_instalment", **number},
            "example_amount": {"value": 10000, "unit": "yuan", **number},
            "example_term": {"value": 12, "unit": "months", **number},
        },
        "rate": {"base": "lpr_1y", "spread_bp": {"value": 0, "unit": "bp", **number}},
        "conditions": [
            {"id": f"c{i}", "message_zh": "条件", "message_en": "condition", "source": "test", **c}
            for i, c in enumerate(conditions)
        ],
    }
    return Product.from_dict(data, "test")
