"""The effective annual cost: an IRR of the net cash flows, the one measure quotes are ranked by."""

from __future__ import annotations

from decimal import Decimal

import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from products import Catalog, Product, QuoteError, cost_rank, match_one, quote
from products.pricing import effective_annual_rate, irr, wan_text
from tests.helpers import simple_product, two_repayment_methods


def test_irr_matches_known_values() -> None:
    # numpy-financial's documented example, and a one-period loan at 10 %.
    assert irr([-100, 39, 59, 55, 20]) == pytest.approx(0.28094842115996, abs=1e-12)
    assert irr([100, -110]) == pytest.approx(0.10, abs=1e-12)
    # 1,000 borrowed, 12 x 88.85 repaid: 1 % a month.
    assert irr([1000] + [-88.848789] * 12) == pytest.approx(0.01, abs=1e-7)


def test_flows_that_add_up_to_nothing_cost_nothing() -> None:
    """A zero net cost is 0 %, even where 0 % is a double root (the NPV touches zero without
    crossing it: found by Hypothesis in test_quote_invariants as "no internal rate of
    return"). These flows also have a far root at -66.7 % a period, which was returned."""
    flows = [Decimal("0.3"), Decimal("-0.7"), Decimal("0.5"), Decimal("-0.1")]
    assert sum(float(f) for f in flows) != 0  # floats leave a residue
    assert irr(flows) == 0.0
    assert effective_annual_rate(flows) == Decimal("0")


@settings(max_examples=60, deadline=None)
@given(
    amount=st.integers(min_value=10_000, max_value=10_000_000),
    monthly=st.decimals(min_value="0.0005", max_value="0.02", places=4),
    term=st.integers(min_value=2, max_value=60),
)
def test_irr_agrees_with_numpy_financial(amount: int, monthly: Decimal, term: int) -> None:
    payment = float(npf.pmt(float(monthly), term, -amount))
    flows = [amount] + [-payment] * term
    assert irr(flows) == pytest.approx(float(npf.irr(flows)), abs=1e-9)
    assert irr(flows) == pytest.approx(float(monthly), abs=1e-9)


def test_irr_takes_the_root_nearest_zero_when_a_late_subsidy_adds_another() -> None:
    # 9.66 borrowed, 0.20 a month, and the subsidy paid later exceeds the last payment:
    # the flows change sign twice; the loan's own cost is the root near zero.
    flows = [9.66] + [-0.20] * 50 + [-0.13, 0.09]
    rate = irr(flows)
    assert -0.01 < rate < 0.01
    assert float(npf.npv(rate, flows)) == pytest.approx(0, abs=1e-9)


def test_irr_of_a_thirty_year_loan() -> None:
    payment = float(npf.pmt(0.004, 360, -1_000_000))
    assert irr([1_000_000] + [-payment] * 360) == pytest.approx(0.004, abs=1e-10)


def test_irr_refuses_flows_without_a_root() -> None:
    with pytest.raises(QuoteError):
        irr([100, 10, 10])


def test_a_rate_is_its_own_effective_cost_whatever_the_method() -> None:
    bullet, instalment = (Product.from_dict(d) for d in two_repayment_methods())
    q_bullet = quote(bullet, 2_000_000, 12)
    q_instalment = quote(instalment, 2_000_000, 12)
    assert q_bullet.effective_annual_cost_rate == Decimal("0.033000")
    assert q_instalment.effective_annual_cost_rate == Decimal("0.034000")
    # The instalment loan costs less in total, because its balance falls every month.
    assert q_instalment.net_cost < q_bullet.net_cost
    assert effective_annual_rate(q_bullet.cash_flows()) == q_bullet.effective_annual_cost_rate


def test_the_one_ranking_orders_by_effective_cost_not_total() -> None:
    catalog = Catalog(Product.from_dict(d) for d in two_repayment_methods())
    profile = {"district_code": "310112"}
    results = match_one(catalog, profile, {"amount": 2_000_000, "term_months": 12})
    assert [r.product.code for r in results] == ["cost_bullet", "cost_instalment"]
    keys = [cost_rank(r.quote) for r in results if r.quote is not None]
    assert keys == sorted(keys)


def test_a_subsidy_paid_later_costs_more_than_one_deducted() -> None:
    guarantee = {
        "fee_rate": {"value": "0.012", "unit": "per_year", "source": "FinPortal demo value, x"},
        "fee_basis": "amount",
    }

    def with_fee(paid: str) -> Product:
        share = {"value": "0.5", "unit": "share", "source": "FinPortal demo value, x"}
        payment = {"paid": paid, "note_zh": "说明", "note_en": "note", "source": "FinPortal x"}
        return Product.from_dict(
            simple_product(
                f"fee_{paid}",
                rate="0.03",
                repayment="interest_only_bullet",
                guarantee=guarantee,
                fee_subsidy={"share": share, "payment": payment},
            )
        )

    now = quote(with_fee("with_payments"), 1_000_000, 12)
    later = quote(with_fee("after_repayment"), 1_000_000, 12)
    assert now.net_cost == later.net_cost
    assert later.subsidy_paid_later > 0
    # The same money, later: a higher effective annual cost.
    assert later.effective_annual_cost_rate > now.effective_annual_cost_rate
    assert now.effective_annual_cost_rate == Decimal("0.036000")  # 3 % + half of 1.2 %


def test_stored_quote_carries_method_total_and_demo_marks(catalog: Catalog) -> None:
    data = quote(catalog.get("tech_performance"), 2_000_000, 12, "0.03").to_dict()
    assert data["repayment"] == "interest_only_bullet"
    assert Decimal(data["effective_annual_cost_rate"]) > 0
    assert Decimal(data["net_cost"]) > 0
    # The spread and the premium are demo values; the premium subsidy's share is confirmed
    # but its cap is not.
    assert data["demo"] == {"any": True, "rate": True, "fee": True, "subsidy": True}


def test_amounts_in_conditions_and_errors_are_in_wan(catalog: Catalog) -> None:
    product = catalog.get("startup_guarantee")
    in_range = next(c for c in product.conditions if c.id == "amount_in_range")
    assert in_range.message_zh == "申请金额须在 10 至 300 万元之间"
    with pytest.raises(QuoteError) as caught:
        quote(product, 5_000_000, 12)
    assert "10 至 300 万元之间，申请金额为 500 万元" in str(caught.value)
    assert wan_text(Decimal("125000")) == "12.5"
