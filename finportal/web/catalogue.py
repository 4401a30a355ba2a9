"""Public catalogue pages: /products/ and /products/<code>, in Chinese."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, render_template

import products
from finportal.extensions import db
from finportal.services import catalog as catalog_service
from finportal.services.workdays import SHANGHAI, today_local
from products.pricing import REPAYMENT_LABELS

bp = Blueprint("catalogue", __name__, url_prefix="/products")

REPAYMENT_ZH = {code: names[0] for code, names in REPAYMENT_LABELS.items()}
ORGANISER_ZH = {"park": "园区", "chamber": "商会"}


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("0", "-0") else text


def _percent(value: Decimal) -> str:
    return f"{_plain(value * 100)}%"


def yuan(value: Decimal | str | None) -> str:
    """Write yuan as 万元 (or 元 below ten thousand)."""
    if value is None:
        return "–"
    amount = Decimal(str(value))
    if abs(amount) >= 10000:
        return f"{_plain((amount / 10000).quantize(Decimal('0.01')))} 万元"
    return f"{_plain(amount.quantize(Decimal('0.01')))} 元"


def sourced_text(item: products.Sourced | None) -> str:
    """Write a policy number with its unit, in Chinese."""
    if item is None:
        return "–"
    value, unit = item.value, item.unit
    if unit == "yuan":
        return yuan(value)
    if unit in ("per_year", "share"):
        return _percent(value) + ("/年" if unit == "per_year" else "")
    suffix = {"months": " 个月", "bp": " 个基点", "persons": " 人", "days": " 天", "count": " 个"}
    return f"{_plain(value)}{suffix.get(unit, ' ' + unit)}"


def rate_rule(product: products.Product) -> str:
    """Describe how the product's nominal rate is set."""
    if product.rate_base == "fixed" and product.fixed_rate is not None:
        return f"固定年利率 {_percent(product.fixed_rate.value)}"
    spread = product.spread_bp.value if product.spread_bp is not None else Decimal(0)
    if spread == 0:
        return "1年期 LPR"
    sign = "+" if spread > 0 else "−"
    return f"1年期 LPR {sign} {_plain(abs(spread))} 个基点"


def interest_subsidy_rule(subsidy: Any) -> str:
    """Describe an interest subsidy (贴息) in words."""
    if subsidy.kind == "share" and subsidy.share is not None:
        return f"补贴利息的 {_percent(subsidy.share.value)}"
    if subsidy.kind == "points" and subsidy.points is not None:
        return f"补贴 {sourced_text(subsidy.points)} 的利息"
    if subsidy.kind == "above_floor" and subsidy.floor_spread_bp is not None:
        floor = subsidy.floor_spread_bp.value
        sign = "+" if floor >= 0 else "−"
        return f"利率超过 LPR {sign} {_plain(abs(floor))} 个基点的部分予以补贴"
    return "贴息"


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {
        "cat_yuan": yuan,
        "cat_sourced": sourced_text,
        "cat_rate_rule": rate_rule,
        "cat_interest_rule": interest_subsidy_rule,
        "cat_percent": _percent,
        "repayment_zh": REPAYMENT_ZH,
        "organiser_zh": ORGANISER_ZH,
    }


@bp.get("/")
def index() -> Any:
    """List every published product with its main terms."""
    versions = catalog_service.current_versions(db.session)
    lpr = catalog_service.current_lpr(db.session, today_local())
    items = []
    for version in versions:
        product = catalog_service.product_of(version)
        items.append((version, product, _example_quote(product, lpr)[0]))
    return render_template("catalogue/index.html", items=items, lpr=lpr)


def _example_quote(
    product: products.Product, lpr: Decimal
) -> tuple[products.Quote | None, str | None]:
    """Quote the product at its example amount and term; or say why it cannot be quoted."""
    try:
        quote = products.quote(
            product, product.example_amount.value, int(product.example_term.value), lpr
        )
    except products.QuoteError as exc:
        return None, exc.message_zh
    return quote, None


@bp.get("/<code>")
def detail(code: str) -> Any:
    """Show a product: terms, subsidies, conditions, sources and an example quote."""
    version = next(
        (v for v in catalog_service.current_versions(db.session) if v.product.code == code), None
    )
    if version is None:
        abort(404)
    product = catalog_service.product_of(version)
    lpr = catalog_service.current_lpr(db.session, today_local())
    quote, quote_error = _example_quote(product, lpr)
    return render_template(
        "catalogue/detail.html",
        version=version,
        published_on=version.published_at.astimezone(SHANGHAI).date(),
        product=product,
        lpr=lpr,
        quote=quote,
        quote_error=quote_error,
    )
