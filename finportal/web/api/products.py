"""API: the public product catalogue (no token needed)."""

from __future__ import annotations

from typing import Any

from finportal.extensions import db
from finportal.services import catalog as catalog_service
from finportal.services import costs
from finportal.web.api import make_blueprint
from finportal.web.api.schemas import (
    ComparedQuoteSchema,
    CompareQuerySchema,
    ErrorSchema,
    ProductSchema,
)

blp = make_blueprint("products", "The public product catalogue.", authenticated=False)


@blp.route("/")
@blp.doc(**{"x-summary-zh": "列出已发布的金融产品（当前版本）。"})
@blp.doc(security=[])
@blp.response(200, ProductSchema(many=True))
def list_products() -> Any:
    """List the published products (current versions)."""
    out = []
    for version in catalog_service.current_versions(db.session):
        product = catalog_service.product_of(version)
        out.append(
            {
                "code": product.code,
                "name_zh": product.name_zh,
                "name_en": product.name_en,
                "description_zh": product.description_zh,
                "description_en": product.description_en,
                "version": version.number,
                "batch": product.batch,
                "amount_min": product.amount_min.value,
                "amount_max": product.amount_max.value,
                "term_min_months": int(product.term_min.value),
                "term_max_months": int(product.term_max.value),
                "demo": product.demo,
            }
        )
    return out


@blp.route("/compare")
@blp.doc(**{"x-summary-zh": "按同一金额和期限为每个产品报价，按年化综合成本（IRR）排序。"})
@blp.doc(security=[])
@blp.arguments(CompareQuerySchema, location="query")
@blp.response(200, ComparedQuoteSchema(many=True))
@blp.alt_response(422, schema=ErrorSchema)
def compare_products(query: dict[str, Any]) -> Any:
    """Quote every product at one amount and term, ranked by effective annual cost (IRR)."""
    return costs.compare_catalogue(db.session, query["amount"], query["term_months"])
