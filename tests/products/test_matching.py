"""Matching: one enterprise with reasons and quotes, and many at once (vectorised)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from products import Catalog, cost_rank, evaluate, match_many, match_one, profiles_to_table
from products.eligibility import RESULT_CODES
from products.table import table_from_frame

TODAY = dt.date(2026, 11, 27)
Profile = Callable[..., dict[str, Any]]


def test_match_one_ranks_eligible_by_effective_cost(
    catalog: Catalog, make_profile: Profile
) -> None:
    results = match_one(
        catalog, make_profile(), {"amount": 800_000, "term_months": 12}, today=TODAY
    )
    assert {r.product.code for r in results} == {p.code for p in catalog}
    flags = [r.eligible for r in results]
    assert flags == sorted(flags, reverse=True)  # eligible first
    eligible = [r for r in results if r.eligible]
    assert len(eligible) >= 4
    costs = [cost_rank(r.quote) for r in eligible if r.quote is not None]
    assert costs == sorted(costs)
    assert all(r.quote is None for r in results if not r.eligible)


def test_match_one_json_shape(catalog: Catalog, make_profile: Profile) -> None:
    for result in match_one(catalog, make_profile(), today=TODAY):
        data = result.to_dict()
        expected = {"code", "eligible", "conditions"} | ({"quote"} if result.eligible else set())
        assert set(data) == expected
        for condition in data["conditions"]:
            assert set(condition) == {"id", "field", "result", "message_zh", "message_en", "demo"}
            assert condition["result"] in {"passed", "failed", "unknown"}


def test_without_a_request_the_example_amount_is_quoted(
    catalog: Catalog, make_profile: Profile
) -> None:
    first = next(
        r for r in match_one(catalog, make_profile(), today=TODAY) if r.product.code == "first_loan"
    )
    assert first.quote is not None
    assert first.quote.amount == first.product.example_amount.value


def test_match_many_small_example(catalog: Catalog, make_profile: Profile) -> None:
    profiles = [make_profile(), make_profile(industry_code="0111"), {}]
    result = match_many(catalog, profiles_to_table(profiles, ids=["a", "b", "c"]), today=TODAY)
    assert result.eligible.shape == (3, 13)
    assert "a" in result.eligible_ids("tech_performance")
    assert result.eligible_ids("agri_operation") == ["b"]
    assert not result.eligible[2].any()
    codes = result.condition_codes("renewal")
    assert codes.shape == (3, len(result.condition_ids["renewal"]))
    assert codes.dtype == np.int8


# --- the vectorised path equals the one-by-one path --------------------------------


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def money_like(values: list[int]) -> st.SearchStrategy[Any]:
    near = st.sampled_from(values).flatmap(lambda v: st.sampled_from([v - 1, v, v + 1]))
    return maybe(
        st.one_of(
            near,
            near.map(str),
            near.map(lambda v: Decimal(v) + Decimal("0.5")),
            near.map(float),
        )
    )


THRESHOLDS = [
    0,
    100_000,
    200_000,
    500_000,
    1_000_000,
    3_000_000,
    5_000_000,
    10_000_000,
    20_000_000,
    50_000_000,
    400_000_000,
]
counts = maybe(st.integers(0, 3))
profiles = st.fixed_dictionaries(
    {},
    optional={
        "uscc": maybe(st.sampled_from(["91310112MA1G8XKT4L", "91310104MA1G8XKT4L", "bad"])),
        "district_code": maybe(st.sampled_from(["310112", "310104"])),
        "industry_code": maybe(
            st.sampled_from(
                [
                    "C3911",
                    "0111",
                    "05",
                    "4710",
                    "5910",
                    "6510",
                    "7010",
                    "7020",
                    "7040",
                    "6620",
                    "53",
                    "7211",
                    "9011",
                ]
            )
        ),
        "registered_on": maybe(
            st.one_of(
                st.dates(dt.date(2015, 1, 1), TODAY),
                st.sampled_from(["2023-11-27", "2023-11-28", "2024-02-29"]),
            )
        ),
        "employees": maybe(
            st.sampled_from([0, 4, 5, 9, 10, 19, 20, 99, 100, 101, 299, 300, 999, 1000, 3000])
        ),
        # Around the start-up loan's 15 % (8 % above 100 staff) of new hires.
        "qualifying_new_hires": maybe(st.sampled_from([0, 1, 8, 9, 14, 15, 16, 24, 45, 80])),
        "revenue_last_year": money_like(THRESHOLDS),
        "revenue_prev_year": money_like(THRESHOLDS),
        "total_assets": money_like(THRESHOLDS),
        "total_liabilities": money_like(THRESHOLDS),
        "tax_paid_last_year": money_like([200_000, 1_000_000]),
        "tax_credit_grade": maybe(st.sampled_from(["A", "B", "M", "C", "D"])),
        "invention_patents": counts,
        "trademarks": counts,
        "certifications": maybe(
            st.lists(
                st.sampled_from(["tech_sme", "high_tech", "specialized", "little_giant"]),
                max_size=3,
            )
        ),
        "park_codes": maybe(st.lists(st.sampled_from(["xinzhuang", "dalinghao"]), max_size=2)),
        "chamber_codes": maybe(st.lists(st.sampled_from(["c1", "c2"]), max_size=2)),
        "existing_loan_balance": money_like([0, 1_000_000]),
        "has_bank_loan_history": maybe(st.booleans()),
        "loan_maturing_within_days": maybe(st.sampled_from([-1, 0, 30, 90, 91, 400])),
        "overdue_count_24m": counts,
        "pending_lawsuits": counts,
        "enforcement_records": counts,
        "serious_bad_credit_24m": maybe(st.booleans()),
        "credit_repair_completed": maybe(st.booleans()),
    },
)
requests = maybe(
    st.fixed_dictionaries(
        {},
        optional={
            "amount": money_like([100_000, 3_000_000, 5_000_000, 10_000_000]),
            "term_months": maybe(st.sampled_from([1, 3, 6, 12, 13, 24, 36, 60, 61])),
            "purpose": maybe(st.sampled_from(["working_capital", "esop"])),
            "batch_recommended": maybe(st.booleans()),
        },
    )
)


def assert_same(
    catalog: Catalog, people: list[dict[str, Any]], asks: list[Any], result: Any
) -> None:
    for p_index, product in enumerate(catalog):
        codes = result.condition_codes(product.code)
        for i, (profile, request) in enumerate(zip(people, asks, strict=True)):
            one = evaluate(product, profile, request, TODAY)
            assert bool(result.eligible[i, p_index]) == one.eligible, (
                product.code,
                profile,
                request,
            )
            expected = [RESULT_CODES[c.result] for c in one.conditions]
            assert codes[i].tolist() == expected, (product.code, profile, request)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    people=st.lists(st.tuples(profiles, requests), min_size=1, max_size=25), chunk=st.integers(1, 9)
)
def test_vectorised_equals_one_by_one(catalog: Catalog, people: list[Any], chunk: int) -> None:
    profile_list = [p for p, _ in people]
    request_list = [r for _, r in people]
    table = profiles_to_table(profile_list, request_list)
    result = match_many(catalog, table, today=TODAY, chunk_rows=chunk)
    assert_same(catalog, profile_list, request_list, result)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(people=st.lists(profiles, min_size=1, max_size=20))
def test_dataframe_input_gives_the_same_answers(
    catalog: Catalog, people: list[dict[str, Any]]
) -> None:
    frame = pd.DataFrame(people, columns=sorted({k for p in people for k in p}) or ["uscc"])
    result = match_many(catalog, table_from_frame(frame), today=TODAY)
    assert_same(catalog, people, [None] * len(people), result)


def boundary_profiles() -> list[dict[str, Any]]:
    """Profiles at and one unit below every size-class bound of every row."""
    from products.sizes import size_table

    field = {
        "employees": "employees",
        "revenue": "revenue_last_year",
        "total_assets": "total_assets",
    }
    out: list[dict[str, Any]] = []
    for row in size_table().rows:
        code = next(k for k, v in size_table().by_prefix.items() if v == row.index)
        for level in range(3):
            at = {field[m]: row.thresholds[m][level] for m in row.metrics}
            out.append({"industry_code": code, **at})
            for metric in row.metrics:
                out.append({"industry_code": code, **at, field[metric]: at[field[metric]] - 1})
                out.append({"industry_code": code, **at, field[metric]: None})
    return out


def test_vectorised_size_classes_at_every_boundary() -> None:
    from products import derive_fields, derive_many

    people = boundary_profiles()
    many = derive_many(profiles_to_table(people), TODAY)
    for i, profile in enumerate(people):
        assert many["size_class"][i] == derive_fields(profile, TODAY)["size_class"], profile


def test_derive_many_matches_derive_fields(make_profile: Profile) -> None:
    from products import derive_fields, derive_many

    people = [make_profile(), make_profile(uscc=None, district_code=None, registered_on=None), {}]
    many = derive_many(profiles_to_table(people), TODAY)
    for i, profile in enumerate(people):
        one = derive_fields(profile, TODAY)
        assert many["in_district"][i] == one["in_district"]
        assert many["industry_division"][i] == one["industry_division"]
        for key in ("firm_age_years", "debt_ratio", "revenue_growth", "new_hire_share"):
            value = many[key][i]
            assert (None if np.isnan(value) else value) == one[key]


def test_present_on_text_and_date_fields_agrees() -> None:
    from tests.products.helpers import product_with

    product = product_with(
        {"field": "uscc", "op": "present"},
        {"field": "name", "op": "present"},
        {"field": "registered_on", "op": "present"},
        {"field": "industry_code", "op": "present"},
    )
    people = [
        {"uscc": "bad", "name": "甲", "registered_on": "2020-01-01", "industry_code": "C39"},
        {"uscc": " ", "name": None},
        {},
    ]
    result = match_many([product], profiles_to_table(people), today=TODAY)
    codes = result.condition_codes(product.code)
    for i, profile in enumerate(people):
        one = evaluate(product, profile, today=TODAY)
        assert codes[i].tolist() == [RESULT_CODES[c.result] for c in one.conditions]
    assert codes[0].tolist()[:4] == [1, 1, 1, 1]
    assert codes[2].tolist()[:4] == [0, 0, 0, 0]


# Random conditions over every field and operator, not only the catalogue's.
CATEGORY_VALUES: dict[str, list[str]] = {
    "district_code": ["310112", "310104"],
    "street": ["qibao", "xinzhuang", "pujiang"],
    "industry_division": ["39", "01", "70", "65"],
    "size_class": ["micro", "small", "medium", "large"],
    "tax_credit_grade": ["A", "B", "M", "C", "D"],
    "purpose": ["working_capital", "esop", "other"],
}
TOKEN_VALUES: dict[str, list[str]] = {
    "certifications": ["tech_sme", "high_tech", "specialized", "little_giant"],
    "park_codes": ["xinzhuang", "dalinghao", "elsewhere"],
    "chamber_codes": ["c1", "c2", "c3"],
}
NUMBERS = [-1, 0, 1, 3, 10, 90, 0.25, 200_000, 1_000_000, 5_000_000]


@st.composite
def leaves(draw: st.DrawFn) -> dict[str, Any]:
    from products.fields import NUMERIC_KINDS, field_specs

    specs = field_specs()
    name = draw(st.sampled_from(sorted(specs)))
    kind = specs[name].kind
    if kind in NUMERIC_KINDS:
        op = draw(st.sampled_from(["eq", "ne", "gte", "gt", "lte", "lt", "between", "present"]))
        if op == "between":
            low, high = sorted(draw(st.lists(st.sampled_from(NUMBERS), min_size=2, max_size=2)))
            return {"field": name, "op": op, "value": [low, high]}
        value = None if op == "present" else draw(st.sampled_from(NUMBERS))
    elif kind == "bool":
        op, value = draw(st.sampled_from(["true", "false", "present"])), None
    elif kind == "category":
        options = CATEGORY_VALUES[name]
        op = draw(st.sampled_from(["eq", "ne", "in", "not_in", "present"]))
        if op in ("in", "not_in"):
            value = draw(st.lists(st.sampled_from(options), min_size=1, max_size=3, unique=True))
        else:
            value = None if op == "present" else draw(st.sampled_from(options))
    elif kind == "tokens":
        op = draw(st.sampled_from(["in", "not_in", "present"]))
        options = TOKEN_VALUES[name]
        value = (
            None
            if op == "present"
            else draw(st.lists(st.sampled_from(options), min_size=1, max_size=2, unique=True))
        )
    else:
        op, value = "present", None
    leaf: dict[str, Any] = {"field": name, "op": op}
    if value is not None:
        leaf["value"] = value
    return leaf


@st.composite
def alternatives(draw: st.DrawFn) -> dict[str, Any]:
    """One entry of an any_of: a leaf, or all_of two or three leaves."""
    group = draw(st.lists(leaves(), min_size=1, max_size=3))
    return group[0] if len(group) == 1 else {"all_of": group}


@st.composite
def random_conditions(draw: st.DrawFn) -> dict[str, Any]:
    entries = draw(st.lists(alternatives(), min_size=1, max_size=3))
    if len(entries) == 1 and "all_of" not in entries[0]:
        condition: dict[str, Any] = entries[0]
    else:
        # A lone all_of is written as an any_of of one group plus a leaf.
        if len(entries) == 1:
            entries.append(draw(leaves()))
        condition = {"any_of": entries}
    return {**condition, "required": draw(st.booleans())}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    conditions=st.lists(random_conditions(), min_size=1, max_size=5),
    people=st.lists(st.tuples(profiles, requests), min_size=1, max_size=12),
)
def test_every_operator_agrees(conditions: list[dict[str, Any]], people: list[Any]) -> None:
    from tests.products.helpers import product_with

    product = product_with(*conditions)
    profile_list = [p for p, _ in people]
    request_list = [r for _, r in people]
    result = match_many(
        [product], profiles_to_table(profile_list, request_list), today=TODAY, chunk_rows=5
    )
    codes = result.condition_codes(product.code)
    for i, (profile, request) in enumerate(people):
        one = evaluate(product, profile, request, TODAY)
        assert codes[i].tolist() == [RESULT_CODES[c.result] for c in one.conditions], (
            profile,
            request,
        )
        assert bool(result.eligible[i, 0]) == one.eligible
