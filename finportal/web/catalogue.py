"""Public catalogue pages: /products/ and /products/<code>, in the user's language."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from markupsafe import Markup

import products
from finportal import money
from finportal.domain.states import current_locale
from finportal.extensions import db
from finportal.limits import in_user_language, words
from finportal.memo import Memo
from finportal.services import catalog as catalog_service
from finportal.services import coaching
from finportal.services.workdays import SHANGHAI, today_local
from finportal.web.sme.views import wan
from products.pricing import REPAYMENT_LABELS
from products.sources import public_source

bp = Blueprint("catalogue", __name__, url_prefix="/products")

#: Who recommends firms into a batch loan's batch.
ORGANISERS = {"park": lazy_gettext("园区"), "chamber": lazy_gettext("商会")}


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("0", "-0") else text


def _percent(value: Decimal) -> str:
    return f"{_plain(value * 100)}%"


def yuan(value: Decimal | str | None) -> str:
    """Write yuan as 万元 with the unit (up to four decimals: an interest total to the yuan)."""
    return money.wan(value, 4, trim=True, with_unit=True)


def sourced_text(item: products.Sourced | None) -> str:
    """Write a policy number with its unit, in the user's language."""
    if item is None:
        return "–"
    value, unit = item.value, item.unit
    if unit == "yuan":
        return yuan(value)
    if unit == "per_year":
        return _("%(rate)s/年", rate=_percent(value))
    if unit == "share":
        return _percent(value)
    words = {
        "months": _("%(n)s 个月", n=_plain(value)),
        "bp": _("%(n)s 个基点", n=_plain(value)),
        "persons": _("%(n)s 人", n=_plain(value)),
        "days": _("%(n)s 天", n=_plain(value)),
        "count": _("%(n)s 个", n=_plain(value)),
    }
    return words.get(unit, f"{_plain(value)} {unit}")


def rate_rule(product: products.Product) -> str:
    """Describe how the product's nominal rate is set."""
    if product.rate_base == "fixed" and product.fixed_rate is not None:
        return _("固定年利率 %(rate)s", rate=_percent(product.fixed_rate.value))
    spread = product.spread_bp.value if product.spread_bp is not None else Decimal(0)
    if spread == 0:
        return _("1年期 LPR")
    sign = "+" if spread > 0 else "−"
    return _("1年期 LPR %(sign)s %(bp)s 个基点", sign=sign, bp=_plain(abs(spread)))


def interest_subsidy_rule(subsidy: Any) -> str:
    """Describe an interest subsidy (贴息) in words."""
    if subsidy.kind == "share" and subsidy.share is not None:
        return _("补贴利息的 %(share)s", share=_percent(subsidy.share.value))
    if subsidy.kind == "points" and subsidy.points is not None:
        return _("补贴 %(points)s 的利息", points=sourced_text(subsidy.points))
    if subsidy.kind == "above_floor" and subsidy.floor_spread_bp is not None:
        floor = subsidy.floor_spread_bp.value
        sign = "+" if floor >= 0 else "−"
        return _(
            "利率超过 LPR %(sign)s %(bp)s 个基点的部分予以补贴", sign=sign, bp=_plain(abs(floor))
        )
    return _("贴息")


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {
        "cat_yuan": yuan,
        "cat_sourced": sourced_text,
        # A source as users may read it: FinPortal's own notes left out (products.sources).
        "cat_source": lambda source: public_source(source, in_user_language("；", "; ")),
        "cat_rate_rule": rate_rule,
        "cat_interest_rule": interest_subsidy_rule,
        "cat_percent": _percent,
        "repayments": words(REPAYMENT_LABELS),
        "organisers": ORGANISERS,
        # the coach's partial (sme/_coach.html) writes amounts as 万元 like the SME's pages
        "wan": wan,
    }


@bp.get("/")
def index() -> Any:
    """List every published product with its main terms."""
    versions = catalog_service.current_versions(db.session)
    lpr = catalog_service.current_lpr(db.session, today_local())

    def body() -> Markup:
        items = [
            (version, catalog_service.product_of(version), _example_quote(version, lpr)[0])
            for version in versions
        ]
        return Markup(  # noqa: S704 - a rendered template, escaped by Jinja
            render_template("catalogue/_index_body.html", items=items, lpr=lpr)
        )

    key = (tuple((v.id, v.content_hash) for v in versions), lpr, current_locale())
    return render_template("catalogue/index.html", body=_INDEX_BODIES.get(key, body))


#: The catalogue's content per (published versions, LPR, language): the same for every reader,
#: and a publish or a new LPR is a new key. Rendering it was most of the page's cost.
_INDEX_BODIES: Memo[Markup] = Memo(16)


def _example_quote(version: Any, lpr: Decimal) -> tuple[products.Quote | None, str | None]:
    """Quote the product at its example amount and term; or say why it cannot be quoted."""
    try:
        quote = catalog_service.example_quote(version, lpr)
    except products.QuoteError as exc:
        return None, in_user_language(exc.message_zh, exc.message_en)
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
    quote, quote_error = _example_quote(version, lpr)
    near_misses: list[coaching.NearMiss] = []
    if current_user.is_authenticated and current_user.role == "sme" and current_user.enterprise_id:
        # What this firm would have to change to qualify (the coach), on the product's page.
        near_misses = coaching.near_misses(db.session, current_user.enterprise_id, only=code)
    return render_template(
        "catalogue/detail.html",
        near_misses=near_misses,
        version=version,
        published_on=version.published_at.astimezone(SHANGHAI).date(),
        product=product,
        lpr=lpr,
        quote=quote,
        quote_error=quote_error,
    )
