"""What a quote costs, as every page shows it: one measure, the same words, the demo marks.

A quote reaches pages in two shapes: a live ``products.Quote`` (the matches page, the
catalogue) and the JSON stored with a match at screening (the application page, the
review, the packet). :func:`summarise` reads both into one :class:`CostSummary`, so the
effective annual cost, the repayment method, the net cost and the demo marks look the
same everywhere and are ranked by the one key (``products.cost_rank``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import products
from finportal.limits import in_user_language
from products.pricing import EFFECTIVE_COST_NOTE_EN, EFFECTIVE_COST_NOTE_ZH, REPAYMENT_LABELS

DEMO_KEYS = ("any", "rate", "fee", "subsidy")


def repayment_label(code: str | None, locale: str | None = None) -> str:
    """Return the name of a repayment method in the reader's language ('—' when unknown)."""
    if not code:
        return "—"
    zh, en = REPAYMENT_LABELS.get(code, (code, code))
    if locale is not None:
        return en if locale.startswith("en") else zh
    return in_user_language(zh, en)


def effective_cost_note() -> str:
    """Return how the effective annual cost is worked out, in the reader's language."""
    return in_user_language(EFFECTIVE_COST_NOTE_ZH, EFFECTIVE_COST_NOTE_EN)


@dataclass(frozen=True)
class CostSummary:
    """A quote's cost: the effective annual cost, repayment method, totals and demo marks."""

    effective_rate: Decimal | None
    nominal_rate: Decimal | None
    guarantee_fee_rate: Decimal | None
    repayment: str
    amount: Decimal | None
    term_months: int | None
    net_cost: Decimal | None
    total_subsidy: Decimal | None
    demo: dict[str, bool] = field(default_factory=dict)

    @property
    def repayment_label(self) -> str:
        """Return the repayment method in the reader's language."""
        return repayment_label(self.repayment)

    @property
    def rank_key(self) -> tuple[bool, Decimal, Decimal]:
        """Return the sort key of the one ranking (unpriced last)."""
        if self.effective_rate is None or self.net_cost is None:
            return (True, Decimal(0), Decimal(0))
        return (False, self.effective_rate, self.net_cost)


def _number(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def summarise(quote: products.Quote | Mapping[str, Any] | None) -> CostSummary | None:
    """Return the cost summary of a live or a stored quote (None without a priced quote)."""
    if quote is None:
        return None
    if isinstance(quote, products.Quote):
        return CostSummary(
            effective_rate=quote.effective_annual_cost_rate,
            nominal_rate=quote.nominal_rate,
            guarantee_fee_rate=quote.guarantee_fee_rate,
            repayment=quote.repayment,
            amount=quote.amount,
            term_months=quote.term_months,
            net_cost=quote.net_cost,
            total_subsidy=quote.total_subsidy,
            demo=quote.demo_marks,
        )
    if "error" in quote and "schedule" not in quote:
        return None
    marks = quote.get("demo")
    demo = {key: bool(marks.get(key)) for key in DEMO_KEYS} if isinstance(marks, Mapping) else {}
    term = quote.get("term_months")
    return CostSummary(
        effective_rate=_number(quote.get("effective_annual_cost_rate")),
        nominal_rate=_number(quote.get("nominal_rate")),
        guarantee_fee_rate=_number(quote.get("guarantee_fee_rate")),
        repayment=str(quote.get("repayment") or ""),
        amount=_number(quote.get("amount")),
        term_months=int(term) if isinstance(term, int) else None,
        net_cost=_number(quote.get("net_cost")),
        total_subsidy=_number(quote.get("total_subsidy")),
        demo=demo,
    )


def compare_catalogue(
    session: Any, amount: Decimal, term_months: int, today: Any = None
) -> list[dict[str, Any]]:
    """Quote every published product at one amount and term, in the one cost ranking.

    Products that cannot lend that amount or term come last with the reason. Eligibility
    is not judged: this is the public comparison (the API's ``/products/compare``).
    """
    from finportal.services import catalog as catalog_service
    from finportal.services.workdays import today_local

    day = today or today_local()
    lpr = catalog_service.current_lpr(session, day)
    priced: list[tuple[products.Product, products.Quote]] = []
    refused: list[tuple[products.Product, products.QuoteError]] = []
    for version in catalog_service.current_versions(session):
        product = catalog_service.product_of(version)
        try:
            priced.append((product, products.quote(product, amount, term_months, lpr)))
        except products.QuoteError as exc:
            refused.append((product, exc))
    priced.sort(key=lambda item: (products.cost_rank(item[1]), item[0].code))
    out: list[dict[str, Any]] = []
    for rank, (product, quote) in enumerate(priced, start=1):
        data = quote.to_dict()
        out.append(
            {
                "rank": rank,
                "code": product.code,
                "name_zh": product.name_zh,
                "name_en": product.name_en,
                **{key: data[key] for key in QUOTE_FIELDS},
                "error": None,
            }
        )
    for product, exc in refused:
        text = str(exc)
        out.append(
            {
                "rank": None,
                "code": product.code,
                "name_zh": product.name_zh,
                "name_en": product.name_en,
                "demo": {key: False for key in DEMO_KEYS},
                "error": text,
            }
        )
    return out


#: What the comparison says of each quote (strings for money and rates, as the CLI).
QUOTE_FIELDS = (
    "effective_annual_cost_rate",
    "repayment",
    "amount",
    "term_months",
    "nominal_rate",
    "guarantee_fee_rate",
    "total_interest",
    "total_fee",
    "total_subsidy",
    "net_cost",
    "subsidy_paid_later",
    "demo",
)
