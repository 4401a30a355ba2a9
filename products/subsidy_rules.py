"""How a subsidy is worked out from what a firm paid, and the rules that span products.

The product's own terms (``products/catalog/<code>.yaml``: an interest subsidy as a share,
rate points or the part above LPR + a floor; a guarantee-fee or premium subsidy as a share;
caps per loan and per year; paid with the payments or after repayment) are read from
:class:`products.model.Product`. What spans products — the cap per firm and year across
all products, each product's yearly budget, the public list's (公示) working days and what
silence means — is ``data/subsidy_rules.yaml``, loaded by :func:`load_rules`.

Money is Decimal yuan; a subsidy of one payment is rounded to the fen (half up) once, in
:func:`payment_subsidy`; caps only ever lower a rounded amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Any

from products import yaml_text
from products.model import Product, Sourced
from products.pricing import BP, ZERO, fen, rate_text

#: The kinds of subsidy: of the interest (贴息) and of the guarantee fee or premium (贴费).
KINDS = ("interest", "fee")
KIND_TITLES = {"interest": ("贴息", "interest subsidy"), "fee": ("贴费", "fee subsidy")}
SILENCE = ("confirms", "forfeits")


@dataclass(frozen=True, slots=True)
class Publication:
    """The public list's rule for one product: days to answer and what silence means."""

    confirm_working_days: Sourced
    silence: str
    silence_source: str
    silence_demo: bool


@dataclass(frozen=True, slots=True)
class Rules:
    """The subsidy rules that span products (see the module)."""

    firm_cap_per_year: Sourced
    publication: Publication
    publication_by_product: dict[str, Publication]
    budget_source: str
    budget_demo: bool
    budgets: dict[str, dict[int, Decimal]] = field(default_factory=dict)

    def publication_of(self, product_code: str) -> Publication:
        """Return the public list's rule for a product (its own, else the default)."""
        return self.publication_by_product.get(product_code, self.publication)

    def budget(self, product_code: str, year: int) -> Decimal | None:
        """Return a product's subsidy budget for a calendar year (None: none set)."""
        return self.budgets.get(product_code, {}).get(year)


def _sourced(data: dict[str, Any]) -> Sourced:
    return Sourced(
        value=Decimal(str(data["value"])),
        unit=str(data["unit"]),
        source=str(data["source"]),
        demo=bool(data.get("demo", False)),
    )


def _publication(data: dict[str, Any], default: Publication | None = None) -> Publication:
    days = data.get("confirm_working_days")
    silence = str(data.get("silence", default.silence if default else "confirms"))
    if silence not in SILENCE:
        raise ValueError(f"subsidy_rules.yaml: silence must be one of {SILENCE}, got {silence}")
    if days is None and default is None:
        raise ValueError("subsidy_rules.yaml: publication.confirm_working_days is missing")
    return Publication(
        confirm_working_days=_sourced(days) if days else default.confirm_working_days,  # type: ignore[union-attr]
        silence=silence,
        silence_source=str(data.get("silence_source", default.silence_source if default else "")),
        silence_demo=bool(data.get("silence_demo", default.silence_demo if default else True)),
    )


def parse_rules(data: dict[str, Any]) -> Rules:
    """Build the rules from the parsed YAML (ValueError on a missing or bad entry)."""
    publication = data["publication"]
    default = _publication(publication)
    budgets = data.get("budgets") or {}
    return Rules(
        firm_cap_per_year=_sourced(data["firm_cap_per_year"]),
        publication=default,
        publication_by_product={
            code: _publication(rule, default)
            for code, rule in (publication.get("by_product") or {}).items()
        },
        budget_source=str(budgets.get("source", "")),
        budget_demo=bool(budgets.get("demo", True)),
        budgets={
            code: {int(year): Decimal(str(amount)) for year, amount in years.items()}
            for code, years in (budgets.get("by_product") or {}).items()
        },
    )


@cache
def load_rules() -> Rules:
    """Return the rules of ``data/subsidy_rules.yaml`` (parsed once per process)."""
    return parse_rules(yaml_text.data_file("products", "data/subsidy_rules.yaml"))


@dataclass(frozen=True, slots=True)
class PaymentSubsidy:
    """The subsidy of one payment before any cap: what it is of, how, and the amount."""

    kind: str
    base: Decimal  # the interest or the fee paid, yuan
    amount: Decimal  # rounded to the fen
    rule: dict[str, str]  # the terms used, as strings (stored with the entitlement)

    @property
    def empty(self) -> bool:
        """Tell whether there is nothing to subsidise."""
        return self.amount <= 0


def _term(item: Sourced | None) -> str | None:
    return None if item is None else rate_text(item.value)


def payment_subsidy(
    product: Product,
    kind: str,
    *,
    paid: Decimal,
    annual_rate: Decimal | None = None,
    lpr: Decimal | None = None,
) -> PaymentSubsidy | None:
    """Return the subsidy of an amount of interest or fee paid, per the product's terms.

    ``paid`` is the interest (``kind="interest"``) or guarantee fee / premium (``"fee"``)
    the firm paid, in yuan. The interest subsidy is worked out of the interest actually
    paid: a share of it; rate points as that share of the bank's annual rate
    (``annual_rate``); or the part above LPR + the floor spread (``lpr`` at disbursal).
    None when the product has no such subsidy.
    """
    if kind == "fee":
        fee_terms = product.fee_subsidy
        if fee_terms is None:
            return None
        share = fee_terms.share.value
        return PaymentSubsidy(
            kind, paid, fen(paid * share), {"basis": "share", "share": rate_text(share)}
        )
    terms = product.interest_subsidy
    if terms is None:
        return None
    if terms.kind == "share":
        assert terms.share is not None
        share = terms.share.value
        rule = {"basis": "share", "share": rate_text(share)}
    else:
        if annual_rate is None or annual_rate <= 0:
            raise ValueError("an annual rate is needed for a points or floor subsidy")
        if terms.kind == "points":
            assert terms.points is not None
            points = min(terms.points.value, annual_rate)
            share = points / annual_rate
            rule = {
                "basis": "points",
                "points": rate_text(terms.points.value),
                "annual_rate": rate_text(annual_rate),
            }
        else:
            assert terms.floor_spread_bp is not None
            if lpr is None:
                raise ValueError("the LPR at disbursal is needed for a floor subsidy")
            floor = max(ZERO, lpr + terms.floor_spread_bp.value / BP)
            share = max(ZERO, annual_rate - floor) / annual_rate
            rule = {
                "basis": "above_floor",
                "floor_spread_bp": rate_text(terms.floor_spread_bp.value),
                "lpr": rate_text(lpr),
                "annual_rate": rate_text(annual_rate),
            }
    # A subsidy never pays more than what it subsidises.
    return PaymentSubsidy(kind, paid, min(fen(paid * share), paid), rule)


def paid_after_repayment(product: Product, kind: str) -> bool:
    """Tell whether the product pays this subsidy only once the loan is repaid (事后拨付)."""
    terms = product.fee_subsidy if kind == "fee" else product.interest_subsidy
    return terms is not None and terms.paid_after_repayment


def caps(product: Product, kind: str) -> tuple[Sourced | None, Sourced | None]:
    """Return the product's cap per loan and per year for the subsidy ``kind``."""
    terms = product.fee_subsidy if kind == "fee" else product.interest_subsidy
    if terms is None:
        return None, None
    return terms.cap_total, terms.cap_per_year
