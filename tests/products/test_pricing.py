"""Quotes: exact examples, input checks, and invariants under hypothesis."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from products import Catalog, Product, QuoteError, quote

FEN = Decimal("0.01")
QUOTE_KEYS = {
    "nominal_rate",
    "guarantee_fee_rate",
    "interest_subsidy_rate",
    "fee_subsidy_rate",
    "net_annual_cost_rate",
    "total_interest",
    "total_fee",
    "total_subsidy",
    "subsidy_paid_later",
    "subsidy_note_zh",
    "subsidy_note_en",
    "effective_annual_cost_rate",
    "repayment",
    "amount",
    "term_months",
    "net_cost",
    "demo",
    "schedule",
}
ROW_KEYS = {"period", "principal", "interest", "fee", "subsidy", "payment"}


def test_bullet_loan_example(catalog: Catalog) -> None:
    result = quote(catalog.get("park_batch"), 1_000_000, 6, "0.03")
    assert result.nominal_rate == Decimal("0.0335")  # LPR 3% + 35 bp
    assert result.guarantee_fee_rate == Decimal("0.01")
    assert [row.principal for row in result.schedule] == [0] * 5 + [Decimal("1000000")]
    assert {row.interest for row in result.schedule} == {Decimal("2791.67")}  # 1e6 x 3.35% / 12
    assert {row.fee for row in result.schedule} == {Decimal("833.33")}  # 1e6 x 1% / 12
    assert {row.fee_subsidy for row in result.schedule} == {Decimal("416.67")}  # half the fee
    assert result.total_interest == Decimal("16750.02")
    assert result.net_annual_cost_rate == Decimal("0.0385")


def test_json_shape_is_fixed(catalog: Catalog) -> None:
    data = quote(catalog.get("ip_pledge"), "250000.50", 18).to_dict()
    assert set(data) == QUOTE_KEYS
    assert all(set(row) == ROW_KEYS for row in data["schedule"])
    assert isinstance(data["total_interest"], str)
    assert Decimal(data["total_interest"]) == Decimal(data["total_interest"]).quantize(FEN)
    assert sum(Decimal(r["principal"]) for r in data["schedule"]) == Decimal("250000.50")


def test_startup_loan_borrower_pays_lpr_minus_150bp(catalog: Catalog) -> None:
    result = quote(catalog.get("startup_guarantee"), 1_000_000, 24, "0.03")
    assert result.interest_subsidy_rate == Decimal("0.02")  # 3.5% - (3% - 1.5%)
    assert result.net_annual_cost_rate == Decimal("0.015")


def test_equal_principal_and_instalment_sum_exactly(catalog: Catalog) -> None:
    spread = quote(catalog.get("specialized_sme"), "1000000.01", 7)
    assert sum(r.principal for r in spread.schedule) == Decimal("1000000.01")
    assert len({r.principal for r in spread.schedule[:-1]}) == 1
    level = quote(catalog.get("ip_pledge"), 1_000_000, 36)
    payments = [r.principal + r.interest for r in level.schedule]
    assert max(payments[:-1]) - min(payments[:-1]) == 0  # equal instalments
    assert sum(r.principal for r in level.schedule) == 1_000_000


@pytest.mark.parametrize(
    ("amount", "term", "zh", "en"),
    [
        (
            50_000,
            12,
            "贷款金额须在 10 至 300 万元之间",
            "amount must be between 10 and 300 (10k yuan)",
        ),
        (4_000_000, 12, "贷款金额须在", "amount must be between"),
        (1_000_000, 13, "贷款期限须在 3 至 12 个月之间", "term must be between 3 and 12 months"),
        (1_000_000, "6.5", "整月", "whole number of months"),
        ("100000.001", 6, "两位小数", "two decimals"),
        ("abc", 6, "应为数字", "must be a number"),
    ],
)
def test_out_of_range_input_is_refused(
    catalog: Catalog, amount: Any, term: Any, zh: str, en: str
) -> None:
    with pytest.raises(QuoteError) as info:
        quote(catalog.get("park_batch"), amount, term)
    assert isinstance(info.value, ValueError)
    assert zh in info.value.message_zh
    assert en in info.value.message_en


def test_lpr_is_checked(catalog: Catalog) -> None:
    with pytest.raises(QuoteError, match="LPR"):
        quote(catalog.get("renewal"), 1_000_000, 12, "3.0")


# --- properties ------------------------------------------------------------------

money = st.integers(min_value=100, max_value=5_000_000_000).map(lambda fen: Decimal(fen) / 100)


def sourced(value: Any, unit: str) -> dict[str, Any]:
    return {"value": str(value), "unit": unit, "source": "hypothesis", "demo": True}


@st.composite
def priced_products(draw: st.DrawFn) -> Product:
    cap = st.one_of(st.none(), money.map(lambda m: sourced(m, "yuan")))
    interest: dict[str, Any] | None = draw(
        st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {
                    "kind": st.just("share"),
                    "share": st.decimals(0, 1, places=2).map(lambda v: sourced(v, "share")),
                }
            ),
            st.fixed_dictionaries(
                {
                    "kind": st.just("points"),
                    "points": st.decimals(0, "0.05", places=4).map(
                        lambda v: sourced(v, "per_year")
                    ),
                }
            ),
            st.fixed_dictionaries(
                {
                    "kind": st.just("above_floor"),
                    "floor_spread_bp": st.integers(-300, 200).map(lambda v: sourced(v, "bp")),
                }
            ),
        )
    )
    payment = st.one_of(
        st.none(),
        st.sampled_from(["with_payments", "after_repayment"]).map(
            lambda paid: {
                "paid": paid,
                "note_zh": "说明",
                "note_en": "note",
                "source": "hypothesis",
            }
        ),
    )
    if interest is not None:
        interest["cap_total"] = draw(cap)
        interest["cap_per_year"] = draw(cap)
        interest["payment"] = draw(payment)
    guarantee = draw(
        st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {
                    "fee_rate": st.decimals(0, "0.05", places=4).map(
                        lambda v: sourced(v, "per_year")
                    ),
                    "fee_basis": st.sampled_from(["amount", "outstanding"]),
                }
            ),
        )
    )
    fee_subsidy = None
    if guarantee is not None and draw(st.booleans()):
        fee_subsidy = {
            "share": sourced(draw(st.decimals(0, 1, places=2)), "share"),
            "cap_total": draw(cap),
            "cap_per_year": draw(cap),
            "payment": draw(payment),
        }
    rate = draw(
        st.one_of(
            st.builds(
                lambda bp: {"base": "lpr_1y", "spread_bp": sourced(bp, "bp")},
                st.integers(-100, 500),
            ),
            st.builds(
                lambda r: {"base": "fixed", "fixed_rate": sourced(r, "per_year")},
                st.decimals("0.0001", "0.2", places=4),
            ),
        )
    )
    data: dict[str, Any] = {
        "code": "generated",
        "name_zh": "生成产品",
        "name_en": "generated product",
        "description_zh": "",
        "description_en": "",
        "terms": {
            "amount_min": sourced("1.00", "yuan"),
            "amount_max": sourced("50000000.00", "yuan"),
            "term_min": sourced(1, "months"),
            "term_max": sourced(120, "months"),
            "repayment": {
                "method": draw(
                    st.sampled_from(["equal_instalment", "equal_principal", "interest_only_bullet"])
                ),
                "source": "hypothesis",
            },
            "example_amount": sourced(1000, "yuan"),
            "example_term": sourced(12, "months"),
        },
        "rate": rate,
        "conditions": [],
    }
    for key, value in (
        ("guarantee", guarantee),
        ("interest_subsidy", interest),
        ("fee_subsidy", fee_subsidy),
    ):
        if value is not None:
            data[key] = {k: v for k, v in value.items() if v is not None}
    return Product.from_dict(data, "hypothesis")


@settings(max_examples=150, deadline=None)
@given(
    product=priced_products(),
    amount=st.integers(min_value=100, max_value=5_000_000_000).map(lambda fen: Decimal(fen) / 100),
    term=st.integers(1, 120),
    lpr=st.decimals("0", "0.08", places=4),
)
def test_quote_invariants(product: Product, amount: Decimal, term: int, lpr: Decimal) -> None:
    result = quote(product, amount, term, lpr)
    rows = result.schedule
    interest_later = bool(
        product.interest_subsidy and product.interest_subsidy.paid_after_repayment
    )
    fee_later = bool(product.fee_subsidy and product.fee_subsidy.paid_after_repayment)
    assert [r.period for r in rows] == list(range(1, term + 1))
    assert sum(r.principal for r in rows) == amount
    outstanding = amount
    per_year: dict[str, dict[int, Decimal]] = {
        "interest": defaultdict(Decimal),
        "fee": defaultdict(Decimal),
    }
    for r in rows:
        for value in (r.principal, r.interest, r.fee, r.interest_subsidy, r.fee_subsidy):
            assert value >= 0
            assert value == value.quantize(FEN)
        # No subsidy exceeds the cost it subsidises.
        assert r.interest_subsidy <= r.interest
        assert r.fee_subsidy <= r.fee
        # A subsidy paid after repayment is not deducted from the period's payment.
        deducted = (Decimal(0) if interest_later else r.interest_subsidy) + (
            Decimal(0) if fee_later else r.fee_subsidy
        )
        assert r.payment == r.principal + r.interest + r.fee - deducted
        outstanding -= r.principal
        assert outstanding >= 0
        per_year["interest"][(r.period - 1) // 12] += r.interest_subsidy
        per_year["fee"][(r.period - 1) // 12] += r.fee_subsidy
    assert result.total_interest == sum(r.interest for r in rows)
    assert result.total_fee == sum(r.fee for r in rows)
    assert result.total_subsidy == sum(r.subsidy for r in rows)
    assert result.net_cost == result.total_interest + result.total_fee - result.total_subsidy
    assert result.subsidy_paid_later == (
        (result.total_interest_subsidy if interest_later else 0)
        + (result.total_fee_subsidy if fee_later else 0)
    )
    # What the enterprise pays over the loan, plus what it gets back later, is the amount
    # and the net cost.
    assert sum(r.payment for r in rows) - result.subsidy_paid_later == amount + result.net_cost
    # No subsidy exceeds its caps.
    for kind, total_cap, year_cap, total in (
        (
            "interest",
            result.interest_subsidy_cap,
            result.interest_subsidy_cap_per_year,
            result.total_interest_subsidy,
        ),
        ("fee", result.fee_subsidy_cap, result.fee_subsidy_cap_per_year, result.total_fee_subsidy),
    ):
        if total_cap is not None:
            assert total <= total_cap
        if year_cap is not None:
            assert all(v <= year_cap for v in per_year[kind].values())
    assert result.net_annual_cost_rate >= 0
    data = result.to_dict()
    assert Decimal(data["total_subsidy"]) == result.total_subsidy
    assert (
        Decimal(data["total_interest"])
        + Decimal(data["total_fee"])
        - Decimal(data["total_subsidy"])
        == result.net_cost
    )
