"""How a subsidy is worked out of what a firm paid (products/subsidy_rules.py), no app."""

from __future__ import annotations

from decimal import Decimal

import pytest

from products.catalog import load_catalog
from products.subsidy_rules import load_rules, parse_rules, payment_subsidy


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def test_a_share_of_the_interest_is_rounded_half_up_to_the_fen(catalog):
    product = catalog.get("ip_pledge")
    share = product.interest_subsidy.share.value
    paid = Decimal("1234.55")
    got = payment_subsidy(product, "interest", paid=paid)
    assert got.amount == (paid * share).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    assert got.rule == {"basis": "share", "share": format(share.normalize(), "f")}


def test_rate_points_are_that_share_of_the_banks_rate(catalog):
    product = catalog.get("first_loan")
    points = product.interest_subsidy.points.value
    got = payment_subsidy(product, "interest", paid=Decimal("3500"), annual_rate=Decimal("0.035"))
    assert got.amount == (Decimal("3500") * points / Decimal("0.035")).quantize(Decimal("0.01"))
    # Points above the rate pay the whole interest, never more.
    low = payment_subsidy(product, "interest", paid=Decimal("100"), annual_rate=points / 2)
    assert low.amount == Decimal("100.00")


def test_the_part_above_lpr_plus_the_floor(catalog):
    product = catalog.get("startup_guarantee")
    floor = product.interest_subsidy.floor_spread_bp.value / Decimal(10000)
    lpr, rate = Decimal("0.03"), Decimal("0.035")
    got = payment_subsidy(product, "interest", paid=Decimal("3500"), annual_rate=rate, lpr=lpr)
    expected = Decimal("3500") * (rate - (lpr + floor)) / rate
    assert got.amount == expected.quantize(Decimal("0.01"))
    with pytest.raises(ValueError, match="LPR"):
        payment_subsidy(product, "interest", paid=Decimal("1"), annual_rate=rate)


def test_a_fee_subsidy_and_products_without_one(catalog):
    product = catalog.get("tech_performance")
    assert payment_subsidy(product, "fee", paid=Decimal("2000")).amount == (
        Decimal("2000") * product.fee_subsidy.share.value
    ).quantize(Decimal("0.01"))
    assert payment_subsidy(product, "interest", paid=Decimal("2000")) is None


def test_the_rules_file_gives_tech_performance_three_days_and_forfeit():
    rules = load_rules()
    tech = rules.publication_of("tech_performance")
    assert (tech.confirm_working_days.value, tech.silence) == (3, "forfeits")
    assert "212号" in tech.confirm_working_days.source
    assert rules.publication_of("ip_pledge").silence == "confirms"
    with pytest.raises(ValueError, match="silence"):
        parse_rules(
            {
                "firm_cap_per_year": {"value": 1, "unit": "yuan", "source": "x"},
                "publication": {
                    "confirm_working_days": {"value": 1, "unit": "days", "source": "x"},
                    "silence": "maybe",
                },
            }
        )
