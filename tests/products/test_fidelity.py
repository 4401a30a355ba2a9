"""The catalogue says what its sources say (DESIGN.md's Source check), and no more."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from products import Catalog, evaluate, match_many, match_one, profiles_to_table, quote
from products.model import Condition, Product
from products.sources import split_citations
from tests.products.conftest import TODAY

Profile = Callable[..., dict[str, Any]]
PLAN = "闵行区聚焦提升企业满意度持续打造一流营商环境行动方案"


def condition(product: Product, cid: str) -> Condition:
    return next(c for c in product.conditions if c.id == cid)


def result_of(product: Product, cid: str, profile: dict[str, Any]) -> str:
    evaluation = evaluate(product, profile, today=TODAY)
    return next(c.result for c in evaluation.conditions if c.id == cid)


# --- values only DESIGN.md states are demo ------------------------------------------------


def test_the_guarantee_fee_is_a_demo_value_and_the_coverage_is_confirmed(
    catalog: Catalog,
) -> None:
    guaranteed = [p for p in catalog if p.guarantee_fee_rate is not None]
    assert {"park_batch", "chamber_batch", "policy_guarantee"} <= {p.code for p in guaranteed}
    for product in guaranteed:
        assert product.guarantee_fee_rate is not None
        assert product.guarantee_fee_rate.demo, product.code
        if product.guarantee_coverage is not None:
            assert product.guarantee_coverage.value == Decimal("0.8")
            assert not product.guarantee_coverage.demo
            assert "代偿比例不超过80%" in product.guarantee_coverage.source


@pytest.mark.parametrize(
    ("code", "cid"),
    [
        ("park_batch", "industry_not_excluded"),
        ("park_batch", "no_serious_bad_credit"),
        ("park_batch", "no_pending_lawsuit"),
        ("park_batch", "batch_recommended"),
        ("chamber_batch", "industry_not_excluded"),
        ("chamber_batch", "no_serious_bad_credit"),
        ("chamber_batch", "no_pending_lawsuit"),
        ("chamber_batch", "batch_recommended"),
        ("renewal", "maturing_within_90_days"),
        ("renewal", "repaid_on_time"),
        ("credit_easy", "tax_grade_a_or_b"),
        ("credit_easy", "tax_paid_minimum"),
        ("credit_easy", "amount_within_tax_tier"),
    ],
)
def test_conditions_only_design_states_are_demo(catalog: Catalog, code: str, cid: str) -> None:
    assert condition(catalog.get(code), cid).demo


def test_credit_easy_tiers_and_renewal_repayment_are_demo(catalog: Catalog) -> None:
    credit_easy = catalog.get("credit_easy")
    assert all(f.value.demo for f in credit_easy.facts)
    assert credit_easy.amount_max.demo
    assert catalog.get("renewal").repayment_demo


def test_registration_in_the_district_is_not_put_on_the_plan(catalog: Catalog) -> None:
    for product in catalog:
        item = condition(product, "in_district")
        assert item.demo, product.code
        assert not any(c.startswith(PLAN) for c in split_citations(item.source)), product.code


def test_confirmed_numbers_keep_their_outside_source(catalog: Catalog) -> None:
    startup = catalog.get("startup_guarantee")
    assert (startup.amount_max.value, startup.amount_max.demo) == (3_000_000, False)
    assert (startup.term_max.value, startup.term_max.demo) == (24, False)
    assert startup.interest_subsidy is not None
    floor = startup.interest_subsidy.floor_spread_bp
    assert floor is not None and (floor.value, floor.demo) == (-150, False)
    assert "财金〔2020〕21号" in startup.amount_max.source
    tech = catalog.get("tech_performance")
    assert tech.fee_subsidy is not None
    assert (tech.fee_subsidy.share.value, tech.fee_subsidy.share.demo) == (Decimal("0.5"), False)
    assert "沪科〔2025〕212号" in tech.fee_subsidy.share.source


# --- 小微企业首贷续贷 ------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["first_loan", "renewal"])
def test_first_loan_and_renewal_admit_small_and_micro_firms_only(
    catalog: Catalog, make_profile: Profile, code: str
) -> None:
    product = catalog.get(code)
    item = condition(product, "small_or_micro")
    assert not item.demo
    assert "「小微企业首贷续贷」" in item.source
    assert all(c.id != "sme" for c in product.conditions)
    # 工业: small from 20 staff and 3 M revenue, medium from 300 and 20 M.
    small = make_profile(employees=40, revenue_last_year="8000000")
    medium = make_profile(employees=350, revenue_last_year="25000000")
    micro = make_profile(employees=5, revenue_last_year="8000000")
    assert result_of(product, "small_or_micro", small) == "passed"
    assert result_of(product, "small_or_micro", micro) == "passed"
    assert result_of(product, "small_or_micro", medium) == "failed"


def test_a_medium_first_borrower_is_not_offered_the_first_loan(
    catalog: Catalog, make_profile: Profile
) -> None:
    medium = make_profile(employees=350, revenue_last_year="25000000")
    results = {r.product.code: r for r in match_one(catalog, medium, today=TODAY)}
    assert not results["first_loan"].eligible
    assert results["policy_guarantee"].eligible  # medium firms remain SMEs elsewhere


# --- tech_performance ----------------------------------------------------------------------


def test_tech_performance_premium_subsidy_is_paid_after_repayment(catalog: Catalog) -> None:
    product = catalog.get("tech_performance")
    assert product.fee_subsidy is not None and product.fee_subsidy.paid_after_repayment
    payment = product.fee_subsidy.payment
    assert payment is not None and not payment.demo
    for words in ("公示", "3 个工作日", "严重失信", "事后拨付"):
        assert words in payment.note_zh
    for words in ("(公示)", "3 working days", "seriously dishonest", "afterwards"):
        assert words in payment.note_en
    for words in ("公示", "3 个工作日", "严重失信"):
        assert words in product.description_zh

    result = quote(product, 1_000_000, 12, "0.03")
    assert result.total_fee_subsidy == Decimal("6000.00")  # half of 1.2 % of 1 M
    assert result.subsidy_paid_later == result.total_fee_subsidy
    assert result.subsidy_note_zh == payment.note_zh
    for row in result.schedule:
        # The firm pays the whole premium each month; the subsidy comes afterwards.
        assert row.payment == row.principal + row.interest + row.fee
        assert row.fee_subsidy > 0
    data = result.to_dict()
    assert data["subsidy_paid_later"] == "6000.00"
    assert "3 个工作日" in data["subsidy_note_zh"]
    assert result.net_cost == result.total_interest + result.total_fee - Decimal("6000.00")


def test_subsidies_paid_with_payments_still_lower_each_payment(catalog: Catalog) -> None:
    result = quote(catalog.get("park_batch"), 1_000_000, 6, "0.03")
    assert result.subsidy_paid_later == 0
    assert result.subsidy_note_zh == ""
    row = result.schedule[0]
    assert row.payment == row.principal + row.interest + row.fee - row.fee_subsidy


def test_tech_performance_excludes_seriously_dishonest_firms(
    catalog: Catalog, make_profile: Profile
) -> None:
    product = catalog.get("tech_performance")
    item = condition(product, "no_serious_bad_credit")
    assert not item.demo
    assert "严重失信" in item.message_zh and "沪科〔2025〕212号" in item.source
    listed = make_profile(serious_bad_credit_24m=True, credit_repair_completed=False)
    repaired = make_profile(serious_bad_credit_24m=True, credit_repair_completed=True)
    assert not evaluate(product, listed, today=TODAY).eligible
    assert evaluate(product, repaired, today=TODAY).eligible


# --- credit repair, the same everywhere ------------------------------------------------------


def test_every_product_that_checks_bad_credit_accepts_a_completed_repair(
    catalog: Catalog, make_profile: Profile
) -> None:
    listed = make_profile(serious_bad_credit_24m=True, credit_repair_completed=False)
    repaired = make_profile(serious_bad_credit_24m=True, credit_repair_completed=True)
    checked = 0
    for product in catalog:
        for item in product.conditions:
            fields = {leaf.field for leaf in item.leaves}
            if "serious_bad_credit_24m" not in fields:
                continue
            checked += 1
            assert "credit_repair_completed" in fields, (product.code, item.id)
            evaluation = evaluate(product, listed, today=TODAY)
            assert next(c for c in evaluation.conditions if c.id == item.id).result == "failed"
            evaluation = evaluate(product, repaired, today=TODAY)
            assert next(c for c in evaluation.conditions if c.id == item.id).result == "passed"
    assert checked >= 2
    assert "credit_repair_completed" in {
        leaf.field for leaf in condition(catalog.get("credit_easy"), "no_serious_bad_credit").leaves
    }


# --- specialized_sme -----------------------------------------------------------------------


def test_specialized_sme_says_it_is_an_addition_beyond_the_plan(catalog: Catalog) -> None:
    product = catalog.get("specialized_sme")
    assert "行动方案之外" in product.description_zh
    assert "未提及" in product.description_zh
    assert "beyond the district's plan" in product.description_en
    assert product.source is not None and "an addition beyond the plan" in product.source
    assert not any(c.startswith(PLAN) for c in split_citations(product.source))
    for item in product.conditions:
        assert item.demo or item.id in ("amount_in_range", "term_in_range"), item.id


def test_every_other_product_names_the_plan_clause_that_names_it(catalog: Catalog) -> None:
    for product in catalog:
        if product.code == "specialized_sme":
            continue
        assert product.source is not None, product.code
        assert any(c.startswith(PLAN) for c in split_citations(product.source)), product.code


# --- startup_guarantee -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("employees", "hires", "expected"),
    [
        (100, 15, "passed"),  # 15 % at 100 staff
        (100, 14, "failed"),
        (40, 6, "passed"),
        (40, 5, "failed"),
        (101, 9, "passed"),  # 8 % above 100 staff: 8.9 %
        (101, 8, "failed"),  # 7.9 %
        (300, 24, "passed"),  # exactly 8 %
        (300, 23, "failed"),
        (40, None, "unknown"),
        (None, 5, "unknown"),
        (0, 0, "unknown"),  # no staff: the share is undefined
    ],
)
def test_startup_guarantee_new_hires(
    catalog: Catalog, make_profile: Profile, employees: Any, hires: Any, expected: str
) -> None:
    product = catalog.get("startup_guarantee")
    profile = make_profile(employees=employees, qualifying_new_hires=hires)
    assert result_of(product, "new_hires", profile) == expected
    many = match_many([product], profiles_to_table([profile]), today=TODAY)
    index = many.condition_ids[product.code].index("new_hires")
    assert (
        many.condition_codes(product.code)[0, index]
        == {"failed": 0, "passed": 1, "unknown": 2}[expected]
    )


def test_startup_guarantee_asks_for_the_new_hires_and_ignores_firm_age(
    catalog: Catalog, make_profile: Profile
) -> None:
    product = catalog.get("startup_guarantee")
    assert all(leaf.field != "firm_age_years" for c in product.conditions for leaf in c.leaves)
    old = make_profile(registered_on="2001-01-01", employees=40, qualifying_new_hires=8)
    assert evaluate(product, old, today=TODAY).eligible
    missing = evaluate(product, make_profile(qualifying_new_hires=None), today=TODAY)
    item = next(c for c in missing.conditions if c.id == "new_hires")
    assert item.missing_fields == ("qualifying_new_hires",)
    assert "当年新招用符合创业担保贷款申请条件的人员数" in item.message_zh
    item_def = condition(product, "new_hires")
    assert not item_def.demo and "财金〔2020〕21号" in item_def.source


def test_the_founders_variant_is_information_not_a_match(
    catalog: Catalog, make_profile: Profile
) -> None:
    product = catalog.get("startup_guarantee")
    (variant,) = product.variants
    assert variant.borrower == "individual"
    facts = {f.key: f.value for f in variant.facts}
    assert (facts["amount_max"].value, facts["amount_max"].unit) == (200_000, "yuan")
    assert (facts["term_max"].value, facts["term_max"].unit) == (36, "months")
    assert not any(f.demo for f in facts.values())
    assert "财金〔2020〕21号" in facts["amount_max"].source
    assert "不对个人贷款作资格判断" in variant.description_zh
    # The portal matches firms: the variant adds no product and no condition.
    codes = [r.product.code for r in match_one(catalog, make_profile(), today=TODAY)]
    assert codes.count("startup_guarantee") == 1
    assert all(not c.id.startswith("individual") for c in product.conditions)
    # A firm is quoted the firm variant's terms (3 M, 24 months), never the founder's.
    assert quote(product, 3_000_000, 24).amount == 3_000_000
