"""Shared fixtures for the products tests (plain pytest, no app)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from products import Catalog, load_catalog

TODAY = dt.date(2026, 11, 27)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture
def make_profile() -> Callable[..., dict[str, Any]]:
    """Return a factory of a clean Minhang tech SME profile, with overrides."""

    def make(**overrides: Any) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "uscc": "91310112MA1G8XKT4L",
            "name": "示例科技有限公司",
            "registered_on": "2021-05-01",
            "district_code": "310112",
            "industry_code": "C3911",
            "employees": 40,
            "qualifying_new_hires": 2,
            "social_insured_employees": 36,
            "revenue_last_year": "8000000",
            "revenue_prev_year": "6000000",
            "total_assets": "5000000",
            "total_liabilities": "2000000",
            "net_profit_last_year": "400000",
            "tax_paid_last_year": "300000",
            "tax_credit_grade": "A",
            "invention_patents": 2,
            "utility_patents": 5,
            "trademarks": 1,
            "certifications": ["tech_sme"],
            "park_codes": ["xinzhuang"],
            "chamber_codes": [],
            "existing_loan_balance": "0",
            "has_bank_loan_history": False,
            "loan_maturing_within_days": None,
            "overdue_count_24m": 0,
            "max_overdue_days_24m": 0,
            "pending_lawsuits": 0,
            "enforcement_records": 0,
            "admin_penalties_24m": 0,
            "serious_bad_credit_24m": False,
            "credit_repair_completed": False,
        }
        profile.update(overrides)
        return profile

    return make
