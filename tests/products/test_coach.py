"""The near-miss coach: its suggestions, applied to the profile, make the product eligible.

Eligibility after a change is checked with the one-by-one path (``products.evaluate``),
not with the vectorised matcher the coach itself uses.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from products import Catalog, evaluate, match_one
from products.coach import Suggestion, coach, condition_fix, max_changes, repair_paths
from products.derive import collect_facts
from products.sources import document_of, split_citations

TODAY = dt.date(2026, 11, 27)
Profile = Callable[..., dict[str, Any]]
PARKS = {"park_codes": [("xinzhuang", "莘庄工业区")], "chamber_codes": [("c1", "示例商会")]}
REQUEST = {"amount": 1_000_000, "term_months": 12}


def suggestions(catalog: Catalog, profile: dict[str, Any], request: Any = None) -> dict[str, Any]:
    found = coach(catalog, profile, request, today=TODAY, organisations=PARKS)
    return {s.product.code: s for s in found}


def assert_applied_is_eligible(
    catalog: Catalog, s: Suggestion, profile: dict[str, Any], request: Any
) -> None:
    assert not evaluate(catalog.get(s.product.code), profile, request, TODAY).eligible
    new_profile, new_request = s.apply(profile, request)
    after = evaluate(catalog.get(s.product.code), new_profile, new_request, TODAY)
    assert after.eligible, (s.product.code, s.changes, [c.id for c in after.failed])


def one_step(s: Suggestion) -> tuple[str, str, dict[str, Any]]:
    assert len(s.steps) == 1, [st.action_zh for st in s.steps]
    step = s.steps[0]
    return step.condition_id, step.action_zh, dict(step.changes)


def test_bad_credit_is_repaired_with_the_path_and_where_to_start(
    catalog: Catalog, make_profile: Profile
) -> None:
    profile = make_profile(serious_bad_credit_24m=True, credit_repair_completed=False)
    found = suggestions(catalog, profile, REQUEST)
    # Every product it has all but the credit for: one step, the same repair.
    for code in ("policy_guarantee", "ip_pledge", "credit_easy", "first_loan"):
        condition, action, changes = one_step(found[code])
        assert (condition, action, changes) == (
            "no_serious_bad_credit",
            "完成信用修复",
            {"credit_repair_completed": True},
        )
        repair = found[code].steps[0].repair
        assert repair is not None and "信用中国" in repair.where_zh
        assert repair.url == "https://www.creditchina.gov.cn/"
        assert_applied_is_eligible(catalog, found[code], profile, REQUEST)
    # A history cannot be undone: the coach never suggests "no bad credit".
    assert all("serious_bad_credit_24m" not in s.changes for s in found.values())


def test_a_park_member_is_told_to_get_on_the_whitelist(
    catalog: Catalog, make_profile: Profile
) -> None:
    profile = make_profile(park_codes=[])
    found = suggestions(catalog, profile, REQUEST)
    s = found["park_batch"]
    actions = [st.action_zh for st in s.steps]
    assert actions == ["加入园区「莘庄工业区」的白名单", "由所在园区或商会推荐进入批次（白名单）"]
    assert s.changes == {"park_codes": ["xinzhuang"], "batch_recommended": True}
    assert_applied_is_eligible(catalog, s, profile, REQUEST)
    # Without a park to name there is no honest suggestion.
    bare = coach(catalog, profile, REQUEST, today=TODAY)
    assert "park_batch" not in {x.product.code for x in bare}


def test_a_missing_tax_grade_is_asked_for_and_a_low_one_repaired(
    catalog: Catalog, make_profile: Profile
) -> None:
    missing = make_profile(tax_credit_grade=None)
    s = suggestions(catalog, missing, REQUEST)["credit_easy"]
    condition, action, changes = one_step(s)
    assert condition == "tax_grade_a_or_b" and action.startswith("补充纳税信用等级")
    assert changes == {"tax_credit_grade": "B"}
    assert s.steps[0].repair is None
    assert_applied_is_eligible(catalog, s, missing, REQUEST)

    low = make_profile(tax_credit_grade="C")
    s = suggestions(catalog, low, REQUEST)["credit_easy"]
    condition, action, changes = one_step(s)
    assert changes == {"tax_credit_grade": "B"} and "提升到" in action
    assert s.steps[0].repair is not None and s.steps[0].repair.key == "tax_credit"
    assert_applied_is_eligible(catalog, s, low, REQUEST)


@pytest.mark.parametrize(
    ("overrides", "code", "changes"),
    [
        # raise a number to the threshold
        ({"tax_paid_last_year": "150000"}, "credit_easy", {"tax_paid_last_year": Decimal(200000)}),
        # lower a count to the threshold
        ({"enforcement_records": 2}, "policy_guarantee", {"enforcement_records": 0}),
        ({"pending_lawsuits": 1}, "hq_development", {"pending_lawsuits": 0}),
        # a certification
        ({"certifications": []}, "tech_performance", {"certifications": ["tech_sme"]}),
        # an IP right: either kind is enough, one change
        ({"invention_patents": 0, "trademarks": 0}, "ip_pledge", {"invention_patents": 1}),
        # hiring raises the hires and the staff together
        (
            {"employees": 40, "qualifying_new_hires": 2},
            "startup_guarantee",
            {"qualifying_new_hires": 7, "employees": 45},
        ),
    ],
)
def test_one_change_of_each_kind_makes_the_product_eligible(
    catalog: Catalog,
    make_profile: Profile,
    overrides: dict[str, Any],
    code: str,
    changes: dict[str, Any],
) -> None:
    profile = make_profile(**overrides)
    s = suggestions(catalog, profile, REQUEST)[code]
    assert one_step(s)[2] == changes
    assert_applied_is_eligible(catalog, s, profile, REQUEST)


def test_an_amount_out_of_range_is_brought_within_it(
    catalog: Catalog, make_profile: Profile
) -> None:
    request = {"amount": 4_000_000, "term_months": 12, "batch_recommended": True}
    s = suggestions(catalog, make_profile(), request)["park_batch"]
    condition, action, changes = one_step(s)
    assert condition == "amount_in_range" and changes == {"amount": Decimal(3000000)}
    assert action == "将「申请金额」降到 3,000,000 元"
    assert_applied_is_eligible(catalog, s, make_profile(), request)


def test_fixed_facts_make_no_near_miss(catalog: Catalog, make_profile: Profile) -> None:
    # A firm that has borrowed cannot become a first borrower; one outside Minhang is not
    # told to move; overdue history is not undone.
    found = suggestions(
        catalog,
        make_profile(
            has_bank_loan_history=True, existing_loan_balance="500000", overdue_count_24m=1
        ),
        REQUEST,
    )
    assert "first_loan" not in found and "renewal" not in found
    outside = suggestions(catalog, make_profile(district_code="310104", uscc="91310104MA1G8XKT4L"))
    assert outside == {}


def test_a_change_that_breaks_another_condition_is_not_suggested(
    catalog: Catalog, make_profile: Profile
) -> None:
    # 290 staff in manufacturing: hiring the 8 % needed takes the firm past 300 staff, a
    # medium firm (with 30 M yuan revenue), and the start-up loan is for small and micro firms.
    profile = make_profile(employees=290, qualifying_new_hires=0, revenue_last_year="30000000")
    product = catalog.get("startup_guarantee")
    condition = next(c for c in product.conditions if c.id == "new_hires")
    step = condition_fix(condition, collect_facts(profile, REQUEST, TODAY))
    assert step is not None and dict(step.changes)["employees"] > 300
    assert "startup_guarantee" not in suggestions(catalog, profile, REQUEST)


def test_too_many_steps_is_no_near_miss(catalog: Catalog, make_profile: Profile) -> None:
    profile = make_profile(
        serious_bad_credit_24m=True, tax_credit_grade="C", tax_paid_last_year="1000"
    )
    found = suggestions(catalog, profile, REQUEST)
    assert max_changes() == 2
    assert "credit_easy" not in found  # three steps
    assert all(len(s.steps) <= 2 for s in found.values())


def test_the_saving_compares_with_the_cheapest_loan_open_now(
    catalog: Catalog, make_profile: Profile
) -> None:
    profile = make_profile(certifications=[], park_codes=[])
    now = [r for r in match_one(catalog, profile, REQUEST, today=TODAY) if r.quote is not None]
    baseline = now[0].quote
    found = coach(catalog, profile, REQUEST, today=TODAY, baseline=baseline)
    s = next(x for x in found if x.product.code == "tech_performance")
    assert s.quote is not None and baseline is not None
    assert s.saving == baseline.net_cost - s.quote.net_cost
    assert s.quote.net_cost == s.quote.total_interest + s.quote.total_fee - s.quote.total_subsidy


def test_every_repair_path_cites_registered_documents() -> None:
    for path in repair_paths():
        assert path.steps_zh and len(path.steps_zh) == len(path.steps_en)
        for citation in split_citations(path.source):
            assert document_of(citation) is not None, citation


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


profiles = st.fixed_dictionaries(
    {
        "uscc": st.just("91310112MA1G8XKT4L"),
        "registered_on": st.sampled_from(["2015-03-01", "2024-06-01", "2026-01-10"]),
        "industry_code": st.sampled_from(["C3911", "0111", "5910", "6510", "7010"]),
    },
    optional={
        "employees": st.sampled_from([5, 20, 40, 99, 100, 150, 290]),
        "qualifying_new_hires": maybe(st.sampled_from([0, 1, 5, 20])),
        "revenue_last_year": st.sampled_from(["500000", "8000000", "30000000"]),
        "total_assets": st.sampled_from(["1000000", "50000000"]),
        "tax_paid_last_year": maybe(st.sampled_from(["0", "150000", "250000", "1200000"])),
        "tax_credit_grade": maybe(st.sampled_from(["A", "B", "M", "C", "D"])),
        "invention_patents": maybe(st.integers(0, 2)),
        "trademarks": maybe(st.integers(0, 2)),
        "certifications": st.lists(
            st.sampled_from(["tech_sme", "high_tech", "specialized", "little_giant"]),
            max_size=2,
            unique=True,
        ),
        "park_codes": st.lists(st.sampled_from(["xinzhuang"]), max_size=1),
        "chamber_codes": st.lists(st.sampled_from(["c1"]), max_size=1),
        "existing_loan_balance": st.sampled_from(["0", "500000"]),
        "has_bank_loan_history": maybe(st.booleans()),
        "loan_maturing_within_days": maybe(st.sampled_from([30, 120])),
        "overdue_count_24m": maybe(st.integers(0, 2)),
        "pending_lawsuits": maybe(st.integers(0, 2)),
        "enforcement_records": maybe(st.integers(0, 2)),
        "serious_bad_credit_24m": maybe(st.booleans()),
        "credit_repair_completed": maybe(st.booleans()),
    },
)
requests = st.fixed_dictionaries(
    {},
    optional={
        "amount": st.sampled_from([50_000, 1_000_000, 4_000_000, 8_000_000]),
        "term_months": st.sampled_from([3, 12, 30]),
        "batch_recommended": maybe(st.booleans()),
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(profile=profiles, request=requests)
def test_every_suggestion_applied_makes_its_product_eligible(
    catalog: Catalog, profile: dict[str, Any], request: dict[str, Any]
) -> None:
    found = coach(catalog, profile, request, today=TODAY, organisations=PARKS)
    for s in found:
        assert 1 <= len(s.steps) <= max_changes()
        assert_applied_is_eligible(catalog, s, profile, request)
        # The fewest: one step per condition that stands in the way, no more.
        before = evaluate(s.product, profile, request, TODAY)
        blocking = {
            c.id
            for c in before.conditions
            if c.result == "failed" or (c.result == "unknown" and c.required)
        }
        assert {step.condition_id for step in s.steps} == blocking
    # Fewest steps first.
    assert [len(s.steps) for s in found] == sorted(len(s.steps) for s in found)
