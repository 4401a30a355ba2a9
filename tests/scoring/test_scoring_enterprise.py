"""platform_features: an enterprise profile and a request become the feature row."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from scoring import PLATFORM_SPEC_PATH, load_spec, platform_features


def _profile(**changes: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "uscc": "91310112MA1GBXXXX0",
        "name": "上海示例科技有限公司",
        "registered_on": date(2016, 5, 20),
        "district_code": "310112",
        "industry_code": "65",
        "employees": 40,
        "social_insured_employees": 30,
        "revenue_last_year": Decimal("12000000.00"),
        "revenue_prev_year": Decimal("10000000.00"),
        "total_assets": Decimal("8000000"),
        "total_liabilities": Decimal("4000000"),
        "net_profit_last_year": Decimal("600000"),
        "tax_paid_last_year": Decimal("450000"),
        "tax_credit_grade": "B",
        "invention_patents": 2,
        "utility_patents": 5,
        "trademarks": 1,
        "certifications": ["tech_sme", "high_tech"],
        "park_memberships": ["莘庄工业区"],
        "chamber_memberships": [],
        "existing_loan_balance": Decimal("1500000"),
        "has_bank_loan_history": True,
        "loan_maturing_within_days": None,
        "overdue_count_24m": 1,
        "max_overdue_days_24m": 12,
        "pending_lawsuits": 0,
        "enforcement_records": 0,
        "admin_penalties_24m": 0,
        "serious_bad_credit_24m": False,
        "credit_repair_completed": False,
    }
    p.update(changes)
    return p


REQUEST = {"amount": Decimal("3000000"), "term_months": 12}
TODAY = date(2026, 5, 20)


def test_profile_and_request_become_the_spec_features() -> None:
    f = platform_features(_profile(), REQUEST, TODAY)
    spec = load_spec(PLATFORM_SPEC_PATH)
    assert set(f) == {feat.name for feat in spec.features}
    assert f["firm_age_years"] == pytest.approx(10.0, abs=0.01)
    assert f["employees"] == 40
    assert f["revenue_10k"] == pytest.approx(1200)
    assert f["revenue_growth"] == pytest.approx(0.2)
    assert f["net_margin"] == pytest.approx(0.05)
    assert f["debt_ratio"] == pytest.approx(0.5)
    assert f["tax_paid_10k"] == pytest.approx(45)
    assert f["tax_credit_rank"] == 1
    assert f["social_insured_ratio"] == pytest.approx(0.75)
    assert f["invention_patents"] == 2
    assert f["other_ip"] == 6
    assert f["tech_certifications"] == 2
    assert f["park_or_chamber_member"] == 1
    assert f["has_bank_loan_history"] == 1
    assert f["existing_loan_to_revenue"] == pytest.approx(0.125)
    assert f["overdue_count_24m"] == 1
    assert f["serious_bad_credit_24m"] == 0
    assert f["amount_to_revenue"] == pytest.approx(0.25)
    assert f["term_months"] == 12
    assert all(isinstance(v, float) for v in f.values())


def test_money_as_text_and_dates_as_iso_strings() -> None:
    f = platform_features(
        _profile(revenue_last_year="12,000,000", registered_on="2016-05-20", tax_credit_grade="m"),
        {"amount": "3000000.00", "term_months": "24"},
        TODAY,
    )
    assert f["revenue_10k"] == pytest.approx(1200)
    assert f["firm_age_years"] == pytest.approx(10.0, abs=0.01)
    assert f["tax_credit_rank"] == 2  # M: a new firm, between B and C
    assert f["term_months"] == 24
    at_noon = platform_features(_profile(), REQUEST, datetime(2026, 5, 20, 12, 0))
    assert at_noon["firm_age_years"] == pytest.approx(10.0, abs=0.01)


@pytest.mark.parametrize(
    ("changes", "feature"),
    [
        ({"revenue_prev_year": None}, "revenue_growth"),
        ({"revenue_prev_year": 0}, "revenue_growth"),
        ({"total_assets": None}, "debt_ratio"),
        ({"tax_credit_grade": None}, "tax_credit_rank"),
        ({"tax_credit_grade": "Z"}, "tax_credit_rank"),
        ({"registered_on": None}, "firm_age_years"),
        ({"employees": None}, "social_insured_ratio"),
        ({"revenue_last_year": None}, "amount_to_revenue"),
        ({"revenue_last_year": 0}, "net_margin"),
    ],
)
def test_unknown_values_become_missing(changes: dict[str, Any], feature: str) -> None:
    assert math.isnan(platform_features(_profile(**changes), REQUEST, TODAY)[feature])


def test_memberships_and_certifications() -> None:
    none = _profile(park_memberships=[], chamber_memberships=[], certifications="")
    f = platform_features(none, REQUEST, TODAY)
    assert f["park_or_chamber_member"] == 0
    assert f["tech_certifications"] == 0
    flags = _profile(park_memberships=None, chamber_memberships=None, chamber_member=True)
    assert platform_features(flags, REQUEST, TODAY)["park_or_chamber_member"] == 1
    unknown = {k: v for k, v in _profile().items() if not k.endswith("memberships")}
    assert math.isnan(platform_features(unknown, REQUEST, TODAY)["park_or_chamber_member"])
    text = _profile(certifications="specialized, little_giant, iso9001")
    assert platform_features(text, REQUEST, TODAY)["tech_certifications"] == 2


def test_a_profile_scores_with_the_reference_model(reference_model: Any) -> None:
    good = reference_model.score_one(
        platform_features(_profile(overdue_count_24m=0, max_overdue_days_24m=0), REQUEST, TODAY)
    )
    risky = reference_model.score_one(
        platform_features(
            _profile(
                overdue_count_24m=4,
                max_overdue_days_24m=95,
                total_liabilities=Decimal("7800000"),
                enforcement_records=1,
                serious_bad_credit_24m=True,
                tax_credit_grade="D",
            ),
            {"amount": Decimal("12000000"), "term_months": 36},
            TODAY,
        )
    )
    assert good.pd < risky.pd
    assert good.score > risky.score
    assert risky.grade == "E"
    features = {r["feature"] for r in risky.reasons}
    assert {"tax_credit_rank", "serious_bad_credit_24m", "max_overdue_days_24m"} & features
    assert all(r["text_zh"] and r["text_en"] for r in risky.reasons)
