"""Conditions as data: operators, unknowns, derived fields and messages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from products import Catalog, derive_fields, evaluate
from products.errors import ProfileError
from tests.products.helpers import product_with

TODAY = dt.date(2026, 11, 27)
Profile = Callable[..., dict[str, Any]]


def result(condition: dict[str, Any], profile: dict[str, Any], request: Any = None) -> str:
    evaluation = evaluate(product_with(condition), profile, request, today=TODAY)
    return evaluation.conditions[0].result


@pytest.mark.parametrize(
    ("op", "value", "employees", "expected"),
    [
        ("eq", 10, 10, "passed"),
        ("eq", 10, 11, "failed"),
        ("ne", 10, 11, "passed"),
        ("ne", 10, 10, "failed"),
        ("gte", 10, 10, "passed"),
        ("gte", 10, 9, "failed"),
        ("gt", 10, 10, "failed"),
        ("gt", 10, 11, "passed"),
        ("lte", 10, 10, "passed"),
        ("lte", 10, 11, "failed"),
        ("lt", 10, 10, "failed"),
        ("lt", 10, 9, "passed"),
        ("between", [5, 10], 5, "passed"),
        ("between", [5, 10], 10, "passed"),
        ("between", [5, 10], 11, "failed"),
        ("gte", 10, None, "unknown"),
        ("ne", 10, None, "unknown"),
        ("present", None, None, "failed"),
        ("present", None, 0, "passed"),
    ],
)
def test_numeric_operators(op: str, value: Any, employees: Any, expected: str) -> None:
    condition = {"field": "employees", "op": op}
    if value is not None:
        condition["value"] = value
    assert result(condition, {"employees": employees}) == expected


def test_money_reads_decimal_str_and_number() -> None:
    condition = {"field": "tax_paid_last_year", "op": "gte", "value": 200000}
    for value in (Decimal("200000.00"), "200000", 200000, 200000.0):
        assert result(condition, {"tax_paid_last_year": value}) == "passed"
    assert result(condition, {"tax_paid_last_year": "199999.99"}) == "failed"
    with pytest.raises(ProfileError, match="tax_paid_last_year"):
        result(condition, {"tax_paid_last_year": "lots"})


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("true", True, "passed"),
        ("true", False, "failed"),
        ("false", False, "passed"),
        ("false", None, "unknown"),
    ],
)
def test_bool_operators(op: str, value: Any, expected: str) -> None:
    assert (
        result({"field": "serious_bad_credit_24m", "op": op}, {"serious_bad_credit_24m": value})
        == expected
    )


@pytest.mark.parametrize(
    ("op", "value", "grade", "expected"),
    [
        ("in", ["A", "B"], "B", "passed"),
        ("in", ["A", "B"], "C", "failed"),
        ("not_in", ["C", "D"], "A", "passed"),
        ("not_in", ["C", "D"], "D", "failed"),
        ("eq", "M", "M", "passed"),
        ("ne", "M", "M", "failed"),
        ("in", ["A"], None, "unknown"),
    ],
)
def test_category_operators(op: str, value: Any, grade: Any, expected: str) -> None:
    condition = {"field": "tax_credit_grade", "op": op, "value": value}
    assert result(condition, {"tax_credit_grade": grade}) == expected


@pytest.mark.parametrize(
    ("op", "certifications", "expected"),
    [
        ("in", ["high_tech"], "passed"),
        ("in", ["little_giant"], "failed"),
        ("in", [], "failed"),
        ("in", None, "unknown"),
        ("not_in", ["little_giant"], "passed"),
        ("not_in", ["tech_sme"], "failed"),
    ],
)
def test_list_operators(op: str, certifications: Any, expected: str) -> None:
    condition = {"field": "certifications", "op": op, "value": ["tech_sme", "high_tech"]}
    assert result(condition, {"certifications": certifications}) == expected


def test_present_on_a_list_needs_an_entry() -> None:
    condition = {"field": "park_codes", "op": "present"}
    assert result(condition, {"park_codes": ["xinzhuang"]}) == "passed"
    assert result(condition, {"park_codes": []}) == "failed"
    assert result(condition, {}) == "failed"


def test_any_of_is_three_valued() -> None:
    condition = {
        "any_of": [
            {"field": "invention_patents", "op": "gte", "value": 1},
            {"field": "trademarks", "op": "gte", "value": 1},
        ]
    }
    assert result(condition, {"invention_patents": 0, "trademarks": 2}) == "passed"
    assert result(condition, {"invention_patents": 3}) == "passed"
    assert result(condition, {"invention_patents": 0, "trademarks": 0}) == "failed"
    assert result(condition, {"invention_patents": 0}) == "unknown"


HIRES = {
    "any_of": [
        {
            "all_of": [
                {"field": "employees", "op": "lte", "value": 100},
                {"field": "new_hire_share", "op": "gte", "value": 0.15},
            ]
        },
        {
            "all_of": [
                {"field": "employees", "op": "gt", "value": 100},
                {"field": "new_hire_share", "op": "gte", "value": 0.08},
            ]
        },
    ]
}


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ({"employees": 20, "qualifying_new_hires": 3}, "passed"),
        ({"employees": 20, "qualifying_new_hires": 2}, "failed"),
        ({"employees": 200, "qualifying_new_hires": 16}, "passed"),
        ({"employees": 200, "qualifying_new_hires": 15}, "failed"),
        ({"employees": 200}, "unknown"),
        ({"qualifying_new_hires": 15}, "unknown"),
    ],
)
def test_all_of_groups_are_three_valued(profile: dict[str, Any], expected: str) -> None:
    assert result(HIRES, profile) == expected


def test_an_undecided_all_of_asks_only_for_what_settles_it() -> None:
    evaluation = evaluate(product_with(HIRES), {"employees": 200}, today=TODAY)
    assert evaluation.conditions[0].missing_fields == ("qualifying_new_hires",)
    assert "当年新招用符合创业担保贷款申请条件的人员数" in evaluation.conditions[0].message_zh
    # An all_of whose first test already failed asks for nothing more.
    condition = {
        "any_of": [
            {
                "all_of": [
                    {"field": "employees", "op": "gt", "value": 100},
                    {"field": "trademarks", "op": "gte", "value": 1},
                ]
            },
            {"field": "invention_patents", "op": "gte", "value": 1},
        ]
    }
    evaluation = evaluate(product_with(condition), {"employees": 5}, today=TODAY)
    assert evaluation.conditions[0].result == "unknown"
    assert evaluation.conditions[0].missing_fields == ("invention_patents",)


def test_the_schema_checks_all_of_entries() -> None:
    from products import CatalogError

    with pytest.raises(CatalogError, match="all_of needs at least two entries"):
        product_with(
            {
                "any_of": [
                    {"all_of": [{"field": "employees", "op": "gt", "value": 1}]},
                    {"field": "trademarks", "op": "present"},
                ]
            }
        )
    with pytest.raises(CatalogError, match=r"any_of\[0\]\.all_of\[1\]\.op: operator true"):
        product_with(
            {
                "any_of": [
                    {
                        "all_of": [
                            {"field": "employees", "op": "gt", "value": 1},
                            {"field": "employees", "op": "true"},
                        ]
                    },
                    {"field": "trademarks", "op": "present"},
                ]
            }
        )


def test_unknown_tells_what_to_fill_in() -> None:
    product = product_with({"field": "size_class", "op": "in", "value": ["micro", "small"]})
    evaluation = evaluate(product, {"industry_code": "C3911", "employees": 50}, today=TODAY)
    item = evaluation.conditions[0]
    assert item.result == "unknown"
    assert item.missing_fields == ("revenue_last_year",)
    assert "上年营业收入" in item.message_zh
    assert "revenue last year" in item.message_en
    assert not evaluation.eligible
    assert "revenue_last_year" in evaluation.missing_fields


def test_optional_conditions_wait_for_the_request() -> None:
    product = product_with({"field": "employees", "op": "gte", "value": 1})
    without = evaluate(product, {"employees": 3}, today=TODAY)
    assert without.eligible
    assert [c.result for c in without.conditions] == ["passed", "unknown", "unknown"]
    too_big = evaluate(product, {"employees": 3}, {"amount": 5_000_000, "term_months": 12}, TODAY)
    assert not too_big.eligible
    assert too_big.failed[0].field == "amount"


def test_derived_fields() -> None:
    derived = derive_fields(
        {
            "uscc": "91310112MA1G8XKT4L",
            "industry_code": "C3911",
            "employees": 40,
            "revenue_last_year": "8000000",
            "revenue_prev_year": "6400000",
            "total_assets": "5000000",
            "total_liabilities": "2000000",
            "registered_on": "2023-11-27",
        },
        TODAY,
    )
    assert derived["size_class"] == "small"
    assert derived["firm_age_years"] == 3  # the anniversary completes the year
    assert derived["debt_ratio"] == pytest.approx(0.4)
    assert derived["revenue_growth"] == pytest.approx(0.25)
    assert derived["in_district"] is True
    assert derived["industry_division"] == "39"
    assert "小型企业" in derived["size_class_rule_zh"]


def test_firm_age_counts_completed_years() -> None:
    assert derive_fields({"registered_on": "2023-11-28"}, TODAY)["firm_age_years"] == 2
    assert (
        derive_fields({"registered_on": dt.date(2024, 2, 29)}, dt.date(2025, 2, 28))[
            "firm_age_years"
        ]
        == 0
    )
    assert (
        derive_fields({"registered_on": dt.date(2024, 2, 29)}, dt.date(2025, 3, 1))[
            "firm_age_years"
        ]
        == 1
    )
    assert derive_fields({}, TODAY)["firm_age_years"] is None


@pytest.mark.parametrize(
    ("uscc", "district", "expected"),
    [
        ("91310112MA1G8XKT4L", None, True),
        ("91310104MA1G8XKT4L", None, False),
        ("91310104MA1G8XKT4L", "310112", True),
        (None, "310112", True),
        (None, "310104", False),
        (None, None, None),
        ("short", None, None),
    ],
)
def test_in_district(uscc: Any, district: Any, expected: Any) -> None:
    assert (
        derive_fields({"uscc": uscc, "district_code": district}, TODAY)["in_district"] is expected
    )


def test_ratios_need_a_positive_denominator() -> None:
    derived = derive_fields(
        {"total_assets": 0, "total_liabilities": 5, "revenue_prev_year": None}, TODAY
    )
    assert derived["debt_ratio"] is None
    assert derived["revenue_growth"] is None


def test_a_clean_tech_sme_gets_its_products(catalog: Catalog, make_profile: Profile) -> None:
    profile = make_profile()
    eligible = {p.code for p in catalog if evaluate(p, profile, today=TODAY).eligible}
    assert {
        "tech_performance",
        "first_loan",
        "ip_pledge",
        "credit_easy",
        "hq_development",
    } <= eligible
    assert "renewal" not in eligible
    assert "agri_operation" not in eligible


def test_bad_credit_blocks_unless_repaired(catalog: Catalog, make_profile: Profile) -> None:
    product = catalog.get("policy_guarantee")
    assert not evaluate(product, make_profile(serious_bad_credit_24m=True), today=TODAY).eligible
    repaired = make_profile(serious_bad_credit_24m=True, credit_repair_completed=True)
    assert evaluate(product, repaired, today=TODAY).eligible


def test_park_batch_needs_membership_and_recommendation(
    catalog: Catalog, make_profile: Profile
) -> None:
    product = catalog.get("park_batch")
    request = {"amount": 1_000_000, "term_months": 12, "batch_recommended": True}
    assert evaluate(product, make_profile(), request, TODAY).eligible
    assert not evaluate(product, make_profile(park_codes=[]), request, TODAY).eligible
    no_reco = evaluate(product, make_profile(), {**request, "batch_recommended": False}, TODAY)
    assert [c.field for c in no_reco.failed] == ["batch_recommended"]
    real_estate = evaluate(product, make_profile(industry_code="7010"), request, TODAY)
    assert "industry_division" in [c.field for c in real_estate.failed]


def test_credit_easy_amount_follows_tax_tier(catalog: Catalog, make_profile: Profile) -> None:
    product = catalog.get("credit_easy")
    low_tax = make_profile(tax_paid_last_year=300_000)
    assert evaluate(product, low_tax, {"amount": 5_000_000, "term_months": 12}, TODAY).eligible
    assert not evaluate(product, low_tax, {"amount": 6_000_000, "term_months": 12}, TODAY).eligible
    high_tax = make_profile(tax_paid_last_year=1_000_000)
    assert evaluate(product, high_tax, {"amount": 10_000_000, "term_months": 12}, TODAY).eligible


def test_renewal_window(catalog: Catalog, make_profile: Profile) -> None:
    product = catalog.get("renewal")
    base = make_profile(
        has_bank_loan_history=True, existing_loan_balance="2000000", overdue_count_24m=0
    )
    assert evaluate(product, {**base, "loan_maturing_within_days": 90}, today=TODAY).eligible
    assert not evaluate(product, {**base, "loan_maturing_within_days": 91}, today=TODAY).eligible
    late = {**base, "loan_maturing_within_days": 30, "overdue_count_24m": 1}
    assert not evaluate(product, late, today=TODAY).eligible
